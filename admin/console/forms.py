"""Console forms: HTML form fields → the domain's own input schemas (the API's rules, not the view's), and a
refusal's field messages for display."""
from __future__ import annotations

from marshmallow import ValidationError

from admin.console.shell import field_errors  # noqa: F401  (the views' import of it)
from core.errors import ValidationFailed


def text(form, name: str) -> str | None:
    """A trimmed text field; empty → None."""
    value = (form.get(name) or "").strip()
    return value or None


def vnd(form, name: str):
    """A VND amount as typed (``68.000``, ``68 000``): an int when it is one, else the text (the schema refuses it)."""
    value = (form.get(name) or "").strip().replace(".", "").replace(" ", "").replace(",", "")
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) <= 13 else value


def load(schema, data: dict) -> dict:
    """``data`` checked by a domain schema (None values dropped); a refusal is a 422 with the field messages."""
    try:
        return schema.load({key: value for key, value in data.items() if value is not None})
    except ValidationError as exc:
        raise ValidationFailed(exc.messages) from exc
