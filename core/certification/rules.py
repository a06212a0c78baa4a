"""Certification rules loaded from ``core/data/certification_rules.json``."""
from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class Period:
    code: str
    criteria_set: str
    name: str
    name_en: str
    starts: dt.date
    ends: dt.date | None
    levels: dict[str, list[int]]


@functools.cache
def rules() -> dict:
    return json.loads(resources.files("core").joinpath("data/certification_rules.json").read_text("utf-8"))


@functools.cache
def periods() -> tuple[Period, ...]:
    return tuple(Period(p["code"], p["criteria_set"], p["name"], p["name_en"],
                        dt.date.fromisoformat(p["from"]),
                        dt.date.fromisoformat(p["to"]) if p["to"] else None, p["levels"])
                 for p in rules()["periods"])


def period_on(day: dt.date) -> Period | None:
    """The rule period in force on ``day`` (None before the first criteria set)."""
    for period in periods():
        if period.starts <= day and (period.ends is None or day <= period.ends):
            return period
    return None


def stars_for_score(score: Decimal | float) -> int:
    """Stars from a score out of 100 (1 star < 30 … 5 stars ≥ 90)."""
    score = Decimal(str(score))
    for band in rules()["star_bands"]:
        upper_ok = score <= band["max"] if band["max_inclusive"] else score < band["max"]
        if Decimal(str(band["min"])) <= score and upper_ok:
            return band["stars"]
    raise ValueError("score out of range")


def expiry_for(issued_on: dt.date) -> dt.date:
    """Default expiry: ``validity_months`` (36) after issue."""
    return issued_on + relativedelta(months=rules()["validity_months"])


def warning_days() -> int:
    return rules()["expiry_warning_days"]
