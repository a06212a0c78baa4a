"""Admin API of the livestream plugin under ``/admin/v1/livestreams`` (routes parse, call a service, serialise)."""
from __future__ import annotations

import json

from flask import Response, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts.security import current_user, require_roles
from core.errors import invalid, Message, ValidationFailed
from plugins.livestream import adapters, attribution, comments, draft_orders, events, metrics, reports, sessions
from plugins.livestream import showcases
from plugins.livestream import schemas as s

blp = Blueprint("livestream", __name__, url_prefix="/admin/v1/livestreams",
                description="Livestream selling: sessions, showcase, comments, draft orders, live screen (plugin)")
storefront_blp = Blueprint("livestream_storefront", __name__, url_prefix="/storefront/v1/livestreams",
                           description="Livestream links and the signed comment webhook (plugin)")

ROLES = ("admin", "organiser", "producer")


def _session(session_id: int):
    return sessions.session_for(current_user(), session_id)


# --- sessions ---------------------------------------------------------------------------------
@blp.route("")
class Sessions(MethodView):
    @require_roles(*ROLES)
    @blp.arguments(s.SessionQuerySchema, location="query")
    @blp.response(200, s.SessionPageSchema)
    def get(self, args):
        """Sessions in your scope (producers: theirs; organisers: their province's producers)."""
        return sessions.list_sessions(current_user(), args)

    @require_roles(*ROLES)
    @blp.arguments(s.SessionInSchema)
    @blp.response(201, s.SessionOutSchema)
    def post(self, data):
        """Schedule a session; it gets a sales channel ``livestream:<id>``, a tracking code and a webhook secret."""
        return sessions.create_session(current_user(), data)


@blp.route("/<int:session_id>")
class SessionItem(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.SessionOutSchema)
    def get(self, session_id):
        """One session."""
        return _session(session_id)

    @require_roles(*ROLES)
    @blp.arguments(s.SessionPatchSchema)
    @blp.response(200, s.SessionOutSchema)
    def patch(self, data, session_id):
        """Edit title, stream URL; platform and schedule while scheduled."""
        return sessions.update_session(current_user(), _session(session_id), data)


@blp.route("/<int:session_id>/start")
class Start(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.SessionOutSchema)
    def post(self, session_id):
        """scheduled → live; holds the showcase's stock."""
        return sessions.go_live(current_user(), _session(session_id))


@blp.route("/<int:session_id>/end")
class End(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.SessionOutSchema)
    def post(self, session_id):
        """live → ended; releases held stock."""
        return sessions.end(current_user(), _session(session_id))


# --- showcase ---------------------------------------------------------------------------------
@blp.route("/<int:session_id>/showcase")
class Showcase(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.ItemListSchema)
    def get(self, session_id):
        """Products pinned in the session, their variants, session prices, holds and pin windows."""
        return {"results": _session(session_id).items}

    @require_roles(*ROLES)
    @blp.arguments(s.ItemInSchema)
    @blp.response(201, s.ItemOutSchema)
    def post(self, data, session_id):
        """Pin a host's product under a short code (unique in the session)."""
        return showcases.pin_product(current_user(), _session(session_id), data)


@blp.route("/<int:session_id>/showcase/<int:item_id>")
class ShowcaseEntry(MethodView):
    @require_roles(*ROLES)
    @blp.arguments(s.ItemPatchSchema)
    @blp.response(200, s.ItemOutSchema)
    def patch(self, data, session_id, item_id):
        """Change the code, or the variants (words, session price, hold)."""
        session = _session(session_id)
        return showcases.update_item(current_user(), session, showcases.get_item(session, item_id), data)

    @require_roles(*ROLES)
    @blp.response(204)
    def delete(self, session_id, item_id):
        """Take the product off the showcase (its holds are released)."""
        session = _session(session_id)
        showcases.remove_item(current_user(), session, showcases.get_item(session, item_id))


@blp.route("/<int:session_id>/showcase/<int:item_id>/pin")
class Pin(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.ItemOutSchema)
    def post(self, session_id, item_id):
        """Put the product on screen now (opens a pin window; the previous one closes)."""
        session = _session(session_id)
        item = showcases.get_item(session, item_id)
        showcases.pin(current_user(), session, item)
        return item


@blp.route("/<int:session_id>/showcase/<int:item_id>/unpin")
class Unpin(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.ItemOutSchema)
    def post(self, session_id, item_id):
        """Take the product off screen (closes its pin window)."""
        session = _session(session_id)
        item = showcases.get_item(session, item_id)
        showcases.unpin(current_user(), session, item)
        return item


