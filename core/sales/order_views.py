"""How an order is shown: to the shopper (by token) and to admins, organisers and producers (their own lines)."""
from __future__ import annotations

import time

from sqlalchemy import select

from core.accounts.models import User
from core.catalogue.models import Producer
from core.db import db
from core.geo.models import AdministrativeUnit
from core.geo.units import current_unit, province_of
from core.sales.models import Fulfilment, Order, OrderLine


def payment_status(order: Order) -> str:
    """``unpaid``, ``paid``, ``partially_refunded`` or ``refunded`` from the order's amounts."""
    if order.refunded_amount and order.refunded_amount >= order.paid_amount > 0:
        return "refunded"
    if order.refunded_amount:
        return "partially_refunded"
    if order.total and order.paid_amount >= order.total:
        return "paid"
    if order.paid_amount:
        return "partially_paid"
    return "unpaid"


UNIT_CACHE_SECONDS = 60.0
_unit_cache: dict[str, tuple[float, dict | None]] = {}


def unit_info(code: str | None) -> dict | None:
    """``{code, name, level, current_code, province_code}`` of an administrative unit, cached per process.

    ``current_code`` follows successors of retired units; ``province_code`` is
    the current province the unit belongs to. Units change only when the
    administrative structure is reloaded, so a short cache (one minute) saves
    the checkout's hot path several queries. Unknown codes give None.
    """
    if not code:
        return None
    now = time.monotonic()
    hit = _unit_cache.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    unit = db.session.get(AdministrativeUnit, code)
    info = None
    if unit is not None:
        info = {"code": unit.code, "name": unit.name, "level": unit.level,
                "current_code": current_unit(unit).code, "province_code": province_of(unit).code}
    if len(_unit_cache) > 10_000:
        _unit_cache.clear()
    _unit_cache[code] = (now + UNIT_CACHE_SECONDS, info)
    return info


def _unit(code: str | None) -> dict | None:
    info = unit_info(code)
    if not code:
        return None
    return {"code": code, "name": info["name"] if info else None}


def address_view(obj) -> dict | None:
    """The shipping address of a checkout or order with unit names."""
    if not obj.commune_code:
        return None
    return {"province": _unit(obj.province_code), "district": _unit(obj.district_code),
            "commune": _unit(obj.commune_code), "street": obj.street}


def _producers(ids) -> dict[int, Producer]:
    ids = set(ids)
    if not ids:
        return {}
    return {p.id: p for p in db.session.execute(select(Producer).where(Producer.id.in_(ids))).scalars()}


def line_view(line: OrderLine, producers: dict[int, Producer]) -> dict:
    producer = producers.get(line.producer_id)
    return {"id": line.id, "variant_id": line.variant_id, "sku": line.sku, "product_name": line.product_name,
            "variant_name": line.variant_name, "unit_price": line.unit_price, "quantity": line.quantity,
            "base_unit_price": line.base_unit_price if line.base_unit_price is not None else line.unit_price,
            "discount_amount": line.discount_amount or 0, "discounts": line.discounts or [],
            "line_total": line.line_total, "is_service": line.is_service,
            "producer": {"id": line.producer_id, "slug": producer.slug if producer else None,
                         "name": producer.name if producer else None},
            "location_id": line.location_id, "fulfilled_quantity": line.fulfilled_quantity,
            "returned_quantity": line.returned_quantity or 0}


def payment_view(payment, *, with_client_data: bool = True) -> dict:
    return {"id": payment.id, "gateway": payment.gateway, "amount": payment.amount, "status": payment.status,
            "external_id": payment.external_id, "transfer_reference": payment.transfer_reference,
            "refunded_amount": payment.refunded_amount,
            "client_data": (payment.client_data or {}) if with_client_data else None,
            "created_at": payment.created_at}


def fulfilment_view(fulfilment: Fulfilment) -> dict:
    return {"id": fulfilment.id, "producer_id": fulfilment.producer_id, "carrier": fulfilment.carrier,
            "tracking_no": fulfilment.tracking_no, "status": fulfilment.status,
            "lines": [{"order_line_id": fl.order_line_id, "quantity": fl.quantity} for fl in fulfilment.lines],
            "created_at": fulfilment.created_at}


def shopper_view(order: Order, lines: list[OrderLine] | None = None,
                 producers: dict[int, Producer] | None = None) -> dict:
    """What the shopper sees through the order token."""
    lines = order.lines if lines is None else lines
    if producers is None:
        producers = _producers(line.producer_id for line in lines)
    return {
        "number": order.number, "token": order.token, "status": order.status,
        "payment_status": payment_status(order), "payment_gateway": order.payment_gateway,
        "created_at": order.created_at,
        "contact": {"email": order.email, "phone": order.phone, "full_name": order.full_name},
        "shipping_address": address_view(order),
        "delivery": {"method": order.delivery_method, "name": order.delivery_name, "fee": order.shipping_fee,
                     "pickup_location_id": order.pickup_location_id},
        "lines": [line_view(line, producers) for line in lines],
        "subtotal": order.subtotal, "discount_amount": order.discount_amount or 0,
        "voucher_codes": order.voucher_codes or [], "shipping_fee": order.shipping_fee, "total": order.total,
        "paid_amount": order.paid_amount, "refunded_amount": order.refunded_amount, "currency": "VND",
        "payments": [payment_view(p) for p in order.payments if p.status != "cancelled"],
        "fulfilments": [fulfilment_view(f) for f in order.fulfilments],
    }


def admin_view(order: Order, user: User, brief: bool = False) -> dict:
    """The admin representation; a producer user gets only its own lines and shipments, no order totals."""
    own_only = user.role == "producer"
    lines = [l for l in order.lines if not own_only or l.producer_id == user.producer_id]
    producers = _producers(l.producer_id for l in lines)
    data = {
        "id": order.id, "number": order.number, "status": order.status, "payment_status": payment_status(order),
        "payment_gateway": order.payment_gateway, "channel_id": order.channel_id, "created_at": order.created_at,
        "contact": {"email": order.email, "phone": order.phone, "full_name": order.full_name},
        "shipping_address": address_view(order),
        "delivery": {"method": order.delivery_method, "name": order.delivery_name,
                     "fee": None if own_only else order.shipping_fee,
                     "pickup_location_id": order.pickup_location_id},
        "lines": [line_view(l, producers) for l in lines],
        "lines_total": sum(l.line_total for l in lines),
        "subtotal": None if own_only else order.subtotal,
        "discount_amount": None if own_only else (order.discount_amount or 0),
        "voucher_codes": None if own_only else (order.voucher_codes or []),
        "shipping_fee": None if own_only else order.shipping_fee,
        "total": None if own_only else order.total,
        "paid_amount": None if own_only else order.paid_amount,
        "refunded_amount": None if own_only else order.refunded_amount,
        "currency": "VND",
        "attribution": None if own_only else order.attribution,
        "cancel_reason": order.cancel_reason,
    }
    if not brief:
        data["token"] = None if own_only else order.token
        data["payments"] = [] if own_only else [payment_view(p, with_client_data=False) for p in order.payments]
        data["fulfilments"] = [fulfilment_view(f) for f in order.fulfilments
                               if not own_only or f.producer_id == user.producer_id]
    return data
