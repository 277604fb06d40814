"""Merge writers' slices (`corpora/parts/*.jsonl`) into `corpora/complaints.jsonl`.

Checks every row against the config's labels, drops exact duplicates (same text after lower-casing
and collapsing everything but letters and digits) and near-duplicates (Jaccard similarity of word
3-gram sets >= NEAR_DUP), assigns a fixed stratified train/test split to rows that have none, and
writes the counts into `corpora/DATA_CARD.md` between its generated-section markers.

Usage: python -m training.build_corpus [--parts DIR]
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
from pathlib import Path

from training.corpus import DEFAULT_CORPUS, TEST_SHARE
from triage.config import load_config

NEAR_DUP = 0.5
_WORD = re.compile(r"[а-яёa-z0-9]+")
CARD = DEFAULT_CORPUS.parent / "DATA_CARD.md"
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"


def normal_key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("ё", "е")))


def shingles(text: str, n: int = 3) -> set[str]:
    words = normal_key(text).split()
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def near_duplicates(texts: list[str], threshold: float = NEAR_DUP) -> set[int]:
    """Indexes of texts that repeat an earlier one by >= threshold Jaccard of word 3-grams."""
    index: dict[str, list[int]] = collections.defaultdict(list)
    sets = [shingles(t) for t in texts]
    drop: set[int] = set()
    for i, s in enumerate(sets):
        if len(s) >= 3:
            overlap = collections.Counter(j for sh in s for j in index[sh])
            if any(c / len(s | sets[j]) >= threshold for j, c in overlap.items()):
                drop.add(i)
                continue
        for sh in s:
            index[sh].append(i)
    return drop


def stratified_split(rows: list[dict]) -> None:
    """Give rows without a split one: per (root_cause, tone) stratum, the TEST_SHARE of ids with the
    smallest hash go to test. Deterministic; rows that already have a split keep it."""
    strata = collections.defaultdict(list)
    for r in rows:
        if r.get("split") not in ("train", "test"):
            strata[(r["root_cause"], r["tone"])].append(r)
    for group in strata.values():
        group.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
        n_test = round(len(group) * TEST_SHARE)
        for i, r in enumerate(group):
            r["split"] = "test" if i < n_test else "train"


def counts_table(rows: list[dict], key: str) -> str:
    c = collections.Counter(str(r.get(key)) for r in rows)
    scand = collections.Counter(str(r.get(key)) for r in rows if r["tone"] == "scandalist")
    lines = [f"| {key} | rows | scandalist |", "|---|---:|---:|"]
    lines += [f"| {k} | {v} | {scand[k]} |" for k, v in sorted(c.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def card_section(rows: list[dict], report: dict) -> str:
    n = len(rows)
    hard = sum(bool(r.get("hard")) for r in rows)
    scand = sum(r["tone"] == "scandalist" for r in rows)
    lengths = sorted(len(r["text"]) for r in rows)
    parts = [
        f"Rows: **{n}** (train {sum(r['split'] == 'train' for r in rows)}, test {sum(r['split'] == 'test' for r in rows)}); "
        f"scandalist {scand} ({scand / n:.1%}); hard {hard} ({hard / n:.1%}).",
        f"Text length in characters: median {lengths[n // 2]}, 10th percentile {lengths[n // 10]}, "
        f"90th percentile {lengths[9 * n // 10]}, max {lengths[-1]}.",
        f"Deduplication: {report['read']} rows read, {report['invalid']} invalid, {report['exact']} exact duplicates "
        f"and {report['near']} near-duplicates (word 3-gram Jaccard >= {NEAR_DUP}) removed.",
        "", "### Root cause", counts_table(rows, "root_cause"),
        "", "### Domain", counts_table(rows, "domain"),
        "", "### Hard cases", counts_table([r for r in rows if r.get("hard")], "hard_kind"),
    ]
    return "\n".join(parts)


def build(parts_dir: Path) -> dict:
    config = load_config()
    existing = [json.loads(l) for l in DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines() if l.strip()] \
        if DEFAULT_CORPUS.exists() else []
    incoming = [json.loads(l) for p in sorted(parts_dir.glob("*.jsonl"))
                for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
    report = collections.Counter(read=len(existing) + len(incoming))
    valid = []
    for r in existing + incoming:
        if not isinstance(r.get("text"), str) or not r["text"].strip() \
                or r.get("root_cause") not in config.root_causes or r.get("tone") not in config.tones:
            report["invalid"] += 1
            continue
        valid.append({k: r.get(k) for k in ("id", "text", "root_cause", "tone", "domain", "hard", "hard_kind", "split")})
    seen, unique = set(), []
    for r in valid:
        key = normal_key(r["text"])
        if key in seen:
            report["exact"] += 1
            continue
        seen.add(key)
        unique.append(r)
    near = near_duplicates([r["text"] for r in unique])
    report["near"] = len(near)
    rows = [r for i, r in enumerate(unique) if i not in near]
    ids = collections.Counter(r["id"] for r in rows)
    if any(v > 1 for v in ids.values()):
        raise SystemExit(f"duplicate ids: {[k for k, v in ids.items() if v > 1][:10]}")
    stratified_split(rows)
    DEFAULT_CORPUS.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    card = CARD.read_text(encoding="utf-8") if CARD.exists() else f"# Corpus data card\n\n{BEGIN}\n{END}\n"
    head, _, rest = card.partition(BEGIN)
    _, _, tail = rest.partition(END)
    CARD.write_text(f"{head}{BEGIN}\n{card_section(rows, report)}\n{END}{tail}", encoding="utf-8")
    return {"rows": len(rows), **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=Path, default=DEFAULT_CORPUS.parent / "parts")
    print(json.dumps(build(parser.parse_args().parts)))


if __name__ == "__main__":
    main()
