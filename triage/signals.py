"""Evidence in the raw text: what a support agent sees as the reason for a verdict.

Each signal is a named rule (a compiled pattern) in one ordered list, `RULES`. Every hit is a
`Signal` whose span indexes the original text, so `text[start:end] == signal.text` always holds
and the review page can highlight it. The counts also feed the model as features
(see triage/features.py), and the routing policy fires on their names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Signal:
    name: str
    start: int
    end: int
    text: str

    def as_dict(self) -> dict:
        return {"name": self.name, "span": [self.start, self.end], "text": self.text}


def _rx(*alternatives: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


# Word edges that work for Cyrillic and for masked words containing * or @.
_L = r"(?<![\w*@])"
_R = r"(?![\w*@])"

RULES: list[tuple[str, re.Pattern]] = [
    # Obscenity, spelled out or masked («х*р», «бл@», «п**дец»). Abuse is flagged whatever the tone.
    ("obscenity", _rx(
        _L + r"(?:на|по|за|от|вы|до|о|у|раз)?ху[йяеёию]\w*",
        _L + r"(?:рас|за|от|вы|до|при|с|на|по)?пизд\w*",
        _L + r"бля(?:дь|ди|ть|дск\w*|ха|)" + _R,
        _L + r"(?:за|вы|на|по|от|у|раз|до|при)?[её]б(?:ан|ат|ал|ну|уч|ыв|ищ)\w*",
        _L + r"[её]бн\w*",
        _L + r"(?:х|п|е|б)[*@#.]{1,3}[а-яё*@#]{0,6}" + _R,
        _L + r"(?:ху|пи|бл|ёб|еб)[*@#]+[а-яё]*",
        _L + r"сук(?:а|и|ой|у)" + _R,
        _L + r"мудак\w*|говн\w*|дерьм\w*|г[*]+но",
    )),
    # Insults aimed at people.
    ("insult", _rx(
        _L + r"(?:туп(?:ые|ой|ая|ица|орыл\w*)|идиот\w*|дебил\w*|кретин\w*|придур\w*|дурак\w*|дуры|урод\w*|"
        r"быдл\w*|мраз\w*|тварь|твари|ничтожеств\w*|клоун\w*|бездар\w*|дегенерат\w*|олух\w*|"
        r"бараны?|козл(?:ы|ов|ина)|имбецил\w*|даун\w*|"
        r"криворук\w*|безмозгл\w*|лентя(?:и|ев)|ленивые)" + _R,
    )),
    # Accusations of fraud: common in legitimate anger after a real loss, so not counted as abuse.
    ("accusation", _rx(
        _L + r"(?:мошенник\w*|мошеннич\w*|жулик\w*|жуль\w*|вор(?:ы|ье|юги|уют|овать)|обман\w*|развод(?:ил\w*|ят|илово)?|лохотрон\w*|шарлатан\w*|кидал\w*)" + _R,
    )),
    # Sweeping generalizations: the whole company, trade or country at fault.
    ("generalization", _rx(
        _L + r"все\s+вы\b",
        _L + r"вы\s+все\b",
        _L + r"все\s+(?:как\s+один|до\s+одного)",
        _L + r"что\s+ни\s+\w+\s*[,—–-]*\s*(?:то\s+)?все",
        _L + r"все\s+(?:поставщики|банки|магазины|курьеры|операторы|врачи|продавцы|компании|конторы|сотрудники|менеджеры|они)\b",
        _L + r"(?:никто|ни\s+один)\s+(?:из\s+вас\s+)?не\s+(?:умеет|может|способен|хочет)",
        _L + r"в\s+этой\s+(?:стране|конторе|шарашк\w+)",
        _L + r"(?:как\s+всегда|вечно\s+у\s+вас|всегда\s+одно\s+и\s+то\s+же)",
    )),
    # Threats of public exposure.
    ("threat_public", _rx(
        r"(?:напишу|оставлю|разнесу|опубликую|выложу|размещу)[^.!?\n]{0,40}?(?:отзыв\w*|соцсет\w*|интернет\w*|везде|инстаграм\w*|телеграм\w*|отзовик\w*|ютуб\w*|сми)",
        r"(?:в|во)\s+(?:все|всех)\s+(?:соцсет\w*|отзыв\w*|сми|паблик\w*)",
        _L + r"(?:ославлю|опозорю|прославлю)\w*",
        r"(?:пойду|обращусь|напишу)\s+(?:на|в)\s+(?:телевидение|сми|первый\s+канал|пикабу|журналист\w*)",
        r"(?:все|всем)\s+(?:узнают|расскажу)",
    )),
    # Legal and regulator threats: a right after a real failure, leverage in a scandal.
    ("threat_legal", _rx(
        _L + r"(?:в\s+)?суд(?:е|ом|а|ебн\w*|ебн)?" + _R,
        _L + r"прокуратур\w*|роспотребнадзор\w*|роскомнадзор\w*|ростехнадзор\w*|жилинспекци\w*|фас" + _R,
        _L + r"(?:центробанк\w*|цб(?:\s+рф)?|банк\s+россии)" + _R,
        _L + r"(?:юрист\w*|адвокат\w*|иск(?:ом|ов|овое)?|претензи\w*|полици\w*|заявлени\w+\s+в\s+полицию)" + _R,
        _L + r"(?:зозпп|защит\w*\s+прав\s+потребител\w*|омбудсмен\w*|минздрав\w*)",
    )),
    # Demands for money, compensation or discounts.
    ("demand_compensation", _rx(
        _L + r"(?:требую|прошу|верните|вернуть|вернете|вернёте)[^.!?\n]{0,30}?(?:компенсац\w*|возмещ\w*|деньги|стоимост\w*|скидк\w*|неустойк\w*|возврат\w*)",
        _L + r"компенсац\w*|неустойк\w*|моральн\w+\s+(?:вред\w*|ущерб\w*)",
        r"скидк\w*\s+(?:в\s+)?\d{1,3}\s*%",
        _L + r"бесплатн\w+\s+(?:год|месяц|обслуживани\w*|подписк\w*|доставк\w*)",
    )),
    # Repeat contact about the same problem.
    ("repeat_contact", _rx(
        r"(?:втор|трет|четв[её]рт|пят|шест|десят|сотый|n-?н)\w*\s+раз",
        _L + r"(?:в\s+который\s+раз|уже\s+\d+\s+раз\w*|не\s+первый\s+раз|неоднократно|повторно|снова\s+пишу|опять\s+пишу)",
        r"\d+\s*-?\s*(?:й|ий|ой)\s+раз",
        _L + r"(?:уже|вот\s+уже)\s+(?:\d+|две|три|четыре|пять|несколько)\s+(?:недел\w*|месяц\w*|дн(?:я|ей))",
        _L + r"(?:пишу|звоню|обращаюсь)\s+(?:уже\s+)?(?:\d+|несколько|много)",
    )),
    # Health and safety.
    ("health_safety", _rx(
        _L + r"(?:отравил\w*|отравлени\w*|аллерги\w*|ожог\w*|травм\w*|скор(?:ую|ой)\s+помощ\w*|госпитализ\w*|"
        r"угроз\w*\s+жизни|опасн\w+\s+для\s+(?:жизни|здоровья)|рвот\w*|температур\w*\s+\d\d|задымлени\w*|"
        r"замыкани\w*|искр\w*|ударил\w*\s+током|плесен\w*|просроч\w*)",
    )),
    # Concrete facts: order numbers, dates, amounts.
    ("order_number", _rx(
        r"(?:№|#|N)\s?\d{3,}",
        _L + r"(?:заказ\w*|номер\w*|договор\w*|накладн\w*|трек\w*|счет\w*|счёт\w*|заявк\w*|обращени\w*)\s*(?:№|#|N|номер)?\s*[A-ZА-Я]{0,3}-?\d{4,}",
    )),
    ("date", _rx(
        r"\b\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?\b",
        r"\b\d{1,2}\s+(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)\b",
    )),
    ("amount", _rx(
        r"\d[\d\s]{0,9}(?:[.,]\d{1,2})?\s*(?:руб\w*|р\.|р\b|₽|тыс\w*|т\.р\.|к\b|usd|\$|евро|€)",
    )),
]

SIGNAL_NAMES: tuple[str, ...] = tuple(name for name, _ in RULES)


def find_signals(text: str) -> list[Signal]:
    """All signals in `text`, ordered by position; overlapping hits of one rule are merged by the regex."""
    hits = [
        Signal(name, m.start(), m.end(), m.group())
        for name, pattern in RULES
        for m in pattern.finditer(text)
        if m.end() > m.start()
    ]
    return sorted(hits, key=lambda s: (s.start, s.end, s.name))


def signal_counts(signals: list[Signal]) -> dict[str, int]:
    counts = dict.fromkeys(SIGNAL_NAMES, 0)
    for s in signals:
        counts[s.name] += 1
    return counts