# --- comments ---------------------------------------------------------------------------------
def _read(format_name: str, document) -> list:
    try:
        return adapters.read(format_name, document)
    except adapters.BatchFormatError as exc:
        raise ValidationFailed({"document": [Message("lô bình luận sai định dạng", str(exc))]}, code="livestream.bad_batch",
                               message="Lô bình luận sai định dạng.", message_en="The comment batch is malformed.")


@storefront_blp.route("/<int:session_id>/webhook")
class Webhook(MethodView):
    @storefront_blp.response(200, s.IngestOutSchema)
    @storefront_blp.doc(security=[], parameters=[{"in": "header", "name": "X-Livestream-Signature", "required": True,
                                       "schema": {"type": "string"},
                                       "description": "sha256=<hex HMAC-SHA256 of the raw body, session secret>"},
                                      {"in": "query", "name": "format", "schema": {"type": "string"}}])
    def post(self, session_id):
        """A batch of comments pushed by a platform relay (JSON body in the ``format``'s shape), HMAC-signed.

        No bearer token: the signature is the credential. A resent batch stores nothing new.
        """
        session = sessions.get_session(session_id)
        body = request.get_data(cache=False)
        comments.check_signature(session, body, request.headers.get("X-Livestream-Signature"))
        try:
            document = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            raise ValidationFailed({"body": [Message("không phải JSON UTF-8 hợp lệ", "not valid UTF-8 JSON")]}, code="livestream.bad_batch",
                                   message="Nội dung không phải JSON hợp lệ.", message_en="The body is not valid JSON.")
        return comments.ingest(session, _read(request.args.get("format", "generic"), document))


@blp.route("/<int:session_id>/comments")
class Comments(MethodView):
    @require_roles(*ROLES)
    @blp.arguments(s.CommentQuerySchema, location="query")
    @blp.response(200, s.CommentPageSchema)
    def get(self, args, session_id):
        """Stored comments with their parse results, in the order received."""
        return comments.list_comments(_session(session_id), args)

    @require_roles(*ROLES)
    @blp.arguments(s.CommentBatchSchema)
    @blp.response(200, s.IngestOutSchema)
    def post(self, data, session_id):
        """A batch of comments in an adapter's format (``generic``, ``facebook``, ``tiktok``, ``youtube``…)."""
        session = _session(session_id)
        return comments.ingest(session, _read(data["format"], data["document"]))


@blp.route("/<int:session_id>/comments/upload")
class Upload(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.IngestOutSchema)
    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"},
        "format": {"type": "string", "description": "csv (default for .csv) or an adapter name for JSON"}}}}}})
    def post(self, session_id):
        """Upload a platform export: CSV (id, author_id, author_name, text, created_at) or JSON."""
        session = _session(session_id)
        upload = request.files.get("file")
        if upload is None:
            raise invalid("file", "thiếu tệp", "the file is missing", code="livestream.bad_batch")
        raw = upload.read()
        name = request.form.get("format") or ("csv" if (upload.filename or "").lower().endswith(".csv") else "generic")
        if name == "csv":
            try:
                found = adapters.read_csv(raw)
            except adapters.BatchFormatError as exc:
                raise ValidationFailed({"file": [Message("tệp bình luận sai định dạng", str(exc))]}, code="livestream.bad_batch",
                                       message="Tệp bình luận sai định dạng.", message_en="The comment file is malformed.")
        else:
            try:
                document = json.loads(raw.decode("utf-8-sig"))
            except (ValueError, RecursionError):
                raise ValidationFailed({"file": [Message("không phải JSON UTF-8 hợp lệ", "not valid UTF-8 JSON")]}, code="livestream.bad_batch",
                                       message="Tệp không phải JSON hợp lệ.", message_en="The file is not valid JSON.")
            found = _read(name, document)
        return comments.ingest(session, found)


# --- drafts -----------------------------------------------------------------------------------
@blp.route("/<int:session_id>/drafts")
class Drafts(MethodView):
    @require_roles(*ROLES)
    @blp.arguments(s.DraftQuerySchema, location="query")
    @blp.response(200, s.DraftListSchema)
    def get(self, args, session_id):
        """The confirmation queue: drafts per viewer (``needs_review=true``: comments a person must read)."""
        session = _session(session_id)
        return {"results": [draft_orders.priced(session, d) for d in draft_orders.list_drafts(session, args)]}


