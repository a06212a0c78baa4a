"""Storefront: administrative units for address pickers (current units by default)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.geo.models import LEVELS
from core.schemas import BaseSchema, OutputSchema, paginated
from core.geo import units as geo

blp = Blueprint("storefront_geo", __name__, url_prefix="/storefront/v1",
                description="Administrative units (34 provinces, 3,321 communes since 1 July 2025)")


class UnitQuerySchema(BaseSchema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.String(validate=validate.Length(1, 20), metadata={"description": "parent unit code, e.g. 75"})
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "name with or without diacritics"})
    include_retired = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 500),
                           metadata={"description": "page size, at most 500 (a province has at most ~170 communes)"})


class UnitSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    successor_code = fields.String(allow_none=True)
    retired_on = fields.Date(allow_none=True)


UnitPageSchema = paginated(UnitSchema, "StorefrontUnitPage")


@blp.route("/administrative-units")
class Units(MethodView):
    @blp.arguments(UnitQuerySchema, location="query")
    @blp.response(200, UnitPageSchema)
    def get(self, args):
        """Provinces or communes for an address picker (``?level=province``, ``?parent=75``)."""
        return geo.list_units(args)
