"""HTTP API of the marketplace feeds plugin: admin routes under ``/admin/v1/marketplaces``, the secret feed
URLs under ``/storefront/v1/feeds`` and the signed order webhook under ``/storefront/v1/marketplaces``."""
from __future__ import annotations

import gzip

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts.security import current_user, require_roles
from plugins.marketplace_feeds import builds, registry, reports, services
from plugins.marketplace_feeds import schemas as s

blp = Blueprint("marketplace_feeds", __name__, url_prefix="/admin/v1/marketplaces",
                description="Marketplaces: registry, producer opt-in, feeds and their reports, order import (plugin)")
storefront_blp = Blueprint("marketplace_feeds_public", __name__, url_prefix="/storefront/v1",
                           description="Marketplace feeds at secret URLs and the signed order webhook (plugin)")

VIEWERS = ("admin", "organiser", "producer")
CHUNK = 64 * 1024


@blp.route("")
class Marketplaces(MethodView):
    @require_roles(*VIEWERS)
    @blp.arguments(s.MarketplaceQuerySchema, location="query")
    @blp.response(200, s.MarketplacePageSchema)
    def get(self, args):
        """Registered marketplaces (Google Merchant, Meta, TikTok Shop, Shopee, Lazada, Postmart, Voso, custom)."""
        return registry.list_marketplaces(args)

    @require_roles("admin")
    @blp.arguments(s.MarketplaceInSchema)
    @blp.response(201, s.MarketplaceSecretsSchema)
    def post(self, data):
        """Register a marketplace: its sales channel ``marketplace:<code>``, feed token and webhook secret."""
        user = current_user()
        return services.marketplace_view(user, registry.create_marketplace(user, data))


@blp.route("/<int:marketplace_id>")
class MarketplaceItem(MethodView):
    @require_roles(*VIEWERS)
    @blp.response(200, s.MarketplaceSecretsSchema)
    def get(self, marketplace_id):
        """One marketplace (admins also get the feed URLs and the webhook secret)."""
        return services.marketplace_view(current_user(), registry.get_marketplace(marketplace_id))

    @require_roles("admin")
    @blp.arguments(s.MarketplacePatchSchema)
    @blp.response(200, s.MarketplaceSecretsSchema)
    def patch(self, data, marketplace_id):
        """Edit the name, product link template, category mapping, fallback image, active flag."""
        user = current_user()
        return services.marketplace_view(user, registry.update_marketplace(
            user, registry.get_marketplace(marketplace_id), data))


@blp.route("/<int:marketplace_id>/rotate")
class Rotate(MethodView):
    @require_roles("admin")
    @blp.arguments(s.MarketplaceRotateSchema)
    @blp.response(200, s.MarketplaceSecretsSchema)
    def post(self, data, marketplace_id):
        """Revoke the feed URL (new token) or the webhook secret; the old one stops working at once."""
        user = current_user()
        return services.marketplace_view(user, registry.rotate_secrets(
            user, registry.get_marketplace(marketplace_id), data["what"]))


@blp.route("/<int:marketplace_id>/producers")
class Participants(MethodView):
    @require_roles(*VIEWERS)
    @blp.arguments(s.MarketplaceParticipantQuerySchema, location="query")
    @blp.response(200, s.MarketplaceParticipantPageSchema)
    def get(self, args, marketplace_id):
        """Producers present on the marketplace (organisers: their province; producers: themselves)."""
        return registry.list_participants(current_user(), registry.get_marketplace(marketplace_id), args)


@blp.route("/<int:marketplace_id>/producers/join")
class Join(MethodView):
    @require_roles(*VIEWERS)
    @blp.arguments(s.MarketplaceParticipationSchema)
    @blp.response(200, s.MarketplaceParticipantSchema)
    def post(self, data, marketplace_id):
        """A verified producer publishes its listed products on the marketplace (its own, or in scope)."""
        return registry.set_participation(current_user(), registry.get_marketplace(marketplace_id), data, "active")


@blp.route("/<int:marketplace_id>/producers/withdraw")
class Withdraw(MethodView):
    @require_roles(*VIEWERS)
    @blp.arguments(s.MarketplaceParticipationSchema)
    @blp.response(200, s.MarketplaceParticipantSchema)
    def post(self, data, marketplace_id):
        """The producer's products leave the marketplace's feeds at the next fetch."""
        return registry.set_participation(current_user(), registry.get_marketplace(marketplace_id), data,
                                          "withdrawn")


@blp.route("/<int:marketplace_id>/feeds/<string:fmt>/build")
class Build(MethodView):
    @require_roles("admin", "organiser")
    @blp.response(201, s.FeedBuildSchema)
    def post(self, marketplace_id, fmt):
        """Generate the feed now (``rss``, ``tsv``, ``csv``, ``json``, ``local_inventory``)."""
        return builds.build(registry.get_marketplace(marketplace_id), builds_format(fmt))


