"""Text -> tokens and lemmas.

spaCy's blank Russian pipeline tokenizes. Lemmas come from pymorphy3 directly, not from spaCy's
pymorphy3 lemmatizer: without a tagger that lemmatizer returns an ambiguous word unchanged
(«пришли», «хамили» stay as they are). Tie-break: pymorphy3's first parse, the one its own
probability estimate ranks highest. Lemmas are cached in a bounded LRU shared by training and
serving, because the same few thousand words make up most complaints.

spaCy tokenizes each whitespace-separated piece of a text on its own (its rules look at one piece at
a time) and then, per text, builds a Doc and runs a phrase matcher for the few multi-word exceptions
such as «и т.п.». Most pieces recur from text to text, so a piece's whole contribution (its lemmas,
its rare tokens, its signal trigger bits, its letter counts) is cached here, and a piece is tokenized
only the first time it is seen (batch workers also pass each other the pieces they have computed,
see `learned`); spaCy runs only on pieces its rules would split (`_tokens`). A text that holds a
multi-word exception takes its lemmas from spaCy on the whole text (its pieces' trigger bits and
letter counts stand). Tests check on the corpus that both ways give the same result.
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Iterable, Iterator, NamedTuple

from triage.language import count_script
from triage.signals import Span, chunk_bits, piece_spans, trigger_spans

LEMMA_CACHE_SIZE = 500_000
PIECE_CACHE_SIZE = 200_000  # ~320 bytes each (key and Piece): ~65 MB when full; the 7,728 pool texts hold 76k
LEARNED_LIMIT = 100_000  # pieces kept for `learned()` until it is called (~20 MB)
_CYRILLIC = re.compile(r"[а-яё]")
_MASK = re.compile(r"[*@#$%]")
_NUMBER = re.compile(r"^\d+([.,]\d+)?$")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Normalized:
    """One text's normal form: `lemmas` feed word n-grams; `rare` are the tokens the
    dictionary does not know (typos, masked obscenity, slang, Latin) that feed character n-grams."""

    lemmas: list[str]
    rare: list[str]
    trigger_spans: list[Span]  # the pieces that carry signal triggers: where signals.find_signals looks
    script: int  # language.count_script of the whole text, for the language guess


@lru_cache(maxsize=1)
def _tokenizer():
    """spaCy's Russian tokenizer. Its vocabulary computes 23 lexical attributes (shape, like_num,
    prefix, ...) for every new string; normalization reads only whether a token is punctuation, so
    the vocabulary keeps only that getter: a new piece costs ~20 us instead of ~33. The tokens do not
    depend on these attributes (a test compares them with a stock tokenizer)."""
    import spacy
    from spacy.attrs import IS_PUNCT

    nlp = spacy.blank("ru")
    nlp.vocab.lex_attr_getters = {IS_PUNCT: nlp.vocab.lex_attr_getters[IS_PUNCT]}
    return nlp.tokenizer


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=1)
def _multiword_exceptions() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """spaCy's multi-word exceptions («и т.п.», «в настоящее время») and every part of them but the
    first («т.п.», «время»): an exception can only match where a piece of the text starts with one
    of these parts and the text holds the whole exception."""
    rules = tuple(rule for rule in _tokenizer().rules if len(rule.split()) > 1)
    return rules, tuple({part for rule in rules for part in rule.split()[1:]})


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


def _word(token: tuple[str, bool]) -> tuple[str, str, bool] | None:
    """(word, lemma, known) of one token (text, is punctuation): the word lower-cased with ё -> е;
    None for spaces and punctuation (mask characters excepted)."""
    text, is_punct = token
    if text.isspace() or is_punct and not _MASK.search(text):
        return None
    word = text.lower().replace("ё", "е")
    return (word, *lemma_of(word))


class Piece(NamedTuple):
    """What one whitespace-separated piece of a text contributes to its `Normalized`."""

    lemmas: tuple[str, ...]
    rare: tuple[str, ...]
    triggers: int  # signals.chunk_bits of the piece
    script: int  # language.count_script of the piece, lower-cased
    joins: bool  # may end a multi-word spaCy exception: the text is then tokenized whole


def _words_of(tokens) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(lemmas, rare words) of a sequence of tokens (text, is punctuation)."""
    words = [w for w in map(_word, tokens) if w is not None]
    return tuple(lemma for _, lemma, _ in words), tuple(word for word, _, known in words if not known)


def _spacy_tokens(text: str) -> list[tuple[str, bool]]:
    """spaCy's tokens of a text as (text, is punctuation)."""
    return [(t.text, t.is_punct) for t in _tokenizer()(text)]


@lru_cache(maxsize=1)
def _splitting_rules():
    """What spaCy's tokenizer looks for in a string before it splits it: special cases, prefixes,
    suffixes, infixes; and its punctuation test."""
    from spacy.attrs import IS_PUNCT

    tok = _tokenizer()
    return tok.rules, tok.prefix_search, tok.suffix_search, tok.infix_finditer, tok.vocab.lex_attr_getters[IS_PUNCT]


