"""The feedback database: agents' corrections and the classifications waiting in the review queue.

One SQLAlchemy Core schema serves SQLite (the default: a file in the user's data directory, in WAL mode
so the API and the CLI can use it at the same time) and PostgreSQL (`TRIAGE_DB=postgresql://...`).
The schema carries its version in `triage_meta`: a database written by a newer triage is refused with
a message saying so, never half-understood.

Both tables hold complaint text, which is personal data: `purge()` deletes rows by age
(config.toml [feedback] retention_days, run by `triage feedback purge`), a review item leaves the
queue once an agent has reviewed it or after `review_days`, and nothing here logs text.
Nothing happens at import: the engine is created by `FeedbackStore.open()`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import (JSON, Column, DateTime, Engine, Float, Integer, MetaData, String, Table, Text, create_engine,
                        delete, event, insert, inspect, or_, select)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from triage.errors import StoreError

SCHEMA_VERSION = 1
PREVIEW_CHARS = 140

metadata = MetaData()
meta_table = Table(
    "triage_meta", metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)
feedback_table = Table(
    "triage_feedback", metadata,
    Column("feedback_id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("complaint_id", String(200)),
    Column("text", Text, nullable=False),
    Column("model_version", String(100), nullable=False),
    Column("predicted", JSON, nullable=False),
    Column("corrected", JSON, nullable=False),
    Column("agent", String(100), nullable=False),
    Column("comment", Text),
)
# One row per distinct text (keyed by its SHA-256): the same complaint scored twice is queued once.
review_table = Table(
    "triage_review_items", metadata,
    Column("text_sha", String(64), primary_key=True),
    Column("complaint_id", String(200), index=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("model_version", String(100), nullable=False),
    Column("root_cause", String(50), nullable=False),
    Column("tone", String(20), nullable=False),
    Column("confidence", Float, nullable=False, index=True),
    Column("text", Text, nullable=False),
)


@dataclass(frozen=True)
class ReviewItem:
    """What the review queue keeps of one classification: enough to rank it and to show it again."""

    text: str
    complaint_id: str | None
    model_version: str
    root_cause: str
    tone: str
    confidence: float


def default_database_url(env: Mapping[str, str] = os.environ) -> str:
    """An SQLite file in the XDG data directory ($XDG_DATA_HOME, else ~/.local/share): the rule
    platformdirs applies on Linux, written out so the package needs no dependency for one path."""
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'triage' / 'feedback.db'}"


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """`$TRIAGE_DB` (the contract's name), else the default SQLite file."""
    return env.get("TRIAGE_DB") or default_database_url(env)


def engine_url(url: str) -> URL:
    """The SQLAlchemy URL with our driver: a bare `postgresql://` would mean psycopg2 to SQLAlchemy,
    and we install psycopg 3 (`pip install -e '.[postgres]'`)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"TRIAGE_DB {url!r} is not a database URL such as sqlite:///path.db "
                         "or postgresql://user@host/db") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(f"TRIAGE_DB {parsed.render_as_string(hide_password=True)}: only sqlite:// and "
                         "postgresql:// databases are supported")
    return parsed


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc(moment: datetime | None = None) -> datetime:
    """Timestamps are stored as naive UTC: SQLite keeps no time zone, so both databases store the same."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat()


def parse_age(text: str) -> timedelta:
    """'90d', '12h' or '2w' -> a timedelta; anything else is a ValueError naming the accepted forms."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhw])\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"age {text!r} is not a positive number of days, hours or weeks such as 90d, 12h or 2w")
    number, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=number), "h": timedelta(hours=number), "w": timedelta(weeks=number)}[unit]


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or datetime ('2026-03-01', '2026-03-01T10:00:00+03:00'); without a zone it is UTC."""
    try:
        return utc(datetime.fromisoformat(text.strip()))
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not an ISO date or datetime such as 2026-03-01 or 2026-03-01T10:00:00Z") from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets the API write while the CLI exports or purges; the busy timeout makes a writer wait
    for another instead of failing at once; secure_delete overwrites deleted rows, so purged text
    does not linger in the file's free pages."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _feedback_row(row) -> dict:
    return {"feedback_id": row.feedback_id, "created_at": iso(row.created_at), "id": row.complaint_id,
            "text": row.text, "model_version": row.model_version, "predicted": row.predicted,
            "corrected": row.corrected, "agent": row.agent, "comment": row.comment}


def _by_ref(ref: str):
    """A review item is named by its text's SHA-256 (what the queue lists) or by the caller's complaint id."""
    return or_(review_table.c.text_sha == ref, review_table.c.complaint_id == ref)


class FeedbackStore:
    """The database behind /feedback, /review/queue and `triage feedback`; safe to share between threads."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None) -> FeedbackStore:
        """Connect, refuse a newer schema, create the tables on first use."""
        target = engine_url(url or database_url())
        shown = target.render_as_string(hide_password=True)
        if target.get_backend_name() == "sqlite" and target.database not in (None, "", ":memory:"):
            Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(target, pool_pre_ping=True)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreError(f"cannot use {shown}: {exc}; for PostgreSQL install the extra: "
                             "pip install -e '.[postgres]'") from None
        if target.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            _prepare_schema(engine, shown)
        except DBAPIError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the feedback database {shown}: {exc.orig}") from None
        except StoreError:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- corrections -------------------------------------------------------------------------------

    def add_feedback(self, record: Mapping, now: datetime | None = None) -> dict:
        """Store one correction; the complaint leaves the review queue, since an agent has now seen it."""
        created = utc(now)
        complaint_id = None if record.get("id") is None else str(record["id"])
        with self.engine.begin() as conn:
            result = conn.execute(insert(feedback_table).values(
                created_at=created, complaint_id=complaint_id, text=record["text"],
                model_version=record["model_version"], predicted=record["predicted"],
                corrected=record["corrected"], agent=record["agent"], comment=record.get("comment")))
            reviewed = review_table.c.text_sha == text_sha(record["text"])
            if complaint_id is not None:
                reviewed = or_(reviewed, review_table.c.complaint_id == complaint_id)
            conn.execute(delete(review_table).where(reviewed))
        return {"feedback_id": result.inserted_primary_key[0], "created_at": iso(created)}

    def feedback(self, since: datetime | None = None, limit: int | None = None) -> Iterator[dict]:
        """Corrections in the order they were stored, from `since` (inclusive); streamed, so an export
        of any size runs in constant memory."""
        query = select(feedback_table).order_by(feedback_table.c.feedback_id)
        if since is not None:
            query = query.where(feedback_table.c.created_at >= utc(since))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=500).execute(query):
                yield _feedback_row(row)

    # ---- review queue ------------------------------------------------------------------------------

    def record_review(self, items: Iterable[ReviewItem], keep_days: int, now: datetime | None = None) -> None:
        """Queue these classifications (a newer one replaces the same text) and forget queued ones
        older than `keep_days`."""
        created = utc(now)
        rows = {text_sha(i.text): {**asdict(i), "text_sha": text_sha(i.text), "created_at": created} for i in items}
        with self.engine.begin() as conn:
            conn.execute(delete(review_table).where(review_table.c.created_at < created - timedelta(days=keep_days)))
            if rows:
                conn.execute(delete(review_table).where(review_table.c.text_sha.in_(list(rows))))
                conn.execute(insert(review_table), list(rows.values()))

    def review_queue(self, limit: int, keep_days: int, now: datetime | None = None) -> list[dict]:
        """The least confident recent classifications first, newest first among equals."""
        query = (select(review_table).where(review_table.c.created_at >= utc(now) - timedelta(days=keep_days))
                 .order_by(review_table.c.confidence, review_table.c.created_at.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [{"ref": r.text_sha, "id": r.complaint_id, "created_at": iso(r.created_at),
                     "model_version": r.model_version, "root_cause": r.root_cause, "tone": r.tone,
                     "confidence": r.confidence, "preview": r.text[:PREVIEW_CHARS]}
                    for r in conn.execute(query)]

    def review_item(self, ref: str) -> dict | None:
        """The queued complaint named by `ref`, with its text, or None."""
        query = select(review_table).where(_by_ref(ref)).order_by(review_table.c.created_at.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else {"ref": row.text_sha, "id": row.complaint_id, "text": row.text,
                                         "created_at": iso(row.created_at)}

    def dismiss(self, ref: str) -> bool:
        """Take a complaint off the queue without a correction (the agent found the model right)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(review_table).where(_by_ref(ref))).rowcount > 0

    # ---- retention ---------------------------------------------------------------------------------

    def purge(self, older_than: timedelta, now: datetime | None = None) -> dict[str, int]:
        """Delete corrections and queued classifications stored before now - `older_than`."""
        cutoff = utc(now) - older_than
        with self.engine.begin() as conn:
            corrections = conn.execute(delete(feedback_table).where(feedback_table.c.created_at < cutoff)).rowcount
            queued = conn.execute(delete(review_table).where(review_table.c.created_at < cutoff)).rowcount
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:  # old page versions in the WAL file go too
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"feedback": corrections, "review_items": queued}


def _stored_version(conn) -> int | None:
    if not inspect(conn).has_table(meta_table.name):
        return None
    value = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).scalar()
    return None if value is None else int(value)


def _prepare_schema(engine: Engine, shown: str) -> None:
    """Check the version before touching anything, then create what is missing. Two processes starting
    on an empty database may race on CREATE TABLE: the loser retries once and finds the tables."""
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                version = _stored_version(conn)
                if version is not None and version > SCHEMA_VERSION:
                    raise StoreError(f"the feedback database {shown} has schema version {version}, this triage "
                                     f"knows versions up to {SCHEMA_VERSION}: it was written by a newer triage; "
                                     "upgrade triage or point TRIAGE_DB at another database")
                metadata.create_all(conn)
                if version is None:
                    conn.execute(insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        except DBAPIError:
            if attempt == 2:
                raise


def export_jsonl(store: FeedbackStore, out: Path, since: datetime | None = None) -> int:
    """Write the corrections as JSON lines (the shape GET /feedback returns) atomically; returns the count."""
    tmp = out.with_name(out.name + ".tmp")
    count = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for record in store.feedback(since):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, out)
    return count
