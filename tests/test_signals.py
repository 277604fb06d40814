import pytest

from triage.signals import SIGNAL_NAMES, find_signals

# (text, signal names that must be found, names that must not be)
TABLE = [
    ("Достало ваше разгильдяйство, третий раз переносите доставку", {"repeat_contact"}, {"insult", "obscenity"}),
    ("Что ни поставщик — все тупые и ленивые, давайте скидку 50%", {"generalization", "insult", "demand_compensation"}, set()),
    ("Не вернёте деньги — напишу во все отзывы и пойду в суд", {"threat_public", "threat_legal", "demand_compensation"}, set()),
    ("х*р вам, а не отзыв, бл@ть", {"obscenity"}, set()),
    ("Заказ №482133 от 12.03 на 4 500 руб. так и не пришёл", {"order_number", "date", "amount"}, {"obscenity"}),
    ("Вы мошенники, списали деньги без спроса", {"accusation"}, {"insult", "obscenity"}),
    ("После вашего салата ребёнок отравился, вызывали скорую помощь", {"health_safety"}, set()),
    ("Спасибо, всё хорошо, просто вопрос по тарифу", set(), {"insult", "obscenity", "threat_legal", "threat_public"}),
    ("Сколько раз говорил: судьба у меня такая", set(), {"threat_legal"}),
]


@pytest.mark.parametrize("text,present,absent", TABLE)
def test_signal_table(text, present, absent):
    names = {s.name for s in find_signals(text)}
    assert present <= names, f"missing {present - names} in {names}"
    assert not (absent & names), f"unexpected {absent & names}"


@pytest.mark.parametrize("text,_p,_a", TABLE)
def test_spans_index_the_original_text(text, _p, _a):
    for s in find_signals(text):
        assert text[s.start:s.end] == s.text
        assert s.name in SIGNAL_NAMES


def test_triggers_never_change_the_result():
    """The trigger prefilter must only skip regexes that could not match: with the bits of the whole
    text, and with the bits the pipeline caches piece by piece."""
    import json

    from training.corpus import DEFAULT_CORPUS

    texts = [json.loads(l)["text"] for l in DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines()]
    texts += [t.upper() for t, _, _ in TABLE] + ["İstanbul: заказ №123456 на 500 руб, бл@ть"]
    from triage.features import prepare

    for text, doc in zip(texts, prepare(texts)):
        assert find_signals(text) == doc.signals == find_signals(text, prefilter=False), text


def test_every_rule_has_a_reach_and_windows_cover_it():
    """Each rule's greatest match length is known (else it would search whole texts), and the windows
    around trigger spans merge and stay inside the text."""
    from triage.signals import _PLAN, _windows

    assert all(reach is not None and reach < 200 for _, _, reach in _PLAN)
    spans = [(0, 3, 0b01), (10, 14, 0b11), (90, 95, 0b10)]
    assert _windows(spans, 0b01, 20, 100) == [(0, 34)]
    assert _windows(spans, 0b10, 20, 100) == [(0, 34), (70, 100)]
    assert _windows(spans, 0b100, 20, 100) == []
    assert _windows(spans, 0b10, None, 100) == [(0, 100)]
