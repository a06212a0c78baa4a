"""counter sales are core orders: backfill an order per POS sale, keep only till fields

Every ``sales_point_sale`` without an order gets a core order on its point's
channel (number from the order counter, lines with the price snapshot and
lots, one succeeded counter payment, a handed-over fulfilment per producer,
refunds of its returns/void, history events). No stock movement is written:
the stock left (and came back) when the sale, return or void happened. Then
the till tables lose what the order now holds (money, payment, lines, the
idempotency key) and return lines point to order lines.

Needs the core at ``0006_counter_sales`` or later (``order.client_ref``,
``order_line.returned_quantity``); the core always migrates before plugins.

Revision ID: sp002
Revises: sp001
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "sp002"
down_revision = "sp001"
branch_labels = None
depends_on = None

ID = sa.literal_column("id")  # every table here: RETURNING id
GATEWAYS = {"cash": "counter_cash", "card": "counter_card", "bank_transfer_qr": "counter_transfer"}
METHODS = {gateway: method for method, gateway in GATEWAYS.items()}

# the tables as this revision knows them (never the application's models: they move on)
sale_t = sa.table("sales_point_sale", *(sa.column(c) for c in (
    "id", "number", "sales_point_id", "sales_channel_id", "client_ref", "status", "payment_method",
    "payment_reference", "total", "amount_tendered", "change_due", "order_id", "sold_by_id", "voided_by_id",
    "void_reason")), sa.column("sold_on", sa.Date), sa.column("sold_at", sa.DateTime),
    sa.column("voided_at", sa.DateTime))
sale_line_t = sa.table("sales_point_sale_line", *(sa.column(c) for c in (
    "id", "sale_id", "variant_id", "product_id", "producer_id", "group_code", "sku", "gtin", "name", "unit_price",
    "quantity", "line_total", "returned_quantity")), sa.column("lots", sa.JSON))
return_t = sa.table("sales_point_sale_return", *(sa.column(c) for c in (
    "id", "number", "sale_id", "reason", "restock", "refund_amount", "refund_method", "created_by_id")),
    sa.column("created_at", sa.DateTime))
return_line_t = sa.table("sales_point_sale_return_line", *(sa.column(c) for c in (
    "id", "return_id", "sale_line_id", "order_line_id", "quantity", "amount")))
point_t = sa.table("sales_point", *(sa.column(c) for c in ("id", "code", "stock_location_id")))
channel_t = sa.table("sales_channel", *(sa.column(c) for c in ("id", "name")))
variant_t = sa.table("variant", *(sa.column(c) for c in ("id", "name", "gtin")))
product_t = sa.table("product", *(sa.column(c) for c in ("id", "group_code")))
stock_t = sa.table("stock", *(sa.column(c) for c in ("id", "location_id", "variant_id")))
lot_t = sa.table("stock_lot", *(sa.column(c) for c in ("id", "stock_id", "lot_no")))
counter_t = sa.table("order_number_counter", sa.column("year"), sa.column("value"))
order_t = sa.table("order", *(sa.column(c) for c in (
    "id", "number", "token", "channel_id", "client_ref", "status", "delivery_method", "delivery_name",
    "payment_gateway", "subtotal", "shipping_fee", "total", "paid_amount", "refunded_amount", "cancel_reason")),
    *(sa.column(c, sa.DateTime) for c in ("created_at", "updated_at", "paid_at", "fulfilled_at", "completed_at")))
order_line_t = sa.table("order_line", *(sa.column(c) for c in (
    "id", "order_id", "variant_id", "product_id", "producer_id", "product_name", "variant_name", "sku", "unit_price",
    "quantity", "line_total", "is_service", "location_id", "allocated_quantity", "fulfilled_quantity",
    "returned_quantity")), sa.column("allocations", sa.JSON))
payment_t = sa.table("payment", *(sa.column(c) for c in (
    "id", "order_id", "gateway", "amount", "status", "external_id", "refunded_amount")),
    sa.column("client_data", sa.JSON),
    *(sa.column(c, sa.DateTime) for c in ("created_at", "updated_at", "succeeded_at")))
fulfilment_t = sa.table("fulfilment", *(sa.column(c) for c in (
    "id", "order_id", "producer_id", "carrier", "tracking_no", "status", "created_by_id")),
    sa.column("created_at", sa.DateTime))
fulfilment_line_t = sa.table("fulfilment_line", *(sa.column(c) for c in (
    "id", "fulfilment_id", "order_line_id", "quantity")))
refund_t = sa.table("refund", *(sa.column(c) for c in (
    "id", "order_id", "payment_id", "amount", "reason", "status", "actor_id")), sa.column("created_at", sa.DateTime))
event_t = sa.table("order_event", *(sa.column(c) for c in (
    "id", "order_id", "kind", "status_before", "status_after", "actor_id", "producer_id", "message")),
    sa.column("data", sa.JSON), sa.column("created_at", sa.DateTime))


def upgrade():
    conn = op.get_bind()
    order_line_of = _backfill_orders(conn)
    order_line_of.update(_linked_order_lines(conn))
    with op.batch_alter_table("sales_point_sale_return_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_line_id", sa.Integer(), nullable=True))
    for sale_line_id, order_line_id in order_line_of.items():
        conn.execute(return_line_t.update().where(return_line_t.c.sale_line_id == sale_line_id)
                     .values(order_line_id=order_line_id))
    with op.batch_alter_table("sales_point_sale_return_line", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_sales_point_sale_return_line_sale_line_id"))
        batch_op.drop_constraint(op.f("fk_sales_point_sale_return_line_sale_line_id_sales_point_sale_line"),
                                 type_="foreignkey")
        batch_op.drop_column("sale_line_id")
        batch_op.alter_column("order_line_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(op.f("fk_sales_point_sale_return_line_order_line_id_order_line"), "order_line",
                                    ["order_line_id"], ["id"])
        batch_op.create_index(op.f("ix_sales_point_sale_return_line_order_line_id"), ["order_line_id"], unique=False)
    with op.batch_alter_table("sales_point_sale", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_sales_point_sale_sales_channel_id"))
        batch_op.drop_constraint(op.f("uq_sales_point_sale_client_ref"), type_="unique")
        batch_op.drop_constraint(op.f("fk_sales_point_sale_sales_channel_id_sales_channel"), type_="foreignkey")
        for column in ("sales_channel_id", "client_ref", "payment_method", "payment_reference", "total",
                       "amount_tendered", "change_due"):
            batch_op.drop_column(column)
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_sales_point_sale_order_id"), ["order_id"])
        batch_op.create_foreign_key(op.f("fk_sales_point_sale_order_id_order"), "order", ["order_id"], ["id"])
    with op.batch_alter_table("sales_point_sale_line", schema=None) as batch_op:
        for column in ("producer_id", "product_id", "sale_id", "variant_id"):
            batch_op.drop_index(op.f(f"ix_sales_point_sale_line_{column}"))
    op.drop_table("sales_point_sale_line")


# --- backfill ---------------------------------------------------------------------------------
def _backfill_orders(conn) -> dict[int, int]:
    """A core order for every POS sale without one; returns ``{sale line id: order line id}``."""
    sales = conn.execute(sa.select(sale_t).where(sale_t.c.order_id.is_(None)).order_by(sale_t.c.id)).mappings().all()
    if not sales:
        return {}
    points = {p.id: p for p in conn.execute(sa.select(point_t)).mappings()}
    channels = {c.id: c.name for c in conn.execute(sa.select(channel_t)).mappings()}
    lines_of = defaultdict(list)
    for line in conn.execute(sa.select(sale_line_t).order_by(sale_line_t.c.id)).mappings():
        lines_of[line.sale_id].append(line)
    returns_of = defaultdict(list)
    for ret in conn.execute(sa.select(return_t).order_by(return_t.c.id)).mappings():
        returns_of[ret.sale_id].append(ret)
    variant_names = dict(conn.execute(sa.select(variant_t.c.id, variant_t.c.name)).all())
    lots = {(location, variant, lot_no): (stock_id, lot_id) for location, variant, stock_id, lot_id, lot_no in
            conn.execute(sa.select(stock_t.c.location_id, stock_t.c.variant_id, stock_t.c.id, lot_t.c.id,
                                   lot_t.c.lot_no).join(lot_t, lot_t.c.stock_id == stock_t.c.id))}
    numbers = _Numbers(conn)
    order_line_of: dict[int, int] = {}
    for sale in sales:
        order_line_of.update(_backfill_sale(conn, sale, points[sale.sales_point_id], channels, lines_of[sale.id],
                                            returns_of[sale.id], variant_names, lots, numbers))
    numbers.save()
    return order_line_of


def _linked_order_lines(conn) -> dict[int, int]:
    """``{sale line id: order line id}`` of sales that already had an order (one line per variant on both)."""
    rows = conn.execute(sa.select(sale_line_t.c.id, order_line_t.c.id)
                        .join(sale_t, sale_t.c.id == sale_line_t.c.sale_id)
                        .join(order_line_t, sa.and_(order_line_t.c.order_id == sale_t.c.order_id,
                                                    order_line_t.c.variant_id == sale_line_t.c.variant_id))).all()
    return dict(rows)


class _Numbers:
    """Order numbers ``OCOP-<year>-<n>`` from the per-year counter, written back once at the end."""

    def __init__(self, conn):
        self.conn = conn
        self.values = dict(conn.execute(sa.select(counter_t.c.year, counter_t.c.value)).all())
        self.known = set(self.values)

    def take(self, year: int) -> str:
        self.values[year] = self.values.get(year, 0) + 1
        return f"OCOP-{year}-{self.values[year]:06d}"

    def save(self) -> None:
        for year, value in self.values.items():
            if year in self.known:
                self.conn.execute(counter_t.update().where(counter_t.c.year == year).values(value=value))
            else:
                self.conn.execute(counter_t.insert().values(year=year, value=value))


def _backfill_sale(conn, sale, point, channels, lines, returns, variant_names, lots, numbers) -> dict[int, int]:
    sold_at = sale.sold_at or dt.datetime.combine(sale.sold_on, dt.time(5, 0))  # 12:00 in Vietnam
    voided = sale.status == "voided"
    returned = sum(r.refund_amount for r in returns)
    refunded = sale.total if voided else returned
    status = "refunded" if refunded >= sale.total else "completed"
    gateway = GATEWAYS.get(sale.payment_method, "counter_cash")
    number = numbers.take(sale.sold_on.year)
    order_id = conn.execute(order_t.insert().values(
        number=number, token=secrets.token_urlsafe(24), channel_id=sale.sales_channel_id, client_ref=sale.client_ref,
        status=status, delivery_method="counter", delivery_name=channels.get(sale.sales_channel_id),
        payment_gateway=gateway, subtotal=sale.total, shipping_fee=0, total=sale.total, paid_amount=sale.total,
        refunded_amount=refunded, cancel_reason=f"{sale.number}: {sale.void_reason}"[:500] if voided else None,
        created_at=sold_at,
        updated_at=sale.voided_at or sold_at, paid_at=sold_at, fulfilled_at=sold_at, completed_at=sold_at).returning(ID)
    ).scalar_one()
    order_line_of, by_producer = {}, defaultdict(list)
    for line in lines:
        variant_name = variant_names.get(line.variant_id, "")
        suffix = f" – {variant_name}"
        product_name = line.name[:-len(suffix)] if variant_name and line.name.endswith(suffix) else line.name
        allocations = []
        for lot in line.lots or []:
            stock_id, lot_id = lots.get((point.stock_location_id, line.variant_id, lot["lot_no"] or ""), (None, None))
            allocations.append({"location_id": point.stock_location_id, "stock_id": stock_id, "lot_id": lot_id,
                                "lot_no": lot["lot_no"] or "", "best_before": lot["best_before"],
                                "quantity": lot["quantity"]})
        order_line_id = conn.execute(order_line_t.insert().values(
            order_id=order_id, variant_id=line.variant_id, product_id=line.product_id, producer_id=line.producer_id,
            product_name=product_name[:300], variant_name=variant_name[:200], sku=line.sku,
            unit_price=line.unit_price, quantity=line.quantity, line_total=line.line_total, is_service=False,
            location_id=point.stock_location_id, allocations=allocations, allocated_quantity=0,
            fulfilled_quantity=line.quantity, returned_quantity=line.returned_quantity).returning(ID)).scalar_one()
        order_line_of[line.id] = order_line_id
        by_producer[line.producer_id].append((order_line_id, line.quantity))
    cash = {"tendered": sale.amount_tendered, "change": sale.change_due} if sale.payment_method == "cash" else {}
    payment_id = conn.execute(payment_t.insert().values(
        order_id=order_id, gateway=gateway, amount=sale.total,
        status="refunded" if refunded >= sale.total else ("partially_refunded" if refunded else "succeeded"),
        external_id=sale.payment_reference, client_data=cash, refunded_amount=refunded, created_at=sold_at,
        updated_at=sold_at, succeeded_at=sold_at).returning(ID)).scalar_one()
    for producer_id, handed in sorted(by_producer.items()):
        fulfilment_id = conn.execute(fulfilment_t.insert().values(
            order_id=order_id, producer_id=producer_id, carrier="counter", tracking_no=number, status="handed_over",
            created_by_id=sale.sold_by_id, created_at=sold_at).returning(ID)).scalar_one()
        for order_line_id, quantity in handed:
            conn.execute(fulfilment_line_t.insert().values(fulfilment_id=fulfilment_id, order_line_id=order_line_id,
                                                           quantity=quantity))
    backfilled = {"sales_point_sale": sale.number, "backfilled": True}
    _event(conn, order_id, "placed", None, "unconfirmed", sale.sold_by_id, sold_at,
           {**backfilled, "total": sale.total, **({"client_ref": sale.client_ref} if sale.client_ref else {})})
    _event(conn, order_id, "completed", "unconfirmed", "completed", sale.sold_by_id, sold_at,
           {**backfilled, "payment_id": payment_id, "gateway": gateway})
    for ret in returns:
        if ret.refund_amount:
            conn.execute(refund_t.insert().values(order_id=order_id, payment_id=payment_id, amount=ret.refund_amount,
                                                  reason=f"{ret.number}: {ret.reason}"[:500], status="succeeded",
                                                  actor_id=ret.created_by_id, created_at=ret.created_at))
        _event(conn, order_id, "counter_return", None, None, ret.created_by_id, ret.created_at,
               {**backfilled, "amount": ret.refund_amount, "restock": bool(ret.restock),
                "refund_method": ret.refund_method}, message=ret.reason)
    if voided:
        conn.execute(refund_t.insert().values(order_id=order_id, payment_id=payment_id, amount=sale.total,
                                              reason=f"{sale.number}: {sale.void_reason}"[:500], status="succeeded",
                                              actor_id=sale.voided_by_id, created_at=sale.voided_at))
    if status == "refunded":
        _event(conn, order_id, "counter_sale_voided" if voided else "refunded", "completed", "refunded",
               sale.voided_by_id if voided else None, sale.voided_at or sold_at, {**backfilled, "amount": refunded},
               message=sale.void_reason if voided else None)
    conn.execute(sale_t.update().where(sale_t.c.id == sale.id).values(order_id=order_id))
    return order_line_of


def _event(conn, order_id, kind, before, after, actor_id, at, data, message=None) -> None:
    conn.execute(event_t.insert().values(order_id=order_id, kind=kind, status_before=before, status_after=after,
                                         actor_id=actor_id, data=data, message=message, created_at=at))


# --- downgrade: the till tables hold the sale again (the core orders stay) --------------------------
def downgrade():
    conn = op.get_bind()
    op.create_table(
        "sales_point_sale_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("group_code", sa.String(length=60), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("unit_price", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("line_total", sa.Integer(), nullable=False),
        sa.Column("returned_quantity", sa.Integer(), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_sales_point_sale_line_quantity_positive")),
        sa.CheckConstraint("returned_quantity >= 0 AND returned_quantity <= quantity",
                           name=op.f("ck_sales_point_sale_line_returned_within_quantity")),
        sa.ForeignKeyConstraint(["producer_id"], ["producer.id"],
                                name=op.f("fk_sales_point_sale_line_producer_id_producer")),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"],
                                name=op.f("fk_sales_point_sale_line_product_id_product")),
        sa.ForeignKeyConstraint(["sale_id"], ["sales_point_sale.id"],
                                name=op.f("fk_sales_point_sale_line_sale_id_sales_point_sale"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["variant_id"], ["variant.id"],
                                name=op.f("fk_sales_point_sale_line_variant_id_variant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_point_sale_line")),
        info={"component": "sales_points"},
    )
    with op.batch_alter_table("sales_point_sale_line", schema=None) as batch_op:
        for column in ("producer_id", "product_id", "sale_id", "variant_id"):
            batch_op.create_index(op.f(f"ix_sales_point_sale_line_{column}"), [column], unique=False)
    with op.batch_alter_table("sales_point_sale", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_sales_point_sale_order_id_order"), type_="foreignkey")
        batch_op.drop_constraint(op.f("uq_sales_point_sale_order_id"), type_="unique")
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("sales_channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("client_ref", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("payment_method", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("amount_tendered", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("change_due", sa.Integer(), nullable=True))
    with op.batch_alter_table("sales_point_sale_return_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sale_line_id", sa.Integer(), nullable=True))
    _restore_sales(conn)
    with op.batch_alter_table("sales_point_sale_return_line", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_sales_point_sale_return_line_order_line_id"))
        batch_op.drop_constraint(op.f("fk_sales_point_sale_return_line_order_line_id_order_line"), type_="foreignkey")
        batch_op.drop_column("order_line_id")
        batch_op.alter_column("sale_line_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(op.f("fk_sales_point_sale_return_line_sale_line_id_sales_point_sale_line"),
                                    "sales_point_sale_line", ["sale_line_id"], ["id"])
        batch_op.create_index(op.f("ix_sales_point_sale_return_line_sale_line_id"), ["sale_line_id"], unique=False)
    with op.batch_alter_table("sales_point_sale", schema=None) as batch_op:
        for column, type_ in (("sales_channel_id", sa.Integer()), ("payment_method", sa.String(length=20)),
                              ("total", sa.Integer())):
            batch_op.alter_column(column, existing_type=type_, nullable=False)
        batch_op.create_foreign_key(op.f("fk_sales_point_sale_sales_channel_id_sales_channel"), "sales_channel",
                                    ["sales_channel_id"], ["id"])
        batch_op.create_unique_constraint(op.f("uq_sales_point_sale_client_ref"), ["sales_point_id", "client_ref"])
        batch_op.create_index(op.f("ix_sales_point_sale_sales_channel_id"), ["sales_channel_id"], unique=False)


def _restore_sales(conn) -> None:
    """Copy each sale's order back into the till tables (lines, payment, totals)."""
    groups = dict(conn.execute(sa.select(product_t.c.id, product_t.c.group_code)).all())
    gtins = dict(conn.execute(sa.select(variant_t.c.id, variant_t.c.gtin)).all())
    sale_line_of: dict[int, int] = {}
    for sale_id, order_id in conn.execute(sa.select(sale_t.c.id, sale_t.c.order_id)).all():
        order = conn.execute(sa.select(order_t).where(order_t.c.id == order_id)).mappings().one()
        payment = conn.execute(sa.select(payment_t).where(payment_t.c.order_id == order_id)
                               .order_by(payment_t.c.id)).mappings().first()
        cash = (payment.client_data or {}) if payment is not None else {}
        conn.execute(sale_t.update().where(sale_t.c.id == sale_id).values(
            sales_channel_id=order.channel_id, client_ref=order.client_ref,
            payment_method=METHODS.get(payment.gateway, "cash") if payment is not None else "cash",
            payment_reference=payment.external_id if payment is not None else None, total=order.total,
            amount_tendered=cash.get("tendered"), change_due=cash.get("change")))
        for line in conn.execute(sa.select(order_line_t).where(order_line_t.c.order_id == order_id)
                                 .order_by(order_line_t.c.id)).mappings():
            sale_line_of[line.id] = conn.execute(sale_line_t.insert().values(
                sale_id=sale_id, variant_id=line.variant_id, product_id=line.product_id, producer_id=line.producer_id,
                group_code=groups.get(line.product_id, ""), sku=line.sku, gtin=gtins.get(line.variant_id),
                name=f"{line.product_name} – {line.variant_name}", unit_price=line.unit_price,
                quantity=line.quantity, line_total=line.line_total, returned_quantity=line.returned_quantity,
                lots=[{"lot_no": lot["lot_no"] or None, "best_before": lot["best_before"], "quantity": lot["quantity"]}
                      for lot in line.allocations or []]).returning(ID)).scalar_one()
    for order_line_id, sale_line_id in sale_line_of.items():
        conn.execute(return_line_t.update().where(return_line_t.c.order_line_id == order_line_id)
                     .values(sale_line_id=sale_line_id))
