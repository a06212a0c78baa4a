"""Flat weight-and-zone rates for home delivery.

Each producer ships its own parcel, so a checkout's fee is the sum of one fee
per parcel. A parcel's zone compares the producer's province with the
shipping province (both *current* codes):

* ``intra_province`` — same province;
* ``intra_region`` — same region (north: codes 01–37, centre and highlands:
  38–68, south: 75–96 in the 34-province structure of 2025);
* ``inter_region`` — anything else.

Fee of a parcel = base (first kilogram) + step × every started 500 g above
1 kg, rounded up to 1,000 VND. ``express`` costs ``express_factor`` × standard.
Defaults below; ``OCOP_FLAT_SHIPPING_RATES`` (JSON with the same keys) overrides
them, and ``OCOP_FLAT_SHIPPING_FREE_OVER`` (VND) makes standard delivery free
for checkouts whose subtotal reaches it.
"""
from __future__ import annotations

import json
import math
import os

from core.sales.shipping import ShippingQuote

DEFAULT_RATES = {
    "base": {"intra_province": 20000, "intra_region": 30000, "inter_region": 38000},
    "step_500g": {"intra_province": 2500, "intra_region": 4000, "inter_region": 5000},
    "eta_days": {"intra_province": 2, "intra_region": 3, "inter_region": 5},
    "express_factor": 1.6,
}


def rates() -> dict:
    """The rate table (defaults merged with ``OCOP_FLAT_SHIPPING_RATES``)."""
    table = json.loads(json.dumps(DEFAULT_RATES))
    raw = os.environ.get("OCOP_FLAT_SHIPPING_RATES")
    if raw:
        for key, value in json.loads(raw).items():
            if isinstance(value, dict):
                table.setdefault(key, {}).update(value)
            else:
                table[key] = value
    return table


def region(province_code: str | None) -> str | None:
    """north / centre / south from a current (2025) province code, None when unknown."""
    try:
        code = int(province_code or "")
    except ValueError:
        return None
    if code <= 37:
        return "north"
    if code <= 68:
        return "centre"
    return "south"


def zone(origin: str | None, destination: str | None) -> str:
    """Zone between two current province codes."""
    if origin and origin == destination:
        return "intra_province"
    if region(origin) and region(origin) == region(destination):
        return "intra_region"
    return "inter_region"


def _round_up(value: float, unit: int = 1000) -> int:
    return int(math.ceil(value / unit) * unit)


def parcel_fee(table: dict, parcel_zone: str, weight_g: int) -> int:
    """Standard fee of one parcel."""
    extra_steps = max(0, math.ceil((max(weight_g, 0) - 1000) / 500))
    return _round_up(table["base"][parcel_zone] + extra_steps * table["step_500g"][parcel_zone])


def quote(address: dict) -> list[ShippingQuote]:
    """Standard and express quotes for ``address`` (see :mod:`core.services.shipping`)."""
    table = rates()
    parcels = address.get("parcels") or [{"province_code": None, "weight_g": address.get("weight_g", 0)}]
    standard, eta = 0, 0
    for parcel in parcels:
        z = zone(parcel.get("province_code"), address.get("province_code"))
        standard += parcel_fee(table, z, int(parcel.get("weight_g") or 0))
        eta = max(eta, int(table["eta_days"][z]))
    express = _round_up(standard * float(table["express_factor"]))
    free_over = os.environ.get("OCOP_FLAT_SHIPPING_FREE_OVER")
    if free_over and int(address.get("subtotal") or 0) >= int(free_over):
        standard = 0
    return [
        ShippingQuote("standard", "Giao hàng tiêu chuẩn", "Standard delivery", standard, eta, "flat_shipping"),
        ShippingQuote("express", "Giao hàng nhanh", "Express delivery", express, max(1, eta - 1), "flat_shipping"),
    ]
