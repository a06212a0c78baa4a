"""The fairs' pages in the web console: the organiser's events, booth map editor, applications review,
allocation board, fees and settlement; the producer's applications, booths and fees (with the VietQR code);
booth staff's till.

Mounted through the ``register_console_pages`` hook. Every view calls the plugin's services (the same ones as
``/admin/v1/fairs``), parsing forms with the API's schemas. GET pages take the event as ``?event=<id>`` (a page
without one goes back to the list); every form works without JavaScript, and the map editor also answers
htmx requests with the redrawn map.
"""
from __future__ import annotations

import base64
import uuid
from pathlib import Path

from flask import Response, current_app, redirect, request, url_for
from marshmallow import ValidationError

from core.accounts.security import current_user
from core.db import db
from core.errors import DomainError, NotFound
from core.payments import vietqr
from plugins.fairs import allocation, applications, booth_stock, events, fees
from plugins.fairs import schemas as s
from plugins.fairs.models import APPLICATION_STATUSES, BOOTH_TYPES, EVENT_KINDS, STATUSES

TEMPLATES = str(Path(__file__).parent / "templates")
ORGANISE = ("admin", "organiser")
PRODUCER = ("producer",)
BOOTH_STAFF = ("producer", "operator")
STATUS_NAMES = {"draft": ("Nháp", "Draft"), "open": ("Nhận đăng ký", "Open for applications"),
                "allocating": ("Đang xếp gian", "Allocating"), "published": ("Đã công bố", "Published"),
                "running": ("Đang diễn ra", "Running"), "closed": ("Đã kết thúc", "Closed"),
                "reported": ("Đã báo cáo", "Reported")}
FEE_STATUS_NAMES = {"paid": ("Đã thanh toán", "Paid"), "unpaid": ("Chưa thanh toán", "Unpaid"),
                    "waived": ("Miễn phí", "Waived"), "cancelled": ("Đã huỷ", "Cancelled")}
GEOMETRY = ("x", "y", "w", "h")


def register(console) -> None:
    """The fairs' pages (endpoints ``console_fairs.…``)."""
    def page(rule, view, roles, methods=("GET",), menu=None, order=100):
        console.add_page(rule, view, endpoint=view.__name__, roles=roles, methods=methods, menu=menu, order=order,
                         blueprint="fairs", template_folder=TEMPLATES)
    page("/fairs", fair_list, ORGANISE, menu=("Hội chợ, triển lãm", "Fairs"), order=40)
    page("/fairs/event", fair_detail, ORGANISE)
    page("/fairs/<int:event_id>/transition", fair_transition, ORGANISE, ("POST",))
    page("/fairs/map", fair_map, ORGANISE)
    page("/fairs/<int:event_id>/booths", booth_add, ORGANISE, ("POST",))
    page("/fairs/<int:event_id>/booths/<int:booth_id>", booth_update, ORGANISE, ("POST",))
    page("/fairs/applications", fair_applications, ORGANISE)
    page("/fairs/<int:event_id>/applications/<int:application_id>/review", application_review, ORGANISE, ("POST",))
    page("/fairs/allocation", fair_allocation, ORGANISE)
    page("/fairs/<int:event_id>/allocation", allocation_accept, ORGANISE, ("POST",))
    page("/fairs/<int:event_id>/assignments/<int:assignment_id>/release", assignment_release, ORGANISE, ("POST",))
    page("/fairs/fees", fair_fees, ORGANISE)
    page("/fairs/<int:event_id>/fees/<int:fee_id>/pay", fee_pay, ORGANISE, ("POST",))
    page("/fairs/settlement", fair_settlement, ORGANISE)
    page("/fairs/settlement/export", settlement_export, ORGANISE + PRODUCER)
    page("/fairs/mine", my_fairs, PRODUCER, menu=("Hội chợ của tôi", "My fairs"), order=40)
    page("/fairs/apply", fair_apply, PRODUCER)
    page("/fairs/<int:event_id>/apply", fair_apply_post, PRODUCER, ("POST",))
    page("/fairs/applications/<int:application_id>/withdraw", application_withdraw, PRODUCER, ("POST",))
    page("/fairs/my-fees", my_fees, PRODUCER, menu=("Phí gian hàng", "Booth fees"), order=41)
    page("/fairs/<int:event_id>/fees/<int:fee_id>/transfer", fee_transfer, PRODUCER, ("POST",))
    page("/fairs/booths", my_booths, BOOTH_STAFF, menu=("Gian hàng hội chợ", "Fair booths"), order=42)
    page("/fairs/booths/<int:assignment_id>/sale", booth_sale, BOOTH_STAFF, ("POST",))


