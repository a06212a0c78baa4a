"""Orders: numbering, the status machine, multi-producer views, confirmation, fulfilment, cancellation, history.

Statuses and the only allowed transitions (:data:`TRANSITIONS`)::

    unconfirmed ─┬─> confirmed ─┬─> paid ──┬─> fulfilled ──> completed
                 │              │          │        │            │
                 └──────────────┴─> paid   │        └─> refunded <┘
    unconfirmed / confirmed / paid ──> cancelled      paid ──> refunded
    confirmed ──> fulfilled   (cash on delivery: shipped before it is paid)
    fulfilled ──> completed   (delivered and paid — e.g. COD cash collected)

A payment that covers the total moves an unconfirmed or confirmed order to
``paid`` and a fulfilled one to ``completed``. When every line has
shipped the order becomes ``fulfilled``.

Multi-producer orders: every line belongs to one producer; a producer user
sees and fulfils only its own lines (its own shipment with a carrier and
tracking number). Organisers see orders with at least one line of a producer
in their province; admins see everything.

Stock: lines are allocated when the order is placed
(:func:`core.sales.placement.place_from_checkout`), under the ledger reference
``order:<number>``; fulfilment deducts them (``release`` + ``sale``
movements), cancellation releases whatever is still allocated.

State-change hooks (``order_created``, ``order_paid``, ``order_cancelled``,
``order_fulfilled``) fire after commit, and so do the notifications (a
Celery task stores them, then delivers them by SMTP when configured).
"""
from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import Integer, bindparam, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import selectinload

from core import clock
from core.celery_app import celery_app, enqueue
from core.db import autocommit_engine, db, is_postgres, keep_loaded, on_commit, utcnow
from core.metrics import register_database_gauge
from core.errors import Conflict, Forbidden, NotFound, invalid
from core.sales.models import Fulfilment, FulfilmentLine, Order, OrderEvent, OrderLine, OrderNumberCounter, SalesChannel
from core.catalogue.models import Producer
from core.accounts.models import User
from core.accounts.security import current_user
from core.audit import trail as audit
from core.catalogue.access import require_producer_access
from core.inventory import ledger
from core.notifications.delivery import notify
from core.notifications.models import Notification
from core.pagination import paginate
from core.plugins import hooks
from core.pricing import usage as pricing_usage
from core.sales.access import (MANAGERS, ORDER_VIEWERS, can_view, producer_ids, require_manage,  # noqa: F401
                               require_view, scoped_orders)
from core.sales.order_views import (address_view, admin_view, fulfilment_view, line_view, payment_view,  # noqa: F401
                                    payment_status, shopper_view, unit_info)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "unconfirmed": ("confirmed", "paid", "cancelled"),
    "confirmed": ("paid", "fulfilled", "cancelled"),
    "paid": ("fulfilled", "cancelled", "refunded"),
    "fulfilled": ("completed", "refunded"),
    "completed": ("refunded",),
    "cancelled": (),
    "refunded": (),
}
TIMESTAMPS = {"confirmed": "confirmed_at", "paid": "paid_at", "fulfilled": "fulfilled_at",
              "completed": "completed_at", "cancelled": "cancelled_at"}
log = logging.getLogger(__name__)


def stock_reference(order_or_number) -> str:
    """Ledger reference of an order's stock movements: ``order:OCOP-2026-000123``."""
    number = order_or_number if isinstance(order_or_number, str) else order_or_number.number
    return f"order:{number}"


# --- numbering --------------------------------------------------------------------
def _counter_upsert(insert):
    table = OrderNumberCounter.__table__
    return (insert(table).values(year=bindparam("year", type_=Integer), value=1)
            .on_conflict_do_update(index_elements=["year"], set_={"value": table.c.value + 1})
            .returning(table.c.value))


# built once per dialect (building the statement on every call showed up in the checkout profile)
_COUNTER_UPSERT = {"postgresql": _counter_upsert(pg_insert), "sqlite": _counter_upsert(sqlite_insert)}


def format_number(year: int, value: int) -> str:
    return f"OCOP-{year}-{value:06d}"


