"""The sales point operator's stock pages in the web console: goods receipts, transfers in (step 2 of a
two-step transfer), stock counts (count sheet → posted differences) and the low-stock / expiry alerts.

Every page calls :mod:`plugins.sales_points.operations` (the same functions as the admin API) inside a
SAVEPOINT, so a refusal leaves nothing written and the form is shown again with the reason (4xx).
"""
from __future__ import annotations

from flask import redirect, request, url_for

from core.accounts.security import current_user
from core.db import savepoint
from core.errors import DomainError
from plugins.sales_points import operations
from plugins.sales_points import schemas as s
from plugins.sales_points.console_forms import (blank_to_none, error_text, field_errors, load, number,
                                                operated_point, operated_points, render)
from plugins.sales_points.models import COUNT_REASONS, RECEIPT_MODES

RECEIPT_ROWS = 6
RECENT = 20
ALERT_NAMES = {"low_stock": ("Sắp hết hàng", "Low stock"), "near_expiry": ("Sắp hết hạn", "Near expiry"),
               "expired": ("Đã hết hạn", "Expired")}
REASON_NAMES = {"damaged": ("Hư hỏng", "Damaged"), "expired": ("Hết hạn", "Expired"), "lost": ("Thất lạc", "Lost"),
                "theft": ("Mất cắp", "Theft"), "found": ("Tìm thấy thêm", "Found"),
                "data_entry": ("Nhập sai", "Data entry"), "other": ("Khác", "Other")}


def register(console, options: dict) -> None:
    """The stock pages (endpoints ``console_sales_points.point…``, ``receipts``, ``transfers``, ``counts``, ``alerts``)."""
    add = console.add_page
    add("/sales-points", point_list, endpoint="points", menu=("Kho điểm bán", "Sales point stock"), order=16,
        **options)
    add("/sales-points/<int:point_id>", point_home, endpoint="point", **options)
    add("/sales-points/<int:point_id>/receipts", receipts, endpoint="receipts", methods=("GET", "POST"), **options)
    add("/sales-points/<int:point_id>/transfers", transfers_in, endpoint="transfers", **options)
    add("/sales-points/transfers/<int:transfer_id>/receive", receive_transfer, endpoint="transfer_receive",
        methods=("POST",), **options)
    add("/sales-points/<int:point_id>/counts", counts, endpoint="counts", methods=("GET", "POST"), **options)
    add("/sales-points/<int:point_id>/alerts", alerts, endpoint="alerts", **options)
    add("/sales-points/<int:point_id>/alerts/check", check_alerts, endpoint="alerts_check", methods=("POST",),
        **options)
    add("/sales-points/alerts/<int:alert_id>/acknowledge", acknowledge_alert, endpoint="alert_ack",
        methods=("POST",), **options)


def _page(template: str, point, status: int = 200, **context):
    return render(f"sales_points/{template}", status, point=point, alert_names=ALERT_NAMES,
                  reason_names=REASON_NAMES, **context)


def _posted(post):
    """Run a form's ``post()`` in a SAVEPOINT: ``(document, (200, None, []))``, or on a refusal ``(None, (status,
    message, field messages))`` with nothing written. The caller redirects after a success (post / redirect /
    get: reloading the page never posts twice)."""
    try:
        with savepoint():
            return post(), (200, None, [])
    except DomainError as exc:
        return None, (exc.status, error_text(exc), field_errors(exc))


def point_list():
    """The points the operator works at; straight to the point when there is only one."""
    points = operated_points()
    if len(points) == 1:
        return redirect(url_for("console_sales_points.point", point_id=points[0].id))
    return render("sales_points/points.html", points=points)


def point_home(point_id: int):
    """Stock on hand (with lots) and the open alerts of one point."""
    point = operated_point(point_id)
    user = current_user()
    stock = operations.point_stock(user, point, {"page": 1, "limit": 500, "q": blank_to_none(request.args.get("q"))})
    open_alerts = operations.list_alerts(user, point, {"page": 1, "limit": 1})["total"]
    return _page("point.html", point, stock=stock["results"], total=stock["total"], open_alerts=open_alerts)


# --- receipts --------------------------------------------------------------------------------------
def _receipt_form(form) -> dict:
    lines = []
    for sku, qty, cost, lot, best_before in zip(form.getlist("sku"), form.getlist("quantity"),
                                                form.getlist("unit_cost"), form.getlist("lot_no"),
                                                form.getlist("best_before")):
        if not (sku or "").strip():
            continue
        line = {"sku": sku.strip(), "quantity": number(qty)}
        if (cost or "").strip():
            line["unit_cost"] = number(cost)
        if blank_to_none(lot):
            line["lot_no"] = lot.strip()
        if blank_to_none(best_before):
            line["best_before"] = best_before.strip()
        lines.append(line)
    data = {"producer_id": number(form.get("producer_id")), "lines": lines}
    for key in ("mode", "supplier_document", "note"):
        if blank_to_none(form.get(key)):
            data[key] = form[key].strip()
    return data


def receipts(point_id: int):
    """Recent goods receipts and the form to post one (lines by SKU or GTIN; lot and best-before for food)."""
    point = operated_point(point_id)
    user = current_user()
    status, error, errors = 200, None, []
    if request.method == "POST":
        done, (status, error, errors) = _posted(lambda: operations.create_receipt(
            user, point, load(s.SpReceiptInSchema(), _receipt_form(request.form))))
        if done is not None:
            return redirect(url_for("console_sales_points.receipts", point_id=point.id, posted=done.number))
    recent = operations.list_receipts(user, point, {"page": 1, "limit": RECENT})["results"]
    posted = next((r for r in recent if r.number == request.args.get("posted")), None)
    return _page("receipts.html", point, status, recent=recent, posted=posted, error=error, errors=errors,
                 form=request.form if status >= 400 else {}, rows=RECEIPT_ROWS, modes=RECEIPT_MODES)


