"""Loading and validating labeled complaints (the team corpus, a user's archive, agents' corrections).

Format: JSONL or CSV with `id`, `text`, `root_cause`, `tone`, optional `domain`, `hard`, `hard_kind`,
`split`. Rows with unknown labels or no text are reported with their line number and left out;
they never reach training silently. Rows without `split` get a deterministic one from their id.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from triage.config import Config

TEST_SHARE = 0.2
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent / "corpora" / "complaints.jsonl"


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    root_cause: str
    tone: str
    split: str
    domain: str = ""
    hard: bool = False
    hard_kind: str | None = None


@dataclass
class Corpus:
    examples: list[Example]
    problems: list[str] = field(default_factory=list)
    sha256: str = ""

    def split(self, name: str) -> list[Example]:
        return [e for e in self.examples if e.split == name]


def hash_split(key: str) -> str:
    """'test' for a fixed ~20% of ids, by hash: stable across runs and machines."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 1000
    return "test" if bucket < TEST_SHARE * 1000 else "train"


def _rows(path: Path):
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as f:
            for i, row in enumerate(csv.DictReader(f), 1):
                yield i, row, None
        return
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield i, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield i, None, f"not valid JSON ({exc.msg})"


def _truthy(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def load_corpus(config: Config, path: Path | None = None) -> Corpus:
    """All valid examples of `path` (default: corpora/complaints.jsonl) and a list of problems."""
    path = Path(path or DEFAULT_CORPUS)
    if not path.exists():
        raise FileNotFoundError(f"corpus {path} does not exist")
    examples: list[Example] = []
    problems: list[str] = []
    seen: set[str] = set()
    for line, row, error in _rows(path):
        where = f"{path.name}:{line}"
        if error or not isinstance(row, dict):
            problems.append(f"{where}: {error or 'not an object'}")
            continue
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: empty or missing text")
            continue
        if row.get("root_cause") not in config.root_causes:
            problems.append(f"{where}: unknown root_cause {row.get('root_cause')!r}")
            continue
        if row.get("tone") not in config.tones:
            problems.append(f"{where}: unknown tone {row.get('tone')!r}")
            continue
        id_ = str(row.get("id") or f"{path.stem}-{line}")
        if id_ in seen:
            problems.append(f"{where}: duplicate id {id_!r}")
            continue
        seen.add(id_)
        split = row.get("split") if row.get("split") in ("train", "test") else hash_split(id_)
        examples.append(Example(id=id_, text=text, root_cause=row["root_cause"], tone=row["tone"], split=split,
                                domain=str(row.get("domain") or ""), hard=_truthy(row.get("hard")),
                                hard_kind=row.get("hard_kind") or None))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Corpus(examples=examples, problems=problems, sha256=digest)
