"""Plain SQL on the session's connection for the search hot path: no statement compilation, tuples out.

Statements are written with ``:name`` placeholders (as in ``sqlalchemy.text``)
and turned into the driver's own style once per statement text.
"""
from __future__ import annotations

import re
from functools import lru_cache

from core.db import db

_PLACEHOLDER = re.compile(r"(?<![:\w]):(\w+)")


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


def rows(sql: str, params: dict | None = None) -> list[tuple]:
    """Run ``sql`` in the current session's transaction and return every row as a tuple."""
    connection = db.session.connection()
    if connection.dialect.paramstyle == "pyformat":
        sql = _pyformat(sql)
    return [tuple(r) for r in connection.exec_driver_sql(sql, params or {})]


def in_list(prefix: str, values, params: dict) -> str:
    """``(:prefix0, :prefix1, …)`` for ``values``, adding them to ``params``."""
    names = []
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
        names.append(f":{prefix}{i}")
    return "(" + ", ".join(names) + ")" if names else "(NULL)"
