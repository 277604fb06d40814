"""A cheap script-based language guess: enough to tell Russian from English, Kazakh, Ukrainian,
or text with no letters at all (emoji, digits), which the model was never trained on."""
from __future__ import annotations

import re

_NOT_LETTER = re.compile(r"[\W\d_]+")
_NOT_CYRILLIC = re.compile(r"[^а-яёәғқңөұүһіїєґ]+")
_NOT_LATIN = re.compile(r"[^a-z]+")
KAZAKH = frozenset("әғқңөұүһі")
UKRAINIAN = frozenset("іїєґ")
RUSSIAN_ONLY = frozenset("ыэъё")
_MARK_ORDER = tuple(sorted(KAZAKH | UKRAINIAN | RUSSIAN_ONLY))
_BITS = 32  # per count
_MASK = (1 << _BITS) - 1


_SHIFT = {m: _BITS * i for i, m in enumerate(_MARK_ORDER, 3)}  # where each mark letter's count sits
_MARK_SET = frozenset(_MARK_ORDER)
# The bits of the Kazakh and Ukrainian letters' counts: `packed & this` tells whether any occurs.
_KAZAKH_OR_UKRAINIAN = sum(_MASK << _SHIFT[m] for m in KAZAKH | UKRAINIAN)


def count_script(low: str) -> int:
    """Letters, Cyrillic letters, Latin letters and each of the letters that tell the languages apart,
    counted in the lower-cased `low` and packed into one int, 32 bits per count. Packed counts add up:
    a text's counts are the sum of its pieces' (cached per piece, see triage/normalize.py), one
    addition per piece. Letters are counted by deleting everything else with a regex: one C-level
    pass per script instead of a Python call per character."""
    cyrillic = _NOT_CYRILLIC.sub("", low)
    packed = len(_NOT_LETTER.sub("", low)) | len(cyrillic) << _BITS | len(_NOT_LATIN.sub("", low)) << 2 * _BITS
    for mark in _MARK_SET.intersection(cyrillic):
        packed += cyrillic.count(mark) << _SHIFT[mark]
    return packed


def detect_language(text: str, min_cyrillic_share: float = 0.5, script: int | None = None) -> str:
    """'ru', 'kk', 'uk', 'en' (Latin script), or 'und' (no letters). `script`: the text's
    `count_script` when the caller has it already."""
    packed = count_script(text.lower()) if script is None else script
    letters, cyrillic, latin = packed & _MASK, packed >> _BITS & _MASK, packed >> 2 * _BITS & _MASK
    if not letters:
        return "und"
    if cyrillic / letters < min_cyrillic_share:
        return "en" if latin / letters >= 0.5 else "und"
    if not packed & _KAZAKH_OR_UKRAINIAN:
        return "ru"
    marks = {m for m, shift in _SHIFT.items() if packed >> shift & _MASK}
    if len(marks & KAZAKH) >= 2 and marks & (KAZAKH - UKRAINIAN):
        return "kk"
    if marks & UKRAINIAN and not marks & RUSSIAN_ONLY:
        return "uk"
    return "ru"
