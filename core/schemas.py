"""Base marshmallow schemas: unknown fields rejected, text NFC-normalised, control characters refused; every
datetime answered ISO 8601 in Vietnam time (+07:00)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from core.clock import VN_TZ
from core.errors import Message
from core.text import find_control_character, nfc


def _clean(value, multiline: bool, path: str, errors: dict):
    if isinstance(value, str):
        bad = find_control_character(value, multiline=multiline)
        if bad is not None:
            errors[path] = [Message(f"Ký tự điều khiển U+{ord(bad):04X} không được phép.",
                                    f"Control character U+{ord(bad):04X} not allowed.")]
            return value
        return nfc(value)
    if isinstance(value, list):
        return [_clean(item, multiline, path, errors) for item in value]
    return value


def vietnam_time(value: dt.datetime) -> str:
    """ISO 8601 with the Asia/Ho_Chi_Minh offset (+07:00); a naive value is taken as UTC (how it is stored)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(VN_TZ).isoformat()


_VIETNAM_ISO = {**fields.DateTime.SERIALIZATION_FUNCS, "iso": vietnam_time, "iso8601": vietnam_time}


class LocalDateTime(fields.DateTime):
    """A datetime field answered ISO 8601 with +07:00 (every ``fields.DateTime`` of our schemas already is)."""

    SERIALIZATION_FUNCS = _VIETNAM_ISO


class VietnamTimeMixin:
    """The one place datetimes are serialised: every ISO ``DateTime``/``AwareDateTime`` field of a schema
    answers Vietnam time (+07:00), whatever the schema declares (``NaiveDateTime`` stays naive)."""

    def on_bind_field(self, field_name, field_obj):
        super().on_bind_field(field_name, field_obj)
        if isinstance(field_obj, fields.DateTime) and not isinstance(field_obj, fields.NaiveDateTime) \
                and field_obj.format in (None, "iso", "iso8601"):
            field_obj.SERIALIZATION_FUNCS = _VIETNAM_ISO


class BaseSchema(VietnamTimeMixin, Schema):
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


class OutputSchema(VietnamTimeMixin, Schema):
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
