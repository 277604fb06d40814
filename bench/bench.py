"""`make bench`: one run, one 100,000-row archive, a table and bench/results/bench.json.

The archive is built at run time from ../shared/benchmarks/real-complaints/pool.jsonl (real text,
never committed) when it exists, else from the corpus. Every figure is complaints per second on this
machine unless it says otherwise; peak RSS is the scorer process's (and its workers') maximum.
Throughput on this 2-core machine drifts by ±15% from one run to the next, so the five throughput
figures (1 process, --jobs 2, Dask, tokenization alone, the naive sample) are measured in `--repeat`
interleaved rounds and the median of each is reported (with the spread in bench.json). Each ratio
to the single process is given twice: the ratio of the medians, and the median of the ratios within
each round (runs of one round are minutes apart and share the machine's state; the drift between
rounds then cancels out).
Usage: python -m bench.bench [--rows 100000] [--repeat 5] [--skip-million]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.serve import server
from training.corpus import DEFAULT_CORPUS
from triage.artifacts import MODEL_FILE, default_model_dir
from triage.config import PACKAGE_DIR

ROOT = PACKAGE_DIR.parent
POOL = ROOT.parent / "shared" / "benchmarks" / "real-complaints" / "pool.jsonl"
OUT = ROOT / "bench" / "results"
# (name, numerator, denominator) of the ratios also taken within each round
RATIOS = [("jobs_2", "score_jobs_2", "score_1"), ("dask_2", "score_dask_2", "score_1"),
          ("single_to_naive", "score_1", "naive"), ("single_to_tokenize", "score_1", "tokenize_only")]


def source_texts() -> tuple[list[str], str]:
    path = POOL if POOL.exists() else DEFAULT_CORPUS
    texts = [json.loads(l)["text"] for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    return texts, ("real pool" if path == POOL else "team corpus")


def build_archive(path: Path, texts: list[str], rows: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, text in zip(range(rows), itertools.cycle(texts)):
            f.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")


def run_child(name: str, **args) -> dict:
    """Run bench.child NAME in a fresh Python; returns its seconds and peak RSS."""
    out = subprocess.run([sys.executable, "-m", "bench.child", name, json.dumps(args)], capture_output=True, text=True,
                         env=os.environ.copy(), cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def score_rate(archive: Path, rows: int, jobs: int = 1, engine: str = "local") -> dict:
    r = run_child("score", archive=str(archive), out=str(archive.parent / f"scored-{engine}-{jobs}.jsonl"), jobs=jobs,
                  engine=engine)
    return {"per_s": round(rows / r["seconds"]), "seconds": round(r["seconds"], 1), "peak_rss_mb": r["peak_rss_mb"]}


def naive_rate(texts: list[str], archive_dir: Path) -> dict:
    sample = archive_dir / "naive-sample.json"
    sample.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    return {"per_s": round(len(texts) / run_child("naive", sample=str(sample))["seconds"]), "sample": len(texts)}


def tokenize_rate(archive: Path, rows: int) -> dict:
    return {"per_s": round(rows / run_child("tokenize", archive=str(archive))["seconds"])}


def bare_tfidf_rate(archive: Path, rows: int) -> dict:
    r = run_child("bare_tfidf", archive=str(archive), out=str(archive.parent / "bare.jsonl"), corpus=str(DEFAULT_CORPUS))
    return {"per_s": round(rows / r["seconds"])}


def _quantiles(times: list[float]) -> dict:
    q = statistics.quantiles(times, n=100)
    return {"p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2), "p99_ms": round(q[98], 2), "requests": len(times)}


def latencies(targets: dict[str, tuple[str, str, dict]], n: int) -> dict:
    """Sequential requests to every target in turn (name -> (url, path, body)), so that each figure is
    taken under the same conditions as the others: the machine's speed drifts during a run."""
    times: dict[str, list[float]] = {name: [] for name in targets}
    with httpx.Client(timeout=30) as http:
        for url, path, body in targets.values():
            for _ in range(20):
                http.post(f"{url}{path}", json=body).raise_for_status()
        for _ in range(n):
            for name, (url, path, body) in targets.items():
                t = time.perf_counter()
                r = http.post(f"{url}{path}", json=body)
                times[name].append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
    return {name: _quantiles(t) for name, t in times.items()}


def http_figures(texts: list[str]) -> dict:
    """/classify next to an empty endpoint served the same way (requests alternate between the two
    servers), then /classify/batch with 100 items."""
    sample = next(t for t in texts if 250 <= len(t) <= 450)
    batch = {"items": [{"id": str(i), "text": t} for i, t in enumerate(texts[:100])]}
    with server() as url, server("bench.empty_app:create_app") as empty_url:
        single = latencies({"classify": (url, "/classify", {"text": sample}),
                            "empty_endpoint": (empty_url, "/classify", {"text": sample})}, 1000)
        return {**single, **latencies({"classify_batch_100": (url, "/classify/batch", batch)}, 50)}


