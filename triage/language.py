"""A cheap script-based language guess: enough to tell Russian from English, Kazakh, Ukrainian,
or text with no letters at all (emoji, digits), which the model was never trained on."""
from __future__ import annotations

import re

_CYRILLIC = re.compile(r"[а-яёәғқңөұүһіїєґ]")
_LATIN = re.compile(r"[a-z]")
KAZAKH = set("әғқңөұүһі")
UKRAINIAN = set("іїєґ")
RUSSIAN_ONLY = set("ыэъё")


def detect_language(text: str, min_cyrillic_share: float = 0.5) -> str:
    """'ru', 'kk', 'uk', 'en' (Latin script), or 'und' (no letters)."""
    low = text.lower()
    letters = sum(map(str.isalpha, low))
    if not letters:
        return "und"
    cyrillic = _CYRILLIC.findall(low)
    if len(cyrillic) / letters < min_cyrillic_share:
        return "en" if len(_LATIN.findall(low)) / letters >= 0.5 else "und"
    specific = set(cyrillic)
    if len(specific & KAZAKH) >= 2 and specific & (KAZAKH - UKRAINIAN):
        return "kk"
    if specific & UKRAINIAN and not specific & RUSSIAN_ONLY:
        return "uk"
    return "ru"
