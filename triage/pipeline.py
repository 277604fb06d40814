"""text -> result: normalization, signals, the two model heads, language, routing.

`Classifier` is built once (model load and checks) and then scores lists of items; a single
complaint is a list of one. The result dict is the contract shared by the API, CLI and batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from triage.artifacts import check_model, load_model
from triage.complaint import Item
from triage.config import Config, load_config
from triage.features import prepare
from triage.history import Customer, chronic_verdict, is_significant
from triage.language import detect_language
from triage.routing import Facts, Policy, load_policy, memoized_router


@dataclass(frozen=True)
class Settings:
    """What a process that hands scoring to workers needs: config, policy and the model's version."""

    config: Config
    policy: Policy
    version: str


def load_settings(model_dir: str | Path | None = None) -> Settings:
    """Settings with the model checked (card, SHA-256, versions, labels) but not loaded: ~1 s of one
    core less in a batch parent process, while its workers start and load the model themselves."""
    config = load_config()
    _, meta = check_model(Path(model_dir) if model_dir else None, config.root_causes)
    return Settings(config, load_policy(config), meta["version"])


class Classifier:
    def __init__(self, model, meta: dict, config: Config, policy: Policy):
        self.model = model
        self.meta = meta
        self.config = config
        self.policy = policy
        self.version = meta["version"]
        self.route = memoized_router(policy)

    @classmethod
    def load(cls, model_dir: str | Path | None = None, config_path: str | Path | None = None,
             policy_path: str | Path | None = None) -> "Classifier":
        config = load_config(config_path)
        policy = load_policy(config, policy_path)
        model, meta = load_model(Path(model_dir) if model_dir else None, config.root_causes)
        return cls(model, meta, config, policy)

    def warm_up(self) -> None:
        """Classify one word so that spaCy's tokenizer and the pymorphy3 dictionary are loaded now, not
        inside the first real request or chunk."""
        self.classify("прогрев")

    def classify(self, text: str, customer: Customer | None = None, id: str | None = None) -> dict:
        return self.classify_many([Item(text=text, id=id, customer=customer)])[0]

    def classify_many(self, items: Sequence[Item], significant_revenue: float | None = None) -> list[dict]:
        """Results in input order. `significant_revenue` overrides the policy's threshold (batch
        scoring passes the archive's own top-decile revenue)."""
        if not items:
            return []
        docs = prepare(item.text for item in items)
        causes, tones = self.model.predict_proba(docs, self.config.scandalist_share)
        threshold = self.policy.significant_revenue_12m if significant_revenue is None else significant_revenue
        return [self._result(item, doc, causes[i], float(tones[i]), threshold)
                for i, (item, doc) in enumerate(zip(items, docs))]

    def _result(self, item: Item, doc, cause_p: np.ndarray, tone_p: float, significant_revenue: float) -> dict:
        c = self.config
        probs = cause_p.tolist()  # Python floats: numpy scalar arithmetic costs ~10x more per operation
        order = sorted(range(len(probs)), key=probs.__getitem__, reverse=True)
        top, second = probs[order[0]], probs[order[1]]
        root_cause = c.root_causes[order[0]]
        tone = "scandalist" if tone_p >= c.scandalist_threshold else "legitimate"
        language = detect_language(item.text, c.min_cyrillic_share, doc.normalized.script)
        low_confidence = (
            language != "ru"
            or top < c.min_top_cause
            or top - second < c.min_margin
            or abs(tone_p - c.scandalist_threshold) < c.tone_band
        )
        chronic = item.chronic
        if chronic is None and item.customer and item.customer.complaints_90d is not None:
            # The API has a count but no history of tones: the current complaint's tone stands for the share.
            chronic = chronic_verdict(item.customer.complaints_90d, float(tone == "scandalist"), self.policy).chronic
        facts = Facts(root_cause=root_cause, tone=tone, signals=frozenset(s.name for s in doc.signals),
                      significant=is_significant(item.customer, significant_revenue),
                      chronic=bool(chronic), low_confidence=low_confidence)
        return {
            "id": item.id,
            "root_cause": root_cause,
            "root_cause_scores": {label: round(p, 6) for label, p in zip(c.root_causes, probs)},
            "secondary_causes": [c.root_causes[i] for i in order[1:] if probs[i] >= c.secondary_cause],
            "tone": tone,
            "tone_score": round(tone_p, 6),
            "signals": [s.as_dict() for s in doc.signals],
            "route": self.route(facts),
            "language": language,
            "low_confidence": low_confidence,
            "model_version": self.version,
        }
