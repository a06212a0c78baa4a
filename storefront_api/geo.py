"""Storefront: administrative units for address pickers (current units by default)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.geo.schemas import UnitPickerPageSchema, UnitPickerQuerySchema
from core.geo import units as geo

blp = Blueprint("storefront_geo", __name__, url_prefix="/storefront/v1",
                description="Administrative units (34 provinces, 3,321 communes since 1 July 2025)")


@blp.route("/administrative-units")
class Units(MethodView):
    @blp.arguments(UnitPickerQuerySchema, location="query")
    @blp.response(200, UnitPickerPageSchema)
    def get(self, args):
        """Provinces or communes for an address picker (``?level=province``, ``?parent=75``)."""
        return geo.list_units(args)
