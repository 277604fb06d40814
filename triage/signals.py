"""Evidence in the raw text: what a support agent sees as the reason for a verdict.

Each signal is a named rule (a compiled pattern) in one ordered list, `RULES`. Every hit is a
`Signal` whose span indexes the original text, so `text[start:end] == signal.text` always holds
and the review page can highlight it. The counts also feed the model as features
(see triage/features.py), and the routing policy fires on their names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate, compress
from typing import Sequence


@dataclass(frozen=True)
class Signal:
    name: str
    start: int
    end: int
    text: str

    def as_dict(self) -> dict:
        return {"name": self.name, "span": [self.start, self.end], "text": self.text}


@dataclass(frozen=True)
class Rule:
    """A named pattern and its triggers: lower-case substrings without whitespace, of which every
    match contains at least one. A trigger then lies inside one whitespace-separated piece of the text,
    and a match lies within `reach` characters of that piece: the regex runs only on those windows of
    the text, and only when some piece carries a trigger (a regex costs ~5-80 us per whole text; the
    pieces' trigger bits are cached per piece, see `chunk_bits`). Tests check on the corpus that the
    windows never change the result."""

    name: str
    pattern: re.Pattern
    triggers: tuple[str, ...]


# Unbounded repeats outside character classes, and open ranges {n,}: capped below so that every
# match has a known greatest length. A word is matched to at most 24 more letters, a gap to 4 spaces.
_OPEN_REPEAT = re.compile(r"(\\[ws]|\\d|\])([*+])(?![^\[\]]*\])")
_OPEN_RANGE = re.compile(r"\{(\d+),\}")
_CAPS = {"\\s": 4, "\\d": 12}


def _bounded(src: str) -> str:
    src = _OPEN_RANGE.sub(lambda m: f"{{{m[1]},20}}", src)
    return _OPEN_REPEAT.sub(lambda m: f"{m[1]}{{{int(m[2] == '+')},{_CAPS.get(m[1], 24)}}}", src)


def _rx(*alternatives: str) -> re.Pattern:
    """Patterns are written in lower case and run on lower-cased text: case-insensitive matching in
    `re` costs ~40% more."""
    return re.compile(_bounded("|".join(f"(?:{a})" for a in alternatives)))


def _reach(pattern: re.Pattern) -> int | None:
    """The greatest length of a match, from the parse tree of `re`'s own compiler (a private module,
    hence the fallback: None searches the whole text, which is slower and gives the same result)."""
    try:
        import re._parser as parser

        width = parser.parse(pattern.pattern).getwidth()[1]
    except (ImportError, AttributeError):
        return None
    return width if width < 100_000 else None


def _lower_same_length(text: str) -> str:
    """text.lower() with every character kept at its offset (a few characters, such as 'İ', grow
    when lower-cased: those stay as they are), so spans found in it index the original text."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


# Word edges that work for Cyrillic and for masked words containing * or @.
_L = r"(?<![\w*@])"
_R = r"(?![\w*@])"


def _word_start(*alternatives: str) -> str:
    """Alternatives that begin at a word start, with the edge test written once in front: `re` tries a
    pattern at every position, and one failing look-behind per position is 4-7x cheaper than one per
    alternative (obscenity: 77 -> 17 us per text)."""
    return _L + "(?:" + "|".join(f"(?:{a})" for a in alternatives) + ")"


DIGITS = tuple("0123456789")

