"""`triage score`: an archive in, one output row per scored record, one rejects line per record that
could not be scored, a summary with `read == scored + rejected`, and per-customer history.

Records go through in tasks (bounded memory): chunks of records read here, or, for a plain JSONL
input, blocks of the file that the scoring process reads itself. Whichever process scores a task
(this one, one of `jobs` worker processes that each load the model once, or a Dask worker) also
validates and encodes it; this process writes the results in input order. Output goes to
`OUTPUT.partial` and is renamed into place at the end; after every task the byte sizes of the
partial files and the last record done are saved in `OUTPUT.progress.json`, so `--resume` truncates
to the last complete task and continues without duplicating or losing rows.
"""
from __future__ import annotations

import atexit
import gc
import itertools
import json
import math
import multiprocessing as mp
import multiprocessing.forkserver as forkserver
import os
import socket
import time
import uuid
from array import array
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from collections import defaultdict, deque
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NamedTuple

from triage import normalize
from triage.complaint import Item
from triage.errors import InputError, WorkerError
from triage.history import Customer, chronic_verdict
from triage.io import (READ_FORMATS, AtomicWriter, JsonlBlock, PartsWriter, Record, column_values, encode_rows,
                       file_format, jsonl_blocks, read_records)
from triage.surrogates import mend, refuse

if TYPE_CHECKING:
    from triage.pipeline import Classifier

CHUNK = 1000  # records per task when this process reads them
# Bytes per task when workers read a plain JSONL file themselves (~1,600 real complaints): a Dask
# task costs the process handing it out ~10 ms, 512 KB tasks ran 4% slower there (same locally).
BLOCK_BYTES = 1 << 20
# The first blocks are smaller and double up to BLOCK_BYTES: the first results, and the pieces of
# text workers pass each other (`Vocabulary`), come back sooner.
FIRST_BLOCK_BYTES = 1 << 15
PASSTHROUGH = ("customer_id", "created_at", "revenue_12m", "complaints_90d")
RESULT_FIELDS = ["id", "line", "root_cause", "root_cause_scores", "secondary_causes", "tone", "tone_score",
                 "signals", "route", "language", "low_confidence", "model_version", "truncated", *PASSTHROUGH]


def side_path(output: Path, kind: str) -> Path:
    """out/scored.jsonl -> out/scored.<kind>.jsonl (rejects, customers) or .json (summary, progress)."""
    stem = output.name.split(".")[0]
    ext = ".json" if kind in ("summary", "progress") else ".jsonl"
    return output.with_name(f"{stem}.{kind}{ext}")


def _number(value, field: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field} is not a number: {value!r}")
    try:
        number = float(str(value).replace(" ", "").replace(",", "."))
    except ValueError:
        raise ValueError(f"{field} is not a number: {str(value)[:40]!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{field} must be a non-negative number, got {value!r}")
    return number


def parse_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"created_at is not an ISO date: {str(value)[:40]!r}") from None


def to_item(record: Record, max_chars: int) -> tuple[Item, dict]:
    """A validated Item and the passthrough fields, or ValueError with the reason for the rejects file."""
    if record.error:
        raise ValueError(record.error)
    row = record.row
    text = row.get("text")
    if not isinstance(text, str):
        raise ValueError("text is missing" if text is None else f"text is not a string ({type(text).__name__})")
    if not text.strip():
        raise ValueError("text is empty")
    text = mend(text)
    revenue = _number(row.get("revenue_12m"), "revenue_12m")
    count = _number(row.get("complaints_90d"), "complaints_90d")
    created = parse_date(row.get("created_at"))
    cid = row.get("customer_id")
    cid = None if cid in (None, "") else refuse(str(cid), "customer_id")
    id_ = row.get("id")
    id_ = record.line if id_ in (None, "") else refuse(id_, "id")
    extra = {"line": record.line, "truncated": len(text) > max_chars, "customer_id": cid,
             "created_at": created.isoformat() if created else None, "revenue_12m": revenue,
             "complaints_90d": int(count) if count is not None else None}
    known = cid is not None or revenue is not None or count is not None
    customer = Customer(id=cid, complaints_90d=extra["complaints_90d"], revenue_12m=revenue) if known else None
    return Item(text=text[:max_chars], id=id_, customer=customer), extra