def next_number(year: int | None = None, connection=None) -> str:
    """Take the next order number of ``year`` (Vietnam's calendar), e.g. ``OCOP-2026-000123``. Does not commit.

    One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on the per-year row of
    ``order_number_counter`` (on ``connection``, default the session):
    concurrent callers queue on that row until the taker's transaction ends,
    so numbers are unique. Placing an order uses :func:`reserve_number`,
    which holds the row for one statement only.
    """
    year = year or clock.today().year
    executor = connection if connection is not None else db.session
    dialect = connection.dialect if connection is not None else db.session.get_bind().dialect
    value = executor.execute(_COUNTER_UPSERT[dialect.name], {"year": year}).scalar_one()
    return format_number(year, value)


def reserve_number() -> str:
    """Take an order number that stays taken whatever becomes of the caller's transaction.

    PostgreSQL: on a connection of its own in autocommit, so the counter row is
    locked for one statement and never while an order waits for stock (an
    order failing afterwards leaves a gap in the numbers). SQLite: in the
    caller's transaction (its writers queue on one database lock anyway).
    """
    if not is_postgres():
        return next_number()
    try:
        with autocommit_engine().connect() as connection:
            return next_number(connection=connection)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with autocommit_engine().connect() as connection:  # once more, after a dropped pooled connection
        return next_number(connection=connection)


# --- status machine -----------------------------------------------------------------
def _actor_fields(actor) -> dict:
    if actor is None:
        actor = current_user()
    return {"actor_id": getattr(actor, "id", None), "actor_username": getattr(actor, "username", None)}


def add_event(order: Order, kind: str, *, actor=None, data: dict | None = None, message: str | None = None,
              producer_id: int | None = None, status_before: str | None = None,
              status_after: str | None = None) -> OrderEvent:
    """Append an entry to the order's history and the audit trail (in the current transaction)."""
    actor_fields = _actor_fields(actor)
    event = OrderEvent(order_id=order.id, kind=kind, data=data, message=message, producer_id=producer_id,
                       status_before=status_before, status_after=status_after, created_at=utcnow(),
                       **actor_fields)
    db.session.add(event)
    # the platform-wide audit trail gets the same fact (who, what, when, before/after)
    audit.record(f"order.{kind}", order, actor=actor if actor not in (None, False) else None,
                 entity_type="order", entity_id=order.id,
                 before={"status": status_before} if status_before else None,
                 after={"number": order.number, "status": status_after or order.status,
                        **({"producer_id": producer_id} if producer_id else {}), **(data or {})})
    return event


#: statuses after which an order keeps no promotion or voucher use (units, budget and uses go back)
RELEASES_PRICING = ("cancelled", "refunded")


def can_transition(order: Order, to: str) -> bool:
    return to in TRANSITIONS.get(order.status, ())


def transition(order: Order, to: str, *, actor=None, kind: str | None = None, data: dict | None = None,
               message: str | None = None) -> OrderEvent:
    """Move ``order`` to status ``to`` if allowed, stamping the time and writing history. Does not commit.

    Raises ``order.invalid_transition`` (409) otherwise.
    """
    if not can_transition(order, to):
        raise Conflict("order.invalid_transition",
                       f"Không thể chuyển đơn hàng từ trạng thái '{order.status}' sang '{to}'.",
                       f"An order cannot go from '{order.status}' to '{to}'.",
                       {"status": order.status, "to": to, "allowed": list(TRANSITIONS.get(order.status, ()))})
    before = order.status
    order.status = to
    if to in RELEASES_PRICING:  # nothing was sold in the end: promotions and vouchers get their uses back
        pricing_usage.release_usage(f"order:{order.number}")
    if to in TIMESTAMPS:
        setattr(order, TIMESTAMPS[to], utcnow())
    return add_event(order, kind or to, actor=actor, data=data, message=message,
                     status_before=before, status_after=to)


# --- hooks and notifications after commit ------------------------------------------------
def fire_after_commit(hook_name: str, order: Order, **kwargs) -> None:
    """Queue ``hook_name(order=…, **kwargs)`` and the matching notification task for after the commit."""
    order_id = order.id  # None for an order not flushed yet: read again after the commit
    keep_loaded(order, *order.__dict__.get("lines", ()))  # the hooks read it as committed, without a query

    def fire():
        getattr(hooks(), hook_name)(order=order, **kwargs)
        notify_after_commit(order_id if order_id is not None else order.id, hook_name, kwargs)

    on_commit(fire)


