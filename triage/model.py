"""The two-headed classifier: root cause (10 classes) and tone (legitimate / scandalist).

Both heads share one feature transformer. The tone head is trained on a corpus that
over-represents scandalists; at prediction its log-odds are shifted by the log ratio of the
deployment prior (config `prior.scandalist_share`) to the training prior, so the score is a
probability for real traffic, not for the corpus.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from triage.features import ComplaintFeatures, Doc


def linear_proba(estimator, X) -> np.ndarray:
    """predict_proba of a fitted LogisticRegression straight from its coefficients.

    For one text, scikit-learn's input validation costs more than the arithmetic (~1 ms of ~2 ms per
    call here); the features are our own sparse matrix, so the checks add nothing. Other estimators
    go through their own predict_proba. Equality with it is tested (tests/test_model.py)."""
    if not isinstance(estimator, LogisticRegression):
        return estimator.predict_proba(X)
    scores = np.asarray(X @ estimator.coef_.T) + estimator.intercept_
    if scores.shape[1] == 1:  # binary: one column of log-odds for classes_[1]
        p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1 - p, p])
    scores -= scores.max(axis=1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=1, keepdims=True)


def adjust_prior(p: np.ndarray, train_share: float, target_share: float) -> np.ndarray:
    """Bayes prior correction of a probability: shift the logit by log(target odds / train odds)."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    shift = np.log(target_share / (1 - target_share)) - np.log(train_share / (1 - train_share))
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift)))


class TriageModel:
    """Feature transformer + two classifiers; `fit` learns, learned state ends in `_`."""

    def __init__(self, root_causes: Sequence[str], features: ComplaintFeatures, cause_estimator, tone_estimator):
        self.root_causes = tuple(root_causes)
        self.features = features
        self.cause_estimator = cause_estimator
        self.tone_estimator = tone_estimator

    def fit(self, docs: Sequence[Doc], causes: Sequence[str], tones: Sequence[str]) -> "TriageModel":
        unknown = sorted(set(causes) - set(self.root_causes))
        if unknown:
            raise ValueError(f"training labels {unknown} are not in the configured root causes")
        self.features_ = clone(self.features).fit(docs)
        X = self.features_.transform(docs)
        self.cause_ = clone(self.cause_estimator).fit(X, np.asarray(causes))
        is_scandalist = np.asarray([t == "scandalist" for t in tones], dtype=int)
        self.tone_ = clone(self.tone_estimator).fit(X, is_scandalist)
        self.train_scandalist_share_ = float(is_scandalist.mean())
        return self

    def predict_proba(self, docs: Sequence[Doc], scandalist_share: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(cause probabilities, columns in `root_causes` order; scandalist probability). The latter is
        prior-corrected to `scandalist_share` when given, raw (corpus prior) otherwise."""
        if not hasattr(self, "cause_"):
            raise RuntimeError("TriageModel is not fitted: call fit() first")
        X = self.features_.transform(docs)
        raw = linear_proba(self.cause_, X)
        order = [list(self.cause_.classes_).index(c) if c in self.cause_.classes_ else -1 for c in self.root_causes]
        causes = np.column_stack([raw[:, i] if i >= 0 else np.zeros(len(docs)) for i in order])
        tone = linear_proba(self.tone_, X)[:, 1]
        if scandalist_share is not None:
            tone = adjust_prior(tone, self.train_scandalist_share_, scandalist_share)
        return causes, tone
