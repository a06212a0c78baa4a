"""Payment gateways: the contract every gateway plugin implements, the registry, and gateway-event records.

Gateways are collected through the ``payment_gateways`` hook (built-in
plugins ``cod``, ``bank_transfer`` and ``stripe_payments``). The core owns
orders and ``Payment`` rows; a gateway only talks to the outside world.
Amounts are integer VND (zero-decimal everywhere, Stripe too).

Flow (:mod:`core.sales.order_payments`): ``start_payment`` creates a pending ``Payment`` and asks the
gateway to start (``PaymentGateway.start`` → :class:`PaymentStart`, whose
``client_data`` goes to the storefront). Whatever later tells us the money
arrived — a verified webhook, a bank-statement line, an admin — becomes a
:class:`GatewayEvent` handled by ``handle_gateway_event``, idempotent by
``(gateway, event_id)`` (:func:`record_gateway_event`). Refunds go through
``refund_order`` and the gateway's ``refund``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError

from core.db import db, utcnow
from core.errors import DomainError
from core.payments.models import PaymentEvent
from core.plugins import hooks


@dataclass
class PaymentStart:
    """What a gateway answers when a payment starts."""

    status: str                      # "pending" (waiting for the shopper/bank) or "authorised"
    external_id: str | None = None   # e.g. Stripe PaymentIntent id, bank transfer reference
    client_data: dict[str, Any] = field(default_factory=dict)  # sent to the storefront (client_secret, QR…)
    transfer_reference: str | None = None  # bank transfers: the reference the shopper writes on the transfer


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
    #: True for payments confirmed by people (cash on delivery, bank transfer): an admin may mark them paid
    offline: bool = False

    def start(self, order, payment) -> PaymentStart:
        """Begin collecting ``payment.amount`` VND for ``order``."""
        raise NotImplementedError

    def refund(self, payment, amount: int) -> str:
        """Refund ``amount`` VND of a captured payment; return the external refund id."""
        raise NotImplementedError

    def start_payable(self, payable, payment) -> PaymentStart:
        """Begin collecting ``payment.amount`` VND for a payable (:mod:`core.payments.payables`), not an order."""
        raise DomainError("payment.payable_unsupported", "Phương thức này không dùng được cho khoản phí.",
                          "This payment method cannot pay this kind of debt.", {"gateway": self.code}, status=422)

    def cancel(self, payment) -> None:
        """Stop a pending payment at the gateway (after the commit that cancelled it here); a no-op by default.
        Money that still arrives becomes a refund-due record, never a payment."""

    def describe(self) -> dict:
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "offline": self.offline}


# --- registry --------------------------------------------------------------------------
_REGISTRY_KEY = "ocop_payment_gateways"


def gateways() -> dict[str, PaymentGateway]:
    """Enabled gateways by code, collected once per app from the ``payment_gateways`` hook."""
    cached = current_app.extensions.get(_REGISTRY_KEY)
    if cached is None:
        cached = {}
        for result in hooks().payment_gateways(settings=current_app.config["OCOP"]):
            for gateway in result or []:
                if isinstance(gateway, PaymentGateway) and gateway.code and gateway.code not in cached:
                    cached[gateway.code] = gateway
        current_app.extensions[_REGISTRY_KEY] = cached
    return cached


def get_gateway(code: str) -> PaymentGateway:
    """The enabled gateway ``code`` or ``payment.gateway_unavailable`` (422)."""
    gateway = gateways().get(code or "")
    if gateway is None:
        raise DomainError("payment.gateway_unavailable", "Phương thức thanh toán không khả dụng.",
                          "This payment method is not available.",
                          {"gateway": code, "available": sorted(gateways())}, status=422)
    return gateway


def describe_gateways() -> list[dict]:
    """``describe()`` of every enabled gateway (for the storefront)."""
    return [g.describe() for g in gateways().values()]


def record_gateway_event(gateway_code: str, event: GatewayEvent, payment_id, outcome: str) -> bool:
    """Insert the PaymentEvent row; False when (gateway, event_id) was already processed."""
    row = PaymentEvent(gateway=gateway_code, event_id=event.event_id, external_id=event.external_id,
                       kind=event.kind, amount=event.amount, payment_id=payment_id, outcome=outcome,
                       created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def get_gateway_for_refund(code: str) -> PaymentGateway:
    """The gateway that captured a payment; a disabled gateway cannot refund (``payment.gateway_unavailable``)."""
    return get_gateway(code)