# ---- worker processes (local pool or Dask workers): the model loads once per process ------------
# Collect cyclic garbage less often in a scoring process. Its long-lived objects (the model, the
# piece and lemma caches: hundreds of thousands of tuples) are traversed by every full collection,
# while scoring makes almost no reference cycles (~3,000 cyclic objects in 100,000 rows, measured):
# with Python's default (700, 10, 10), a 100,000-row run made 27 full collections that freed 160
# objects and cost 10-15% of the run's CPU. Memory stays bounded by reference counting.
GC_THRESHOLDS = (10_000, 50, 100)


@lru_cache(maxsize=1)
def _scoring_process() -> None:
    """Garbage collection for a scoring process: `GC_THRESHOLDS`, and no last full collection over
    the caches when the process exits (Python runs one; it took ~0.5 s of a worker's exit, which a
    Dask run waits for; the memory goes back to the system either way)."""
    gc.set_threshold(*GC_THRESHOLDS)
    atexit.register(gc.freeze)


@lru_cache(maxsize=2)
def cached_classifier(model_dir: str | None) -> Classifier:
    """The model of `model_dir` (None: TRIAGE_MODEL or the default), loaded once per process: a
    process keeps scoring with the model it first loaded from that directory. Loading it makes this
    a scoring process (`_scoring_process`). The model's code is imported here, not with this module:
    a process that only hands work to workers imports it later, while their server starts."""
    from triage.pipeline import Classifier

    _scoring_process()
    return Classifier.load(model_dir)


def score_chunk(args: tuple[list[Item], float | None, str | None]) -> list[dict]:
    """Score one chunk of items in whatever process runs it; only the items travel, never the model."""
    items, significant, model_dir = args
    return cached_classifier(model_dir).classify_many(items, significant)


@dataclass
class Scored:
    """One task, done: its records validated, scored and encoded for the output file by whatever
    process ran it, so that the writing process only writes (with `--jobs` it would otherwise spend a
    fifth of a core unpickling and encoding result dicts)."""

    output: bytes | list[dict]  # io.encode_rows of the scored rows
    scored: int
    rejects: list[dict]
    customers: list[dict]  # the History fields of scored rows with a customer id
    last: int  # the line of the task's last record (0: no records)
    learned: bytes  # pieces of text first normalized by this task, for the other workers (normalize.learned)
    worker: str  # the process that ran the task (`worker_name`)
    absorbed: tuple[str, ...]  # the keys of the task's `taught` pieces: that process has them now


class Task(NamedTuple):
    """One unit of batch work as it travels to the process that scores it (never the model)."""

    source: list[Record] | JsonlBlock
    significant: float | None
    model_dir: str | None
    ext: str  # the output's format, for io.encode_rows
    taught: tuple[tuple[str, bytes], ...] = ()  # (key, pieces) other workers normalized (see `Vocabulary`)


_HISTORY_FIELDS = ("customer_id", "tone", "created_at", "revenue_12m")


def worker_name() -> str:
    """This process among the workers of a run, which may span machines."""
    return f"{socket.gethostname()}/{os.getpid()}"


# The keys of the pieces this process was taught (a Dask worker serves one run after another: the
# keys are unique across runs, and the set is emptied when it grows large).
_ABSORBED: set[str] = set()
ABSORBED_LIMIT = 100_000


def score_records(task: Task) -> Scored:
    """One task: its records (or the block of the input it reads itself), scored and encoded."""
    source, significant, model_dir, ext, taught = task
    records = source.records() if isinstance(source, JsonlBlock) else source
    clf = cached_classifier(model_dir)
    for key, blob in taught:
        if key not in _ABSORBED:
            normalize.teach(blob)
            if len(_ABSORBED) >= ABSORBED_LIMIT:
                _ABSORBED.clear()
            _ABSORBED.add(key)
    items, extras, rejects = [], [], []
    for rec in records:
        try:
            item, extra = to_item(rec, clf.config.max_chars)
            items.append(item)
            extras.append(extra)
        except ValueError as exc:
            raw_id = rec.row.get("id") if rec.row else None
            rejects.append({"line": rec.line, "id": _reject_id(raw_id), "reason": str(exc)})
    rows = [{**r, **extra} for r, extra in zip(clf.classify_many(items, significant), extras)]
    customers = [{k: row[k] for k in _HISTORY_FIELDS} for row in rows if row["customer_id"] is not None]
    last = records[-1].line if records else 0
    return Scored(encode_rows(ext, rows, RESULT_FIELDS), len(rows), rejects, customers, last, normalize.learned(),
                  worker_name(), tuple(key for key, _ in taught))


