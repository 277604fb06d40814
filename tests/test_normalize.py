"""Normalization caches each piece of a text between single spaces; spaCy tokenizing the whole text
is the reference. Both must agree on everything the pipeline reads."""
from __future__ import annotations

import json
import pickle

from training.corpus import DEFAULT_CORPUS
from triage import normalize as normalize_module
from triage.normalize import _normalize_whole, _spacy_tokens, _tokenizer, _tokens, normalize, normalize_many

TRICKY = [
    "", " ", "  два пробела в начале", "\nперевод строки в начале", " \n x", "a \n\n b  c\t\td  ",
    "цена\xa0500 руб", "слово,\tслово", "и т.п. ок", "и т.п., и т.д.", "в т.ч. доставка", "И Т.П.",
    "в настоящее время не работает", "т.е .  т.п.", "х*р вам", "İstanbul ΑΣ ответ", "ТРЕТИЙ РАЗ!!!",
    "звонил(а) 3 раза, заказ№123456", "email: a.b@c.ru  тел +7 (900) 123-45-67",
]


def _fields(n):
    return n.lemmas, n.rare, n.script, n.trigger_spans


def test_pieces_give_what_spacy_gives_on_the_whole_text():
    texts = [json.loads(line)["text"] for line in DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines()]
    texts += [t.upper() for t in texts[:500]] + TRICKY
    for text, piecewise in zip(texts, normalize_many(texts)):
        assert _fields(piecewise) == _fields(_normalize_whole(text)), text


def test_the_slim_vocabulary_tokenizes_like_a_stock_one():
    """Normalization's tokenizer computes fewer lexical attributes; the tokens must not change."""
    import spacy

    stock = spacy.blank("ru").tokenizer
    texts = [json.loads(line)["text"] for line in DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines()]
    for text in texts + TRICKY:
        assert [(t.text, t.is_punct) for t in _tokenizer()(text)] == [(t.text, t.is_punct) for t in stock(text)]


def test_a_piece_spacy_would_not_split_skips_the_tokenizer_with_the_same_tokens(monkeypatch):
    """Most pieces are one token by spaCy's own rules (no special case, prefix, suffix, infix) and do
    not go through the tokenizer; every piece must still get exactly spaCy's tokens."""
    texts = [json.loads(line)["text"] for line in DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines()]
    pieces = {p for text in texts + TRICKY + [t.upper() for t in texts[:500]] for p in text.split(" ")}
    pieces |= {"¿", "—", "😡", "т.е.", "558812", "5кг", "http://x.ru", "по-моему", "«доставка»", "$5", "10:30",
               "\n"}
    for piece in pieces:
        assert _tokens(piece) == _spacy_tokens(piece), piece
    tokenized = []
    monkeypatch.setattr(normalize_module, "_spacy_tokens", lambda piece: tokenized.append(piece) or [])
    for piece in pieces:
        _tokens(piece)
    assert "по-моему" in tokenized and "558812" not in tokenized and "доставка" not in tokenized
    assert len(tokenized) < 0.7 * len(pieces)  # measured: 52% of the corpus pieces go to spaCy


def test_multiword_exceptions_are_tokenized_whole():
    """spaCy makes «в т.ч.» one token only when it sees the whole phrase («т.ч.» alone is two): a text
    holding such a phrase falls back to spaCy on the whole text."""
    assert [t.text for t in _tokenizer()("в т.ч. ок")] == ["в т.ч.", "ок"]
    assert [t.text for t in _tokenizer()("т.ч.")] == ["т.ч", "."]
    assert normalize("доставка в т.ч. товар").lemmas == ["доставка", "в т.ч.", "товар"]


def test_trigger_spans_index_the_original_text():
    text = "  Верните\nденьги!!!  третий   раз"
    for start, end, bits in normalize(text).trigger_spans:
        assert bits and text[start:end].strip() and not text[start:end].startswith(" ")
    assert normalize(text).trigger_spans == _normalize_whole(text).trigger_spans


def test_pieces_learned_in_one_process_are_taught_to_another():
    """Batch workers pass each other the pieces they normalized; a taught piece is used as it is."""
    from triage import normalize as n

    n.record_learning()
    n.learned()  # drop whatever earlier tests left
    normalize("шмурдяковый кракозяброид")
    blob = n.learned()
    assert blob and n.learned() == b""  # drained
    taught = n.Piece(("выдуманная-лемма",), (), 0, 0, False)
    n.teach(pickle.dumps([("зюзюкающий", tuple(taught))]))
    assert normalize("зюзюкающий").lemmas == ["выдуманная-лемма"] and n.learned() == b""
    n.teach(blob)  # teaching what this process computed itself changes nothing
    assert normalize("шмурдяковый кракозяброид") == _normalize_whole("шмурдяковый кракозяброид")


def test_learned_pieces_ride_along_until_every_worker_has_them():
    from triage.batch import Scored, Vocabulary

    def done(worker: str, learned: bytes = b"", absorbed: tuple[str, ...] = ()) -> Scored:
        return Scored("", 0, [], [], 0, learned, worker, absorbed)

    v = Vocabulary(workers=2, most=3)
    assert v.take() == ()
    v.add(done("a", b"from-a"))
    v.add(done("b"))  # nothing learned
    (key, blob), = v.take()
    assert blob == b"from-a"
    v.add(done("a", absorbed=(key,)))  # the worker that learned it: still one worker short
    assert v.take() == ((key, b"from-a"),)
    v.add(done("b", absorbed=(key,)))  # now both have it
    assert v.take() == ()
    v.add(done("b", b"from-b"))
    assert len(v.take()) == len(v.take()) == len(v.take()) == 1 and v.take() == ()  # at most 3 hand-outs
    v = Vocabulary(workers=1, most=3)
    v.add(done("a", b"alone"))
    assert v.take() == ()  # one worker: nobody to teach
    v = Vocabulary(workers=2, most=3, most_bytes=10)
    for blob in (b"123456", b"7890", b"abc"):
        v.add(done("a", blob))
    assert [blob for _, blob in v.take()] == [b"123456", b"7890"]  # 10 bytes at most, the oldest first
    v.add(done("b", absorbed=tuple(key for key in v.pending)[:2]))
    assert [blob for _, blob in v.take()] == [b"abc"]


def test_a_long_run_keeps_spacys_vocabulary_bounded(monkeypatch):
    """spaCy's vocabulary keeps every string it sees; it is renewed with the piece cache."""
    from triage import normalize as n

    monkeypatch.setattr(n, "PIECE_CACHE_SIZE", 50)
    n._PIECES.clear()
    n._tokenizer.cache_clear()
    fresh = len(n._tokenizer().vocab.strings)
    words = [f"слово{i}ка" for i in range(600)]  # 600 new strings for spaCy, 12 times the cache
    for word in words:
        assert normalize(f"{word}, ок").lemmas == _normalize_whole(f"{word}, ок").lemmas
    assert len(n._tokenizer().vocab.strings) < fresh + 300
    n._PIECES.clear()
