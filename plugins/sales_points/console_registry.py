"""The organiser's sales-point registry in the web console: the province's points (admins: every point) with
their commune, address, recognition decision, commission and status, filtered like ``GET
/admin/v1/sales-points``, and a status change (active / suspended / closed) through the same service as the
API's ``PATCH`` (:func:`plugins.sales_points.services.update_point`, audited, scoped to the organiser's
province)."""
from __future__ import annotations

from flask import redirect, request, url_for

from core.accounts.security import current_user
from core.db import savepoint
from core.errors import DomainError
from plugins.sales_points import schemas as s
from plugins.sales_points import services
from plugins.sales_points.access import REGISTRY_ROLES
from plugins.sales_points.console_forms import blank_to_none, error_text, field_errors, load, render
from plugins.sales_points.models import LOCATION_KINDS, POINT_STATUSES

PAGE_SIZE = 50
STATUS_NAMES = {"planned": ("Dự kiến", "Planned"), "active": ("Đang hoạt động", "Active"),
                "suspended": ("Tạm dừng", "Suspended"), "closed": ("Đã đóng", "Closed")}


def register(console, options: dict) -> None:
    """The registry pages (endpoints ``console_sales_points.registry`` and ``registry_status``)."""
    registry = {**options, "roles": REGISTRY_ROLES}
    console.add_page("/sales-points/registry", registry_page, endpoint="registry",
                     menu=("Danh bạ điểm bán OCOP", "Sales point registry"), order=17, **registry)
    console.add_page("/sales-points/<int:point_id>/status", change_status, endpoint="registry_status",
                     methods=("POST",), **registry)


def _query(args) -> dict:
    raw = {key: blank_to_none(args.get(key)) for key in ("commune", "kind", "status", "q")}
    raw = {key: value for key, value in raw.items() if value is not None}
    return load(s.SpSalesPointQuerySchema(), {**raw, "page": args.get("page") or 1, "limit": PAGE_SIZE})


def _page(status: int = 200, **context):
    return render("sales_points/registry.html", status, kinds=LOCATION_KINDS, statuses=POINT_STATUSES,
                  status_names=STATUS_NAMES, **context)


def registry_page():
    form = {key: request.args.get(key, "") for key in ("commune", "kind", "status", "q")}
    try:
        listing = services.list_points(current_user(), _query(request.args))
    except DomainError as exc:
        return _page(exc.status, form=form, listing=None, error=error_text(exc), errors=field_errors(exc))
    return _page(form=form, listing=listing)


def change_status(point_id: int):
    """Activate, suspend or close a point (the API's rules: organisers only inside their province)."""
    point = services.get_point(point_id)
    try:
        data = load(s.SpSalesPointPatchSchema(partial=True), {"status": request.form.get("status") or ""})
        with savepoint():
            services.update_point(current_user(), point, data)
    except DomainError as exc:
        listing = services.list_points(current_user(), {"page": 1, "limit": PAGE_SIZE})
        return _page(exc.status, form={}, listing=listing, error=error_text(exc), errors=field_errors(exc))
    return redirect(url_for("console_sales_points.registry"))