def model_figures() -> dict:
    return {"load_seconds": round(run_child("load_model")["seconds"], 2),
            "training_seconds": round(run_child("train", out=str(OUT / "model"))["seconds"], 1),
            "artifact_mb": round((default_model_dir() / MODEL_FILE).stat().st_size / 2**20, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=5, help="rounds of the throughput runs (median reported)")
    p.add_argument("--skip-million", action="store_true", help="skip the 1,000,000-row peak-RSS run")
    args = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    texts, origin = source_texts()
    work = Path(tempfile.mkdtemp(prefix="triage-bench-"))  # real text stays out of the repository
    archive = work / "archive.jsonl"
    build_archive(archive, texts, args.rows)
    r = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
         "rows": args.rows, "texts": origin, "mean_chars": round(statistics.mean(len(t) for t in texts))}
    rounds = [{"score_1": score_rate(archive, args.rows),
               "score_jobs_2": score_rate(archive, args.rows, jobs=2),
               "score_dask_2": score_rate(archive, args.rows, jobs=2, engine="dask"),
               "tokenize_only": tokenize_rate(archive, args.rows),
               "naive": naive_rate(texts[:1000], work)} for _ in range(args.repeat)]
    for name in rounds[0]:
        runs = sorted((one[name] for one in rounds), key=lambda x: x["per_s"])
        r[name] = {**runs[len(runs) // 2], "runs_per_s": [x["per_s"] for x in runs]}
    r["ratios_within_rounds"] = {name: statistics.median(one[a]["per_s"] / one[b]["per_s"] for one in rounds)
                                 for name, a, b in RATIOS}
    distinct = work / "distinct.jsonl"  # the cycled archive's caches are warmer than a real archive's
    build_archive(distinct, texts, len(texts))
    r["score_1_distinct"] = {**score_rate(distinct, len(texts)), "rows": len(texts)}
    r["bare_tfidf_lr_io"] = bare_tfidf_rate(archive, args.rows)
    r["http"] = http_figures(texts)
    r["model"] = model_figures()
    if not args.skip_million:
        big = work / "archive-1m.jsonl"
        build_archive(big, texts, 1_000_000)
        r["score_1_million"] = score_rate(big, 1_000_000)
        big.unlink()
    shutil.rmtree(work, ignore_errors=True)
    (OUT / "bench.json").write_text(json.dumps(r, indent=2))
    print(render(r))


def render(r: dict) -> str:
    s1 = r["score_1"]["per_s"]
    within = r["ratios_within_rounds"]

    def spread(name: str) -> str:
        return "runs " + ", ".join(f"{x:,}" for x in r[name]["runs_per_s"])

    rows = [
        ("triage score, 1 process", f"{s1:,}/s", f"peak RSS {r['score_1']['peak_rss_mb']} MB; {spread('score_1')}"),
        ("triage score --jobs 2", f"{r['score_jobs_2']['per_s']:,}/s",
         f"{r['score_jobs_2']['per_s'] / s1:.2f}x single (within rounds {within['jobs_2']:.2f}x); "
         f"{spread('score_jobs_2')}"),
        ("triage score --engine dask (LocalCluster 2)", f"{r['score_dask_2']['per_s']:,}/s",
         f"{r['score_dask_2']['per_s'] / s1:.2f}x single (within rounds {within['dask_2']:.2f}x); "
         f"{spread('score_dask_2')}"),
        ("triage score, 1 process, each text once", f"{r['score_1_distinct']['per_s']:,}/s",
         f"{r['score_1_distinct']['rows']:,} distinct texts: cold caches, start-up included"),
        ("naive spaCy + pymorphy3 lemmatizer (sample)", f"{r['naive']['per_s']:,}/s",
         f"single is {s1 / r['naive']['per_s']:.1f}x this (within rounds {within['single_to_naive']:.1f}x); "
         f"{spread('naive')}"),
        ("spaCy tokenization alone", f"{r['tokenize_only']['per_s']:,}/s",
         f"single is {s1 / r['tokenize_only']['per_s']:.0%} of this (within rounds {within['single_to_tokenize']:.0%}); "
         f"{spread('tokenize_only')}"),
        ("bare TF-IDF + LR with JSONL I/O", f"{r['bare_tfidf_lr_io']['per_s']:,}/s", ""),
    ]
    h = r["http"]
    for name in ("classify", "empty_endpoint", "classify_batch_100"):
        rows.append((f"HTTP {name}", f"p50 {h[name]['p50_ms']} ms", f"p95 {h[name]['p95_ms']} / p99 {h[name]['p99_ms']} ms"))
    m = r["model"]
    rows.append(("model", f"load {m['load_seconds']} s", f"training {m['training_seconds']} s, artifact {m['artifact_mb']} MB"))
    if "score_1_million" in r:
        rows.append(("peak RSS 1,000,000 rows", f"{r['score_1_million']['peak_rss_mb']} MB",
                     f"{r['score_1_million']['peak_rss_mb'] / r['score_1']['peak_rss_mb']:.2f}x the 100,000-row run"))
    lines = [f"{r['rows']:,} rows of {r['texts']} (mean {r['mean_chars']} chars) on {r['machine']}", "",
             "| what | figure | note |", "|---|---:|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
