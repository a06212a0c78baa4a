"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``.

The secret is ``whsec_`` + base64 of 24 random bytes; the HMAC key is the decoded bytes. Receivers
verify the signature over the raw body and refuse timestamps more than five minutes away.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret (``whsec_…``)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret[len(PREFIX):] if secret.startswith(PREFIX) else secret)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id, timestamp, body)}


def verify(secret: str, message_id: str, timestamp: str, signature_header: str, body: bytes,
           now: float | None = None) -> bool:
    """Receiver side: True when one of the space-separated ``v1,`` signatures matches and the time is close."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - ts) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, message_id, ts, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in (signature_header or "").split())
