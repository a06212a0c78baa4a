"""Marketplace orders → core orders on channel ``marketplace:<code>``, all or nothing per file or webhook call.

Each marketplace order id becomes one core order (``Order.client_ref`` = the marketplace's id, unique per
channel, and a :class:`MarketplaceOrder` link unique per marketplace), so importing the same export twice
or replaying a webhook creates nothing new. Stock is allocated at the producer's warehouses; later
statuses map onto the core transitions (shipped → fulfilled, delivered → completed, cancelled →
cancelled with stock released, returned → refunded). When a campaign (a core promotion on the marketplace
channel) priced a line as the marketplace charged it, its usage is recorded so the core promotion reports
count the order. Any refused order refuses the whole batch: 422 with the per-row report, nothing written.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core import clock
from core.catalogue.models import Product, Variant
from core.db import db, savepoint, utcnow
from core.errors import DomainError
from core.inventory import ledger
from core.pricing import resolver, usage
from core.sales import order_payments, orders, placement
from core.sales.checkout import new_token
from core.sales.models import Fulfilment, FulfilmentLine, Order, OrderLine
from plugins.marketplace_feeds.models import Marketplace, MarketplaceOrder, MarketplaceProducer, OrderImport
from plugins.marketplace_feeds.order_files import OrderRecord

DELIVERY_METHOD = "marketplace"
#: from the stored status, the statuses an update may bring
NEXT = {"new": ("shipped", "delivered", "cancelled", "returned"), "shipped": ("delivered", "returned"),
        "delivered": ("returned",), "cancelled": (), "returned": ()}
#: statuses an order passed through on its way to the stored one: a row with one of them is from an older export
BEHIND = {"new": (), "shipped": ("new",), "delivered": ("new", "shipped"), "cancelled": ("new",),
          "returned": ("new", "shipped", "delivered")}


class Refused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def import_records(user, marketplace: Marketplace, records: list[OrderRecord], *, source: str,
                   filename: str | None, raw: bytes) -> OrderImport:
    """Apply every record or none; returns the stored import with its per-row report. Flushes."""
    if not marketplace.active:
        raise DomainError("marketplace.inactive", "Sàn đã ngừng hoạt động.", "The marketplace is inactive.",
                          status=409)
    report, counts = [], defaultdict(int)
    for record in records:
        try:
            with savepoint():
                outcome, order = _apply(user, marketplace, record, source)
        except Refused as exc:
            outcome, order, reason = "refused", None, exc.reason
        except DomainError as exc:
            outcome, order, reason = "refused", None, f"{exc.code}: {exc.message_en}"
        except IntegrityError:  # the same marketplace order imported concurrently: the other import has it
            outcome, order, reason = "refused", None, "imported concurrently by another request; import again"
        else:
            reason = None
        counts[outcome] += 1
        for row in record.rows:
            report.append({"row": row, "order_id": record.order_id, "outcome": outcome, "reason": reason,
                           "order_number": order.number if order is not None else None})
    if counts["refused"]:
        # a per-row report (data, not field messages): a plain 422 keeps its values as they are
        raise DomainError("marketplace_import.refused",
                          f"{counts['refused']} đơn hàng bị từ chối; không đơn nào được nhập.",
                          f"{counts['refused']} orders refused; nothing was imported.", {"rows": report}, status=422)
    batch = OrderImport(marketplace_id=marketplace.id, source=source, filename=filename,
                        sha256=hashlib.sha256(raw).hexdigest(), created=counts["created"], updated=counts["updated"],
                        duplicate=counts["duplicate"], rows=report, created_by_id=getattr(user, "id", None),
                        created_at=utcnow())
    db.session.add(batch)
    db.session.flush()
    return batch


def _apply(user, marketplace: Marketplace, record: OrderRecord, source: str) -> tuple[str, Order | None]:
    if record.problems:
        raise Refused("; ".join(record.problems))
    link = db.session.execute(select(MarketplaceOrder).where(
        MarketplaceOrder.marketplace_id == marketplace.id,
        MarketplaceOrder.external_id == record.order_id)).scalar_one_or_none()
    if link is None:
        order = _place(user, marketplace, record)
        link = MarketplaceOrder(marketplace_id=marketplace.id, external_id=record.order_id, order_id=order.id,
                                status="new", source=source, created_at=utcnow(), updated_at=utcnow())
        db.session.add(link)
        _advance(user, marketplace, link, order, record)
        db.session.flush()
        return "created", order
    order = orders.lock_order(db.session.get(Order, link.order_id))
    if record.status == link.status or record.status in BEHIND[link.status]:  # the same export again, or older
        return "duplicate", order
    _advance(user, marketplace, link, order, record)
    db.session.flush()
    return "updated", order


# --- a new order ------------------------------------------------------------------------------
def _variants(marketplace: Marketplace, record: OrderRecord) -> dict[str, Variant]:
    skus = {line.sku for line in record.lines}
    found = {v.sku: v for v in db.session.execute(select(Variant).options(selectinload(Variant.product)
                                                                          .selectinload(Product.producer))
                                                  .where(Variant.sku.in_(skus))).scalars()}
    present = set(db.session.execute(select(MarketplaceProducer.producer_id).where(
        MarketplaceProducer.marketplace_id == marketplace.id)).scalars())
    for sku in skus:
        variant = found.get(sku)
        if variant is None:
            raise Refused(f"unknown SKU {sku}")
        if variant.product.producer_id not in present:
            raise Refused(f"SKU {sku}: its producer does not sell on {marketplace.code}")
    return found


def _place(user, marketplace: Marketplace, record: OrderRecord) -> Order:
    """Write the core order (confirmed), its lines at the marketplace's prices and their allocations."""
    variants = _variants(marketplace, record)
    merged: dict[str, list[int]] = {}
    for line in record.lines:  # one order line per SKU (a file may split a SKU over rows)
        entry = merged.setdefault(line.sku, [0, line.unit_price])
        entry[0] += line.quantity
    total = sum(q * price for q, price in merged.values())
    now = utcnow()
    order = Order(number=orders.reserve_number(), token=new_token(), channel_id=marketplace.sales_channel_id,
                  client_ref=record.order_id, status="unconfirmed", delivery_method=DELIVERY_METHOD,
                  delivery_name=marketplace.name, full_name=record.buyer_name, phone=record.phone,
                  street=(record.address or None) and record.address[:300], subtotal=total, shipping_fee=0,
                  total=total, paid_amount=0, refunded_amount=0, created_at=now, updated_at=now)
    db.session.add(order)
    db.session.flush()
    orders.add_event(order, "placed", actor=user, status_after="unconfirmed",
                     data={"channel": f"marketplace:{marketplace.code}", "marketplace_order_id": record.order_id,
                           "total": total})
    channel = f"marketplace:{marketplace.code}"
    at = clock.now()  # the pricing moment (follows OCOP_TODAY when pinned)
    cart = resolver.price_lines([(variants[sku].id, q) for sku, (q, _) in merged.items()], channel, at=at)
    campaign_priced = {sku for sku, (_, price) in merged.items() if cart.line(variants[sku].id).unit_price == price}
    reference = orders.stock_reference(order)
    for sku, (quantity, price) in sorted(merged.items(), key=lambda kv: variants[kv[0]].id):
        variant = variants[sku]
        allocations = []
        if not variant.is_service and record.status != "cancelled":
            allocations = ledger.allocate(variant, quantity, reference=reference, actor=user)
        priced = cart.line(variant.id)
        db.session.add(OrderLine(
            order_id=order.id, variant_id=variant.id, product_id=variant.product_id,
            producer_id=variant.product.producer_id, product_name=variant.product.name, variant_name=variant.name,
            sku=sku, unit_price=price, quantity=quantity, line_total=price * quantity,
            is_service=variant.is_service, location_id=allocations[0].location_id if allocations else None,
            allocations=[{"location_id": a.location_id, "stock_id": a.stock_id, "lot_id": a.lot_id,
                          "lot_no": a.lot_no, "quantity": a.quantity} for a in allocations] or None,
            allocated_quantity=sum(a.quantity for a in allocations), fulfilled_quantity=0, returned_quantity=0,
            base_unit_price=priced.base_unit_price,
            discount_amount=(priced.base_unit_price - price) * quantity if price < priced.base_unit_price else 0,
            discounts=priced.snapshot() if sku in campaign_priced else None))
    db.session.flush()
    db.session.refresh(order)
    _record_campaign_usage(cart, [variants[sku].id for sku in campaign_priced], channel, at, reference)
    placement.attribute(order)
    orders.transition(order, "confirmed", actor=user, data={"marketplace": marketplace.code})
    orders.fire_after_commit("order_created", order)
    return order


