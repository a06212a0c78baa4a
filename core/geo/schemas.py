"""Input and output schemas of administrative units (admin API and the storefront's address picker)."""
from __future__ import annotations

from marshmallow import fields, validate

from core.errors import Message
from core.geo.models import LEVELS
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$", error=Message("1–20 ký tự: chữ cái, chữ số, '-'",
                                                                                "1–20 characters: letters, digits, '-'"))


class UnitQuerySchema(PageArgsSchema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.String(validate=validate.Length(1, 20), metadata={"description": "parent unit code"})
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "name (with or without diacritics) or code"})
    include_retired = fields.Boolean(load_default=False)


class UnitPickerQuerySchema(BaseSchema):
    """The storefront's address picker: bigger pages (a province has at most ~170 communes)."""

    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.String(validate=validate.Length(1, 20), metadata={"description": "parent unit code, e.g. 75"})
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "name with or without diacritics"})
    include_retired = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 500),
                           metadata={"description": "page size, at most 500 (a province has at most ~170 communes)"})


class UnitInSchema(BaseSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 200))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    parent_code = fields.String(allow_none=True, validate=validate.Length(1, 20))
    successor_code = fields.String(allow_none=True, validate=validate.Length(1, 20))
    retired_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class UnitPatchSchema(BaseSchema):
    name = fields.String(validate=validate.Length(1, 200))
    parent_code = fields.String(allow_none=True, validate=validate.Length(1, 20))
    successor_code = fields.String(allow_none=True, validate=validate.Length(1, 20),
                                   metadata={"description": "retire: give retired_on and successor_code together"})
    retired_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class UnitSchema(OutputSchema):
    """A unit as the storefront's address picker shows it."""

    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    successor_code = fields.String(allow_none=True)
    retired_on = fields.Date(allow_none=True)


class UnitBriefSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    retired_on = fields.Date(allow_none=True)


class UnitOutSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    successor_code = fields.String(allow_none=True)
    retired_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)
    is_retired = fields.Boolean()


class UnitDetailSchema(UnitOutSchema):
    parent = fields.Nested(UnitBriefSchema, allow_none=True)
    successor_chain = fields.List(fields.Nested(UnitBriefSchema))
    current = fields.Nested(UnitBriefSchema)
    current_province = fields.Nested(UnitBriefSchema, allow_none=True)


UnitPageSchema = paginated(UnitOutSchema, "AdminUnitPage")
UnitPickerPageSchema = paginated(UnitSchema, "StorefrontUnitPage")
