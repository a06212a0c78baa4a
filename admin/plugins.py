"""Loaded plugins: name, version, enabled, hooks implemented."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from core.plugins import plugin_manager
from core.schemas import OutputSchema
from core.accounts.security import require_roles

blp = Blueprint("admin_plugins", __name__, url_prefix="/admin/v1", description="Plugins")


class PluginSchema(OutputSchema):
    name = fields.String()
    module = fields.String()
    distribution = fields.String(allow_none=True)
    version = fields.String(allow_none=True)
    enabled = fields.Boolean()
    hooks = fields.List(fields.String())


class PluginListSchema(OutputSchema):
    results = fields.List(fields.Nested(PluginSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


@blp.route("/plugins")
class Plugins(MethodView):
    @require_roles("admin", "organiser")
    @blp.response(200, PluginListSchema)
    def get(self):
        """Plugins found through the ``ocop.plugins`` entry points."""
        plugins = plugin_manager().describe()
        return {"results": plugins, "total": len(plugins), "next": None}
