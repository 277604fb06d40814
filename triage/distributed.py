"""Scoring beyond one machine with Dask (optional extra: `pip install -e .[dask]`).

Two entry points:
- `triage score IN OUT --engine dask [--scheduler ADDR]`: the same reader, validation, rejects and
  `read == scored + rejected` accounting as the local engine (triage/batch.py); tasks are submitted
  to the cluster with a bounded window, results come back in input order, already encoded, and are
  written as a directory of parts. No address: a LocalCluster of worker processes on this machine,
  whose workers read blocks of a plain JSONL input themselves; with an address the input is read
  here and its records travel to the workers (they need not see this machine's files).
- `score_frame(ddf)`: for a `dask.dataframe` a team already holds (e.g. Parquet next to the cluster);
  returns a frame with the result columns added and `reject_reason` set on rows that could not be scored.

Workers load the model once per process (`batch.cached_classifier`) from `model_dir` or `TRIAGE_MODEL`,
which must exist on every worker: the model is never pickled into tasks. If a worker dies, Dask reruns
its tasks elsewhere; results are keyed by chunk, so nothing is duplicated or lost.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from triage.batch import (ordered_window, score_chunk, score_file, score_records, start_method, to_item, warm_worker,
                          worker_context)
from triage.io import Record, flat_row

RESULT_COLUMNS = ("root_cause", "root_cause_scores", "secondary_causes", "tone", "tone_score", "signals",
                  "route", "language", "low_confidence", "model_version", "reject_reason")


def dask_scorer(scheduler: str | None = None, n_workers: int = 2, window: int | None = None,
                model_dir: str | None = None):
    """A context manager yielding a function mapping `score_records` tasks to their results in order,
    on a Dask cluster.

    A LocalCluster started here runs without Dask's sampling profiler (~10% of a worker's time on
    this machine) and without the MALLOC_TRIM_THRESHOLD_=65536 its nannies put in a worker's
    environment to hand freed memory back to the system at once: scoring allocates and frees all the
    time, and with it a worker took 3.5x the page faults and ~15% more CPU for the same tasks (RSS
    at the end of the 100,000-row bench run: 238 MB with it, 258 MB without). Its workers fork from a
    server process that imported Dask, the scoring code and spaCy once (`batch.worker_context`).
    An existing cluster keeps its own configuration. Every worker starts loading the model at once,
    while this process reads the input."""
    if not scheduler:
        # Now, while the caller prepares; and before Dask's own preload list, which would leave out ours.
        worker_context("distributed")
    return _on_cluster(scheduler, n_workers, window, model_dir)


@contextmanager
def _on_cluster(scheduler: str | None, n_workers: int, window: int | None, model_dir: str | None):
    import dask
    from distributed import Client, LocalCluster

    cluster = None
    if not scheduler:
        with dask.config.set({"distributed.worker.profile.enabled": False,
                              "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                              "distributed.worker.multiprocessing-method": start_method()}):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
    client = Client(scheduler or cluster)
    warming = []  # held until the run ends: Dask may drop the task of a future nobody holds
    try:
        workers = list(client.scheduler_info()["workers"])
        warming = [client.submit(warm_worker, model_dir, workers=[w], allow_other_workers=False, pure=False)
                   for w in workers]
        limit = window or 2 * max(1, len(workers))

        def run(tasks):
            return ordered_window(tasks, lambda t: client.submit(score_records, t, pure=False), limit,
                                  len(workers))

        yield run
    finally:
        for future in warming:
            future.release()
        client.close()
        if cluster is not None:
            cluster.close()


def score_with_dask(input_path: Path, output: Path, scheduler: str | None = None, n_workers: int = 2,
                    **kwargs) -> dict:
    """`triage score --engine dask`: OUTPUT becomes a directory of parts."""
    model_dir = kwargs.pop("model_dir", None) or os.environ.get("TRIAGE_MODEL")
    return score_file(input_path, output, model_dir=model_dir, scorer=dask_scorer(scheduler, n_workers, model_dir=model_dir),
                      workers_read=not scheduler, **kwargs)


def _score_partition(pdf, model_dir: str | None, max_chars: int):
    """One pandas partition -> the same rows with result columns (JSON strings for nested values)."""
    import pandas as pd

    items, positions, reasons = [], [], [None] * len(pdf)
    for pos, row in enumerate(pdf.to_dict("records")):
        try:
            item, _ = to_item(Record(pos + 1, row), max_chars)
            items.append(item)
            positions.append(pos)
        except ValueError as exc:
            reasons[pos] = str(exc)
    results = score_chunk((items, None, model_dir)) if items else []
    columns = {c: [None] * len(pdf) for c in RESULT_COLUMNS}
    for pos, result in zip(positions, map(flat_row, results)):
        for c in RESULT_COLUMNS[:-1]:
            columns[c][pos] = result[c]
    columns["reject_reason"] = reasons
    out = pdf.copy()
    for c in RESULT_COLUMNS:
        out[c] = pd.Series(columns[c], index=pdf.index, dtype="object")
    return out


def score_frame(ddf, model_dir: str | None = None):
    """Add result columns to a dask DataFrame with a `text` column; lazy, like any dask operation."""
    from triage.config import load_config

    if "text" not in ddf.columns:
        raise ValueError(f"the frame has no 'text' column (columns: {list(ddf.columns)})")
    import pandas as pd

    meta = ddf._meta.assign(**{c: pd.Series(dtype="object") for c in RESULT_COLUMNS})
    model_dir = model_dir or os.environ.get("TRIAGE_MODEL")
    return ddf.map_partitions(_score_partition, model_dir, load_config().max_chars, meta=meta)
