"""Stripe card payments for ocop-commerce (gateway code ``stripe``).

PaymentIntents in VND (a zero-decimal currency: ``amount=150000`` is
150,000 ₫), the client secret handed to the storefront, a signed and
idempotent webhook at ``POST /storefront/v1/payments/stripe/webhook`` and
refunds, all through the official ``stripe`` SDK. On the public site the
shopper pays on Stripe's hosted Checkout page (``/thanh-toan/stripe/<token>``). Enabled only when
``OCOP_STRIPE_SECRET_KEY`` is set.
"""