def _tokens(piece: str) -> list[tuple[str, bool]]:
    """spaCy's tokens of one piece. A piece in which spaCy's own rules find nothing to split at (no
    special case, prefix, suffix or infix: 55% of the real pool's distinct pieces) is one token, and
    the tokenizer does not run: asking its rules costs ~9 us, running it (a Doc, vocabulary entries)
    ~20 us."""
    rules, prefix, suffix, infixes, is_punct = _splitting_rules()
    if (piece and not _SPACE.search(piece) and piece not in rules and prefix(piece) is None
            and suffix(piece) is None and next(infixes(piece), None) is None):
        return [(piece, is_punct(piece))]
    return _spacy_tokens(piece)


def _piece(piece: str) -> Piece:
    """One piece of a text between single spaces, tokenized as spaCy does. It may hold other whitespace
    (a line break, a tab) or none at all: whitespace contributes nothing (spaCy makes tokens of it,
    but they have no lemma, no letters and no triggers)."""
    return Piece(*_words_of(_tokens(piece)), chunk_bits(piece), count_script(piece.lower()),
                 any(chunk.startswith(_multiword_exceptions()[1]) for chunk in piece.split()))


# Pieces seen so far (cleared when full, see `_make_room`), and, in a batch worker, the ones this process
# computed since `learned()` was last called: workers pass them to each other through the process
# that hands out tasks (triage/batch.py), so that each learns the archive's vocabulary once, not once
# per worker (a new piece costs ~60 us, a piece passed on ~2 us).
_PIECES: dict[str, Piece] = {}
_LEARNED: list[tuple[str, Piece]] | None = None


def _make_room() -> None:
    """Bound memory in a long run: when the piece cache is full, start it afresh, and spaCy's
    tokenizer with it (its vocabulary keeps every string it has ever seen)."""
    if len(_PIECES) >= PIECE_CACHE_SIZE:
        _PIECES.clear()
        _tokenizer.cache_clear()


def _learn(piece: str) -> Piece:
    _make_room()
    part = _PIECES[piece] = _piece(piece)
    if _LEARNED is not None and len(_LEARNED) < LEARNED_LIMIT:
        _LEARNED.append((piece, part))
    return part


def record_learning() -> None:
    """From now on, remember the pieces computed here for `learned()` (batch workers only)."""
    global _LEARNED
    if _LEARNED is None:
        _LEARNED = []


def learned() -> bytes:
    """The pieces computed here since the last call, pickled once: they travel between processes as
    they are (b"" unless `record_learning()` was called)."""
    if not _LEARNED:
        return b""
    blob = pickle.dumps([(piece, tuple(part)) for piece, part in _LEARNED], protocol=pickle.HIGHEST_PROTOCOL)
    _LEARNED.clear()
    return blob


def teach(blob: bytes) -> None:
    """Take the pieces another process computed (`learned()`: the same function of the same piece
    gives the same result)."""
    for piece, part in pickle.loads(blob) if blob else ():
        _make_room()
        _PIECES.setdefault(piece, Piece(*part))


def _normalize_text(text: str) -> Normalized:
    # spaCy tokenizes each run of non-whitespace characters on its own, so tokenizing the pieces
    # between single spaces gives the same tokens; and each piece starts one character after the
    # end of the one before it, so offsets are running sums of lengths.
    pieces = text.split(" ")
    parts = list(map(_PIECES.get, pieces))
    if not all(parts):  # a Piece is a non-empty tuple; None marks a piece not seen yet
        parts = [part or _learn(piece) for piece, part in zip(pieces, parts)]
    lemmas, rare, triggers, script, joins = zip(*parts)
    spans = piece_spans(pieces, triggers)
    if any(joins) and any(rule in text for rule in _multiword_exceptions()[0]):
        # A multi-word exception: spaCy tokenizes the whole text. Triggers and letter counts are
        # functions of each piece, so the pieces' own stand.
        lemmas, rare = _words_of(_spacy_tokens(text))
        return Normalized(lemmas=list(lemmas), rare=list(rare), trigger_spans=spans, script=sum(script))
    return Normalized(lemmas=list(chain.from_iterable(lemmas)), rare=list(chain.from_iterable(rare)),
                      trigger_spans=spans, script=sum(script))


def _normalize_whole(text: str) -> Normalized:
    """The reference way: spaCy tokenizes the whole text at once."""
    lemmas, rare = _words_of(_spacy_tokens(text))
    return Normalized(lemmas=list(lemmas), rare=list(rare), trigger_spans=trigger_spans(text),
                      script=count_script(text.lower()))


def normalize_many(texts: Iterable[str]) -> Iterator[Normalized]:
    """Normalize a stream of texts."""
    return map(_normalize_text, texts)


def normalize(text: str) -> Normalized:
    return _normalize_text(text)
