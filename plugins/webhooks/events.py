"""Webhook event types and their payloads.

The core's after-commit hooks map to the event types below; plugins declare more through the
``register_webhook_events(registry)`` hook and emit them with ``plugin_event(name, payload)``.
Payloads carry identifiers, states and amounts (integer VND) — never a shopper's contact details.
"""
from __future__ import annotations

import datetime as dt

from core.clock import VN_TZ
from core.plugins import KindRegistry

CORE_EVENTS = {
    "product.listed": ("Sản phẩm được niêm yết", "A product became listed"),
    "product.delisted": ("Sản phẩm bị gỡ niêm yết", "A product stopped being listed"),
    "certification.changed": ("Chứng nhận OCOP được tạo hoặc đổi trạng thái", "A certification was created or changed status"),
    "certification.expiring": ("Chứng nhận OCOP sắp hết hạn", "A certification expires soon"),
    "stock.changed": ("Tồn kho thay đổi", "Stock changed"),
    "order.created": ("Đơn hàng mới", "An order was placed"),
    "order.paid": ("Đơn hàng đã thanh toán", "An order was paid in full"),
    "order.cancelled": ("Đơn hàng bị huỷ", "An order was cancelled"),
    "order.fulfilled": ("Đơn hàng đã gửi đi (một phần hoặc toàn bộ)", "An order shipped (in part or in full)"),
}
#: sent only by ``POST /admin/v1/webhooks/subscriptions/<id>/ping``
PING = "webhook.ping"
ALL = "*"


def new_registry() -> KindRegistry:
    """A registry holding the core's event types; plugins add theirs through the historic hook."""
    registry = KindRegistry()
    for code, (vi, en) in CORE_EVENTS.items():
        registry.add(code, vi, en)
    return registry


def _iso(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(VN_TZ).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def product_data(product) -> dict:
    return {"id": product.id, "slug": product.slug, "name": product.name, "producer_id": product.producer_id,
            "status": product.status, "is_listed": product.is_listed, "listed_stars": product.listed_stars,
            "listed_until": _iso(product.listed_until)}


def certification_data(cert, previous_status=None) -> dict:
    return {"id": cert.id, "product_id": cert.product_id, "stars": cert.stars, "level": cert.level,
            "status": cert.status, "previous_status": previous_status, "decision_no": cert.decision_no,
            "issued_on": _iso(cert.issued_on), "expires_on": _iso(cert.expires_on)}


def stock_data(stock, movement) -> dict:
    return {"stock_id": stock.id, "variant_id": stock.variant_id, "location_id": stock.location_id,
            "on_hand": stock.on_hand, "allocated": stock.allocated,
            "movement": {"id": movement.id, "kind": movement.kind, "quantity": movement.quantity,
                         "lot_id": movement.lot_id, "reference": movement.reference}}


def order_data(order) -> dict:
    return {"id": order.id, "number": order.number, "status": order.status, "channel_id": order.channel_id,
            "currency": "VND", "subtotal": order.subtotal, "shipping_fee": order.shipping_fee,
            "total": order.total, "paid_amount": order.paid_amount, "refunded_amount": order.refunded_amount,
            "created_at": _iso(order.created_at),
            "lines": [{"id": line.id, "sku": line.sku, "product_id": line.product_id,
                       "producer_id": line.producer_id, "quantity": line.quantity, "unit_price": line.unit_price,
                       "line_total": line.line_total} for line in order.lines]}


def payment_data(payment) -> dict:
    return {"id": payment.id, "gateway": payment.gateway, "amount": payment.amount, "status": payment.status}


def fulfilment_data(fulfilment) -> dict:
    return {"id": fulfilment.id, "producer_id": fulfilment.producer_id, "carrier": fulfilment.carrier,
            "tracking_no": fulfilment.tracking_no, "status": fulfilment.status}
