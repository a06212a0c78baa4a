"""Payment gateway contract. Gateways are collected through the ``payment_gateways`` hook.

The core owns orders and ``Payment`` rows; a gateway only talks to the
outside world. Amounts are integer VND (zero-decimal everywhere, Stripe too).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PaymentStart:
    """What a gateway answers when a payment starts."""

    status: str                      # "pending" (waiting for the shopper/bank) or "authorised"
    external_id: str | None = None   # e.g. Stripe PaymentIntent id, bank transfer reference
    client_data: dict[str, Any] = field(default_factory=dict)  # sent to the storefront (client_secret, QR…)


@dataclass
class GatewayEvent:
    """A verified notification from a gateway (webhook, IPN, bank statement line)."""

    event_id: str                    # unique per gateway: replays are ignored
    external_id: str                 # the payment's external id
    kind: str                        # "succeeded", "failed", "refunded"
    amount: int | None = None


class PaymentGateway:
    """Base class for gateways; subclasses set ``code``, ``name``, ``name_en``."""

    code: str = ""
    name: str = ""
    name_en: str = ""

    def start(self, order, payment) -> PaymentStart:
        """Begin collecting ``payment.amount`` VND for ``order``."""
        raise NotImplementedError

    def refund(self, payment, amount: int) -> str:
        """Refund ``amount`` VND of a captured payment; return the external refund id."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"code": self.code, "name": self.name, "name_en": self.name_en}
