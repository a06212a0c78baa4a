"""What the sales points' console pages share: the console registry, rendering, form parsing with the API's
schemas (a refused form is a 422 page, nothing written), and the operator's point."""
from __future__ import annotations

import re

from flask import current_app
from marshmallow import ValidationError

from core.accounts.security import current_user
from core.errors import ValidationFailed
from plugins.sales_points import access, services

WHOLE = re.compile(r"^-?\d+$")
GROUPED = re.compile(r"^\d{1,3}(\.\d{3})+$")


def console():
    """The console's page registry (``admin.console.shell.ConsolePages``): rendering and texts."""
    return current_app.extensions["ocop_console"]


def render(template: str, status: int = 200, **context):
    return console().render(template, status, **context)


def error_text(exc) -> str:
    return console().error_text(exc)


def load(schema, data: dict) -> dict:
    """``data`` through the API's input schema; its messages become a 422 :class:`ValidationFailed`."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc


def field_errors(exc) -> list[str]:
    """A refusal's field messages, flattened for a form (``lines.0.quantity: …``) in the session's language."""
    return console().field_errors(exc, plain_strings=True)[:20]


def blank_to_none(value):
    value = (value or "").strip()
    return value or None


def operated_point(point_id: int):
    """The point ``point_id`` when the caller operates it (404 unknown, 403 another point)."""
    point = services.get_point(point_id)
    access.require_operate(current_user(), point)
    return point


def operated_points() -> list:
    """The active points the caller operates (admins: every active point)."""
    return services.list_points(current_user(), {"page": 1, "limit": 100, "status": "active"})["results"]


def number(value):
    """A form's whole number as an int (``"1.000"`` with thousands dots too); anything else is passed on for
    the schema to refuse (``"1.5"`` is not read as 15)."""
    raw = (value or "").strip().replace(" ", "")
    if GROUPED.match(raw):
        raw = raw.replace(".", "")
    if WHOLE.match(raw) and len(raw) <= 13:
        return int(raw)
    return raw or None