NOTIFY_KINDS = {"order_created": "order_placed", "order_paid": "order_paid",
                "order_fulfilled": "order_shipped", "order_cancelled": "order_cancelled"}


def notify_after_commit(order_id: int, hook_name: str, kwargs: dict) -> None:
    """Enqueue the Celery task that stores (and, with SMTP, emails) the order's notifications.

    With the broker unreachable the task runs right here instead (its own unit
    of work; the deliveries wait), so an order never loses its notifications.
    """
    extra = {}
    if "fulfilment" in kwargs:
        extra["fulfilment_id"] = kwargs["fulfilment"].id
    args = (order_id, NOTIFY_KINDS[hook_name], extra)
    try:
        enqueue("ocop.orders.notify", *args)
    except Exception as exc:  # broker down: store them now
        log.warning("order notifications stored in-process (%s: %s)", type(exc).__name__, exc)
        celery_app.tasks["ocop.orders.notify"].apply(args)


def _money(value: int) -> str:
    return f"{value:,}".replace(",", ".") + " ₫"


def send_notifications(order_id: int, kind: str, extra: dict | None = None) -> int:
    """Store the notifications of one order event (shopper + producers concerned). Idempotent. Does not commit.

    ``kind``: ``order_placed``, ``order_paid``, ``order_shipped`` (``extra``:
    ``fulfilment_id``) or ``order_cancelled``. Returns how many were stored now.
    """
    extra = extra or {}
    order = db.session.get(Order, order_id)
    if order is None:
        return 0
    before = db.session.execute(select(func.count()).select_from(Notification)
                                .where(Notification.dedupe_key.like(f"order:{order.id}:{kind}:%"))).scalar_one()
    lines_by_producer = defaultdict(list)
    for line in order.lines:
        lines_by_producer[line.producer_id].append(line)
    texts = {
        "order_placed": ("Đã nhận đơn hàng {n}", "Cảm ơn bạn đã đặt hàng. Đơn {n} ({total}) đang chờ xác nhận.\n"
                         "Order {n} ({total}) was received and awaits confirmation."),
        "order_paid": ("Đơn hàng {n} đã được thanh toán", "Đơn {n} đã được thanh toán đủ {total}.\n"
                       "Order {n} has been paid in full ({total})."),
        "order_shipped": ("Đơn hàng {n} đã được gửi đi", "Một phần đơn {n} đã được gửi: {carrier}, mã vận đơn {tracking}.\n"
                          "Part of order {n} has shipped: {carrier}, tracking number {tracking}."),
        "order_cancelled": ("Đơn hàng {n} đã bị huỷ", "Đơn {n} đã bị huỷ.\nOrder {n} has been cancelled."),
    }
    subject_t, body_t = texts[kind]
    fmt = {"n": order.number, "total": _money(order.total), "carrier": "", "tracking": ""}
    suffix = ""
    producers_concerned = list(lines_by_producer)
    if kind == "order_shipped":
        fulfilment = db.session.get(Fulfilment, extra.get("fulfilment_id"))
        if fulfilment is None:
            return 0
        fmt.update(carrier=fulfilment.carrier, tracking=fulfilment.tracking_no)
        suffix = f":{fulfilment.id}"
        producers_concerned = []
    data = {"order_id": order.id, "number": order.number, "kind": kind}
    notify(kind, f"order:{order.id}:{kind}:shopper{suffix}", subject_t.format(**fmt), body_t.format(**fmt),
           email=order.email, data={**data, "recipient": "shopper", "token": order.token})
    if kind in ("order_placed", "order_paid", "order_cancelled"):
        producers = {p.id: p for p in db.session.execute(
            select(Producer).where(Producer.id.in_(producers_concerned))).scalars()}
        for producer_id in producers_concerned:
            own = lines_by_producer[producer_id]
            listing = "\n".join(f"- {l.product_name} ({l.variant_name}) × {l.quantity}" for l in own)
            subject = {"order_placed": "Đơn hàng mới {n}", "order_paid": "Đơn hàng {n} đã thanh toán, chuẩn bị giao",
                       "order_cancelled": "Đơn hàng {n} đã bị huỷ"}[kind].format(**fmt)
            body = (f"{subject}.\n{listing}\n"
                    f"({ {'order_placed': 'New order', 'order_paid': 'Paid, please ship', 'order_cancelled': 'Cancelled'}[kind] }"
                    f" — {order.number})")
            producer = producers.get(producer_id)
            notify(kind, f"order:{order.id}:{kind}:producer:{producer_id}", subject, body,
                   producer_id=producer_id, email=producer.email if producer else None,
                   data={**data, "recipient": "producer", "producer_id": producer_id})
    after = db.session.execute(select(func.count()).select_from(Notification)
                               .where(Notification.dedupe_key.like(f"order:{order.id}:{kind}:%"))).scalar_one()
    return after - before


