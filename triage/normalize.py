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


def _normalize_doc(doc) -> Normalized:
    lemmas: list[str] = []
    rare: list[str] = []
    for token in doc:
        if token.is_space or token.is_punct and not _MASK.search(token.text):
            continue
        word = token.lower_.replace("ё", "е")
        lemma, known = lemma_of(word)
        lemmas.append(lemma)
        if not known:
            rare.append(word)
    return Normalized(lemmas, rare)


def normalize_many(texts: Iterable[str], batch_size: int = 256) -> Iterator[Normalized]:
    """Normalize a stream of texts with spaCy's batched tokenizer."""
    for doc in _tokenizer().pipe(texts, batch_size=batch_size):
        yield _normalize_doc(doc)


def normalize(text: str) -> Normalized:
    return next(normalize_many([text]))
