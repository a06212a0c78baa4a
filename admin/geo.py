"""Admin: administrative units (provinces, districts, communes; retired units and their successors)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.geo.schemas import UnitDetailSchema, UnitInSchema, UnitPageSchema, UnitPatchSchema, UnitQuerySchema
from core.accounts.security import current_user, require_roles
from core.geo import units as geo

blp = Blueprint("admin_geo", __name__, url_prefix="/admin/v1", description="Administrative units")
ALL_ROLES = ("admin", "organiser", "certifier", "producer", "operator")


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