RULES: list[Rule] = [
    # Obscenity, spelled out or masked («х*р», «бл@», «п**дец»). Abuse is flagged whatever the tone.
    Rule("obscenity", _rx(_word_start(
        r"(?:на|по|за|от|вы|до|о|у|раз)?ху[йяеёию]\w*",
        r"(?:рас|за|от|вы|до|при|с|на|по)?пизд\w*",
        r"бля(?:дь|ди|ть|дск\w*|ха|)" + _R,
        r"(?:за|вы|на|по|от|у|раз|до|при)?[её]б(?:ан|ат|ал|ну|уч|ыв|ищ)\w*",
        r"[её]бн\w*",
        r"(?:х|п|е|б)[*@#]{1,3}[а-яё*@#]{0,6}" + _R,
        r"(?:ху|пи|бл|ёб|еб)[*@#]+[а-яё]*",
        r"сук(?:а|и|ой|у)" + _R,
        r"мудак\w*|говн\w*|дерьм\w*|г[*]+но",
    )), ("хуй", "хуя", "хуе", "хуё", "хуи", "хую", "пизд", "бля", "ебан", "ебат", "ебал", "ебну", "ебуч", "ебыв",
         "ебищ", "ебн", "ёб", "сук", "мудак", "говн", "дерьм", "*", "@", "#")),
    # Insults aimed at people.
    Rule("insult", _rx(_word_start(
        r"туп(?:ые|ой|ая|ица|орыл\w*)|идиот\w*|дебил\w*|кретин\w*|придур\w*|дурак\w*|дуры|урод\w*|"
        r"быдл\w*|мраз\w*|тварь|твари|ничтожеств\w*|клоун\w*|бездар\w*|дегенерат\w*|олух\w*|"
        r"бараны?|козл(?:ы|ов|ина)|имбецил\w*|даун\w*|"
        r"криворук\w*|безмозгл\w*|лентя(?:и|ев)|ленивые",
    ) + _R), ("туп", "идиот", "дебил", "кретин", "придур", "дурак", "дуры", "урод", "быдл", "мраз", "твар",
              "ничтожеств", "клоун", "бездар", "дегенерат", "олух", "баран", "козл", "имбецил", "даун", "криворук",
              "безмозгл", "лентя", "ленив")),
    # Accusations of fraud: common in legitimate anger after a real loss, so not counted as abuse.
    Rule("accusation", _rx(_word_start(
        r"мошенник\w*|мошеннич\w*|жулик\w*|жуль\w*|вор(?:ы|ье|юги|уют|овать)|обман\w*|развод(?:ил\w*|ят|илово)?|"
        r"лохотрон\w*|шарлатан\w*|кидал\w*",
    ) + _R), ("мошенни", "жулик", "жуль", "вор", "обман", "развод", "лохотрон", "шарлатан", "кидал")),
    # Sweeping generalizations: the whole company, trade or country at fault.
    Rule("generalization", _rx(_word_start(
        r"все\s+вы\b",
        r"вы\s+все\b",
        r"все\s+(?:как\s+один|до\s+одного)",
        r"что\s+ни\s+\w+\s*[,—–-]*\s*(?:то\s+)?все",
        r"все\s+(?:поставщики|банки|магазины|курьеры|операторы|врачи|продавцы|компании|конторы|сотрудники|менеджеры|они)\b",
        r"(?:никто|ни\s+один)\s+(?:из\s+вас\s+)?не\s+(?:умеет|может|способен|хочет)",
        r"в\s+этой\s+(?:стране|конторе|шарашк\w+)",
        r"как\s+всегда|вечно\s+у\s+вас|всегда\s+одно\s+и\s+то\s+же",
    )), ("все", "никто", "один", "этой", "вечно")),
    # Threats of public exposure.
    Rule("threat_public", _rx(
        r"(?:напишу|оставлю|разнесу|опубликую|выложу|размещу)[^.!?\n]{0,40}?(?:отзыв\w*|соцсет\w*|интернет\w*|везде|инстаграм\w*|телеграм\w*|отзовик\w*|ютуб\w*|сми)",
        r"(?:в|во)\s+(?:все|всех)\s+(?:соцсет\w*|отзыв\w*|сми|паблик\w*)",
        _word_start(r"(?:ославлю|опозорю|прославлю)\w*"),
        r"(?:пойду|обращусь|напишу)\s+(?:на|в)\s+(?:телевидение|сми|первый\s+канал|пикабу|журналист\w*)",
        r"(?:все|всем)\s+(?:узнают|расскажу)",
    ), ("напишу", "оставлю", "разнесу", "опубликую", "выложу", "размещу", "все", "ославлю", "опозорю", "прославлю",
        "пойду", "обращусь", "узнают", "расскажу")),
    # Legal and regulator threats: a right after a real failure, leverage in a scandal.
    Rule("threat_legal", _rx(_word_start(
        r"(?:в\s+)?суд(?:е|ом|а|ебн\w*|ебн)?" + _R,
        r"(?:прокуратур|роспотребнадзор|роскомнадзор|ростехнадзор|жилинспекци)\w*|фас" + _R,
        r"(?:центробанк\w*|цб(?:\s+рф)?|банк\s+россии)" + _R,
        r"(?:юрист\w*|адвокат\w*|иск(?:ом|ов|овое)?|претензи\w*|полици\w*|заявлени\w+\s+в\s+полицию)" + _R,
        r"зозпп|защит\w*\s+прав\s+потребител\w*|омбудсмен\w*|минздрав\w*",
    )), ("суд", "прокуратур", "надзор", "жилинспекци", "фас", "центробанк", "цб", "росси", "юрист", "адвокат", "иск",
         "претензи", "полици", "зозпп", "защит", "омбудсмен", "минздрав")),
    # Demands for money, compensation or discounts.
    Rule("demand_compensation", _rx(
        _word_start(
            r"(?:требую|прошу|верните|вернуть|вернете|вернёте)[^.!?\n]{0,30}?(?:компенсац\w*|возмещ\w*|деньги|стоимост\w*|скидк\w*|неустойк\w*|возврат\w*)",
            r"компенсац\w*|неустойк\w*|моральн\w+\s+(?:вред\w*|ущерб\w*)",
            r"бесплатн\w+\s+(?:год|месяц|обслуживани\w*|подписк\w*|доставк\w*)",
        ),
        r"скидк\w*\s+(?:в\s+)?\d{1,3}\s*%",
    ), ("требую", "прошу", "верн", "компенсац", "неустойк", "моральн", "скидк", "бесплатн")),
    # Repeat contact about the same problem.
    Rule("repeat_contact", _rx(
        r"(?:втор|трет|четв[её]рт|пят|шест|десят|сотый|n-?н)\w*\s+раз",
        r"\d+\s*-?\s*(?:й|ий|ой)\s+раз",
        _word_start(
            r"в\s+который\s+раз|уже\s+\d+\s+раз\w*|не\s+первый\s+раз|неоднократно|повторно|снова\s+пишу|опять\s+пишу",
            r"(?:уже|вот\s+уже)\s+(?:\d+|две|три|четыре|пять|несколько)\s+(?:недел\w*|месяц\w*|дн(?:я|ей))",
            r"(?:пишу|звоню|обращаюсь)\s+(?:уже\s+)?(?:\d+|несколько|много)",
        ),
    ), ("раз", "неоднократно", "повторно", "пишу", "недел", "месяц", "дня", "дней", "звоню", "обращаюсь")),
    # Health and safety.
    Rule("health_safety", _rx(_word_start(
        r"отравил\w*|отравлени\w*|аллерги\w*|ожог\w*|травм\w*|скор(?:ую|ой)\s+помощ\w*|госпитализ\w*|"
        r"угроз\w*\s+жизни|опасн\w+\s+для\s+(?:жизни|здоровья)|рвот\w*|температур\w*\s+\d\d|задымлени\w*|"
        r"замыкани\w*|искр\w*|ударил\w*\s+током|плесен\w*|просроч\w*",
    )), ("отрав", "аллерг", "ожог", "травм", "скор", "госпитализ", "угроз", "опасн", "рвот", "температур",
         "задымлени", "замыкани", "искр", "током", "плесен", "просроч")),
    # Concrete facts: order numbers, dates, amounts.
    Rule("order_number", _rx(
        r"(?:№|#|n)\s?\d{3,}",
        _word_start(r"(?:заказ|номер|договор|накладн|трек|сч[её]т|заявк|обращени)\w*\s*(?:№|#|n|номер)?\s*[a-zа-я]{0,3}-?\d{4,}"),
    ), ("№", "#", "n", "заказ", "номер", "договор", "накладн", "трек", "счет", "счёт", "заявк", "обращени")),
    Rule("date", _rx(
        r"\b\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?\b",
        r"\b\d{1,2}\s+(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)\b",
    ), DIGITS),
    Rule("amount", _rx(
        r"\d[\d\s]{0,9}(?:[.,]\d{1,2})?\s*(?:руб\w*|р\.|р\b|₽|тыс\w*|т\.р\.|к\b|usd|\$|евро|€)",
    ), DIGITS),
]

