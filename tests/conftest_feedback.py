"""Fixtures for the feedback-loop tests, imported by tests/test_feedback.py and tests/test_review_page.py
(the shared tests/conftest.py provides `model_dir` and `classifier`).

Real parts only: an SQLite file, a throwaway PostgreSQL server on 127.0.0.1 (initdb + pg_ctl from the
Debian package, as the `postgres` user when run as root), and uvicorn serving the real app on a free
loopback port. A part that cannot be started skips its tests with the reason, never fails them silently.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from triage.api import Settings, create_app
from triage.pipeline import Classifier

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def triage_cli(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """The `triage` command as a user runs it, with extra environment variables."""
    return subprocess.run([sys.executable, "-m", "triage.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def with_review_record(classifier: Classifier, mode: str) -> Classifier:
    """The same model with another `[feedback] review_record` setting."""
    return Classifier(classifier.model, classifier.meta, replace(classifier.config, review_record=mode),
                      classifier.policy)


def app_client(db_url: str, model_dir: Path, classifier: Classifier, monkeypatch, **settings) -> TestClient:
    """The real app over HTTP with its feedback database at `db_url` (TRIAGE_DB, read at app creation)."""
    monkeypatch.setenv("TRIAGE_DB", db_url)
    return TestClient(create_app(Settings(model_dir=str(model_dir), **settings), classifier=classifier))


# ---- PostgreSQL ----------------------------------------------------------------------------------

def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """A throwaway cluster in a temporary directory, listening on 127.0.0.1 only, trust authentication."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="triage-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.data, user.pw_uid, user.pw_gid)

    def run(self, *command: str) -> None:
        result = subprocess.run(_as_postgres([str(self.bin_dir / command[0]), *command[1:]]), capture_output=True,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {(result.stderr or result.stdout).strip()[-500:]}")

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--encoding=UTF8", "--locale=C",
                 "--no-sync")
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "60",
                 "-o", f"-p {self.port} -h 127.0.0.1 -k {self.data} -c fsync=off", "start")

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"triage_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server():
    """Started once per test session, stopped at its end; skipped (with the reason) when impossible."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL tests skipped: no /usr/lib/postgresql/*/bin/pg_ctl (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL tests skipped: psycopg is not installed (pip install -e '.[postgres]')")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL tests skipped: running as root and there is no 'postgres' user")
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(server.data, ignore_errors=True)
        print(f"\nPostgreSQL could not be started: {exc}", file=sys.stderr)
        pytest.skip(f"PostgreSQL tests skipped: the server could not be started: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty feedback database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture()
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'feedback.db'}"


# ---- uvicorn on loopback -------------------------------------------------------------------------

class LiveServer:
    """uvicorn serving an app in a thread on a free 127.0.0.1 port."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
