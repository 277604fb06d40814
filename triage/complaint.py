"""What the classifier takes: one complaint's text, the caller's id for it, and what is known of the
customer. Its own module, free of the model's imports, so that a batch process that only hands work
to its workers need not import them (see batch.score_file)."""
from __future__ import annotations

from dataclasses import dataclass

from triage.history import Customer


@dataclass(frozen=True)
class Item:
    text: str
    id: str | None = None
    customer: Customer | None = None
    chronic: bool | None = None  # set by batch scoring from the archive's history
