"""Base marshmallow schemas: unknown fields rejected, text NFC-normalised, control characters refused; every
datetime answered ISO 8601 in Vietnam time (+07:00).

Every integer input is bounded: a field without an upper bound gets one from its name (ids and plain
integers: the INTEGER column range; money: :data:`MAX_VND`), so no value can overflow a column or a driver.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from core.clock import VN_TZ
from core.errors import Message
from core.text import find_control_character, nfc

#: ids and plain integer columns are INTEGER (32-bit on PostgreSQL)
MAX_ID = 2_147_483_647
MAX_INTEGER = 2_147_483_647
#: a sane maximum for any VND amount in an input (one trillion đồng; money columns are BIGINT)
MAX_VND = 1_000_000_000_000
_MONEY_NAME = re.compile(r"(^|_)(price|amount|budget|subtotal|total|fee|tendered)$")


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

    def on_bind_field(self, field_name, field_obj):
        super().on_bind_field(field_name, field_obj)  # Vietnam time for datetimes
        inner = field_obj.inner if isinstance(field_obj, fields.List) else field_obj
        if isinstance(inner, fields.Integer):
            bound_integer(field_name, inner)

    @validates_schema
    def _page_within_reach(self, data, **kwargs):
        page, limit = data.get("page"), data.get("limit")
        if isinstance(page, int) and isinstance(limit, int) and "page" in self.fields and limit > 0 \
                and (page - 1) * limit > MAX_ID:
            raise ValidationError(f"Trang vượt quá số dòng có thể có (page beyond the last reachable row: "
                                  f"page ≤ {MAX_ID // limit + 1} for limit {limit}).", "page")

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


def integer_upper_bound(name: str) -> int:
    """The largest value an integer input named ``name`` may take when its schema sets none."""
    return MAX_VND if _MONEY_NAME.search(name) else MAX_INTEGER


def bound_integer(name: str, field: fields.Integer) -> None:
    """Give ``field`` an upper (and lower) bound if it has none: out-of-range input answers 422, never a 5xx."""
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    if any(r.max is not None for r in ranges):
        return
    top = integer_upper_bound(name)
    has_min = any(r.min is not None for r in ranges)
    field.validators = [*field.validators, validate.Range(min=None if has_min else -top, max=top)]


class OutputSchema(VietnamTimeMixin, Schema):
    """Response schema base (no input validation concerns)."""

    class Meta:
        ordered = True

    def get_attribute(self, obj, attr, default):
        """A key of a dict (what services answer) read directly: marshmallow's general accessor costs two
        more calls per field (~110 per order answer); objects and dotted paths take marshmallow's way."""
        if type(obj) is dict and "." not in attr:
            return obj.get(attr, default)
        return super().get_attribute(obj, attr, default)


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
