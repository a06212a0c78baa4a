"""Cash on delivery: the carrier collects the total when the parcel is handed over.

The payment stays ``pending`` until an admin records the cash as received
(``POST /admin/v1/orders/<id>/payments/<payment id>/mark-paid``); an order that
has already shipped then becomes ``completed``.
"""
from __future__ import annotations

import secrets

from core.payments.gateways import PaymentGateway, PaymentStart


class CashOnDeliveryGateway(PaymentGateway):
    """``code = "cod"``: offline, confirmed by an admin."""

    code = "cod"
    name = "Thanh toán khi nhận hàng (COD)"
    name_en = "Cash on delivery"
    offline = True

    def start(self, order, payment) -> PaymentStart:
        """Nothing to call: remember the amount the carrier must collect."""
        return PaymentStart(status="pending", external_id=f"cod-{payment.id}-{secrets.token_hex(4)}",
                            client_data={"amount_to_collect": payment.amount, "currency": "VND",
                                         "instructions": "Vui lòng chuẩn bị tiền mặt khi nhận hàng.",
                                         "instructions_en": "Please have the cash ready on delivery."})

    def refund(self, payment, amount: int) -> str:
        """Cash is returned by hand; the refund is only recorded."""
        return f"manual-cod-{payment.id}-{secrets.token_hex(4)}"