SIGNAL_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)


# One alternation of escaped literals per rule: a single search finds any of its triggers.
_TRIGGERS = [re.compile("|".join(map(re.escape, rule.triggers))) for rule in RULES]
# (rule, its trigger bit, its reach), worked out once.
_PLAN = [(rule, 1 << i, _reach(rule.pattern)) for i, rule in enumerate(RULES)]


def trigger_bits(low: str) -> int:
    """Bit i is set when a trigger of RULES[i] occurs in the lower-cased `low` (a piece of text)."""
    return sum(1 << i for i, triggers in enumerate(_TRIGGERS) if triggers.search(low))


Span = tuple[int, int, int]  # start, end, trigger_bits of a piece of text that carries triggers


def chunk_bits(chunk: str) -> int:
    """`trigger_bits` of a piece of the original text (see triage/normalize.py, which caches them
    per piece)."""
    return trigger_bits(_lower_same_length(chunk))


def piece_spans(pieces: Sequence[str], bits: Sequence[int]) -> list[Span]:
    """(start, end, bits) of the pieces that carry triggers, `pieces` being `text.split(" ")`: each
    starts one character (a space) after the end of the one before it, and a trigger, which holds no
    whitespace, lies inside one piece."""
    ends = list(accumulate(map(len, pieces)))
    return [(ends[i] + i - len(pieces[i]), ends[i] + i, bits[i]) for i in compress(range(len(bits)), bits)]