def _reject_id(raw_id) -> str | int | None:
    """A rejected record's id as the rejects file can hold it (the line number identifies it anyway)."""
    if isinstance(raw_id, str):
        return mend(raw_id)
    return raw_id if isinstance(raw_id, int) else None


@dataclass
class History:
    """Per-customer aggregates, compact: dates as day numbers, no texts."""

    days: dict[str, array] = field(default_factory=lambda: defaultdict(lambda: array("i")))
    scandalist: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    revenue: dict[str, float] = field(default_factory=dict)

    def add(self, row: dict) -> None:
        cid = row.get("customer_id")
        if cid is None:
            return
        self.total[cid] += 1
        self.scandalist[cid] += row["tone"] == "scandalist"
        if row.get("created_at"):
            self.days[cid].append(date.fromisoformat(row["created_at"]).toordinal())
        if row.get("revenue_12m") is not None:
            self.revenue[cid] = max(self.revenue.get(cid, 0.0), row["revenue_12m"])

    def verdicts(self, policy) -> Iterator[dict]:
        rates = sorted(self.total[c] / (self.revenue[c] / 1000) for c in self.revenue if self.revenue[c] > 0)
        median = rates[len(rates) // 2] if rates else None
        for cid, total in self.total.items():
            days = self.days.get(cid)
            last = max(days) if days else None
            in_90 = sum(1 for d in days if d > last - 90) if days else total
            share = self.scandalist[cid] / total
            rev = self.revenue.get(cid)
            ratio = (total / (rev / 1000)) / median if rev and median else None
            v = chronic_verdict(in_90, share, policy, ratio)
            yield {"customer_id": cid, "complaints": total, "complaints_90d": in_90,
                   "scandalist_share": round(share, 4), "revenue_12m": rev, "chronic": v.chronic,
                   "chronic_score": v.score, "reasons": v.reasons}


def revenue_threshold(path: Path, encoding, delimiter, quantile: float) -> float | None:
    """The archive's own `quantile` of revenue_12m (a cheap first pass over that one column), or None
    without revenue."""
    values = array("d")
    for raw in column_values(path, "revenue_12m", encoding, delimiter):
        try:
            v = _number(raw, "revenue_12m")
        except ValueError:
            v = None
        if v is not None:
            values.append(v)
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def _sources(input_path: Path, records: Iterator[Record], skip_to: int, encoding: str | None,
             workers_read: bool) -> Iterator[list[Record] | JsonlBlock]:
    """What each task scores: blocks of a plain JSONL file that the workers read themselves (when they
    share this machine's files), else chunks of records read here (CSV, Parquet, gzip)."""
    ext, gz = file_format(input_path, READ_FORMATS)
    if workers_read and ext == ".jsonl" and not gz:
        return jsonl_blocks(input_path, encoding, BLOCK_BYTES, skip_to, FIRST_BLOCK_BYTES)
    return _chunks(records, skip_to)


def _chunks(records: Iterator[Record], skip_to: int) -> Iterator[list[Record]]:
    """Chunks of up to CHUNK records; records at or before `skip_to` (already done in an interrupted
    run) are skipped."""
    records = (rec for rec in records if rec.line > skip_to)
    while chunk := list(itertools.islice(records, CHUNK)):
        yield chunk


def warm_worker(model_dir: str | None) -> None:
    """Worker initializer: load the model and touch the tokenizer and dictionary before the first
    chunk. It must not raise (a process pool would be broken for good, with an error that does not say
    why): a broken model fails with its own message when the parent process loads it, and again on
    the first chunk."""
    normalize.record_learning()
    try:
        cached_classifier(model_dir).warm_up()
    except Exception:  # noqa: BLE001 - see the docstring
        pass


class Vocabulary:
    """Passes the pieces of text one worker normalized (a task's `learned`) to the other workers, so
    that they need not tokenize and lemmatize them again: each worker otherwise learns the same
    vocabulary by itself. Which worker takes a task is not ours to choose, so a batch of pieces rides
    along with every task handed out until every worker has reported having it (`Scored.worker`,
    `Scored.absorbed`), or after `most` tasks; a worker skips the batches it has already absorbed.
    A task carries at most `most_bytes` of them (the oldest first): on a large cluster the first
    tasks all learn at once. Handing each batch to the next task per worker instead (the first way)
    left 23-34k of the 76k distinct pieces of the bench archive computed twice with 2 workers (two
    tasks in a row often went to the same worker); this way, ~15k."""

    def __init__(self, workers: int, most: int, most_bytes: int = 8 << 20):
        self.workers = workers
        self.most = most
        self.most_bytes = most_bytes
        self.run = uuid.uuid4().hex
        self.count = 0
        self.pending: dict[str, list] = {}  # key -> [blob, hand-outs left, the workers that have it]

    def add(self, done: Scored) -> None:
        for key in done.absorbed:
            entry = self.pending.get(key)
            if entry:
                entry[2].add(done.worker)
                if len(entry[2]) >= self.workers:
                    del self.pending[key]
        if done.learned and self.workers > 1:
            self.pending[f"{self.run}/{self.count}"] = [done.learned, self.most, {done.worker}]
            self.count += 1

    def take(self) -> tuple[tuple[str, bytes], ...]:
        taught, size = [], 0
        for key, entry in self.pending.items():
            size += len(entry[0])
            if taught and size > self.most_bytes:
                break
            taught.append((key, entry[0]))
        for key, _ in taught:
            self.pending[key][1] -= 1
            if self.pending[key][1] <= 0:
                del self.pending[key]
        return tuple(taught)


def ordered_window(tasks: Iterator[Task], submit, limit: int, workers: int) -> Iterator[Scored]:
    """Run tasks elsewhere and yield their results in input order, with at most `limit` tasks in
    flight: the window keeps memory bounded however long the input is.

    `submit(task)` starts a task on a process pool or a Dask cluster and returns its future
    (`done()`, `result()`: concurrent.futures and Dask alike). The pieces of text that workers learn
    ride along with later tasks to the other workers (see `Vocabulary`; `workers`: how many there
    are): before a task is handed out, every result already done is taken in, not only the oldest."""
    vocabulary = Vocabulary(workers, most=2 * limit)
    pending: deque[list] = deque()  # [handle, its Scored once taken in]

    def take_in(slot: list) -> Scored:
        if slot[1] is None:
            slot[1] = slot[0].result()
            vocabulary.add(slot[1])
        return slot[1]

    for task in tasks:
        for slot in pending:
            if slot[1] is None and slot[0].done():
                take_in(slot)
        pending.append([submit(task._replace(taught=vocabulary.take())), None])
        if len(pending) >= limit:
            yield take_in(pending.popleft())
    while pending:
        yield take_in(pending.popleft())


def start_method() -> str:
    """How this machine's worker processes start: "forkserver" where there is one (Linux, macOS),
    else "spawn" (Windows)."""
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def worker_context(*preload: str):
    """The multiprocessing context for this machine's worker processes (a --jobs pool, a Dask
    LocalCluster's workers). With a forkserver they are forked from one server process that imported
    the scoring code, spaCy and `preload` once, instead of each importing them (~0.8 s of CPU per
    worker, ~1.2 s with Dask's modules; on two cores a worker's start-up takes CPU from the others).
    The server starts importing at once, while this process goes on (it waits only when it starts
    the first worker). The preload counts only if no forkserver runs yet in this process; either
    way workers import what they lack themselves."""
    ctx = mp.get_context(start_method())
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload([*preload, "triage.batch", "triage.pipeline", "spacy"])
        forkserver.ensure_running()
    return ctx


def local_scorer(jobs: int, model_dir: str | None):
    """A context manager yielding a function that maps `score_records` tasks to their results in
    order: in this process, or in `jobs` worker processes that each load the model once, started
    with the first tasks. The server they fork from starts importing now (`worker_context`)."""
    context = worker_context() if jobs > 1 else None

    @contextmanager
    def scorer():
        if context is None:
            yield lambda tasks: map(score_records, tasks)
            return
        with ProcessPoolExecutor(jobs, context, initializer=warm_worker, initargs=(model_dir,)) as pool:
            try:
                yield lambda tasks: ordered_window(tasks, lambda task: pool.submit(score_records, task), 2 * jobs,
                                                   jobs)
            except BrokenProcessPool:
                raise WorkerError("a worker process died (killed, or out of memory?); every task done before it "
                                  "is saved: run the same command with --resume to continue") from None
    return scorer()


def score_file(input_path: Path, output: Path, jobs: int = 1, resume: bool = False, encoding: str | None = None,
               delimiter: str | None = None, model_dir: str | None = None, progress: bool = True,
               scorer=None, workers_read: bool = True) -> dict:
    """Score INPUT into OUTPUT with rejects, summary and (when customer ids exist) customers files.

    `scorer` is a context manager yielding the function that runs `score_records` tasks (see
    `local_scorer`; the Dask engine passes its own and a directory OUTPUT written as parts). Made
    before this process imports the model's code and reads settings and the revenue column, so that
    the server its workers fork from (`worker_context`) imports meanwhile. `workers_read`: the
    processes that score can open INPUT at the same path (this machine's pool or a LocalCluster);
    they then read blocks of a plain JSONL file themselves."""
    started = time.perf_counter()
    input_path, output = Path(input_path), Path(output)
    records = read_records(input_path, encoding, delimiter)
    first = next(records, None)  # header and format problems surface here, before any output exists
    records = itertools.chain([first] if first else [], records)
    parts = scorer is not None
    scorer = scorer or local_scorer(jobs, model_dir)
    from tqdm import tqdm

    from triage.pipeline import load_settings

    # One process: the model that scores; with workers: only what this process needs from it.
    clf = cached_classifier(model_dir) if jobs <= 1 and not parts else load_settings(model_dir)
    significant = revenue_threshold(input_path, encoding, delimiter, clf.policy.significant_quantile)
    with scorer as run, tqdm(total=None, unit=" rows", disable=not progress, mininterval=0.5) as bar:
        progress_path = side_path(output, "progress")
        state = json.loads(progress_path.read_text()) if resume and progress_path.exists() else {}
        if state.get("input") not in (None, str(input_path.resolve())):
            raise InputError(f"{progress_path} belongs to another input ({state['input']}); remove it or drop --resume")
        out = PartsWriter(output) if parts else AtomicWriter(output, RESULT_FIELDS, resume=bool(state))
        rej = AtomicWriter(side_path(output, "rejects"), resume=bool(state))
        resumable = not parts and out.ext != ".parquet"
        if state:
            if not resumable:
                raise InputError("--resume needs a .jsonl or .csv OUTPUT and the local engine")
            out.truncate(state["out_bytes"])
            rej.truncate(state["rej_bytes"])
        counts = {"read": state.get("read", 0), "scored": state.get("scored", 0), "rejected": state.get("rejected", 0)}
        history = History()
        if state and out.ext == ".jsonl":
            with open(out.tmp, encoding="utf-8") as f:
                for line in f:
                    history.add(json.loads(line))

        sources = _sources(input_path, records, state.get("last_line", 0), encoding, workers_read)
        last = state.get("last_line", 0)
        for done in run(Task(source, significant, model_dir, out.ext) for source in sources):
            out.write_encoded(done.output, done.scored)
            rej.write_many(done.rejects)
            for row in done.customers:
                history.add(row)
            counts["read"] += done.scored + len(done.rejects)
            counts["scored"] += done.scored
            counts["rejected"] += len(done.rejects)
            last = max(last, done.last)
            if resumable:
                progress_path.write_text(json.dumps({"input": str(input_path.resolve()), "last_line": last,
                                                     "out_bytes": out.flush(), "rej_bytes": rej.flush(),
                                                     **counts}))
            bar.update(done.scored + len(done.rejects))
    out.commit()
    rej.commit()
    if history.total:
        customers = AtomicWriter(side_path(output, "customers"))
        customers.write_many(list(history.verdicts(clf.policy)))
        customers.commit()
    if counts["read"] != counts["scored"] + counts["rejected"]:
        raise RuntimeError(f"accounting broke: read {counts['read']} != scored {counts['scored']} "
                           f"+ rejected {counts['rejected']}")
    summary = {**counts, "seconds": round(time.perf_counter() - started, 3), "model_version": clf.version,
               "significant_revenue_12m": significant if significant is not None else clf.policy.significant_revenue_12m}
    side_path(output, "summary").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    progress_path.unlink(missing_ok=True)
    return summary
