"""Cart, checkout and order status pages, through the core checkout, placement and order services.

The cart is a storefront checkout whose token lives in a cookie. Every form works without JavaScript:
the province → commune picker is a plain ``<select>`` chain (saving the form refreshes the communes;
htmx only swaps them in place), and the idempotency key in the order form makes a double submit safe.
"""
from __future__ import annotations

import secrets

from flask import abort, make_response, redirect, request, url_for
from marshmallow import ValidationError

from core.errors import DomainError, NotFound
from core.geo import units as geo
from core.payments import gateways
from core.sales import checkout, orders, placement
from core.sales.schemas import CheckoutPatchSchema, LineInSchema, QuantitySchema
from storefront_api.site.blueprint import bp, render_page, t

CART_COOKIE = "ocop_cart"
PICKUP_PREFIX = "pickup:"
PRIVATE = "noindex,nofollow"
#: what the order page says when a hosted payment page sends the shopper back (``?payment=…``): (vi, en, is_error)
PAYMENT_NOTICES = {
    "returned": ("Đã nhận thanh toán tại Stripe; đơn hàng chuyển sang “Đã thanh toán” khi Stripe xác nhận (thường vài giây).",
                 "Stripe took the payment; the order shows “Paid” once Stripe confirms it (usually a few seconds).", False),
    "cancelled": ("Bạn đã huỷ thanh toán. Đơn hàng vẫn đang chờ: bạn có thể thanh toán lại hoặc huỷ đơn.",
                  "You cancelled the payment. The order is still pending: you may pay again or cancel the order.", True),
    "unavailable": ("Hiện không mở được trang thanh toán Stripe. Đơn hàng vẫn đang chờ thanh toán; vui lòng thử lại sau.",
                    "Stripe's payment page cannot be opened right now. The order is still awaiting payment; "
                    "please try again later.", True),
}


def _invalid(exc: ValidationError) -> DomainError:
    return DomainError("validation.invalid", "Thông tin chưa hợp lệ, vui lòng kiểm tra lại.",
                       "Some details are not valid, please check them.", {"fields": exc.messages}, status=422)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def cookie_cart() -> dict | None:
    """The checkout behind the cart cookie (open or completed), or None."""
    token = request.cookies.get(CART_COOKIE)
    if not token or len(token) > 100:
        return None
    try:
        return checkout.view(*checkout.load(token))
    except NotFound:
        return None


def open_cart() -> dict | None:
    """The shopper's open checkout, or None."""
    cart = cookie_cart()
    return cart if cart is not None and cart["status"] == "open" else None


