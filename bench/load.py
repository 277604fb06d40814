"""`make load`: N concurrent clients against /classify on 127.0.0.1 for a fixed time.

Prints requests/s, p50/p99 latency and the count of 5xx answers; exits 1 if there was any 5xx.
The request loop is bounded by time and by count, and stops by itself.
Usage: python -m bench.load [--clients 16] [--seconds 20] [--max-requests 50000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

import httpx

from bench.serve import server

TEXTS = ["Курьер опоздал на два часа и не извинился", "Списали деньги дважды за одну покупку",
         "Приложение вылетает при оплате, третий день не могу заплатить", "Все вы тупые, верните деньги немедленно",
         "Заказ 5528812 так и не пришёл, поддержка молчит", "нет связи уже сутки", "Промокод не применился к заказу",
         "Звонят с рекламой каждый день, хотя я отказался от рассылки", "🙂", "Why is my parcel late?"]


async def client_loop(http: httpx.AsyncClient, url: str, stop_at: float, budget: list[int], out: list):
    while time.perf_counter() < stop_at and budget[0] > 0:
        budget[0] -= 1
        text = random.choice(TEXTS)
        started = time.perf_counter()
        r = await http.post(f"{url}/classify", json={"text": text})
        out.append((time.perf_counter() - started, r.status_code))


async def run(url: str, clients: int, seconds: float, max_requests: int) -> dict:
    results: list[tuple[float, int]] = []
    budget = [max_requests]
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(client_loop(http, url, stop_at, budget, results) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies = sorted(t for t, _ in results)
    pct = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)  # noqa: E731
    return {"clients": clients, "seconds": round(elapsed, 2), "requests": len(results),
            "requests_per_s": round(len(results) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "status_5xx": sum(1 for _, s in results if s >= 500),
            "status_other_non_200": sum(1 for _, s in results if s != 200 and s < 500)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--max-requests", type=int, default=50_000)
    args = p.parse_args()
    with server() as url:
        report = asyncio.run(run(url, args.clients, args.seconds, args.max_requests))
    print(json.dumps(report, indent=2))
    return 1 if report["status_5xx"] else 0


if __name__ == "__main__":
    sys.exit(main())
