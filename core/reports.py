"""Report index: the core's reports plus those plugins offer through the ``reports(user)`` hook."""
from __future__ import annotations

import logging

from core.plugins import hooks

log = logging.getLogger(__name__)

#: reports built into the core, as ``(roles, {"code", "name", "name_en", "url"})``
CORE_REPORTS: list[tuple[tuple[str, ...], dict]] = [
    (("admin", "organiser"), {"code": "province_dashboard", "name": "Số liệu OCOP của tỉnh",
                              "name_en": "Province OCOP dashboard", "url": "/admin/v1/reports/province-dashboard"}),
]


def available(user) -> list[dict]:
    """Reports ``user`` may open: the core's for its role, then every plugin's (malformed entries skipped)."""
    found = [dict(report) for roles, report in CORE_REPORTS if user.role in roles]
    for result in hooks().reports(user=user):
        for report in result or []:
            if isinstance(report, dict) and report.get("code") and report.get("name"):
                found.append(report)
            else:
                log.warning("ignoring malformed report entry from a plugin: %r", report)
    return found
