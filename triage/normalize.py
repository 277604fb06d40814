"""Text -> tokens and lemmas.

spaCy's blank Russian pipeline tokenizes. Lemmas come from pymorphy3 directly, not from spaCy's
pymorphy3 lemmatizer: without a tagger that lemmatizer returns an ambiguous word unchanged
(«пришли», «хамили» stay as they are). Tie-break: pymorphy3's first parse, the one its own
probability estimate ranks highest. Lemmas are cached in a bounded LRU shared by training and
serving, because the same few thousand words make up most complaints.

The same pass over a text's tokens also collects what the signal rules and the language guess need
to know about each token (see `TokenInfo`): both are cached per token, so a text costs one lookup
per token instead of another scan of its characters per consumer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Iterable, Iterator, NamedTuple

from triage.language import count_script
from triage.signals import Span, trigger_bits

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
    trigger_spans: list[Span]  # the tokens that carry signal triggers: where signals.find_signals looks
    script: int  # language.count_script of the whole text, for the language guess


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


class TokenInfo(NamedTuple):
    word: str | None  # lower-cased, ё -> е; None for spaces and punctuation (mask characters excepted)
    lemma: str | None
    known: bool
    triggers: int  # signals.trigger_bits of the lower-cased token
    length: int  # in characters
    script: int  # language.count_script of the lower-cased token


_SCRIPT = itemgetter(5)  # TokenInfo.script


@lru_cache(maxsize=LEMMA_CACHE_SIZE)
def _token(orth: int) -> TokenInfo:
    """What a token contributes, by its spaCy string id. Keyed by the id so that a text's tokens are
    read in one array, without a Python object per token (a third of the normalization time otherwise)."""
    vocab = _tokenizer().vocab
    text = vocab.strings[orth]
    low = text.lower()
    triggers, script = trigger_bits(low), count_script(low)
    if text.isspace() or vocab[text].is_punct and not _MASK.search(text):
        return TokenInfo(None, None, True, triggers, len(text), script)
    word = low.replace("ё", "е")
    return TokenInfo(word, *lemma_of(word), triggers, len(text), script)


def _normalize_doc(doc) -> Normalized:
    from spacy.attrs import ORTH  # spaCy is imported on first use, not with this module

    # One cached lookup per token id, read in one array: a Python Token object per token would cost a
    # third of the normalization time; only the few tokens that carry triggers need theirs (for offsets).
    tokens = list(map(_token, doc.to_array(ORTH).tolist()))
    carriers = [(doc[i], t) for i, t in enumerate(tokens) if t.triggers]
    return Normalized(lemmas=[t.lemma for t in tokens if t.word is not None],
                      rare=[t.word for t in tokens if not t.known],
                      trigger_spans=[(tok.idx, tok.idx + t.length, t.triggers) for tok, t in carriers],
                      script=sum(map(_SCRIPT, tokens)))


def normalize_many(texts: Iterable[str], batch_size: int = 256) -> Iterator[Normalized]:
    """Normalize a stream of texts with spaCy's batched tokenizer."""
    for doc in _tokenizer().pipe(texts, batch_size=batch_size):
        yield _normalize_doc(doc)


def normalize(text: str) -> Normalized:
    return next(normalize_many([text]))