# --- helpers ----------------------------------------------------------------------------------------
def _console():
    return current_app.extensions["ocop_console"]


def _render(template: str, status: int = 200, **context):
    return _console().render(template, status, status_names=STATUS_NAMES, fee_status_names=FEE_STATUS_NAMES,
                             event_kinds=EVENT_KINDS, booth_types=BOOTH_TYPES, **context)


def _load(schema, data: dict) -> dict:
    """A form parsed with the API's schema; a bad field is a 422 with the field names (nothing written)."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        fields = sorted(exc.messages) if isinstance(exc.messages, dict) else []
        raise DomainError("validation.invalid", "Dữ liệu nhập không hợp lệ: " + ", ".join(fields) + ".",
                          "Invalid input: " + ", ".join(fields) + ".", {"fields": exc.messages}, status=422) from None


def _event_arg():
    """The ``?event=`` of a GET page, or None (the page then sends the user back to the list)."""
    value = request.args.get("event", "")
    if not value.isdigit() or len(value) > 9:
        return None
    return events.view_event(current_user(), int(value))


def _back_to(endpoint: str, event_id: int, **extra):
    return redirect(url_for(f"console_fairs.{endpoint}", event=event_id, **extra))


def _int_fields(form, names) -> dict:
    out = {}
    for name in names:
        value = (form.get(name) or "").strip()
        if value:
            out[name] = int(value) if value.lstrip("-").isdigit() and len(value) < 10 else value
    return out


def qr_data_uri(payload: str | None) -> str | None:
    """A VietQR payload as an ``data:image/svg+xml`` URI for an ``<img>`` (the console allows data: images)."""
    if not payload:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(vietqr.render_svg(payload, scale=4)).decode()


# --- organiser: events ------------------------------------------------------------------------------
def fair_list():
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    page = events.list_events(current_user(), {"page": 1, "limit": 100, "status": status})
    return _render("fairs/list.html", events=page["results"], status=status, statuses=STATUSES)


def fair_detail():
    event = _event_arg()
    if event is None:
        return redirect(url_for("console_fairs.fair_list"))
    return _render("fairs/detail.html", event=event, next_status=events.next_status(event))


def fair_transition(event_id: int):
    event = events.view_event(current_user(), event_id)
    events.transition(current_user(), event, request.form.get("to") or "")
    return _back_to("fair_detail", event.id)


# --- organiser: the booth map editor ------------------------------------------------------------------
def fair_map():
    event = _event_arg()
    if event is None:
        return redirect(url_for("console_fairs.fair_list"))
    return _render("fairs/map.html", event=event, svg=events.booth_map_svg(event),
                   selected=request.args.get("booth", ""))


def _map_answer(event, status: int = 200, error: str | None = None, booth_id: int | None = None):
    """htmx: the redrawn map and forms; otherwise back to the map page (or the page with the error)."""
    if request.headers.get("HX-Request") or error:
        template = "fairs/_map_editor.html" if request.headers.get("HX-Request") else "fairs/map.html"
        return _render(template, status, event=event, svg=events.booth_map_svg(event), error=error,
                       selected=str(booth_id or ""))
    return _back_to("fair_map", event.id, booth=booth_id or "")


def booth_update(event_id: int, booth_id: int):
    """Move / resize / retype one booth from its form (``x``, ``y``, ``w``, ``h``, type, price)."""
    event = events.view_event(current_user(), event_id)
    form = request.form
    data = _int_fields(form, GEOMETRY + ("price",))
    for key in ("booth_type", "zone_code"):
        if form.get(key):
            data[key] = form[key]
    try:
        events.update_booth(current_user(), event, booth_id, _load(s.FairBoothPatchSchema(), data))
    except DomainError as exc:
        _rollback()
        return _map_answer(event, exc.status, _console().error_text(exc), booth_id)
    return _map_answer(event, booth_id=booth_id)


def booth_add(event_id: int):
    event = events.view_event(current_user(), event_id)
    form = request.form
    data = {"code": (form.get("code") or "").strip(), "zone_code": form.get("zone_code") or "",
            "booth_type": form.get("booth_type") or "standard", "size_m2": form.get("size_m2") or "9",
            **_int_fields(form, GEOMETRY + ("price",))}
    try:
        booths = events.add_booths(current_user(), event, [_load(s.FairBoothInSchema(), data)])
    except DomainError as exc:
        _rollback()
        return _map_answer(event, exc.status, _console().error_text(exc))
    return _map_answer(event, booth_id=booths[0].id)


def _rollback():
    """A refused edit on a page that still renders: drop what the service flushed before refusing."""
    db.session.rollback()


# --- organiser: applications, allocation, fees, settlement -----------------------------------------------
def fair_applications():
    event = _event_arg()
    if event is None:
        return redirect(url_for("console_fairs.fair_list"))
    status = request.args.get("status") if request.args.get("status") in APPLICATION_STATUSES else None
    page = applications.list_applications(current_user(), event, {"page": 1, "limit": 100, "status": status})
    return _render("fairs/applications.html", event=event, applications=page["results"], status=status,
                   statuses=APPLICATION_STATUSES)


def application_review(event_id: int, application_id: int):
    event = events.view_event(current_user(), event_id)
    application = applications.get_application(application_id)
    if application.event_id != event.id:
        raise NotFound("fair_application", "đơn đăng ký")
    data = _load(s.FairReviewSchema(), {"decision": request.form.get("decision") or "",
                                          "reason": (request.form.get("reason") or "").strip() or None})
    applications.review(current_user(), application, data)
    return _back_to("fair_applications", event.id)


def fair_allocation():
    event = _event_arg()
    if event is None:
        return redirect(url_for("console_fairs.fair_list"))
    user = current_user()
    proposal = allocation.propose(user, event) if event.status in allocation.ALLOCATING else None
    return _render("fairs/allocation.html", event=event, assignments=allocation.list_assignments(user, event),
                   proposal=proposal, booths=sorted(event.booths, key=lambda b: b.code))


def allocation_accept(event_id: int):
    """Accept the proposal as shown or as edited (one booth select per proposed application)."""
    event = events.view_event(current_user(), event_id)
    form = request.form
    items = [{"application_id": int(a), "booth_id": int(b)}
             for a, b in zip(form.getlist("application_id"), form.getlist("booth_id"))
             if a.isdigit() and b.isdigit() and len(a) < 10 and len(b) < 10]
    data = _load(s.FairAcceptInSchema(), {"items": items})
    allocation.accept(current_user(), event, data["items"])
    return _back_to("fair_allocation", event.id)


def assignment_release(event_id: int, assignment_id: int):
    event = events.view_event(current_user(), event_id)
    allocation.unassign(current_user(), event, assignment_id)
    return _back_to("fair_allocation", event.id)


def fair_fees():
    event = _event_arg()
    if event is None:
        return redirect(url_for("console_fairs.fair_list"))
    return _render("fairs/fees.html", event=event, fees=fees.list_fees(current_user(), event), qr=qr_data_uri)


def fee_pay(event_id: int, fee_id: int):
    event = events.view_event(current_user(), event_id)
    data = _load(s.FairPayInSchema(), {"method": request.form.get("method") or "",
                                       "reference": (request.form.get("reference") or "").strip() or None})
    fees.pay_fee(current_user(), event, fee_id, data)
    return _back_to("fair_fees", event.id)


def fair_settlement():
    event = _event_arg()
    if event is None:
        return redirect(url_for("console_fairs.fair_list"))
    user = current_user()
    rows = [booth_stock.settlement_for(user, a.id) for a in allocation.list_assignments(user, event)]
    return _render("fairs/settlement.html", event=event, settlements=rows, columns=booth_stock.COLUMNS)


def settlement_export():
    value, kind = request.args.get("assignment", ""), request.args.get("format", "csv")
    if not value.isdigit() or len(value) > 9 or kind not in ("csv", "xlsx"):
        return redirect(url_for("console_fairs.fair_list" if current_user().role != "producer"
                                else "console_fairs.my_booths"))
    settlement = booth_stock.settlement_for(current_user(), int(value))
    body = booth_stock.to_csv(settlement) if kind == "csv" else booth_stock.to_xlsx(settlement)
    mimetype = "text/csv; charset=utf-8" if kind == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{booth_stock.filename(settlement, kind)}"'})


# --- producer ---------------------------------------------------------------------------------------------
def my_fairs():
    user = current_user()
    open_events = events.list_events(user, {"page": 1, "limit": 50, "status": "open"})["results"]
    return _render("fairs/mine.html", applications=applications.producer_applications(user), open_events=open_events)


def fair_apply():
    event = _event_arg()
    if event is None:
        return redirect(url_for("console_fairs.my_fairs"))
    user = current_user()
    return _render("fairs/apply.html", event=event, products=applications.listed_products_of(user))


def fair_apply_post(event_id: int):
    user = current_user()
    event = events.view_event(user, event_id)
    form = request.form
    data = {"product_ids": [int(p) for p in form.getlist("product_ids") if p.isdigit() and len(p) < 10],
            "contact_name": (form.get("contact_name") or "").strip(),
            "contact_phone": (form.get("contact_phone") or "").strip(),
            "needs": form.getlist("needs"), "booth_type": form.get("booth_type") or None,
            "zone_code": form.get("zone_code") or None, "note": (form.get("note") or "").strip() or None}
    try:
        applications.submit(user, event, _load(s.FairApplicationInSchema(), data))
    except DomainError as exc:
        _rollback()
        return _render("fairs/apply.html", exc.status, event=event, error=_console().error_text(exc),
                       products=applications.listed_products_of(user), form=form)
    return redirect(url_for("console_fairs.my_fairs"))


def application_withdraw(application_id: int):
    user = current_user()
    applications.withdraw(user, applications.view_application(user, application_id))
    return redirect(url_for("console_fairs.my_fairs"))


def my_fees():
    return _render("fairs/my_fees.html", rows=fees.producer_fees(current_user()), qr=qr_data_uri)


def fee_transfer(event_id: int, fee_id: int):
    user = current_user()
    fees.start_transfer(user, events.view_event(user, event_id), fee_id)
    return redirect(url_for("console_fairs.my_fees"))


# --- booths: stock, sales and the till -------------------------------------------------------------------
def my_booths():
    user = current_user()
    booths = []
    for assignment in booth_stock.my_assignments(user):
        booths.append({"assignment": assignment, "event": events.get_event(assignment.event_id),
                       "stock": booth_stock.compute(assignment),
                       "sales": booth_stock.list_sales(user, assignment.id)})
    return _render("fairs/booths.html", booths=booths, client_ref=uuid.uuid4().hex)


def booth_sale(assignment_id: int):
    """The booth's till: one line per product (quantity > 0) → a core counter sale (``booth_stock.sell``)."""
    user = current_user()
    form = request.form
    lines = [{"variant_id": int(v), "quantity": int(q)}
             for v, q in zip(form.getlist("variant_id"), form.getlist("quantity"))
             if v.isdigit() and q.isdigit() and len(v) < 10 and len(q) < 6 and int(q) > 0]
    data = {"lines": lines, "payment_method": form.get("payment_method") or "",
            "client_ref": (form.get("client_ref") or "")[:80] or None}
    if not data["client_ref"]:
        data.pop("client_ref")
    booth_stock.sell(user, assignment_id, _load(s.FairSaleInSchema(), data))
    return redirect(url_for("console_fairs.my_booths", sold=assignment_id))
