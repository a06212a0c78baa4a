"""The order webhook's signature: ``X-Marketplace-Signature: sha256=<hex HMAC-SHA256 of the raw body>``
with the marketplace's webhook secret (a relay in front of the marketplace's own push API signs it)."""
from __future__ import annotations

import hashlib
import hmac

from core.errors import DomainError


class BadSignature(DomainError):
    def __init__(self):
        super().__init__("marketplace.bad_signature", "Chữ ký webhook không hợp lệ.",
                         "The webhook signature is invalid.", status=401)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret: str, body: bytes, header: str | None) -> None:
    given = (header or "").strip()
    given = given[7:] if given.lower().startswith("sha256=") else given
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(expected, given.lower()):
        raise BadSignature()
