"""Fitting: prepared documents and labels -> the runtime model (triage/model.py).

scikit-learn learns the vocabularies, idf weights and coefficients; `fit_model` keeps only those
arrays. Serving then never imports scikit-learn (~0.9 s of start-up) and the artifact holds no
scikit-learn objects. `ComplaintFeatures` is an ordinary scikit-learn transformer, so the feature
blocks are fitted the usual way and can be compared with scikit-learn's own output in tests.
"""
from __future__ import annotations

from functools import partial
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.features import Doc, FeatureSpace, TfidfBlock, char_grams, word_grams
from triage.model import TriageModel


def _block(vectorizer: TfidfVectorizer) -> TfidfBlock:
    return TfidfBlock(vectorizer.analyzer, dict(vectorizer.vocabulary_), vectorizer.idf_.astype(np.float32))


class ComplaintFeatures(BaseEstimator, TransformerMixin):
    """scikit-learn transformer over `Doc` lists; learned vectorizers end in `_`. Transforming goes
    through the runtime `FeatureSpace`, so training sees exactly the features serving computes."""

    def __init__(self, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (2, 4),
                 min_df: int = 2, use_chars: bool = True, use_signals: bool = True,
                 signal_weight: float = 1.0):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.use_chars = use_chars
        self.use_signals = use_signals
        self.signal_weight = signal_weight

    def fit(self, docs: Sequence[Doc], y=None) -> "ComplaintFeatures":
        self.words_ = TfidfVectorizer(analyzer=partial(word_grams, lo=self.word_ngrams[0], hi=self.word_ngrams[1]),
                                      lowercase=False, min_df=self.min_df, sublinear_tf=True, dtype=np.float32)
        self.words_.fit(d.normalized.lemmas for d in docs)
        self.chars_ = None
        if self.use_chars:
            self.chars_ = TfidfVectorizer(analyzer=partial(char_grams, lo=self.char_ngrams[0], hi=self.char_ngrams[1]),
                                          lowercase=False, min_df=self.min_df, sublinear_tf=True, dtype=np.float32)
            self.chars_.fit(d.normalized.rare for d in docs)
        self.space_ = FeatureSpace(_block(self.words_), _block(self.chars_) if self.chars_ else None,
                                   self.signal_weight if self.use_signals else None)
        return self

    def transform(self, docs: Sequence[Doc]) -> sp.csr_matrix:
        return self.space_.transform(docs)


def fit_model(root_causes: Sequence[str], features: ComplaintFeatures, cause_estimator, tone_estimator,
              docs: Sequence[Doc], causes: Sequence[str], tones: Sequence[str]) -> TriageModel:
    """Fit the feature blocks and both linear heads (logistic regressions) and keep their arrays."""
    unknown = sorted(set(causes) - set(root_causes))
    if unknown:
        raise ValueError(f"training labels {unknown} are not in the configured root causes")
    feats = clone(features).fit(docs)
    X = feats.transform(docs)
    cause = clone(cause_estimator).fit(X, np.asarray(causes))
    if len(cause.classes_) < 3:
        raise ValueError(f"training data has {len(cause.classes_)} root causes; the cause head needs at least 3")
    is_scandalist = np.asarray([t == "scandalist" for t in tones], dtype=int)
    tone = clone(tone_estimator).fit(X, is_scandalist)
    rows = {label: i for i, label in enumerate(cause.classes_)}
    coef = np.zeros((len(root_causes), X.shape[1]), dtype=np.float64)
    intercept = np.full(len(root_causes), -np.inf)
    for i, label in enumerate(root_causes):
        if label in rows:
            coef[i], intercept[i] = cause.coef_[rows[label]], cause.intercept_[rows[label]]
    return TriageModel(tuple(root_causes), feats.space_, coef, intercept, tone.coef_[0].astype(np.float64),
                       float(tone.intercept_[0]), float(is_scandalist.mean()))