def _record_campaign_usage(cart, variant_ids: list[int], channel: str, at, reference: str) -> None:
    """The lines sold at the campaign's price count in the core promotion usage (its report's GMV, orders)."""
    lines = [(line.variant_id, line.quantity) for line in cart.lines
             if line.variant_id in variant_ids and line.discounts]
    if lines:
        usage.reserve_cart(resolver.price_lines(lines, channel, at=at), reference)


# --- status updates ---------------------------------------------------------------------------
def _advance(user, marketplace: Marketplace, link: MarketplaceOrder, order: Order, record: OrderRecord) -> None:
    """Move the order from its stored status to the record's through the core transitions."""
    current, target = link.status, record.status
    if target == current:
        return
    if target not in NEXT[current]:
        raise Refused(f"status cannot go from {current} to {target}")
    note = {"marketplace_status": record.status_word}
    if target == "cancelled":
        order_payments.cancel_order(None, order.id, reason=f"{marketplace.code}: {record.status_word}"[:500])
    else:
        if current == "new":
            _ship(user, marketplace, order, record.tracking_no or record.order_id)
        if target == "delivered":
            orders.transition(order, "completed", actor=user, data=note)
        elif target == "returned":
            orders.transition(order, "refunded", actor=user, data=note)
    link.status, link.updated_at = target, utcnow()


