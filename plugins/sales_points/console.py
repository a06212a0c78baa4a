"""The sales points' pages in the web console: the till (scan or type a SKU/GTIN, quantity, cash / card /
bank-transfer QR, printable receipt), usable with the keyboard alone and with a USB barcode scanner.

Mounted through the ``register_console_pages`` hook; every view calls the same services as the POS API
(:mod:`plugins.sales_points.pos`, which records each sale with ``core.sales.counter.record_counter_sale``).
"""
from __future__ import annotations

import uuid
from pathlib import Path

from flask import current_app, redirect, request, url_for

from core.accounts.security import current_user
from core.errors import DomainError
from plugins.sales_points import access, console_registry, console_sales, console_stock, pos, services
from plugins.sales_points.access import OPERATE_ROLES
from plugins.sales_points.models import PAYMENT_METHODS

TEMPLATES = str(Path(__file__).parent / "templates")
MAX_QUANTITY = 9999


def register(console) -> None:
    """The till's pages (endpoints ``console_sales_points.till…``), then the stock, sales and settlement pages."""
    options = {"blueprint": "sales_points", "template_folder": TEMPLATES, "roles": OPERATE_ROLES}
    console.add_page("/till", till_points, endpoint="till_points", menu=("Bán hàng tại quầy", "Till"), order=15,
                     **options)
    console.add_page("/till/<int:point_id>", till, endpoint="till", **options)
    console.add_page("/till/<int:point_id>/line", till_line, endpoint="till_line", methods=("POST",), **options)
    console.add_page("/till/<int:point_id>/sale", till_sale, endpoint="till_sale", methods=("POST",), **options)
    console.add_page("/till/sales/<int:sale_id>", till_receipt, endpoint="till_receipt", **options)
    console_stock.register(console, options)
    console_sales.register(console, options)
    console_registry.register(console, options)


def _console():
    """The console's page registry (``admin.console.shell.ConsolePages``): rendering and texts."""
    return current_app.extensions["ocop_console"]


def _render(template: str, status: int = 200, **context):
    return _console().render(template, status, payment_methods=PAYMENT_METHODS,
                                    payment_names=pos.PAYMENT_NAMES, **context)


def till_points():
    """The points the operator works at; straight to the till when there is only one."""
    points = services.list_points(current_user(), {"page": 1, "limit": 100, "status": "active"})["results"]
    if len(points) == 1:
        return redirect(url_for("console_sales_points.till", point_id=points[0].id))
    return _render("sales_points/till_points.html", points=points)


def till(point_id: int):
    point = services.get_point(point_id)
    access.require_operate(current_user(), point)
    return _render("sales_points/till.html", point=point, client_ref=uuid.uuid4().hex)


def _quantity(value) -> int:
    value = (value or "1").strip()
    if value.isdigit() and 0 < int(value) <= MAX_QUANTITY:
        return int(value)
    raise DomainError("validation.invalid", f"Số lượng phải từ 1 đến {MAX_QUANTITY}.",
                      f"Quantity must be 1 to {MAX_QUANTITY}.", {"quantity": value}, status=422)


def till_line(point_id: int):
    """htmx: one scanned or typed code → a line of the sale (or the reason it cannot be sold)."""
    point = services.get_point(point_id)
    code = (request.form.get("code") or "").strip()
    try:
        quantity = _quantity(request.form.get("quantity"))
        found = pos.lookup(current_user(), point, code)
    except DomainError as exc:
        return _render("sales_points/_till_line.html", error=_console().error_text(exc), code=code)
    return _render("sales_points/_till_line.html", item=found, quantity=quantity, line_id=uuid.uuid4().hex[:8])


def till_sale(point_id: int):
    """Record the sale (``pos.create_sale``) and show its receipt; a refusal keeps the till's lines."""
    point = services.get_point(point_id)
    form = request.form
    lines = [{"sku": sku, "quantity": _safe_quantity(qty)}
             for sku, qty in zip(form.getlist("line_sku"), form.getlist("line_quantity")) if sku]
    method = form.get("payment_method") or "cash"
    tendered = (form.get("amount_tendered") or "").replace(".", "").replace(",", "").replace(" ", "").strip()
    data = {"lines": lines, "payment_method": method, "client_ref": (form.get("client_ref") or "")[:64] or None,
            "payment_reference": (form.get("payment_reference") or "").strip()[:120] or None}
    if method == "cash" and tendered.isdigit() and len(tendered) <= 12:
        data["amount_tendered"] = int(tendered)
    try:
        if not lines:
            raise DomainError("sales_point.no_lines", "Chưa có sản phẩm nào trong hoá đơn.", "The sale has no lines.",
                              status=422)
        if method not in PAYMENT_METHODS:
            raise DomainError("validation.invalid", "Hình thức thanh toán không hợp lệ.", "Unknown payment method.",
                              status=422)
        sale, _created = pos.create_sale(current_user(), point, data)
    except DomainError as exc:  # rolled back: nothing sold; the cashier fixes the lines and retries
        return _render("sales_points/till.html", exc.status, point=point, client_ref=uuid.uuid4().hex,
                       error=_console().error_text(exc), kept_lines=lines, method=method)
    return redirect(url_for("console_sales_points.till_receipt", sale_id=sale.id))


def _safe_quantity(value) -> int:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 4 else 0


def till_receipt(sale_id: int):
    sale = pos.get_sale(current_user(), sale_id)
    return _render("sales_points/receipt.html", sale=sale, receipt=pos.receipt_data(sale))
