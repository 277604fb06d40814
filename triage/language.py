"""A cheap script-based language guess: enough to tell Russian from English, Kazakh, Ukrainian,
or text with no letters at all (emoji, digits), which the model was never trained on."""
from __future__ import annotations

KAZAKH = set("әғқңөұүһі")
UKRAINIAN = set("іїєґ")


def detect_language(text: str, min_cyrillic_share: float = 0.5) -> str:
    """'ru', 'kk', 'uk', 'en' (Latin script), or 'und' (no letters)."""
    letters = [c for c in text.lower() if c.isalpha()]
    if not letters:
        return "und"
    cyrillic = [c for c in letters if "а" <= c <= "я" or c == "ё" or c in KAZAKH or c in UKRAINIAN]
    if len(cyrillic) / len(letters) < min_cyrillic_share:
        return "en" if sum(c.isascii() for c in letters) / len(letters) >= 0.5 else "und"
    specific = set(cyrillic)
    if specific & (KAZAKH - UKRAINIAN) and len(specific & KAZAKH) >= 2:
        return "kk"
    if specific & UKRAINIAN and not specific & {"ы", "э", "ъ", "ё"}:
        return "uk"
    return "ru"
