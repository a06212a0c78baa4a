"""Local calendar (Asia/Ho_Chi_Minh) — stored times are UTC, business dates are Vietnamese."""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> dt.date:
    """Today's date in Vietnam. ``OCOP_TODAY`` (YYYY-MM-DD) pins it for demos and tests."""
    pinned = os.environ.get("OCOP_TODAY")
    if pinned:
        return dt.date.fromisoformat(pinned)
    return dt.datetime.now(VN_TZ).date()


def local(value: dt.datetime | None) -> str | None:
    """ISO 8601 in Vietnam time for display."""
    return value.astimezone(VN_TZ).isoformat() if value else None


def now() -> dt.datetime:
    """The current moment (aware, UTC). With ``OCOP_TODAY`` pinned: that Vietnam date at the current time of day."""
    moment = dt.datetime.now(VN_TZ)
    if os.environ.get("OCOP_TODAY"):
        moment = dt.datetime.combine(today(), moment.timetz())
    return moment.astimezone(dt.timezone.utc)