def _keep_cart(response, token: str):
    response.set_cookie(CART_COOKIE, token, max_age=30 * 86400, httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response


@bp.get("/gio-hang")
def cart():
    return render_page("site/cart.html", cart=open_cart(), robots=PRIVATE)


@bp.post("/gio-hang/them")
def add_to_cart():
    """Add a listed variant (by SKU) to the cart, starting one if needed; back to the cart (303)."""
    try:
        asked = request.form.get("quantity")
        line = LineInSchema().load({"sku": request.form.get("sku", ""),
                                    "quantity": 1 if asked in (None, "") else _int(asked)})
    except ValidationError as exc:
        raise _invalid(exc)
    cart = open_cart()
    answer = checkout.add_line(cart["token"], line) if cart else checkout.create({"lines": [line]})
    return _keep_cart(redirect(url_for("site.cart", added=line["sku"]), 303), answer["token"])


@bp.post("/gio-hang/dong/<int:line_id>")
def change_line(line_id):
    """Change a line's quantity (0 or the remove button removes it)."""
    cart = open_cart()
    if cart is None:
        return redirect(url_for("site.cart"), 303)
    quantity = _int(request.form.get("quantity"))
    if request.form.get("action") == "remove" or quantity == 0:
        checkout.remove_line(cart["token"], line_id)
    else:
        try:
            checkout.update_line(cart["token"], line_id, QuantitySchema().load({"quantity": quantity}))
        except ValidationError as exc:
            raise _invalid(exc)
    return redirect(url_for("site.cart"), 303)


# --- checkout -----------------------------------------------------------------------------
def _provinces() -> list[dict]:
    return [{"code": u.code, "name": u.name}
            for u in geo.list_units({"level": "province", "page": 1, "limit": 100})["results"]]


def _communes(province_code: str | None) -> list[dict]:
    if not province_code:
        return []
    return [{"code": u.code, "name": u.name}
            for u in geo.list_units({"level": "commune", "parent": province_code, "page": 1, "limit": 500})["results"]]


def _checkout_page(cart: dict, status: int = 200, error: DomainError | None = None, form=None):
    form = form if form is not None else {}
    address = cart.get("shipping_address") or {}
    province = form.get("province_code") or (address.get("province") or {}).get("code")
    options = checkout.delivery_options(*checkout.load(cart["token"])) if cart["lines"] else None
    return render_page("site/checkout.html", status, cart=cart, error=error, form=form, province=province,
                       provinces=_provinces(), communes=_communes(province), options=options,
                       gateways=gateways.describe_gateways(), order_key=form.get("order_key") or secrets.token_urlsafe(24),
                       robots=PRIVATE)


@bp.get("/thanh-toan")
def checkout_page():
    cart = open_cart()
    if cart is None or not cart["lines"]:
        return redirect(url_for("site.cart"), 303)
    return _checkout_page(cart, form=request.args)


@bp.get("/thanh-toan/xa")
def commune_options():
    """The commune ``<select>`` for a province (htmx swaps it in when the province changes)."""
    province = request.args.get("province_code") or None
    if province is not None and len(province) > 20:
        abort(404)
    return render_page("site/_communes.html", province=province, communes=_communes(province), form={})


def _patch_from_form(form) -> dict:
    """The checkout details the form carries. The address is sent only once the shown communes belong to
    the chosen province (without JavaScript, choosing a province first refreshes the commune list)."""
    patch = {key: (form.get(key) or "").strip() or None for key in ("full_name", "phone", "email", "note")}
    province, commune, street = (form.get(k, "").strip() for k in ("province_code", "commune_code", "street"))
    if province and commune and street and form.get("communes_for") == province:
        patch["shipping_address"] = {"province_code": province, "commune_code": commune, "street": street}
    delivery = form.get("delivery_method") or ""
    if delivery.startswith(PICKUP_PREFIX):
        patch["delivery_method"] = "pickup"
        patch["pickup_location_id"] = _int(delivery[len(PICKUP_PREFIX):])
    elif delivery:
        patch["delivery_method"] = delivery
    if form.get("payment_gateway"):
        patch["payment_gateway"] = form["payment_gateway"]
    return patch


@bp.post("/thanh-toan")
def submit_checkout():
    """Save the details (``action=save``) or save them and place the order (``action=place``, 303 to its status)."""
    cart = cookie_cart()
    if cart is not None and cart["order_token"]:  # a second click on "Đặt hàng": the order it placed
        return redirect(url_for("site.order_status", token=cart["order_token"]), 303)
    if cart is None or not cart["lines"]:
        return redirect(url_for("site.cart"), 303)
    try:
        patch = CheckoutPatchSchema().load(_patch_from_form(request.form))
        saved = checkout.update(cart["token"], patch)
        if request.form.get("action") != "place":
            return _checkout_page(saved, form=request.form)
        order, _ = placement.place_from_checkout(cart["token"], request.form.get("order_key") or None)
    except ValidationError as exc:
        return _checkout_page(cart, 422, _invalid(exc), request.form)
    except DomainError as exc:  # the request rolls back; the form keeps what the shopper typed
        return _checkout_page(cart, exc.status, exc, request.form)
    response = make_response(redirect(payment_page(order) or url_for("site.order_status", token=order["token"]), 303))
    response.delete_cookie(CART_COOKIE)
    return response


def payment_page(order: dict) -> str | None:
    """Where a gateway that pays on its own hosted page sends the shopper next (its ``client_data.payment_page``,
    a path on this site, e.g. the Stripe plugin's), or None: the order status page."""
    for payment in order.get("payments") or []:
        page = (payment.get("client_data") or {}).get("payment_page")
        if payment.get("status") == "pending" and isinstance(page, str) and page.startswith("/"):
            return page
    return None


@bp.get("/don-hang/<token>")
def order_status(token):
    """An order followed by its unguessable token: status, lines, totals, how to pay."""
    if len(token) > 100:
        raise NotFound("order", "đơn hàng")
    order = orders.shopper_view(orders.get_by_token(token))
    notice = PAYMENT_NOTICES.get(request.args.get("payment"))
    return render_page("site/order.html", order=order, robots=PRIVATE, notice=notice, pay_page=payment_page(order),
                       title=t(f"Đơn hàng {order['number']}", f"Order {order['number']}"))
