"""Vietnamese-aware text helpers: NFC storage, diacritic folding, slugs."""
from __future__ import annotations

import re
import unicodedata

_ALLOWED_CONTROLS_MULTILINE = {"\n", "\r", "\t"}
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def nfc(value: str) -> str:
    """Return ``value`` in Unicode NFC, the form everything is stored in."""
    return unicodedata.normalize("NFC", value)


def find_control_character(value: str, multiline: bool = False) -> str | None:
    """Return the first control/format character that must be rejected, if any."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co") :
            if multiline and char in _ALLOWED_CONTROLS_MULTILINE:
                continue
            return char
    return None


def fold(value: str) -> str:
    """Fold Vietnamese diacritics for search: "Bưởi Đặc" → "buoi dac"."""
    decomposed = unicodedata.normalize("NFD", value.translate(_FOLD_EXTRA))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped).lower()


def slugify(value: str, max_length: int = 120) -> str:
    """Vietnamese-aware slug: "Bưởi da xanh" → "buoi-da-xanh"."""
    slug = _NON_SLUG.sub("-", fold(value)).strip("-")
    return slug[:max_length].rstrip("-") or "item"


def escape_like(value: str, escape: str = "\\") -> str:
    """``value`` with the LIKE wildcards ``%`` and ``_`` (and the escape character) taken literally."""
    return value.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


def contains_text(column, value: str):
    """SQL: ``column`` contains ``value`` (case-insensitive), a user's ``%`` or ``_`` meaning itself.
    Every user-supplied text filter goes through this (or SQLAlchemy's ``autoescape=True``)."""
    return column.ilike("%" + escape_like(value) + "%", escape="\\")