# --- lookups and scope ------------------------------------------------------------------
def get_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("order", "đơn hàng")
    return order


def get_by_token(token: str) -> Order:
    """The order behind a shopper's token (404 for unknown tokens)."""
    order = db.session.execute(select(Order).where(Order.token == token)).scalar_one_or_none() if token else None
    if order is None:
        raise NotFound("order", "đơn hàng")
    return order


def view_for(user: User, order_id: int) -> dict:
    """One order as ``user`` may see it (producers: only their own lines)."""
    order = get_order(order_id)
    require_view(user, order)
    return admin_view(order, user)


def list_for(user: User, args: dict) -> dict:
    """Orders in the caller's scope, newest first (filters: status, number, producer_id, created_from/to,
    channel (code) and channel_id — counter sales are orders of their point's or booth's channel)."""
    stmt = scoped_orders(select(Order), user)
    if args.get("channel_id") is not None:
        stmt = stmt.where(Order.channel_id == args["channel_id"])
    if args.get("channel"):
        stmt = stmt.where(Order.channel_id.in_(select(SalesChannel.id).where(SalesChannel.code == args["channel"])))
    if args.get("status"):
        stmt = stmt.where(Order.status == args["status"])
    if args.get("number"):
        stmt = stmt.where(Order.number == args["number"])
    if args.get("producer_id") is not None:
        stmt = stmt.where(exists().where(OrderLine.order_id == Order.id,
                                         OrderLine.producer_id == args["producer_id"]))
    if args.get("created_from"):
        stmt = stmt.where(Order.created_at >= args["created_from"])
    if args.get("created_to"):
        stmt = stmt.where(Order.created_at < args["created_to"])
    stmt = stmt.options(selectinload(Order.lines)).order_by(Order.created_at.desc(), Order.id.desc())
    page = paginate(stmt, args["page"], args["limit"])
    page["results"] = [admin_view(o, user, brief=True) for o in page["results"]]
    return page


def history_for(user: User, order_id: int) -> list[OrderEvent]:
    """The order's history; producers see order-wide events and their own, not other producers'."""
    order = get_order(order_id)
    require_view(user, order)
    events = db.session.execute(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                .order_by(OrderEvent.id)).scalars().all()
    if user.role == "producer":
        events = [e for e in events if e.producer_id in (None, user.producer_id)]
    return events