def trigger_spans(text: str) -> list[Span]:
    """The pieces of `text` between single spaces that carry triggers."""
    pieces = text.split(" ")
    return piece_spans(pieces, list(map(chunk_bits, pieces)))


def _windows(spans: list[Span], bit: int, reach: int | None, size: int) -> list[tuple[int, int]]:
    """Merged ranges of the text within `reach` of a span carrying `bit` (spans in text order). A
    match contains a trigger and is at most `reach` long, so it lies inside one range; for the same
    reason a range's end can never cut a match short (tests check both on the corpus)."""
    if reach is None:
        return [(0, size)] if any(bits & bit for _, _, bits in spans) else []
    ranges: list[tuple[int, int]] = []
    for start, end, bits in spans:
        if bits & bit:
            lo, hi = max(0, start - reach), min(size, end + reach)
            if ranges and lo <= ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
            else:
                ranges.append((lo, hi))
    return ranges


def find_signals(text: str, spans: list[Span] | None = None, prefilter: bool = True) -> list[Signal]:
    """All signals in `text`, ordered by position. `spans`: the text's `trigger_spans` (or the
    same from triage/normalize.py) when the caller has them already; each rule runs only on windows
    around its triggers. `prefilter=False` runs every regex over the whole text (for tests)."""
    low = _lower_same_length(text)
    size = len(low)
    if not prefilter:
        plan = [(rule, [(0, size)]) for rule, _, _ in _PLAN]
    else:
        spans = trigger_spans(text) if spans is None else spans
        gates = 0
        for _, _, bits in spans:
            gates |= bits
        plan = [(rule, _windows(spans, bit, reach, size)) for rule, bit, reach in _PLAN if gates & bit]
    hits = [
        Signal(rule.name, m.start(), m.end(), text[m.start():m.end()])
        for rule, windows in plan
        for lo, hi in windows
        for m in rule.pattern.finditer(low, lo, hi)
        if m.end() > m.start()
    ]
    return sorted(hits, key=lambda s: (s.start, s.end, s.name))


def signal_counts(signals: list[Signal]) -> dict[str, int]:
    counts = dict.fromkeys(SIGNAL_NAMES, 0)
    for s in signals:
        counts[s.name] += 1
    return counts
