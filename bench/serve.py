"""Start a real uvicorn server on 127.0.0.1 for load tests and benchmarks, and stop it afterwards."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(app: str = "triage.api:create_app", workers: int = 1, timeout: float = 60.0):
    """Yield the base URL of `uvicorn APP --factory` on a free loopback port; waits for /health. The
    server's log (one JSON line per request) goes to a temporary file, quoted if the server fails."""
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                            env=os.environ.copy(), stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited with code {proc.returncode}: {log.read()[-2000:]}")
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not become healthy in time")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
