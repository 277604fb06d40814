"""Text -> tokens and lemmas.

spaCy's blank Russian pipeline tokenizes. Lemmas come from pymorphy3 directly, not from spaCy's
pymorphy3 lemmatizer: without a tagger that lemmatizer returns an ambiguous word unchanged
(«пришли», «хамили» stay as they are). Tie-break: pymorphy3's first parse, the one its own
probability estimate ranks highest. Lemmas are cached in a bounded LRU shared by training and
serving, because the same few thousand words make up most complaints.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

LEMMA_CACHE_SIZE = 500_000
_CYRILLIC = re.compile(r"[а-яё]")
_MASK = re.compile(r"[*@#$%]")
_NUMBER = re.compile(r"^\d+([.,]\d+)?$")


@dataclass(frozen=True)
class Normalized:
    """One text's normal form: `lemmas` feed word n-grams; `rare` are the tokens the
    dictionary does not know (typos, masked obscenity, slang, Latin) that feed character n-grams."""

    lemmas: list[str]
    rare: list[str]


@lru_cache(maxsize=1)
def _tokenizer():
    import spacy

    return spacy.blank("ru").tokenizer


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=LEMMA_CACHE_SIZE)
def lemma_of(word: str) -> tuple[str, bool]:
    """(lemma, known) for one lower-cased token; `known` is False for words outside the dictionary."""
    if _NUMBER.match(word):
        return "<num>", True
    if _MASK.search(word) and _CYRILLIC.search(word):
        return word, False
    if not _CYRILLIC.search(word):
        return word, not word.isalpha()
    morph = _morph()
    return morph.parse(word)[0].normal_form.replace("ё", "е"), morph.word_is_known(word)


@lru_cache(maxsize=LEMMA_CACHE_SIZE)
def _token(orth: int) -> tuple[str, str, bool] | None:
    """(lower-cased word, lemma, known) of a token by its spaCy string id; None for spaces and
    punctuation (mask characters excepted). Keyed by the id so that a text's tokens are read in one
    array, without a Python object per token (a third of the normalization time otherwise)."""
    vocab = _tokenizer().vocab
    text = vocab.strings[orth]
    if text.isspace() or vocab[text].is_punct and not _MASK.search(text):
        return None
    word = text.lower().replace("ё", "е")
    return (word, *lemma_of(word))


def _normalize_doc(doc) -> Normalized:
    lemmas: list[str] = []
    rare: list[str] = []
    from spacy.attrs import ORTH  # spaCy is imported on first use, not with this module

    for orth in doc.to_array(ORTH).tolist():
        token = _token(orth)
        if token is not None:
            lemmas.append(token[1])
            if not token[2]:
                rare.append(token[0])
    return Normalized(lemmas, rare)


def normalize_many(texts: Iterable[str], batch_size: int = 256) -> Iterator[Normalized]:
    """Normalize a stream of texts with spaCy's batched tokenizer."""
    for doc in _tokenizer().pipe(texts, batch_size=batch_size):
        yield _normalize_doc(doc)


def normalize(text: str) -> Normalized:
    return next(normalize_many([text]))
