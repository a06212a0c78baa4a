"""Base marshmallow schemas: unknown fields rejected, text NFC-normalised, control characters refused."""
from __future__ import annotations

from collections.abc import Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from core.text import find_control_character, nfc


def _clean(value, multiline: bool, path: str, errors: dict):
    if isinstance(value, str):
        bad = find_control_character(value, multiline=multiline)
        if bad is not None:
            errors[path] = [f"Ký tự điều khiển không được phép (control character U+{ord(bad):04X} not allowed)."]
            return value
        return nfc(value)
    if isinstance(value, list):
        return [_clean(item, multiline, path, errors) for item in value]
    return value


class BaseSchema(Schema):
    """Input schema base: RAISE on unknown fields; NFC + control-character check on every string.

    Fields with ``metadata={"multiline": True}`` may contain newlines and tabs.
    """

    class Meta:
        unknown = RAISE
        ordered = True

    @pre_load
    def _normalise_text(self, data, **kwargs):
        if not isinstance(data, Mapping):  # JSON objects, and query/form MultiDict proxies alike
            return data
        errors: dict = {}
        cleaned = {}
        for key in data:
            value = data[key]
            field = self.fields.get(key)
            multiline = bool(field and field.metadata.get("multiline"))
            if isinstance(field, fields.Nested):
                cleaned[key] = value  # nested schema cleans itself
            else:
                cleaned[key] = _clean(value, multiline, key, errors)
        if errors:
            raise ValidationError(errors)
        return cleaned


class OutputSchema(Schema):
    """Response schema base (no input validation concerns)."""

    class Meta:
        ordered = True


MAX_PAGE_SIZE = 100


class PartialMixin:
    """Make every field optional (PATCH bodies): marshmallow has no ``Meta.partial`` option.

    Use as ``class ThingPatchSchema(PartialMixin, ThingInSchema)``; the OpenAPI
    document then lists no required fields either.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


class PageArgsSchema(BaseSchema):
    """``?page=&limit=`` with a hard maximum page size."""

    # marshmallow 4 ignores validators that merely return False: use real validators
    page = fields.Integer(load_default=1, validate=validate.Range(min=1),
                          metadata={"description": "1-based page number"})
    limit = fields.Integer(load_default=20, validate=validate.Range(1, MAX_PAGE_SIZE),
                           metadata={"description": f"page size, at most {MAX_PAGE_SIZE}"})


def paginated(schema_cls: type[Schema], name: str) -> type[Schema]:
    """Build the ``{"results": [...], "total": N, "next": …}`` envelope schema for ``schema_cls``."""
    return type(name, (OutputSchema,), {
        "results": fields.List(fields.Nested(schema_cls)),
        "total": fields.Integer(),
        "next": fields.String(allow_none=True),
    })
