"""Vietnamese phone numbers in comment text: 0901234567, 090 123 4567, 090.123.4567, +84…, 84…

Each candidate starts with ``0``, ``84`` or ``+84`` and runs over digits separated by at most
one space, dot or dash; the longest prefix that ``phonenumbers`` accepts as a Vietnamese mobile
or fixed line wins, so a quantity written after the number is not swallowed.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from core.plugins import LazyModule

# phonenumbers (~1 MB, 58 modules) loads when a comment is first parsed, not with every app
phonenumbers = LazyModule("phonenumbers")

_START = re.compile(r"(?<![\w+])(?<!\d[.,])(?:\+84|84|0)(?=[\s.\-()]{0,2}\d)")
_MASKED = re.compile(r"(?<![\w+])(?:\+84|84|0)\d{1,4}[x*.]*[x*]{2,}[\d.]*", re.IGNORECASE)
_SEPARATOR = " .-()"
MIN_SUSPECT_DIGITS = 6  # a number this long starting with 0/84 is a phone attempt, never a quantity


@dataclass(frozen=True, slots=True)
class PhoneSpan:
    """A phone-like run of ``text[start:end]``; ``e164`` is None when it is not a valid number."""
    start: int
    end: int
    e164: str | None
    masked: bool = False  # "0965xxx123": a phone the viewer chose to hide, not a typo


def find_phones(text: str) -> list[PhoneSpan]:
    """Every phone-like run in ``text``, valid or not, left to right and not overlapping."""
    spans = [PhoneSpan(m.start(), m.end(), None, masked=True) for m in _MASKED.finditer(text)]
    position = 0
    while (match := _START.search(text, position)) is not None:
        if any(s.start <= match.start() < s.end for s in spans):
            position = match.end()
            continue
        span = _read_candidate(text, match.start(), match.end())
        if span is None:
            position = match.end()
            continue
        spans.append(span)
        position = span.end
    return sorted(spans, key=lambda s: s.start)


def _read_candidate(text: str, start: int, prefix_end: int) -> PhoneSpan | None:
    """Walk digits after the prefix; return the longest valid number or, failing that, the whole run."""
    prefix = text[start:prefix_end]
    digits, ends, i = prefix.lstrip("+"), [], prefix_end
    while i < len(text):
        if text[i].isdigit():
            digits += text[i]
            ends.append((i + 1, digits))
        elif text[i] in _SEPARATOR and (text[i + 1:i + 2].isdigit()
                                         or text[i + 1:i + 2] in tuple(_SEPARATOR) and text[i + 2:i + 3].isdigit()):
            i += 1
            continue
        else:
            break
        i += 1
    if not ends or len(ends[-1][1]) < MIN_SUSPECT_DIGITS:
        return None
    for end, candidate in reversed(ends):
        e164 = _valid_e164(("+" if candidate.startswith("84") else "") + candidate)
        if e164:
            return PhoneSpan(start, end, e164)
    return PhoneSpan(start, ends[-1][0], None)


@functools.cache
def _phone_types() -> frozenset:
    """The number types accepted: mobile and fixed lines (read once phonenumbers is loaded)."""
    kinds = phonenumbers.PhoneNumberType
    return frozenset({kinds.MOBILE, kinds.FIXED_LINE, kinds.FIXED_LINE_OR_MOBILE})


def _valid_e164(candidate: str) -> str | None:
    try:
        number = phonenumbers.parse(candidate, "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in _phone_types():
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
