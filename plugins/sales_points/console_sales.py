"""The sales point's counter sales and consignment settlement in the web console: the point's recent sales,
a printable receipt page (print CSS, no script), and the settlement of one producer over a period with its
CSV / XLSX export (:mod:`plugins.sales_points.settlement`, the same figures as the admin API)."""
from __future__ import annotations

import datetime as dt

from flask import Response, request

from core import clock
from core.accounts.security import current_user
from core.errors import DomainError
from plugins.sales_points import pos, services, settlement
from plugins.sales_points import schemas as s
from plugins.sales_points.console_forms import blank_to_none, error_text, field_errors, load, number, operated_point, render

RECENT_SALES = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SETTLEMENT_ROLES = ("admin", "operator", "organiser")


def register(console, options: dict) -> None:
    """Sales and settlement pages (endpoints ``console_sales_points.sales``, ``sale_print``, ``settlement``)."""
    console.add_page("/sales-points/<int:point_id>/sales", recent_sales, endpoint="sales", **options)
    console.add_page("/sales-points/sales/<int:sale_id>/print", printable_receipt, endpoint="sale_print", **options)
    console.add_page("/sales-points/<int:point_id>/settlement", settlement_page, endpoint="settlement",
                     **{**options, "roles": SETTLEMENT_ROLES})


def recent_sales(point_id: int):
    """The point's counter sales, newest first (one business day or all recent ones)."""
    point = operated_point(point_id)
    day = blank_to_none(request.args.get("day"))
    args = {"page": 1, "limit": RECENT_SALES}
    try:
        if day:
            args["date_from"] = args["date_to"] = dt.date.fromisoformat(day)
    except ValueError:
        day = None
    page = pos.list_sales(current_user(), point, args)
    return render("sales_points/sales.html", point=point, sales=page["results"], total=page["total"], day=day,
                  till_method=pos.till_method, payment_names=pos.PAYMENT_NAMES)


def printable_receipt(sale_id: int):
    """A sale's receipt alone on the page, laid out for a receipt printer (the browser's Print, no script)."""
    sale = pos.get_sale(current_user(), sale_id)
    operated_point(sale.sales_point_id)
    return render("sales_points/receipt_print.html", sale=sale, receipt=pos.receipt_data(sale))


def _period_defaults() -> tuple[str, str]:
    today = clock.today()
    return today.replace(day=1).isoformat(), today.isoformat()


def settlement_page(point_id: int):
    """Settlement of one producer at the point over a period; ``format=csv|xlsx`` downloads it."""
    point = services.get_point(point_id)
    user = current_user()
    args = request.args
    agreements = services.list_agreements(user, point)["results"]
    start, end = _period_defaults()
    form = {"producer_id": args.get("producer_id", ""), "from": args.get("from") or start, "to": args.get("to") or end}
    context = {"point": point, "agreements": agreements, "form": form}
    if not args.get("producer_id"):  # the form (list_agreements checked the caller's scope)
        return render("sales_points/settlement.html", **context)
    query = {"producer_id": number(form["producer_id"]), "from": form["from"], "to": form["to"],
             "format": args.get("format") or "json"}
    try:
        result = settlement.settlement_for(user, point, load(s.SpSettlementQuerySchema(), query))
    except DomainError as exc:
        if exc.status == 403:
            raise
        return render("sales_points/settlement.html", exc.status, error=error_text(exc), errors=field_errors(exc),
                      **context)
    if query["format"] == "csv":
        return Response(settlement.to_csv(result), mimetype="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{settlement.filename(result, "csv")}"'})
    if query["format"] == "xlsx":
        return Response(settlement.to_xlsx(result), mimetype=XLSX, headers={
            "Content-Disposition": f'attachment; filename="{settlement.filename(result, "xlsx")}"'})
    return render("sales_points/settlement.html", result=result, columns=settlement.COLUMNS, **context)
