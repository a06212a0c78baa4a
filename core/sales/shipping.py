"""Delivery methods of a checkout: home delivery quoted by plugins, or pickup at a stock location.

Home-delivery methods and their fees come from the ``shipping_methods(checkout,
address)`` hook (the built-in ``flat_shipping`` plugin quotes a flat
weight-and-zone rate; a carrier plugin can quote real fees). The core adds
``pickup``: the shopper collects the order at an active stock location that
holds every line (fee 0; stock is allocated at that location).

The ``address`` handed to the hook is a plain dict::

    {"province_code": "75",            # the *current* province (retired codes resolved)
     "commune_code": "26188",          # the current commune
     "district_code": None,            # as given (pre-2025 addresses only)
     "weight_g": 3500,                 # whole checkout, grams
     "subtotal": 400000,               # VND
     "parcels": [{"producer_id": 2, "province_code": "75", "weight_g": 2400, "subtotal": 130000}, …]}

Each producer ships its own lines, so ``parcels`` lists one parcel per producer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from core.errors import DomainError
from core.plugins import hooks

PICKUP = "pickup"
#: grams assumed per unit when a variant has no weight
DEFAULT_UNIT_WEIGHT_G = 1000


@dataclass
class ShippingQuote:
    """A delivery option offered to the shopper; ``fee`` in integer VND."""

    code: str
    name: str
    name_en: str
    fee: int
    eta_days: int | None = None
    provider: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def quotes(checkout, address: dict) -> list[ShippingQuote]:
    """Home-delivery quotes from every ``shipping_methods`` implementation (first quote per code wins)."""
    found: dict[str, ShippingQuote] = {}
    for result in hooks().shipping_methods(checkout=checkout, address=address):
        for quote in result or []:
            if not isinstance(quote, ShippingQuote) or quote.code == PICKUP:
                continue
            if not isinstance(quote.fee, int) or quote.fee < 0:
                continue
            found.setdefault(quote.code, quote)
    return sorted(found.values(), key=lambda q: (q.fee, q.code))


def pickup_quote(location) -> ShippingQuote:
    """The pickup option at ``location`` (no fee)."""
    return ShippingQuote(code=PICKUP, name=f"Nhận tại {location.name}", name_en=f"Pick up at {location.name}",
                         fee=0, eta_days=None, provider="core")


def choose(checkout, address: dict | None, code: str) -> ShippingQuote:
    """Resolve the home-delivery method ``code`` for the checkout or raise ``shipping.method_unavailable`` (422)."""
    if address is None:
        raise DomainError("checkout.address_required", "Cần địa chỉ giao hàng trước khi chọn phương thức giao.",
                          "Set a shipping address before choosing a delivery method.", status=422)
    for quote in quotes(checkout, address):
        if quote.code == code:
            return quote
    raise DomainError("shipping.method_unavailable", "Phương thức giao hàng không khả dụng cho địa chỉ này.",
                      "This delivery method is not available for the address.", {"code": code}, status=422)