@blp.route("/<int:marketplace_id>/feeds/<string:fmt>/report")
class Report(MethodView):
    @require_roles("admin", "organiser")
    @blp.response(200, s.FeedReportSchema)
    def get(self, marketplace_id, fmt):
        """The latest build's validation report: each refused item, the field and the rule it broke."""
        return services.report_of(registry.get_marketplace(marketplace_id), fmt)


@blp.route("/<int:marketplace_id>/orders/import")
class Import(MethodView):
    @require_roles("admin", "organiser")
    @blp.response(201, s.OrderImportSchema)
    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary", "description": "the marketplace's order export"}}}}}})
    def post(self, marketplace_id):
        """Import an order export (CSV/XLSX): all or nothing; 422 lists each refused row with its reason."""
        return services.import_file(current_user(), registry.get_marketplace(marketplace_id),
                                    request.files.get("file"))


@blp.route("/<int:marketplace_id>/templates/fill")
class TemplateFill(MethodView):
    @require_roles(*VIEWERS)
    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary", "description": "the marketplace's .xlsx/.xlsm template"}}}}}},
        responses={"200": {"description": "the template filled (macros kept); X-Template-Rows, X-Template-Refused"}})
    def post(self, marketplace_id):
        """Fill a TikTok Shop / Shopee / Lazada mass-upload template by header names (producers: their items)."""
        data, content_type, summary, filename = services.fill_template(
            current_user(), registry.get_marketplace(marketplace_id), request.files.get("file"))
        safe = "".join(c for c in filename if c.isalnum() or c in "._-") or "template.xlsx"
        return Response(data, status=200, content_type=content_type, headers={
            "Content-Disposition": f'attachment; filename="filled-{safe}"',
            "X-Template-Rows": str(summary["rows"]), "X-Template-Refused": str(summary["refused"]),
            "X-Template-Header-Row": str(summary["header_row"])})


@blp.route("/reports/presence")
class PresenceReport(MethodView):
    @require_roles(*reports.ROLES)
    @blp.response(200, s.MarketplaceReportSchema)
    def get(self):
        """Producers present per marketplace and province."""
        return reports.presence(current_user())


@blp.route("/reports/items")
class ItemsReport(MethodView):
    @require_roles(*reports.ROLES)
    @blp.response(200, s.MarketplaceReportSchema)
    def get(self):
        """Items published and refused in each marketplace's latest feeds."""
        return reports.items(current_user())


@blp.route("/reports/campaigns")
class CampaignsReport(MethodView):
    @require_roles(*reports.ROLES)
    @blp.response(200, s.MarketplaceReportSchema)
    def get(self):
        """Campaigns (core promotions on marketplace channels): orders, units, discount and GMV per producer."""
        return reports.campaigns(current_user())


def builds_format(fmt: str) -> str:
    builds.get_format(fmt)
    return fmt


# --- public ---------------------------------------------------------------------------------
@storefront_blp.route("/feeds/<string:token>/<string:fmt>")
class Feed(MethodView):
    @storefront_blp.doc(security=[], responses={"200": {"description": "the feed (gzip when accepted)"},
                                                "304": {"description": "not modified"}})
    def get(self, token, fmt):
        """A marketplace's feed at its secret URL; ``ETag``/``Last-Modified``, ``If-None-Match`` → 304."""
        served = builds.serve(token, fmt, request.headers.get("If-None-Match"), request.if_modified_since)
        row = served.build
        headers = {"ETag": row.etag, "Last-Modified": row.built_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                   "Cache-Control": "private, max-age=0, must-revalidate", "Vary": "Accept-Encoding",
                   "X-Feed-Items": str(row.items), "X-Feed-Refused": str(row.refused)}
        if served.not_modified:
            return Response(status=304, headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = _chunks(open(served.path, "rb"))
        else:
            body = _chunks(gzip.open(served.path, "rb"))
        return Response(body, status=200, content_type=served.content_type, headers=headers,
                        direct_passthrough=True)


def _chunks(handle):
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


@storefront_blp.route("/marketplaces/<string:code>/orders/webhook")
class Webhook(MethodView):
    @storefront_blp.response(201, s.OrderImportSchema)
    @storefront_blp.doc(security=[], parameters=[{"in": "header", "name": "X-Marketplace-Signature",
                                                  "required": True, "schema": {"type": "string"},
                                                  "description": "sha256=<hex HMAC-SHA256 of the raw body>"}])
    def post(self, code):
        """Orders and status changes pushed by a marketplace relay, HMAC-signed; a replay creates nothing."""
        return services.receive_webhook(code, request.get_data(cache=False),
                                        request.headers.get("X-Marketplace-Signature"))
