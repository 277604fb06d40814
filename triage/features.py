"""Prepared documents -> a sparse feature matrix.

Three blocks, each a reason a complaint gets its labels:
- lemma 1-2 grams (TF-IDF): what the complaint is about, independent of word form;
- character 2-4 grams of the *rare* tokens only (typos, masked obscenity «х*р», slang, Latin):
  char n-grams over whole texts cost more than everything else together and add little for
  dictionary words, which lemmas already cover;
- signal counts and a few style measures (see triage/signals.py), which carry most of the tone.

This module is the runtime side: fitted blocks are plain vocabularies and weights (`FeatureSpace`).
Fitting them is scikit-learn's job, in training/fit.py; serving never imports scikit-learn.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from triage.normalize import Normalized, normalize_many
from triage.signals import SIGNAL_NAMES, Signal, find_signals, signal_counts


@dataclass(frozen=True)
class Doc:
    """A text with its normal form and signals, computed once and shared by features and result."""

    text: str
    normalized: Normalized
    signals: list[Signal]


def prepare(texts: Iterable[str]) -> list[Doc]:
    texts = list(texts)
    return [Doc(t, n, find_signals(t, n.trigger_spans)) for t, n in zip(texts, normalize_many(texts))]


STYLE_NAMES = ("log_words", "caps_share", "exclamations", "questions")


def style_vector(doc: Doc) -> list[float]:
    text = doc.text
    letters = sum(c.isalpha() for c in text) or 1
    return [
        math.log1p(len(doc.normalized.lemmas)) / 6.0,
        sum(c.isupper() for c in text) / letters,
        math.log1p(text.count("!")) / 3.0,
        math.log1p(text.count("?")) / 3.0,
    ]


def signal_vector(doc: Doc) -> list[float]:
    counts = signal_counts(doc.signals)
    return [math.log1p(counts[name]) for name in SIGNAL_NAMES]


def word_grams(lemmas: Sequence[str], lo: int = 1, hi: int = 2) -> list[str]:
    """The lemma n-grams of one text, lo <= n <= hi. The vectorizer's analyzer: given a joined string
    TfidfVectorizer would re-split it with a regex, more than half of its transform time."""
    grams = list(lemmas) if lo == 1 else []
    for n in range(max(lo, 2), hi + 1):
        grams += map(" ".join, zip(*(lemmas[k:] for k in range(n))))
    return grams


@lru_cache(maxsize=100_000)
def _padded_char_grams(word: str, lo: int, hi: int) -> tuple[str, ...]:
    """Character n-grams of ' word ', lo <= n <= hi (the `char_wb` scheme): the series stops at the
    first n that covers the whole padded word, which is then counted once."""
    w = f" {word} "
    grams: list[str] = []
    for n in range(lo, hi + 1):
        grams += (w[i:i + n] for i in range(max(1, len(w) - n + 1)))
        if len(w) <= n:
            break
    return tuple(grams)


def char_grams(words: Sequence[str], lo: int = 2, hi: int = 4) -> list[str]:
    """Character n-grams of the rare words of one text, cached per word (rare words recur)."""
    return [g for w in words for g in _padded_char_grams(w, lo, hi)]


@dataclass(frozen=True)
class TfidfBlock:
    """A fitted TF-IDF block: the n-gram analyzer, its vocabulary and idf weights. `transform` is
    scikit-learn's `TfidfVectorizer.transform` for the settings training uses (sublinear tf, idf,
    l2 norm), without its per-call input validation (~0.7 ms per block for one text, most of a
    single-text classification). Equality is tested (tests/test_model.py)."""

    analyzer: Callable[[Sequence[str]], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray

    def transform(self, parts: Iterable[Sequence[str]]) -> sp.csr_matrix:
        indptr, indices, counts = [0], [], []
        for part in parts:
            found = Counter(map(self.vocabulary.get, self.analyzer(part)))
            found.pop(None, None)
            indices += found.keys()
            counts += found.values()
            indptr.append(len(indices))
        data = np.log(np.asarray(counts, dtype=np.float32)) + 1  # sublinear tf
        cols = np.asarray(indices, dtype=np.int32)
        data *= self.idf[cols]
        lengths = np.diff(indptr)
        norms = np.sqrt(np.bincount(np.repeat(np.arange(len(lengths)), lengths), weights=data * data,
                                    minlength=len(lengths))).astype(np.float32)
        data /= np.repeat(np.where(norms > 0, norms, 1), lengths)
        return sp.csr_matrix((data, cols, np.asarray(indptr, dtype=np.int32)),
                             shape=(len(lengths), len(self.vocabulary)))


@dataclass(frozen=True)
class FeatureSpace:
    """The fitted feature blocks: lemma n-grams, char n-grams of rare words (optional), signal and style
    measures times `signal_weight` (None: not used)."""

    words: TfidfBlock
    chars: TfidfBlock | None
    signal_weight: float | None

    def transform(self, docs: Sequence[Doc]) -> sp.csr_matrix:
        blocks = [self.words.transform(d.normalized.lemmas for d in docs)]
        if self.chars is not None:
            blocks.append(self.chars.transform(d.normalized.rare for d in docs))
        if self.signal_weight is not None:
            dense = np.array([signal_vector(d) + style_vector(d) for d in docs], dtype=np.float32)
            blocks.append(sp.csr_matrix(dense.reshape(len(docs), -1) * self.signal_weight))
        return sp.hstack(blocks, format="csr")
