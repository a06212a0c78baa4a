"""VNPay payment gateway for ocop-commerce (gateway code ``vnpay``).

Signed payment URLs (HMAC-SHA512 over the sorted, form-encoded ``vnp_*``
fields), a return URL that only shows the result, a verified and idempotent
server-to-server IPN, ``querydr`` for payments still pending after a
timeout, and refunds. Enabled only when ``OCOP_VNPAY_TMN_CODE``,
``OCOP_VNPAY_HASH_SECRET`` and ``OCOP_VNPAY_URL`` are set.
"""
