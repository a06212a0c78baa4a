"""Public storefront routes of the fairs plugin: upcoming and running events, detail, the SVG map, where a product is."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from plugins.fairs import events, exhibitors
from plugins.fairs import schemas as s

blp = Blueprint("fairs_public", __name__, url_prefix="/storefront/v1/fairs",
                description="OCOP fairs, exhibitions and OCOP weeks: where to meet producers in person (plugin)")


@blp.route("")
class PublicEvents(MethodView):
    @blp.arguments(s.FairPublicEventQuerySchema, location="query")
    @blp.response(200, s.FairPublicEventPageSchema)
    def get(self, args):
        """Upcoming and running events, by province, kind and dates."""
        return events.public_events(args)


@blp.route("/<slug>")
class PublicEvent(MethodView):
    @blp.response(200, s.FairPublicDetailSchema)
    def get(self, slug):
        """An event with its exhibitors (products with stars) and its booth map."""
        return events.public_detail(slug)


@blp.route("/<slug>/map.svg")
class PublicMap(MethodView):
    @blp.response(200, content_type="image/svg+xml", description="the booth map as SVG")
    def get(self, slug):
        """The booth map as SVG: zones, booth codes, exhibitor names."""
        return Response(events.booth_map_svg(events.public_event(slug)), mimetype="image/svg+xml")


@blp.route("/<slug>/where")
class Where(MethodView):
    @blp.arguments(s.FairWhereQuerySchema, location="query")
    @blp.response(200, s.FairWhereSchema)
    def get(self, args, slug):
        """Where is this product at the fair: product slug → booth codes."""
        return exhibitors.where_is(events.public_event(slug), args["product"])