def _ship(user, marketplace: Marketplace, order: Order, tracking_no: str) -> None:
    """One fulfilment per producer with the marketplace as carrier; allocated stock leaves the ledger."""
    reference = orders.stock_reference(order)
    by_producer: dict[int, list[OrderLine]] = defaultdict(list)
    for line in order.lines:
        if line.fulfilled_quantity < line.quantity:
            by_producer[line.producer_id].append(line)
    for producer_id, lines in sorted(by_producer.items()):
        fulfilment = Fulfilment(order_id=order.id, producer_id=producer_id, carrier=marketplace.name[:100],
                                tracking_no=tracking_no[:100], status="shipped", created_by_id=getattr(user, "id", None),
                                created_at=utcnow())
        db.session.add(fulfilment)
        db.session.flush()
        for line in sorted(lines, key=lambda l: l.variant_id):
            quantity = line.quantity - line.fulfilled_quantity
            if not line.is_service and line.location_id is not None:
                ledger.deduct_allocated(line.variant_id, quantity, line.location_id, reference=reference, actor=user,
                                        reason=f"{marketplace.code} {tracking_no}"[:500])
                line.allocated_quantity = max(0, line.allocated_quantity - quantity)
            line.fulfilled_quantity = line.quantity
            db.session.add(FulfilmentLine(fulfilment_id=fulfilment.id, order_line_id=line.id, quantity=quantity))
        orders.add_event(order, "fulfilment_created", actor=user, producer_id=producer_id,
                         data={"fulfilment_id": fulfilment.id, "carrier": fulfilment.carrier,
                               "tracking_no": fulfilment.tracking_no})
        orders.fire_after_commit("order_fulfilled", order, fulfilment=fulfilment)
    orders.transition(order, "fulfilled", actor=user)
