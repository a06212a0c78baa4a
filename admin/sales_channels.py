"""Admin: sales channels and the registered channel / stock-location kinds.

Every order belongs to one channel. The core owns ``online_store`` (created on
first use); plugins register more kinds through ``register_sales_channel_kinds``.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.plugins import plugin_manager
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated
from core.accounts.security import current_user, require_roles
from core.sales import channels

blp = Blueprint("admin_sales_channels", __name__, url_prefix="/admin/v1", description="Sales channels")
READERS = ("admin", "organiser", "certifier", "producer", "operator")


class ChannelInSchema(BaseSchema):
    kind = fields.String(required=True, validate=validate.Length(1, 40),
                         metadata={"description": "a registered sales channel kind"})
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9_.:-]{1,79}$"))
    name = fields.String(required=True, validate=validate.Length(2, 200))
    location_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class ChannelPatchSchema(BaseSchema):
    name = fields.String(validate=validate.Length(2, 200))
    location_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class ChannelOutSchema(OutputSchema):
    id = fields.Integer()
    kind = fields.String()
    code = fields.String()
    name = fields.String()
    location_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class ChannelQuerySchema(PageArgsSchema):
    kind = fields.String()
    active = fields.Boolean()


class KindOutSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()


ChannelPageSchema = paginated(ChannelOutSchema, "SalesChannelPage")


@blp.route("/sales-channels")
class Channels(MethodView):
    @require_roles(*READERS)
    @blp.arguments(ChannelQuerySchema, location="query")
    @blp.response(200, ChannelPageSchema)
    def get(self, args):
        """Sales channels (the online store appears once it has been used or created)."""
        return channels.list_channels(args)

    @require_roles("admin")
    @blp.arguments(ChannelInSchema)
    @blp.response(201, ChannelOutSchema)
    def post(self, data):
        """Create a channel of a registered kind."""
        return channels.create_channel(current_user(), data)


@blp.route("/sales-channels/<int:channel_id>")
class ChannelItem(MethodView):
    @require_roles(*READERS)
    @blp.response(200, ChannelOutSchema)
    def get(self, channel_id):
        """One sales channel."""
        return channels.get_channel(channel_id)

    @require_roles("admin")
    @blp.arguments(ChannelPatchSchema)
    @blp.response(200, ChannelOutSchema)
    def patch(self, data, channel_id):
        """Rename, (de)activate or re-link a channel to a stock location."""
        return channels.update_channel(current_user(), channels.get_channel(channel_id), data)


@blp.route("/sales-channel-kinds")
class ChannelKinds(MethodView):
    @require_roles(*READERS)
    @blp.response(200, KindOutSchema(many=True))
    def get(self):
        """Registered sales channel kinds (core and plugins)."""
        return plugin_manager().sales_channel_kinds.all()


@blp.route("/stock-location-kinds")
class LocationKinds(MethodView):
    @require_roles(*READERS)
    @blp.response(200, KindOutSchema(many=True))
    def get(self):
        """Registered stock location kinds (core and plugins)."""
        return plugin_manager().stock_location_kinds.all()
