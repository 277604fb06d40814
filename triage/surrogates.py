"""Strings that UTF-8 cannot carry. JSON may escape one half of a surrogate pair ("\\ud83d": an emoji
cut in two by an export that truncates by code units); Python's JSON parsers accept it, and the string
then fails wherever it is written as UTF-8 (an output file, an HTTP response, the database), far from
the input that brought it. Complaint texts are mended (the rest of the complaint still deserves a
verdict); identifiers are refused with a reason, since a changed identifier no longer matches anything.
"""
from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: str) -> bool:
    """True when `value` holds a surrogate code point (U+D800-U+DFFF), which no UTF-8 text can hold.
    Encoding is the cheap test (~0.3 us for a 300-character complaint); most strings pass it."""
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def mend(text: str) -> str:
    """`text` with each surrogate code point replaced by U+FFFD: one character for one, so the offsets
    of signal spans are those of the text as sent."""
    return _SURROGATE.sub("\ufffd", text) if has_lone_surrogate(text) else text


def refuse(value, field: str):
    """`value` as is, or ValueError naming `field` when it is a string UTF-8 cannot carry."""
    if isinstance(value, str) and has_lone_surrogate(value):
        raise ValueError(f"{field} holds an unpaired surrogate escape (half of an emoji?): not valid Unicode text")
    return value
