"""The two-headed classifier at run time: root cause (10 classes) and tone (legitimate / scandalist).

Both heads are linear over one feature space. The model is plain arrays (fitted by scikit-learn in
training/fit.py): probabilities are a softmax (causes) and a logistic (tone) of `X @ coef + intercept`,
exactly what scikit-learn's logistic regression computes, without importing it at serving time.

The tone head is trained on a corpus that over-represents scandalists; at prediction its log-odds
are shifted by the log ratio of the deployment prior (config `prior.scandalist_share`) to the
training prior, so the score is a probability for real traffic, not for the corpus.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from triage.features import Doc, FeatureSpace


def adjust_prior(p: np.ndarray, train_share: float, target_share: float) -> np.ndarray:
    """Bayes prior correction of a probability: shift the logit by log(target odds / train odds)."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    shift = np.log(target_share / (1 - target_share)) - np.log(train_share / (1 - train_share))
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift)))


@dataclass(frozen=True)
class TriageModel:
    """`cause_coef` has one row per entry of `root_causes` (a cause absent from training has a zero row
    and an intercept of -inf, so its probability is 0); `tone_coef` is the scandalist log-odds row."""

    root_causes: tuple[str, ...]
    features: FeatureSpace
    cause_coef: np.ndarray
    cause_intercept: np.ndarray
    tone_coef: np.ndarray
    tone_intercept: float
    train_scandalist_share: float

    def predict_proba(self, docs: Sequence[Doc], scandalist_share: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(cause probabilities, columns in `root_causes` order; scandalist probability). The latter is
        prior-corrected to `scandalist_share` when given, raw (corpus prior) otherwise."""
        X = self.features.transform(docs)
        scores = np.asarray(X @ self.cause_coef.T) + self.cause_intercept
        scores -= scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        causes = e / e.sum(axis=1, keepdims=True)
        tone = 1.0 / (1.0 + np.exp(-(np.asarray(X @ self.tone_coef).ravel() + self.tone_intercept)))
        if scandalist_share is not None:
            tone = adjust_prior(tone, self.train_scandalist_share, scandalist_share)
        return causes, tone
