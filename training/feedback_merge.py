"""Agents' corrections as training data (`triage train --feedback`).

The rules, in the order they apply:
1. A correction teaches the head it corrects; the other head keeps the predicted label the agent saw
   and left as it was. A correction of the queue alone changes no label (routing follows the policy,
   not the model): it is reported and skipped.
2. A label the config does not know (a correction stored under an older config, or written to the
   database by hand) is reported with the correction's number and never used.
3. The latest correction of a text wins. Texts are compared after Unicode NFC and whitespace
   collapsing, so a re-pasted complaint counts as the same complaint.
4. A correction of a text in the corpus's test split is dropped and reported: held-out metrics must
   measure the model on texts it never trained on, corrected or not.
5. A correction of a text in the train split replaces that corpus example's labels.
"""
from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from training.corpus import Corpus, Example
from triage.config import Config

FEEDBACK_PREFIX = "feedback-"


def text_key(text: str) -> str:
    """What makes two texts the same complaint: NFC form, whitespace runs collapsed, ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _labels(record: dict) -> tuple[str | None, str | None]:
    corrected, predicted = record.get("corrected") or {}, record.get("predicted") or {}
    return (corrected.get("root_cause") or predicted.get("root_cause"),
            corrected.get("tone") or predicted.get("tone"))


def feedback_examples(records: Iterable[dict], config: Config) -> tuple[list[Example], list[str]]:
    """Training examples from stored corrections (the shape `FeedbackStore.feedback()` yields), in the
    records' order, and one sentence per correction left out and why (rules 1 and 2)."""
    examples: list[Example] = []
    problems: list[str] = []
    for record in records:
        where = f"feedback {record.get('feedback_id')}"
        corrected = record.get("corrected") or {}
        root_cause, tone = _labels(record)
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: empty text")
        elif root_cause not in config.root_causes:
            problems.append(f"{where}: unknown root_cause {root_cause!r}")
        elif tone not in config.tones:
            problems.append(f"{where}: unknown tone {tone!r}")
        elif "root_cause" not in corrected and "tone" not in corrected:
            problems.append(f"{where}: corrects only the queue, no label to learn")
        else:
            examples.append(Example(id=f"{FEEDBACK_PREFIX}{record.get('feedback_id')}", text=text,
                                    root_cause=root_cause, tone=tone, split="train", domain="feedback"))
    return examples, problems


@dataclass
class Merged:
    """The train split with the corrections merged in, and what the merge did (for the model card)."""

    train: list[Example]
    used: list[Example] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)   # corpus ids whose labels a correction replaced
    dropped: list[str] = field(default_factory=list)    # corrections of test-split texts (rule 4)
    superseded: list[str] = field(default_factory=list)  # earlier corrections of the same text (rule 3)

    @property
    def digest(self) -> str:
        """Identifies the corrections used, so a model trained with other feedback gets another version."""
        parts = sorted(f"{text_key(e.text)}\t{e.root_cause}\t{e.tone}" for e in self.used)
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()

    def summary(self) -> dict:
        """Ids and counts only: the model card must not carry complaint text."""
        return {"used": len(self.used), "replaced_corpus_ids": self.replaced,
                "dropped_test_split": self.dropped, "superseded": self.superseded}


def merge_feedback(corpus: Corpus, extra: Sequence[Example]) -> Merged:
    """The corpus train split plus `extra` (oldest first), by rules 3-5 above."""
    latest: dict[str, Example] = {}
    superseded: list[str] = []
    for example in extra:
        key = text_key(example.text)
        if key in latest:
            superseded.append(latest[key].id)
        latest[key] = example
    test_keys = {text_key(e.text) for e in corpus.split("test")}
    dropped = [e.id for key, e in latest.items() if key in test_keys]
    used = [e for key, e in latest.items() if key not in test_keys]
    used_keys = {text_key(e.text) for e in used}
    kept, replaced = [], []
    for example in corpus.split("train"):
        (replaced if text_key(example.text) in used_keys else kept).append(example)
    return Merged(train=kept + used, used=used, replaced=[e.id for e in replaced], dropped=dropped,
                  superseded=superseded)
