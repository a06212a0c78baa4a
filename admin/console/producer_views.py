"""Console: products (listing state and why not listed, certification and days to expiry), product edit,
stock by location, orders to fulfil. Producers see their own; organisers and certifiers their province."""
from __future__ import annotations

from flask import redirect, request, url_for

from admin.console.shell import error_text, render, t
from core import clock
from core.accounts.security import current_user
from core.catalogue import listing, products
from core.catalogue.models import PRODUCT_STATUSES
from core.errors import DomainError
from core.inventory import locations
from core.sales import orders

CATALOGUE_ROLES = ("admin", "organiser", "certifier", "producer")
EDITOR_ROLES = ("admin", "organiser", "producer")
ORDER_ROLES = ("admin", "organiser", "producer")
#: a producer is warned this many days before a certification expires (as the daily warning job)
EXPIRY_WARNING_DAYS = 60
PAGE_SIZE = 50
RECENT_MOVEMENTS = 20
ORDER_STATUS_FILTERS = ("paid", "confirmed", "unconfirmed", "fulfilled", "completed", "cancelled", "")


def add_pages(pages) -> None:
    pages.add_page("/products", product_list, endpoint="products", roles=CATALOGUE_ROLES,
                   menu=("Sản phẩm", "Products"), order=10)
    pages.add_page("/products/<int:product_id>", product_edit, endpoint="product_edit", roles=EDITOR_ROLES,
                   methods=("GET", "POST"))
    pages.add_page("/stock", stock, endpoint="stock", roles=("admin", "organiser", "producer"),
                   menu=("Tồn kho", "Stock"), order=20)
    pages.add_page("/orders", order_list, endpoint="orders", roles=ORDER_ROLES,
                   menu=("Đơn hàng", "Orders"), order=30)


def _page_number() -> int:
    value = request.args.get("page", "1")
    return max(1, int(value)) if value.isdigit() and len(value) < 6 else 1


def product_row(product, today) -> dict:
    """What the products table shows about one product."""
    cert = product.current_certification()
    days_left = (cert.expires_on - today).days if cert else None
    return {"product": product, "listed": listing.is_listed(product, today),
            "reasons": [listing.UNLISTED_REASONS[r] for r in listing.unlisted_reasons(product)],
            "cert": cert, "days_left": days_left,
            "expiry_warning": days_left is not None and days_left <= EXPIRY_WARNING_DAYS}


def product_list():
    page = products.list_products_for(current_user(), {"page": _page_number(), "limit": PAGE_SIZE})
    listing.preload_listing_state(page["results"])
    today = clock.today()
    return render("console/products.html", rows=[product_row(p, today) for p in page["results"]],
                  total=page["total"], page=_page_number(), has_next=bool(page["next"]),
                  warning_days=EXPIRY_WARNING_DAYS)


def _int_field(name: str):
    value = (request.form.get(name) or "").strip().replace(".", "").replace(" ", "")
    if value.isdigit() and len(value) <= 12:
        return int(value)
    raise DomainError("validation.invalid", f"Giá không hợp lệ ({name}).", f"Invalid price ({name}).",
                      {name: value}, status=422)


def product_edit(product_id: int):
    """Edit a product's name, description, status and its variants' prices and active flags."""
    user = current_user()
    product = products.view_product(user, product_id)
    if request.method == "GET":
        return render("console/product_edit.html", row=product_row(product, clock.today()),
                      statuses=PRODUCT_STATUSES)
    data = {"name": (request.form.get("name") or "").strip(), "description": request.form.get("description") or None,
            "status": request.form.get("status") or product.status}
    try:
        if not data["name"]:
            raise DomainError("validation.invalid", "Tên sản phẩm không được để trống.", "The name is required.",
                              status=422)
        variant_changes = [(variant, {"price": _int_field(f"price_{variant.id}"),
                                      "active": request.form.get(f"active_{variant.id}") == "on"})
                           for variant in product.variants]
        products.update_product(user, product, data)
        for variant, changes in variant_changes:
            products.update_variant(user, variant, changes)
    except DomainError as exc:  # the request rolls back: nothing of the form is kept
        return render("console/product_edit.html", exc.status, row=product_row(product, clock.today()),
                      statuses=PRODUCT_STATUSES, error=error_text(exc), form=request.form)
    return redirect(url_for("console.product_edit", product_id=product.id, saved=1))


def stock():
    user = current_user()
    page = locations.list_stock(user, {"page": _page_number(), "limit": PAGE_SIZE})
    movements = locations.list_movements(user, {"page": 1, "limit": RECENT_MOVEMENTS})["results"]
    return render("console/stock.html", rows=page["results"], total=page["total"], page=_page_number(),
                  has_next=bool(page["next"]), movements=movements)


def order_list():
    status = request.args.get("status", "paid")
    if status not in ORDER_STATUS_FILTERS:
        status = "paid"
    args = {"page": _page_number(), "limit": PAGE_SIZE}
    if status:
        args["status"] = status
    page = orders.list_for(current_user(), args)
    return render("console/orders.html", orders=page["results"], total=page["total"], selected_status=status,
                  statuses=ORDER_STATUS_FILTERS, page=_page_number(), has_next=bool(page["next"]),
                  status_label=lambda s: t(*ORDER_STATUS_NAMES.get(s, (s, s))))


ORDER_STATUS_NAMES = {"unconfirmed": ("Chờ xác nhận", "Unconfirmed"), "confirmed": ("Đã xác nhận", "Confirmed"),
                      "paid": ("Đã thanh toán – cần giao", "Paid – to fulfil"),
                      "fulfilled": ("Đã giao", "Fulfilled"), "completed": ("Hoàn tất", "Completed"),
                      "cancelled": ("Đã huỷ", "Cancelled"), "refunded": ("Đã hoàn tiền", "Refunded"),
                      "": ("Tất cả", "All")}