@blp.route("/<int:session_id>/drafts/<int:draft_id>")
class DraftItem(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.DraftOutSchema)
    def get(self, session_id, draft_id):
        """One draft with session prices."""
        session = _session(session_id)
        return draft_orders.priced(session, draft_orders.get_draft(session, draft_id))

    @require_roles(*ROLES)
    @blp.arguments(s.DraftPatchSchema)
    @blp.response(200, s.DraftOutSchema)
    def patch(self, data, session_id, draft_id):
        """Set the lines (code, variant, quantity) or phone; later comments no longer change this draft."""
        session = _session(session_id)
        draft = draft_orders.edit(current_user(), session, draft_orders.get_draft(session, draft_id), data)
        return draft_orders.priced(session, draft)


@blp.route("/<int:session_id>/drafts/<int:draft_id>/confirm")
class Confirm(MethodView):
    @require_roles(*ROLES)
    @blp.arguments(s.ConfirmInSchema)
    @blp.response(201, s.ConfirmOutSchema)
    @blp.alt_response(200, schema=s.ConfirmOutSchema, description="already confirmed: the same order")
    def post(self, data, session_id, draft_id):
        """Place the draft's core order (COD or bank transfer) with the address and phone you typed."""
        session = _session(session_id)
        draft = draft_orders.get_draft(session, draft_id)
        order, created = draft_orders.confirm(current_user(), session, draft, data)
        body = {"draft_id": draft.id, "order_id": order.id, "number": order.number, "total": order.total,
                "status": order.status, "created": created}
        return body, 201 if created else 200


@blp.route("/<int:session_id>/drafts/<int:draft_id>/reject")
class Reject(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.DraftOutSchema)
    def post(self, session_id, draft_id):
        """Reject the draft (no order)."""
        session = _session(session_id)
        draft = draft_orders.reject(current_user(), session, draft_orders.get_draft(session, draft_id))
        return draft_orders.priced(session, draft)


# --- metrics and live screen --------------------------------------------------------------------
@blp.route("/<int:session_id>/metrics")
class Metrics(MethodView):
    @require_roles(*ROLES)
    @blp.arguments(s.SamplesInSchema)
    @blp.response(200, s.SamplesOutSchema)
    def post(self, data, session_id):
        """Platform figures by time (views, peak viewers, likes, shares, comments); a known moment is replaced."""
        return {"recorded": metrics.record_samples(_session(session_id), data["samples"])}


@blp.route("/<int:session_id>/summary")
class Summary(MethodView):
    @require_roles(*ROLES)
    @blp.response(200, s.SummarySchema)
    def get(self, session_id):
        """GMV, orders, conversion, per-product sales, orders per minute and per pin window, figures."""
        session = _session(session_id)
        return {**metrics.summary(session), "samples": metrics.samples_of(session)}


@blp.route("/<int:session_id>/events")
class Events(MethodView):
    @require_roles(*ROLES)
    @blp.doc(responses={"200": {"description": "text/event-stream of comment, draft and order events"}},
             parameters=[{"in": "header", "name": "Last-Event-ID", "schema": {"type": "integer"}}])
    def get(self, session_id):
        """Server-Sent Events: new comments (with parse results), drafts and orders after ``Last-Event-ID``.

        Each connection lasts at most 30 s; the client reconnects with the last id it saw.
        """
        session = _session(session_id)
        raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "0"
        if not raw.isdigit() or len(raw) > 18:
            raise invalid("Last-Event-ID", "phải là số nguyên không âm", "must be a non-negative integer")
        generator = events.stream(session.id, int(raw))
        return Response(stream_with_context(generator), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# --- reports ----------------------------------------------------------------------------------
@blp.route("/reports/sessions")
class SessionsReport(MethodView):
    @require_roles(*ROLES)
    @blp.arguments(s.ReportQuerySchema, location="query")
    @blp.response(200, s.SessionsReportSchema)
    def get(self, args):
        """Sessions, GMV and orders per producer and province, and the best products, in your scope."""
        return reports.sessions_report(current_user(), {"from": args.get("from_"), "to": args.get("to")})


# --- storefront -------------------------------------------------------------------------------
@storefront_blp.route("/track")
class Track(MethodView):
    @storefront_blp.arguments(s.TrackInSchema)
    @storefront_blp.response(200, s.TrackOutSchema)
    def post(self, data):
        """The shopper came by a session's link (``?ls=<code>``): credit this checkout's order to the session."""
        tag = attribution.tag_checkout(data["checkout_token"], data["code"])
        return {"session_id": tag.session_id, "tagged": True}