# --- operations ------------------------------------------------------------------------
def lock_order(order: Order) -> Order:
    """Re-read ``order`` with a row lock (PostgreSQL) so concurrent admin actions serialise."""
    stmt = select(Order).where(Order.id == order.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    else:  # SQLite: take the database write lock now (no-op UPDATE)
        db.session.execute(update(Order).where(Order.id == order.id).values(status=Order.status))
    return db.session.execute(stmt).scalar_one()


def confirm(user: User, order_id: int) -> dict:
    """Confirm an unconfirmed order (admin / organiser in scope). Does not commit."""
    order = get_order(order_id)
    require_manage(user, order)
    order = lock_order(order)
    transition(order, "confirmed", actor=user)
    db.session.flush()
    return admin_view(order, user)


def complete_order(user: User, order_id: int) -> dict:
    """Mark a fulfilled, fully paid order completed (delivered). Does not commit."""
    order = get_order(order_id)
    require_manage(user, order)
    order = lock_order(order)
    if order.status == "fulfilled" and payment_status(order) != "paid":
        raise Conflict("order.unpaid", "Đơn hàng chưa được thanh toán đủ.", "The order is not fully paid.",
                       {"paid_amount": order.paid_amount, "total": order.total})
    transition(order, "completed", actor=user)
    db.session.flush()
    return admin_view(order, user)


def fulfil(user: User, order_id: int, data: dict) -> dict:
    """Ship lines of ONE producer with a carrier and tracking number; deducts their allocated stock. Does not commit.

    Producer users ship their own lines (default: all their unshipped lines);
    admins and organisers name ``line_ids`` (all of one producer). Only
    confirmed or paid orders ship. When no stocked line is left unshipped the
    order becomes ``fulfilled`` once every line has shipped. ``order_fulfilled`` fires after commit.
    """
    order = get_order(order_id)
    require_view(user, order)
    if user.role not in ("admin", "organiser", "producer"):
        raise Forbidden()
    order = lock_order(order)
    if order.status not in ("confirmed", "paid"):
        raise Conflict("order.not_fulfillable", "Chỉ đơn hàng đã xác nhận hoặc đã thanh toán mới được giao.",
                       "Only confirmed or paid orders can be shipped.", {"status": order.status})
    line_ids = data.get("line_ids")
    open_lines = [l for l in order.lines if l.to_ship]
    if user.role == "producer":
        candidates = [l for l in open_lines if l.producer_id == user.producer_id]
    else:
        candidates = open_lines
    if line_ids:
        by_id = {l.id: l for l in order.lines}
        chosen = []
        for line_id in dict.fromkeys(line_ids):
            line = by_id.get(line_id)
            if line is None or (user.role == "producer" and line.producer_id != user.producer_id):
                raise invalid("line_ids", f"dòng {line_id} không thuộc phạm vi của bạn",
                              f"line {line_id} is not one of your lines", code="order.line_not_yours")
            if not line.to_ship:
                raise Conflict("order.line_already_shipped", "Dòng hàng đã được giao.",
                               "The line has already shipped.", {"line_id": line_id})
            chosen.append(line)
    elif user.role == "producer":
        chosen = candidates
    else:
        raise invalid("line_ids", "quản trị viên cần chỉ rõ các dòng hàng", "name the lines to ship (line_ids)")
    if not chosen:
        raise Conflict("order.nothing_to_ship", "Không còn dòng hàng nào của bạn cần giao.",
                       "None of your lines is left to ship.", {"order_id": order.id})
    producers_in = {l.producer_id for l in chosen}
    if len(producers_in) != 1:
        raise invalid("line_ids", "mỗi lần giao chỉ gồm hàng của một chủ thể",
                      "one shipment holds one producer's lines", code="order.mixed_producers")
    producer_id = producers_in.pop()
    if user.role == "organiser":
        require_producer_access(user, db.session.get(Producer, producer_id))
    fulfilment = Fulfilment(order_id=order.id, producer_id=producer_id, carrier=data["carrier"],
                            tracking_no=data["tracking_no"], status="shipped", created_by_id=user.id,
                            created_at=utcnow())
    db.session.add(fulfilment)
    db.session.flush()
    reference = stock_reference(order)
    for line in sorted(chosen, key=lambda l: l.variant_id):
        qty = line.to_ship
        if not line.is_service and line.location_id is not None:
            ledger.deduct_allocated(line.variant_id, qty, line.location_id, reference=reference, actor=user,
                                   reason=f"shipped {data['carrier']} {data['tracking_no']}")
            line.allocated_quantity = max(0, line.allocated_quantity - qty)
        line.fulfilled_quantity = qty
        db.session.add(FulfilmentLine(fulfilment_id=fulfilment.id, order_line_id=line.id, quantity=qty))
    add_event(order, "fulfilment_created", actor=user, producer_id=producer_id,
              data={"fulfilment_id": fulfilment.id, "carrier": fulfilment.carrier,
                    "tracking_no": fulfilment.tracking_no, "line_ids": [l.id for l in chosen]})
    if all(not l.to_ship for l in order.lines):
        transition(order, "fulfilled", actor=user)
    fire_after_commit("order_fulfilled", order, fulfilment=fulfilment)
    db.session.flush()
    return admin_view(order, user)


def _orders_by_status():
    rows = db.session.execute(select(Order.status, func.count()).group_by(Order.status)).all()
    return [({"status": status}, count) for status, count in rows]


register_database_gauge("ocop_orders", "Orders by status.", _orders_by_status)
