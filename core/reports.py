"""Report index (the core's reports plus those plugins offer through the ``reports(user)`` hook), and
spreadsheet exports (CSV, XLSX) that a spreadsheet program never runs as formulas."""
from __future__ import annotations

import csv
import io
import logging
from typing import Any, Iterable

from core.errors import DomainError
from core.plugins import hooks

log = logging.getLogger(__name__)

#: reports built into the core, as ``(roles, {"code", "name", "name_en", "url"})``
CORE_REPORTS: list[tuple[tuple[str, ...], dict]] = [
    (("admin", "organiser"), {"code": "province_dashboard", "name": "Số liệu OCOP của tỉnh",
                              "name_en": "Province OCOP dashboard", "url": "/admin/v1/reports/province-dashboard"}),
]


def _plugin_reports(user) -> list[dict]:
    found = []
    for result in hooks().reports(user=user):
        for report in result or []:
            if isinstance(report, dict) and report.get("code") and report.get("name"):
                found.append(report)
            else:
                log.warning("ignoring malformed report entry from a plugin: %r", report)
    return found


def available(user) -> list[dict]:
    """Reports ``user`` may open: the core's for its role, then every plugin's (malformed entries skipped)."""
    found = [dict(report) for roles, report in CORE_REPORTS if user.role in roles]
    return found + [{k: v for k, v in report.items() if k != DASHBOARD_KEY} for report in _plugin_reports(user)]


# --- figures plugins add to the province dashboard --------------------------------------------------------
#: A ``reports(user)`` entry may carry ``"dashboard": callable(province_code, unit_code, date_from, date_to)``
#: returning one figure ``{"code", "name", "name_en", "value", "unit"?, "rows"?: [{"label", "value"}]}`` for
#: the province dashboard (e.g. the fairs plugin's OCOP booth rounds: code ``fair_rounds``); a figure whose
#: code names a plan target (``core/data/plan_targets.json``) is shown against it.
DASHBOARD_KEY = "dashboard"
MAX_FIGURE_ROWS = 200


def dashboard_figures(user, *, province_code, unit_code, date_from, date_to) -> list[dict]:
    """The plugins' dashboard figures for ``user``'s scope and period (malformed or refused ones skipped)."""
    figures = []
    for report in _plugin_reports(user):
        compute = report.get(DASHBOARD_KEY)
        if not callable(compute):
            continue
        try:
            figure = compute(province_code=province_code, unit_code=unit_code, date_from=date_from, date_to=date_to)
        except DomainError as exc:  # the plugin refused this scope: the dashboard shows the rest
            log.info("plugin figure %s skipped: %s", report["code"], exc.code)
            continue
        if not (isinstance(figure, dict) and figure.get("code") and figure.get("name")
                and isinstance(figure.get("value"), (int, float)) and not isinstance(figure.get("value"), bool)):
            log.warning("ignoring malformed dashboard figure from report %s: %r", report["code"], figure)
            continue
        rows = [row for row in figure.get("rows") or [] if isinstance(row, dict) and "label" in row][:MAX_FIGURE_ROWS]
        figures.append({"code": str(figure["code"]), "report": report["code"], "name": str(figure["name"]),
                        "name_en": str(figure.get("name_en") or figure["name"]), "value": figure["value"],
                        "unit": figure.get("unit"), "rows": [{"label": str(r["label"]), "value": r.get("value")}
                                                             for r in rows]})
    return figures


# --- spreadsheet exports ---------------------------------------------------------------------------------
# A text cell starting with ``= + - @`` (or a tab / carriage return) is a formula to Excel and LibreOffice:
# a shop or producer named ``=HYPERLINK(...)`` would run in the reader's spreadsheet. Every export writes
# its cells through :func:`csv_bytes` / :func:`append_row` (or :func:`safe_text`).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> Any:
    """``value`` for a CSV cell: formula-like text gets a leading apostrophe; numbers and the rest unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    """Rows as UTF-8 CSV with a BOM (so spreadsheet programs show Vietnamese correctly), every cell escaped."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_text(value) for value in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def append_row(sheet, values: Iterable[Any]) -> None:
    """Append ``values`` to an openpyxl worksheet, every text cell stored as text (openpyxl would store
    ``=…`` as a real formula)."""
    values = list(values)
    sheet.append(values)
    for cell, value in zip(sheet[sheet.max_row], values):
        if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
            cell.value = value
            cell.data_type = "s"
