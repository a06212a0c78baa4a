"""Admin: administrative units (provinces, districts, communes; retired units and their successors)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.geo.models import LEVELS
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated
from core.accounts.security import current_user, require_roles
from core.geo import units as geo

blp = Blueprint("admin_geo", __name__, url_prefix="/admin/v1", description="Administrative units")
ALL_ROLES = ("admin", "organiser", "certifier", "producer", "operator")
CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$", error="1–20 characters: letters, digits, '-'")


class UnitQuerySchema(PageArgsSchema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.String(validate=validate.Length(1, 20), metadata={"description": "parent unit code"})
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "name (with or without diacritics) or code"})
    include_retired = fields.Boolean(load_default=False)


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


@blp.route("/administrative-units")
class Units(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(UnitQuerySchema, location="query")
    @blp.response(200, UnitPageSchema)
    def get(self, args):
        """Administrative units (current only unless ``include_retired``)."""
        return geo.list_units(args)

    @require_roles("admin")
    @blp.arguments(UnitInSchema)
    @blp.response(201, UnitDetailSchema)
    def post(self, data):
        """Add a unit; a retired unit needs ``retired_on`` and ``successor_code``."""
        return geo.unit_detail(geo.create_unit(current_user(), data))


@blp.route("/administrative-units/<code>")
class UnitItem(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(200, UnitDetailSchema)
    def get(self, code):
        """One unit with its successor chain, the unit in force today and its current province."""
        return geo.unit_detail(geo.get_unit(code))

    @require_roles("admin")
    @blp.arguments(UnitPatchSchema)
    @blp.response(200, UnitDetailSchema)
    def patch(self, data, code):
        """Rename, re-parent, retire (with a successor) or reinstate a unit; producers follow their commune."""
        return geo.unit_detail(geo.update_unit(current_user(), geo.get_unit(code), data))
