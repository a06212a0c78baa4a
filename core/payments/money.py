"""Money as people read it in Vietnam: ``126.000 ₫`` (dot thousands separator, dong sign after)."""
from __future__ import annotations


def format_vnd(amount: int) -> str:
    """``126000`` → ``"126.000 ₫"``; negative amounts keep their sign (``-5.000 ₫``)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,}".replace(",", ".") + " ₫"
