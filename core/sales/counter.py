"""Counter sales: an order paid and handed over at once (sales point tills, fair booths, livestream shops).

:func:`record_counter_sale` places it; :func:`return_counter_sale` and
:func:`void_counter_sale` take goods back and refund. Stock moves through the
ledger, money is core ``Payment``/``Refund`` rows of the counter gateways, and
the order hooks fire after commit. Services here flush, never commit.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.catalogue.models import Product, Variant
from core.db import db, on_commit, utcnow
from core.errors import Conflict, DomainError, invalid
from core.inventory import ledger
from core.payments.models import Payment
from core.plugins import hooks
from core.pricing import resolver, usage
from core.pricing.resolver import CartPrice
from core.pricing.rules import customer_key, facts_of
from core.sales import channels, order_payments, orders
from core.sales.checkout import new_token
from core.sales.models import Fulfilment, FulfilmentLine, Order, OrderLine, SalesChannel

#: payment method at the counter → gateway code of its core Payment rows (no gateway object: nothing online)
COUNTER_GATEWAYS = {"cash": "counter_cash", "card": "counter_card", "transfer": "counter_transfer"}
DELIVERY_METHOD = "counter"  # Order.delivery_method of every counter sale
CARRIER = "counter"          # Fulfilment.carrier of goods handed over at the counter
HANDED_OVER = "handed_over"  # Fulfilment.status of those goods
MAX_CLIENT_REF = 120
TEXT_COLUMN = 500  # Refund.reason, Order.cancel_reason, StockMovement.reason


@dataclass(frozen=True)
class CounterLine:
    """``quantity`` units of one variant (several lines of one variant are added up)."""

    variant_id: int
    quantity: int


@dataclass(frozen=True)
class CounterPayment:
    """One payment at the counter.

    ``method``: ``cash``, ``card`` or ``transfer`` (bank transfer, e.g. a VietQR code). ``amount``: VND, None
    for whatever is still due. ``tendered``: cash only, what the customer handed over (the change is
    ``tendered − amount``). ``reference``: card slip or bank transfer reference.
    """

    method: str
    amount: int | None = None
    tendered: int | None = None
    reference: str | None = None


@dataclass(frozen=True)
class ReturnLine:
    """``quantity`` units of the order line ``order_line_id`` brought back."""

    order_line_id: int
    quantity: int


@dataclass
class CounterReturn:
    """What a return or a void did: the refunds (VND) and the quantities taken back per order line."""

    order: Order
    amount: int
    refunds: list = field(default_factory=list)
    lines: list[tuple[OrderLine, int, int]] = field(default_factory=list)  # (line, quantity, amount)


# --- the price of a unit at the counter ------------------------------------------------------
def unit_price(channel: SalesChannel, variant: Variant) -> int:
    """What one unit of ``variant`` costs on ``channel`` now, VND (the price resolver's sale price)."""
    return resolver.price_for(variant, channel).unit_price


def price(channel: SalesChannel, variant: Variant) -> resolver.LinePrice:
    """One unit of ``variant`` on ``channel`` now, as the resolver prices it (base, sale price, discounts)."""
    return resolver.price_for(variant, channel)


# --- recording a sale ------------------------------------------------------------------------
def record_counter_sale(channel, location, lines: list[CounterLine], payments: list[CounterPayment], actor,
                        client_ref: str | None = None, phone: str | None = None) -> tuple[Order, bool]:
    """Record a sale paid and handed over at the counter as a core order; returns ``(order, created)``.

    ``channel``: the point's or booth's SalesChannel (or its id), active; ``location``: the stock
    location the goods leave (or its id), the channel's own location when it has one. The order is
    numbered like every order, carries the price snapshot of each line (the price resolver on
    ``channel`` now: base price, discounts and their promotions; ``phone`` counts per-customer
    limits), records the promotions it used (``core.pricing.usage``, before the stock rows), one
    ``Payment`` per payment (gateways :data:`COUNTER_GATEWAYS`, status ``succeeded``), one
    ``Fulfilment`` per producer (carrier ``counter``) and ends ``completed`` through the usual
    transitions (paid → fulfilled → completed), each in the order history and the audit trail.
    ``order_created``, ``order_paid`` and ``order_fulfilled`` (per fulfilment) fire after commit;
    no notification is sent (the customer is at the counter, nothing is left to ship).

    Locks: the year's order-number row from taking the number until the transaction ends (keep
    the transaction short: the caller commits right after), then the Stock rows of the sold
    variants at ``location`` in ascending variant id (``ledger.sell_now``: ``FOR UPDATE`` on
    PostgreSQL, the database write lock on SQLite).

    Guarantees: stock leaves first-expiry-first-out, expired lots are never sold, nothing is ever
    oversold (``stock.insufficient``, 409); the payments must add up to the total (cash may exceed
    it by the change). ``client_ref`` makes the call idempotent per channel, also between
    concurrent callers (unique index on ``(channel_id, client_ref)``): a repeat returns the first
    order with ``created`` False. Does not commit; on an error the caller rolls back (the request
    does) and nothing is written. Who may sell on ``channel`` is the caller's check (the till:
    the point's operators), and so is which products it may sell (listing rules).
    """
    channel = _counter_channel(channel)
    location = _counter_location(channel, location)
    client_ref = _client_ref(client_ref)
    existing = _existing(channel, client_ref)
    if existing is not None:
        return existing, False
    variants = _variants(lines)
    cart = resolver.price_lines([(v.id, q) for v, q in variants], channel, customer=customer_key(phone=phone),
                                facts={v.id: facts_of(v, v.product, v.product.producer) for v, _ in variants})
    priced = _priced_lines(variants, cart)  # not in the session yet: written with their lots
    total = cart.subtotal
    charges = _charges(payments, total)
    order, created = _new_order(channel, cart, charges, client_ref)
    if not created:  # the same client_ref was recorded meanwhile
        return order, False
    usage.reserve_cart(cart, f"order:{order.number}")  # pricing rows before stock rows (one lock order)
    fulfilments = _hand_over(order, location, variants, priced, actor)
    payments_made = _take_payments(order, charges)
    db.session.flush()  # one flush for the lines, fulfilments and payments
    _record_history(order, channel, location, payments_made, fulfilments, actor)
    _fire_after_commit(order, payments_made[-1], fulfilments)
    return order, True


def _counter_channel(channel) -> SalesChannel:
    if not isinstance(channel, SalesChannel):
        channel = channels.get_channel(channel)
    if not channel.active:
        raise DomainError("sales_channel.inactive", "Kênh bán đã ngừng hoạt động.", "The sales channel is inactive.",
                          {"channel": channel.code}, status=409)
    return channel


def _counter_location(channel: SalesChannel, location):
    location = ledger.resolve_location(location)
    if channel.location_id is not None and channel.location_id != location.id:
        raise invalid("location", "kho hàng không thuộc kênh bán này", "the location is not this channel's",
                      code="counter_sale.location_mismatch")
    return location


def _client_ref(client_ref: str | None) -> str | None:
    if client_ref is None:
        return None
    if not isinstance(client_ref, str) or not 0 < len(client_ref) <= MAX_CLIENT_REF:
        raise invalid("client_ref", f"mã yêu cầu phải có 1–{MAX_CLIENT_REF} ký tự",
                      f"client_ref must have 1 to {MAX_CLIENT_REF} characters")
    return client_ref


def _existing(channel: SalesChannel, client_ref: str | None) -> Order | None:
    if not client_ref:
        return None
    return db.session.execute(select(Order).where(Order.channel_id == channel.id, Order.client_ref == client_ref)
                              ).scalar_one_or_none()


def _variants(lines: list[CounterLine]) -> list[tuple[Variant, int]]:
    """``(variant, quantity)`` per distinct variant, in the order they were first given."""
    if not lines:
        raise invalid("lines", "hoá đơn phải có ít nhất một dòng hàng", "a sale needs at least one line")
    wanted: dict[int, int] = defaultdict(int)
    for i, line in enumerate(lines):
        quantity = line.quantity
        if not isinstance(line.variant_id, int) or isinstance(line.variant_id, bool):
            raise invalid(f"lines[{i}].variant_id", "mã biến thể phải là số nguyên", "variant_id must be an integer")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise invalid(f"lines[{i}].quantity", "số lượng phải là số nguyên dương",
                          "quantity must be a positive integer")
        wanted[line.variant_id] += quantity
    found = {v.id: v for v in db.session.execute(select(Variant).options(selectinload(Variant.product)
                                                                         .joinedload(Product.producer))
                                                 .where(Variant.id.in_(list(wanted)))).scalars()}
    out = []
    for variant_id in wanted:
        variant = found.get(variant_id)
        if variant is None:
            raise invalid("lines", f"không có biến thể {variant_id}", f"no variant {variant_id}",
                          code="counter_sale.unknown_variant")
        if not variant.active:
            raise DomainError("counter_sale.variant_inactive", "Sản phẩm đã ngừng bán.",
                              "This variant is not on sale.", {"variant": variant.id, "sku": variant.sku}, status=422)
        if variant.is_service:
            raise DomainError("stock.not_stocked", "Dịch vụ không quản lý tồn kho.", "Services have no stock.",
                              {"variant": variant.id, "sku": variant.sku}, status=422)
        out.append((variant, wanted[variant_id]))
    return out


def _priced_lines(variants: list[tuple[Variant, int]], cart: CartPrice) -> list[OrderLine]:
    lines = []
    for (variant, quantity), price in zip(variants, cart.lines):
        lines.append(OrderLine(variant_id=variant.id, product_id=variant.product_id,
                               producer_id=variant.product.producer_id, product_name=variant.product.name,
                               variant_name=variant.name, sku=variant.sku, unit_price=price.unit_price,
                               base_unit_price=price.base_unit_price, discount_amount=price.discount_amount,
                               discounts=price.snapshot() or None, quantity=quantity,
                               line_total=price.line_total, is_service=False, allocated_quantity=0,
                               fulfilled_quantity=0, returned_quantity=0))
    return lines


@dataclass(frozen=True)
class _Charge:
    gateway: str
    amount: int
    reference: str | None
    client_data: dict


def _charges(payments: list[CounterPayment], total: int) -> list[_Charge]:
    """Check the payments against ``total`` (before anything is written) and price the open amounts."""
    if not payments:
        raise invalid("payments", "cần ít nhất một khoản thanh toán", "at least one payment is required")
    charges, due = [], total
    for i, payment in enumerate(payments):
        gateway = COUNTER_GATEWAYS.get(payment.method)
        if gateway is None:
            raise invalid(f"payments[{i}].method", "phương thức thanh toán không hợp lệ",
                          f"method must be one of {', '.join(COUNTER_GATEWAYS)}",
                          code="counter_sale.unknown_payment_method")
        amount = due if payment.amount is None else payment.amount
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise invalid(f"payments[{i}].amount", "số tiền phải là số nguyên dương",
                          "amount must be a positive integer (VND)")
        if payment.reference is not None and (not isinstance(payment.reference, str) or len(payment.reference) > 200):
            raise invalid(f"payments[{i}].reference", "mã tham chiếu tối đa 200 ký tự",
                          "reference has at most 200 characters")
        client_data = {}
        if payment.method == "cash":
            tendered = amount if payment.tendered is None else payment.tendered
            if not isinstance(tendered, int) or isinstance(tendered, bool) or tendered < amount:
                raise DomainError("counter_sale.insufficient_payment", "Số tiền khách đưa ít hơn số phải trả.",
                                  "The cash tendered is less than the amount due.",
                                  {"amount": amount, "amount_tendered": tendered}, status=422)
            client_data = {"tendered": tendered, "change": tendered - amount}
        elif payment.tendered is not None:
            raise invalid(f"payments[{i}].tendered", "chỉ thanh toán tiền mặt mới có tiền khách đưa",
                          "only cash payments have a tendered amount")
        charges.append(_Charge(gateway, amount, payment.reference, client_data))
        due -= amount
    if due != 0:
        raise DomainError("counter_sale.payment_mismatch", "Tổng các khoản thanh toán không bằng tổng tiền.",
                          "The payments do not add up to the total.",
                          {"total": total, "paid": total - due}, status=422)
    return charges


def _new_order(channel: SalesChannel, cart: CartPrice, charges: list[_Charge],
               client_ref: str | None) -> tuple[Order, bool]:
    """Number and insert the order; ``(the first order, False)`` when ``client_ref`` was recorded meanwhile."""
    now, total = utcnow(), cart.subtotal
    order = Order(number=orders.next_number(), token=new_token(), channel_id=channel.id, client_ref=client_ref,
                  status="unconfirmed", delivery_method=DELIVERY_METHOD, delivery_name=channel.name,
                  payment_gateway=charges[0].gateway, subtotal=total, discount_amount=cart.discount_amount,
                  shipping_fee=0, total=total, paid_amount=0,
                  refunded_amount=0, created_at=now, updated_at=now)
    order.lines, order.payments, order.fulfilments = [], [], []
    order.attribution = hooks().order_attribution(order=order)
    try:
        with db.session.begin_nested():  # a concurrent sale with the same client_ref wins; this one steps back
            db.session.add(order)
            db.session.flush()
    except IntegrityError:
        existing = _existing(channel, client_ref)
        if existing is None:
            raise
        return existing, False
    return order, True


def _hand_over(order: Order, location, variants: list[tuple[Variant, int]], lines: list[OrderLine],
               actor) -> list[Fulfilment]:
    """Take the goods off the location's stock (FEFO by lot) and hand them over: one fulfilment per producer."""
    reference = orders.stock_reference(order)
    line_of = {line.variant_id: line for line in lines}
    for variant, quantity in sorted(variants, key=lambda pair: pair[0].id):  # two tills never lock in opposite orders
        movements = ledger.sell_now(location, variant, quantity, reference=reference, actor=actor,
                                    reason=f"{order.number}: bán tại quầy / counter sale")
        line = line_of[variant.id]
        line.location_id = location.id
        line.allocations = [{"location_id": location.id, "stock_id": m.stock_id, "lot_id": m.lot_id,
                             "lot_no": m.lot.lot_no, "best_before": _iso(m.lot.best_before), "quantity": -m.quantity}
                            for m in movements]
        line.fulfilled_quantity = quantity
    order.lines.extend(lines)  # the lines are written once, with their lots
    by_producer: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        by_producer[line.producer_id].append(line)
    fulfilments = []
    for producer_id, handed in sorted(by_producer.items()):
        fulfilment = Fulfilment(producer_id=producer_id, carrier=CARRIER, tracking_no=order.number,
                                status=HANDED_OVER, created_by_id=getattr(actor, "id", None), created_at=utcnow())
        fulfilment.lines = [FulfilmentLine(order_line=line, quantity=line.quantity) for line in handed]
        order.fulfilments.append(fulfilment)
        fulfilments.append(fulfilment)
    return fulfilments


def _take_payments(order: Order, charges: list[_Charge]) -> list[Payment]:
    """The payments, captured (the last one completes the total)."""
    now = utcnow()
    payments = [Payment(gateway=c.gateway, amount=c.amount, status="succeeded", external_id=c.reference,
                        client_data=c.client_data, refunded_amount=0, created_at=now, updated_at=now,
                        succeeded_at=now) for c in charges]
    order.payments.extend(payments)
    order.paid_amount = sum(payment.amount for payment in payments)
    return payments


def _record_history(order: Order, channel: SalesChannel, location, payments: list[Payment],
                    fulfilments: list[Fulfilment], actor) -> None:
    """placed → paid → fulfilled → completed, in the order history and the audit trail."""
    orders.add_event(order, "placed", actor=actor, status_after="unconfirmed",
                     data={"channel": channel.code, "location_id": location.id, "total": order.total,
                           **({"client_ref": order.client_ref} if order.client_ref else {})})
    orders.transition(order, "paid", actor=actor, data={"payments": [
        {"payment_id": p.id, "gateway": p.gateway, "amount": p.amount} for p in payments]})
    orders.transition(order, "fulfilled", actor=actor, data={"fulfilments": [
        {"fulfilment_id": f.id, "producer_id": f.producer_id, "carrier": CARRIER,
         "line_ids": [fl.order_line.id for fl in f.lines]} for f in fulfilments]})
    orders.transition(order, "completed", actor=actor)


def _fire_after_commit(order: Order, payment: Payment, fulfilments: list[Fulfilment]) -> None:
    """The order hooks, each on its own after the commit (a failing plugin does not stop the others)."""
    on_commit(lambda: hooks().order_created(order=order))
    on_commit(lambda: hooks().order_paid(order=order, payment=payment))
    for fulfilment in fulfilments:
        on_commit(lambda fulfilment=fulfilment: hooks().order_fulfilled(order=order, fulfilment=fulfilment))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# --- taking goods back ---------------------------------------------------------------------------
def return_counter_sale(order: Order, lines: list[ReturnLine], actor, reason: str, *, restock: bool = True,
                        refund_method: str | None = None) -> CounterReturn:
    """A customer brings back part of a counter sale: refund at the sold price, stock back unless damaged.

    Locks the order row (concurrent returns of one sale serialise), then, with ``restock``, the
    Stock rows of the returned variants (ascending variant id): the goods go back into the lots
    they were sold from, latest expiry first (``return`` movements under the order's ledger
    reference). The refund is recorded against the sale's payments (core ``Refund`` rows, newest
    payment first; the money is handed back at the counter, ``refund_method`` says how); once
    everything paid is refunded the order becomes ``refunded``. A ``counter_return`` event goes
    to the history and the audit trail. Refused: a line of another order (422), more than was
    sold less earlier returns (``counter_sale.return_exceeds_sale``, 422), a sale no longer
    completed (``counter_sale.not_completed``, 409). Does not commit.
    """
    _require_reason(reason)
    order = _lock_counter_order(order)
    by_id = {line.id: line for line in order.lines}
    wanted: dict[int, int] = defaultdict(int)
    if not lines:
        raise invalid("lines", "phiếu trả phải có ít nhất một dòng", "a return needs at least one line")
    for i, row in enumerate(lines):
        if row.order_line_id not in by_id:
            raise invalid(f"lines[{i}].order_line_id", "dòng không thuộc đơn hàng", "the line is not on this order")
        if not isinstance(row.quantity, int) or isinstance(row.quantity, bool) or row.quantity <= 0:
            raise invalid(f"lines[{i}].quantity", "số lượng phải là số nguyên dương",
                          "quantity must be a positive integer")
        wanted[row.order_line_id] += row.quantity
    for line_id, quantity in wanted.items():
        line = by_id[line_id]
        if quantity > line.quantity - line.returned_quantity:
            raise DomainError("counter_sale.return_exceeds_sale", "Số trả lại vượt quá số đã bán.",
                              "More returned than was sold (less earlier returns).",
                              {"order_line_id": line_id, "sold": line.quantity,
                               "already_returned": line.returned_quantity, "requested": quantity}, status=422)
    _require_completed(order)
    _refund_method(refund_method)
    result = _take_back(order, {by_id[i]: q for i, q in wanted.items()}, actor, reason, restock=restock,
                        returned=True)
    orders.add_event(order, "counter_return", actor=actor, message=reason,
                     data={"amount": result.amount, "restock": restock, "refund_method": refund_method,
                           "lines": [{"order_line_id": line.id, "quantity": q} for line, q, _ in result.lines]})
    return result


def void_counter_sale(order: Order, actor, reason: str) -> CounterReturn:
    """Undo a whole counter sale (wrong item keyed, payment failed): every unit back to stock, everything refunded.

    Locks the order row, then the Stock rows of its variants (ascending variant id); the goods go
    back into the lots they came from. The order becomes ``refunded`` with ``cancel_reason`` and a
    ``counter_sale_voided`` event. Refused once anything was returned (``counter_sale.has_returns``,
    409) or when the sale is no longer completed (``counter_sale.not_completed``, 409). How late a
    sale may still be voided is the caller's rule. Does not commit.
    """
    _require_reason(reason)
    order = _lock_counter_order(order)
    _require_completed(order)
    if any(line.returned_quantity for line in order.lines):
        raise Conflict("counter_sale.has_returns", "Đơn hàng đã có hàng trả lại, không thể huỷ.",
                       "Goods of this sale were returned; it can no longer be voided.", {"order": order.number})
    result = _take_back(order, {line: line.quantity for line in order.lines}, actor, reason, restock=True,
                        returned=False)
    order.cancel_reason = _fit(reason)
    orders.add_event(order, "counter_sale_voided", actor=actor, message=reason, data={"amount": result.amount})
    return result


def _lock_counter_order(order: Order) -> Order:
    order = orders.lock_order(order)
    if order.delivery_method != DELIVERY_METHOD:
        raise Conflict("counter_sale.not_counter_sale", "Đơn hàng không phải đơn bán tại quầy.",
                       "This order is not a counter sale.", {"order": order.number})
    return order


def _require_completed(order: Order) -> None:
    if order.status != "completed":
        raise Conflict("counter_sale.not_completed", "Đơn hàng không còn ở trạng thái hoàn tất.",
                       "The sale is no longer completed (voided or fully refunded).",
                       {"order": order.number, "status": order.status})


def _require_reason(reason) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise invalid("reason", "cần ghi lý do", "a reason is required")


def _fit(text: str) -> str:
    """``text`` cut to the size of the text columns it goes to (the order history keeps it whole)."""
    return text if len(text) <= TEXT_COLUMN else text[:TEXT_COLUMN - 1] + "…"


def _refund_method(method: str | None) -> None:
    if method is not None and method not in COUNTER_GATEWAYS:
        raise invalid("refund_method", "phương thức hoàn tiền không hợp lệ",
                      f"refund_method must be one of {', '.join(COUNTER_GATEWAYS)}",
                      code="counter_sale.unknown_payment_method")


def _take_back(order: Order, quantities: dict[OrderLine, int], actor, reason: str, *, restock: bool,
               returned: bool) -> CounterReturn:
    """Restock and refund ``quantities``; ``returned``: a customer return (counted on the lines), else a void."""
    result = CounterReturn(order=order, amount=0)
    why = "khách trả hàng / customer return" if returned else "huỷ hoá đơn / void"
    for line, quantity in sorted(quantities.items(), key=lambda kv: kv[0].variant_id):
        if restock:
            _restock(order, line, quantity, actor, _fit(f"{order.number}: {why}: {reason}"))
        already = line.returned_quantity
        if returned:
            line.returned_quantity += quantity
        # what was charged for these units, discounts pro-rated (their units and budget go back to the
        # promotions); a void gives everything back when the order becomes refunded
        amount = usage.record_refund(f"order:{order.number}", {
            "producer_id": line.producer_id, "quantity": line.quantity, "line_total": line.line_total,
            "discounts": line.discounts or []}, quantity, already)["amount"]
        result.lines.append((line, quantity, amount))
        result.amount += amount
    if result.amount:
        result.refunds = order_payments.refund_order(order, result.amount, _fit(reason), actor=actor,
                                                     outside_gateway=True)
    return result


def _restock(order: Order, line: OrderLine, quantity: int, actor, note: str) -> None:
    """Put ``quantity`` of a sold line back into the lots it came from, latest expiry first."""
    lots = sorted(line.allocations or [], key=lambda lot: (lot["best_before"] is None, lot["best_before"] or ""),
                  reverse=True)
    already, remaining = line.returned_quantity, quantity  # earlier returns went back from the same end
    for lot in lots:
        take_back = lot["quantity"]
        skip = min(already, take_back)
        already -= skip
        qty = min(take_back - skip, remaining)
        if qty <= 0:
            continue
        best_before = dt.date.fromisoformat(lot["best_before"]) if lot["best_before"] else None
        ledger.receive(lot["location_id"], line.variant_id, qty, actor=actor, kind="return", reason=note,
                       reference=orders.stock_reference(order), lot_no=lot["lot_no"] or "", best_before=best_before)
        remaining -= qty
        if remaining == 0:
            break
