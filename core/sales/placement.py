"""Placing an order from a checkout, in the caller's transaction (the request's), as a few named steps.

:func:`place_from_checkout` reads as its table of contents: prepare the checkout, reserve a number,
claim the checkout, create the order (price snapshots, history), allocate its stock (rows locked
last), attribute it, fire ``order_created`` on commit, start the first payment. Nothing here commits;
a failure leaves nothing behind once the caller rolls back.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, bindparam, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import attributes

from core.db import UTCDateTime, add_as_loaded, db, is_postgres, utcnow
from core.errors import Conflict, DomainError, Message, ValidationFailed
from core.inventory import ledger
from core.inventory.models import StockLocation
from core.plugins import hooks
from core.pricing import usage
from core.pricing.resolver import CartPrice
from core.sales import channels, checkout as checkouts, order_payments, orders, shipping
from core.sales.checkout import Row
from core.sales.models import Checkout, Order, OrderEvent, OrderLine


@dataclass
class Draft:
    """A checkout ready to become an order: its rows, the delivery it was quoted and the VND totals."""

    checkout: Checkout
    rows: list[Row]
    channel_id: int
    delivery_name: str
    pickup: StockLocation | None
    cart: CartPrice
    shipping_fee: int

    @property
    def subtotal(self) -> int:
        return self.cart.subtotal

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping_fee

    @property
    def stocked_rows(self) -> list[Row]:
        """Lines that hold stock, in ascending variant id (the lock order that rules out deadlocks)."""
        return sorted((r for r in self.rows if not r.variant.is_service), key=lambda r: r.variant.id)


def place_from_checkout(token: str, idempotency_key: str | None = None) -> tuple[dict, bool]:
    """Place the order of checkout ``token`` and allocate its stock; start its first payment. Flushes.

    Returns ``(order view, created)``; ``created`` is False when
    ``idempotency_key`` already placed an order for this checkout (that first
    order is returned). Errors (the caller rolls back): ``checkout.incomplete``
    (422), ``product.not_listed`` (422), ``stock.insufficient`` (409),
    ``checkout.completed`` (409, completed without the same key),
    ``checkout.changed`` (409, edited meanwhile), ``idempotency.key_reused``
    (409). A payment that cannot start keeps the order and answers
    ``payment_error``.

    Locks, in this order: the order-number counter for one statement of its
    own (:func:`core.sales.orders.reserve_number`), the checkout row (the
    claim), last the stock rows in ascending variant id.
    """
    checkout, rows = checkouts.load(token)
    if checkout.status != "open":
        return _placed_before(checkout, idempotency_key), False
    draft = prepare(checkout, rows)
    number = orders.reserve_number()
    order = claim_and_create_order(draft, number, idempotency_key)
    if order is None:
        return _claim_lost(checkout, idempotency_key), False
    lines = allocate_and_write_lines(order, draft)
    attribute(order)
    orders.fire_after_commit("order_created", order)
    db.session.flush()
    view = orders.shopper_view(order, lines, {r.producer.id: r.producer for r in rows})
    if order.payment_gateway:
        view = start_first_payment(order, view)
    return view, True


# --- the steps ---------------------------------------------------------------------------------
def prepare(checkout: Checkout, rows: list[Row]) -> Draft:
    """Check the checkout is complete and sellable, quote its delivery, total it — no writes, no locks.

    A non-locking stock check comes last, so a sold-out line is refused before a number is taken
    (allocation decides for good).
    """
    problems = missing_details(checkout, rows)
    if problems:
        raise ValidationFailed(problems, code="checkout.incomplete", message="Giỏ hàng chưa đủ thông tin để đặt.",
                               message_en="The checkout is not ready to be completed.")
    for row in rows:
        checkouts.require_listed((row.variant, row.product, row.producer, row.listed), row.variant.id)
    cart = checkouts.price_rows(checkout, rows, strict=True)  # now; a voucher that no longer applies: 4xx
    pickup = None
    if checkout.delivery_method == shipping.PICKUP:
        pickup = checkouts.pickup_location(checkout.pickup_location_id, rows)
        fee, delivery_name = 0, shipping.pickup_quote(pickup).name
    else:
        quote = shipping.choose(checkout, checkouts.shipping_address(checkout, rows), checkout.delivery_method)
        fee, delivery_name = quote.fee, quote.name
    draft = Draft(checkout=checkout, rows=rows, delivery_name=delivery_name, pickup=pickup, shipping_fee=fee,
                  channel_id=checkout.channel_id or channels.get_or_create_channel(ledger.ONLINE_STORE).id,
                  cart=cart)
    if pickup is None:
        checkouts.check_stock({r.variant.id: r.line.quantity for r in draft.stocked_rows},
                              {r.variant.id: r.variant for r in rows}, {r.variant.id: r.free for r in rows})
    return draft


def missing_details(checkout: Checkout, rows: list[Row]) -> dict:
    """What the checkout still lacks to be placed, per field (empty when it is complete)."""
    problems = {}
    if not rows:
        problems["lines"] = [Message("giỏ hàng chưa có sản phẩm", "the checkout is empty")]
    if not checkout.full_name:
        problems["full_name"] = [Message("bắt buộc", "required")]
    if not checkout.phone and not checkout.email:
        problems["phone"] = [Message("cần số điện thoại hoặc email", "a phone number or an email is required")]
    if not checkout.delivery_method:
        problems["delivery_method"] = [Message("bắt buộc", "required")]
    elif checkout.delivery_method != shipping.PICKUP and not checkout.commune_code:
        problems["shipping_address"] = [Message("bắt buộc khi giao tận nhà", "required for home delivery")]
    return problems


_CLAIM = (update(Checkout.__table__)
          .where(Checkout.__table__.c.id == bindparam("checkout_id", type_=Integer),
                 Checkout.__table__.c.status == "open",
                 Checkout.__table__.c.updated_at == bindparam("read_at", type_=UTCDateTime))
          .values(status="completed", updated_at=bindparam("now", type_=UTCDateTime)))


def claim(checkout: Checkout) -> bool:
    """Mark the checkout completed if it is still open and unchanged since it was read (locks its row)."""
    now = utcnow()
    claimed = db.session.execute(_CLAIM, {"checkout_id": checkout.id, "read_at": checkout.updated_at,
                                          "now": now}).rowcount == 1
    if claimed:
        attributes.set_committed_value(checkout, "status", "completed")
        attributes.set_committed_value(checkout, "updated_at", now)
    return claimed


def _insert_order(insert):
    table = Order.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(table.c.id)


# an INSERT that yields no id (instead of failing the transaction) when the key placed another order
_INSERT_ORDER = {"postgresql": _insert_order(pg_insert), "sqlite": _insert_order(sqlite_insert)}
_INSERT_EVENT = insert(OrderEvent.__table__)
_INSERT_LINES = insert(OrderLine.__table__).returning(OrderLine.__table__.c.id, sort_by_parameter_order=True)


def _order_values(draft: Draft, number: str, idempotency_key: str | None, now) -> dict:
    """Every column of the new order: contact and delivery copied from the checkout, VND totals."""
    checkout = draft.checkout
    values = {name: getattr(checkout, name) for name in Checkout.COPIED_TO_ORDER}
    values.update(number=number, token=checkouts.new_token(), channel_id=draft.channel_id, checkout_id=checkout.id,
                  idempotency_key=idempotency_key, status="unconfirmed", delivery_name=draft.delivery_name,
                  subtotal=draft.subtotal, shipping_fee=draft.shipping_fee, total=draft.total, paid_amount=0,
                  discount_amount=draft.cart.discount_amount,
                  voucher_codes=[v.code for v in draft.cart.vouchers] or None,
                  refunded_amount=0, attribution=None, cancel_reason=None, created_at=now, updated_at=now,
                  confirmed_at=None, paid_at=None, fulfilled_at=None, completed_at=None, cancelled_at=None)
    return values


def _as_placed(order_id: int, values: dict) -> Order:
    order = add_as_loaded(Order, {"id": order_id, **values})
    for name in ("payments", "fulfilments"):  # a new order has none: no query when they are read
        attributes.set_committed_value(order, name, [])
    return order


def _placed_event(draft: Draft) -> dict:
    return {"checkout": draft.checkout.id, "total": draft.total}


def create_order(draft: Draft, number: str, idempotency_key: str | None) -> Order:
    """Write the order (contact and delivery copied from the checkout, VND totals) and its ``placed`` event.

    ``idempotency.key_reused`` (409) when another checkout's order holds the key.
    """
    now = utcnow()
    values = _order_values(draft, number, idempotency_key, now)
    order_id = db.session.execute(_INSERT_ORDER[db.session.get_bind().dialect.name], values).scalar()
    if order_id is None:  # the key placed an order for another checkout (this one was only just claimed)
        raise _key_reused()
    db.session.execute(_INSERT_EVENT, {"order_id": order_id, "kind": "placed", "status_after": "unconfirmed",
                                       "created_at": now, "data": _placed_event(draft)})
    return _as_placed(order_id, values)


def claim_and_create_order(draft: Draft, number: str, idempotency_key: str | None) -> Order | None:
    """:func:`claim` the checkout, then :func:`create_order`; None when the claim is lost (nothing written).

    On PostgreSQL the three writes are ONE statement (data-modifying CTEs: the order is inserted only
    if the claim updated the checkout, the event only if the order was inserted); same outcomes.
    """
    if not is_postgres():
        return create_order(draft, number, idempotency_key) if claim(draft.checkout) else None
    checkout, now = draft.checkout, utcnow()
    values = _order_values(draft, number, idempotency_key, now)
    claimed, order_id = db.session.execute(_CLAIM_AND_PLACE_PG, {
        **{f"o_{name}": value for name, value in values.items()}, "checkout_id": checkout.id,
        "read_at": checkout.updated_at, "now": now, "event_data": _placed_event(draft)}).one()
    if not claimed:
        return None
    if order_id is None:  # the key placed an order for another checkout (this one was only just claimed)
        raise _key_reused()
    attributes.set_committed_value(checkout, "status", "completed")
    attributes.set_committed_value(checkout, "updated_at", now)
    return _as_placed(order_id, values)


def _claim_and_place_pg():
    orders_t, events_t = Order.__table__, OrderEvent.__table__
    names = [c.name for c in orders_t.columns if c.name != "id" and c.name in _ORDER_COLUMNS]
    claimed = _CLAIM.returning(Checkout.__table__.c.id).cte("claimed")
    # the order's values are bound as ``o_<column>``: an UPDATE takes parameters named like its table's
    # columns as more SET clauses, and the checkout has columns of the same names
    placed = (pg_insert(orders_t).from_select(names, select(*[bindparam(f"o_{n}", type_=orders_t.c[n].type)
                                                                for n in names]).select_from(claimed))
              .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(orders_t.c.id).cte("placed"))
    event = (insert(events_t).from_select(
        ["order_id", "kind", "status_after", "data", "created_at"],
        select(placed.c.id, literal("placed", String), literal("unconfirmed", String),
               bindparam("event_data", type_=events_t.c.data.type), bindparam("now", type_=UTCDateTime)))
        .cte("placed_event"))
    return select(select(func.count()).select_from(claimed).scalar_subquery(),
                  select(placed.c.id).scalar_subquery()).add_cte(event)


#: the order columns :func:`_order_values` fills (every column but the id; checked at import)
_ORDER_COLUMNS = ("email", "phone", "full_name", "province_code", "district_code", "commune_code", "street", "note",
                  "delivery_method", "pickup_location_id", "payment_gateway", "number", "token", "channel_id",
                  "checkout_id", "idempotency_key", "status", "delivery_name", "subtotal", "shipping_fee", "total",
                  "paid_amount", "discount_amount", "voucher_codes", "refunded_amount", "attribution",
                  "cancel_reason", "created_at", "updated_at", "confirmed_at", "paid_at", "fulfilled_at",
                  "completed_at", "cancelled_at")
_CLAIM_AND_PLACE_PG = _claim_and_place_pg()


def allocate_and_write_lines(order: Order, draft: Draft) -> list[OrderLine]:
    """Reserve the promotions and vouchers the prices used, allocate every stocked line (pickup location, or
    the ledger's strategy), then write the lines.

    Pricing rows are locked before stock rows (one lock order everywhere); a limit reached meanwhile
    is 409 (``promotion.limit_reached``, ``voucher.used_up`` …) and the caller rolls back. The lines
    are written once, with their price snapshot and where their stock was allocated.
    """
    usage.reserve_cart(draft.cart, pricing_reference(order), draft.cart.customer_key)
    reference = orders.stock_reference(order.number)
    allocated = {r.variant.id: ledger.allocate(r.variant, r.line.quantity, location=draft.pickup,
                                               reference=reference) for r in draft.stocked_rows}
    snapshots = [line_snapshot(order, r, allocated.get(r.variant.id)) for r in draft.rows]
    # one line (the usual cart) as a plain INSERT … RETURNING: the many-rows path costs more in Python
    ids = db.session.execute(_INSERT_LINES, snapshots[0] if len(snapshots) == 1 else snapshots).scalars().all()
    lines = [add_as_loaded(OrderLine, {"id": line_id, **values}) for line_id, values in zip(ids, snapshots)]
    attributes.set_committed_value(order, "lines", lines)
    return lines


def pricing_reference(order: Order) -> str:
    """The ``order_ref`` of the order's promotion and voucher usage rows."""
    return f"order:{order.number}"


def line_snapshot(order: Order, row: Row, allocations: list[ledger.Allocation] | None) -> dict:
    """An order line's columns: product name, SKU, the price as sold (base, discounts and their sources,
    what was charged) and its allocation."""
    variant, product, price = row.variant, row.product, row.price
    return {"order_id": order.id, "variant_id": variant.id, "product_id": product.id,
            "producer_id": product.producer_id, "product_name": product.name, "variant_name": variant.name,
            "sku": variant.sku, "unit_price": price.unit_price, "quantity": row.line.quantity,
            "base_unit_price": price.base_unit_price, "discount_amount": price.discount_amount,
            "discounts": price.snapshot() or None,
            "line_total": price.line_total, "is_service": variant.is_service,
            "location_id": allocations[0].location_id if allocations else None,
            "allocations": [{"location_id": a.location_id, "stock_id": a.stock_id, "lot_id": a.lot_id,
                             "lot_no": a.lot_no, "quantity": a.quantity} for a in allocations]
            if allocations else None,
            "allocated_quantity": sum(a.quantity for a in allocations) if allocations else 0,
            "fulfilled_quantity": 0, "returned_quantity": 0}


def attribute(order: Order) -> None:
    """Store the credit the ``order_attribution`` hook gives (livestream, campaign, feed), if any."""
    attribution = hooks().order_attribution(order=order)
    if attribution is not None:
        order.attribution = attribution


def start_first_payment(order: Order, view: dict) -> dict:
    """Start paying with the checkout's gateway; a refusal keeps the order and adds ``payment_error``."""
    try:
        with db.session.begin_nested():
            order_payments.start_payment(order, order.payment_gateway)
    except DomainError as exc:
        return {**view, "payment_error": exc.envelope()["error"]}
    return orders.shopper_view(order)


# --- a checkout placed before ---------------------------------------------------------------------
def _key_reused() -> Conflict:
    return Conflict("idempotency.key_reused", "Khoá Idempotency-Key đã được dùng cho một giỏ hàng khác.",
                    "This Idempotency-Key was already used for another checkout.")


def _existing_for_key(checkout: Checkout, key: str | None) -> Order | None:
    if not key:
        return None
    order = db.session.execute(select(Order).where(Order.idempotency_key == bindparam("key", type_=String)),
                               {"key": key}).scalar_one_or_none()
    if order is not None and order.checkout_id != checkout.id:
        raise _key_reused()
    return order


def _placed_before(checkout: Checkout, idempotency_key: str | None) -> dict:
    """The first order of a completed checkout for the same key, else ``checkout.completed`` (409)."""
    existing = _existing_for_key(checkout, idempotency_key)
    if existing is not None:
        return orders.shopper_view(existing)
    raise Conflict("checkout.completed", "Giỏ hàng đã được đặt thành đơn hàng.",
                   "This checkout has already been completed.", {"token": checkout.token})


def _claim_lost(checkout: Checkout, idempotency_key: str | None) -> dict:
    """Another request completed or edited the checkout between reading and claiming it."""
    db.session.refresh(checkout)
    if checkout.status != "open":
        return _placed_before(checkout, idempotency_key)
    raise Conflict("checkout.changed", "Giỏ hàng vừa được thay đổi; vui lòng kiểm tra lại rồi đặt hàng.",
                   "The checkout changed meanwhile; review it and complete again.", {"token": checkout.token})