# --- transfers in ----------------------------------------------------------------------------------
def transfers_in(point_id: int, status: int = 200, **context):
    """Transfers on their way to the point (accept each, with any shortfall and its reason) and recent ones."""
    point = operated_point(point_id)
    user = current_user()
    waiting = [tr for tr in operations.list_transfers(user, point, {"page": 1, "limit": 100,
                                                                     "status": "dispatched"})["results"]
               if tr.to_point_id == point.id]
    recent = operations.list_transfers(user, point, {"page": 1, "limit": RECENT})["results"]
    return _page("transfers.html", point, status, waiting=waiting, recent=recent, **context)


def _receive_form(transfer, form) -> dict:
    lines = []
    for line in transfer.lines:
        raw = form.get(f"received_{line.id}")
        if raw is None or raw.strip() == "":
            continue
        row = {"line_id": line.id, "quantity_received": number(raw)}
        if blank_to_none(form.get(f"reason_{line.id}")):
            row["discrepancy_reason"] = form[f"reason_{line.id}"].strip()
        lines.append(row)
    data = {"lines": lines}
    if blank_to_none(form.get("note")):
        data["note"] = form["note"].strip()
    return data


def receive_transfer(transfer_id: int):
    """Step 2 of a transfer: what arrived (lines left blank arrived in full); a refusal writes nothing."""
    transfer = operations.find_transfer(transfer_id)
    point = transfer.to_point
    if point is None:
        return redirect(url_for("console_sales_points.points"))
    operated_point(point.id)
    try:
        with savepoint():
            done = operations.receive_transfer(current_user(), transfer,
                                               load(s.SpTransferReceiveSchema(), _receive_form(transfer, request.form)))
    except DomainError as exc:
        return transfers_in(point.id, exc.status, error=error_text(exc), errors=field_errors(exc),
                            failed_id=transfer.id)
    return redirect(url_for("console_sales_points.transfers", point_id=point.id, received=done.number))


# --- counts ------------------------------------------------------------------------------------------
def count_sheet(point) -> list[dict]:
    """One row per lot on hand (or per variant without stock): what the counter fills in."""
    rows = []
    for item in operations.point_stock(current_user(), point, {"page": 1, "limit": 10_000})["results"]:
        lots = item["lots"] or [{"lot_no": None, "best_before": None, "on_hand": item["on_hand"]}]
        for lot in lots:
            rows.append({"sku": item["sku"], "name": item["name"], "lot_no": lot["lot_no"] or "",
                         "best_before": lot["best_before"], "expected": lot["on_hand"]})
    return rows


def _count_form(form) -> dict:
    lines = []
    for sku, lot, counted, reason, note in zip(form.getlist("sku"), form.getlist("lot_no"), form.getlist("counted"),
                                               form.getlist("reason"), form.getlist("line_note")):
        if not (counted or "").strip():
            continue  # not counted: left as it is
        line = {"sku": sku, "lot_no": lot or "", "counted": number(counted)}
        if blank_to_none(reason):
            line["reason"] = reason
        if blank_to_none(note):
            line["note"] = note.strip()
        lines.append(line)
    data = {"lines": lines}
    if blank_to_none(form.get("note")):
        data["note"] = form["note"].strip()
    return data


def counts(point_id: int):
    """The count sheet (counted quantities per lot) and, once posted, the differences it wrote."""
    point = operated_point(point_id)
    user = current_user()
    status, error, errors = 200, None, []
    if request.method == "POST":
        done, (status, error, errors) = _posted(lambda: operations.post_count(
            user, point, load(s.SpCountInSchema(), _count_form(request.form))))
        if done is not None:
            return redirect(url_for("console_sales_points.counts", point_id=point.id, posted=done.number))
    recent = operations.list_counts(user, point, {"page": 1, "limit": RECENT})["results"]
    posted = next((c for c in recent if c.number == request.args.get("posted")), None)
    return _page("counts.html", point, status, sheet=count_sheet(point), posted=posted, recent=recent,
                 error=error, errors=errors, reasons=COUNT_REASONS,
                 form=request.form if status >= 400 else {})


# --- alerts ------------------------------------------------------------------------------------------
def alerts(point_id: int):
    """Open low-stock, near-expiry and expired-lot alerts of the point (acknowledged ones on request)."""
    point = operated_point(point_id)
    seen = request.args.get("acknowledged") == "1"
    page = operations.list_alerts(current_user(), point, {"page": 1, "limit": 500, "include_acknowledged": seen})
    return _page("alerts.html", point, alerts=page["results"], include_acknowledged=seen,
                 checked=request.args.get("checked"))


def check_alerts(point_id: int):
    """Re-check the alerts now (the daily job, ``operations.run_alerts``): cleared conditions are resolved."""
    operated_point(point_id)
    result = operations.run_alerts()
    return redirect(url_for("console_sales_points.alerts", point_id=point_id,
                            checked=f"{result['raised']}/{result['resolved']}"))


def acknowledge_alert(alert_id: int):
    alert = operations.acknowledge_alert(current_user(), alert_id)
    return redirect(url_for("console_sales_points.alerts", point_id=alert.sales_point_id))
