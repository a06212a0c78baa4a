"""Bank notifications from Casso (webhook v2): verify the ``X-Casso-Signature`` and read the transfers.

Casso signs ``"<t>." + JSON`` of the whole body with its keys sorted
(recursively, compact separators, UTF-8 as is) with HMAC-SHA512 under the
webhook's checksum key and sends ``X-Casso-Signature: t=<ms>,v1=<hex>``.
Body: ``{"error": 0, "data": {"id", "reference", "description", "amount",
"transactionDateTime", "accountNumber", "bankName", …}}`` (``data`` may also
be a list). Money out has a negative ``amount`` and is skipped.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

from core.errors import DomainError
from plugins.bank_transfer.config import WEBHOOK_TOLERANCE_SECONDS
from plugins.bank_transfer.reconciliation import IncomingTransfer
from plugins.bank_transfer.services import parse_date

SIGNATURE_RE = re.compile(r"^t=(\d{1,16}),v1=([0-9a-fA-F]{128})$")
MAX_BODY = 1024 * 1024


def _bad_signature(reason: str) -> DomainError:
    return DomainError("bank_transfer.bad_signature", "Chữ ký thông báo ngân hàng không hợp lệ.",
                       "Invalid bank notification signature.", {"reason": reason}, status=400)


def canonical(body: dict) -> str:
    """The JSON Casso signs: keys sorted at every level, no spaces, non-ASCII kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(body: dict, secret: str, timestamp_ms: int) -> str:
    """The ``X-Casso-Signature`` value for ``body`` (what Casso sends; tests and the manual check use it)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}.{canonical(body)}".encode(), hashlib.sha512).hexdigest()
    return f"t={timestamp_ms},v1={digest}"


def verify(raw: bytes, header: str | None, secret: str, *, now: float | None = None,
           tolerance: int = WEBHOOK_TOLERANCE_SECONDS) -> dict:
    """The parsed body when ``header`` signs it with ``secret`` within ``tolerance`` seconds; else 400."""
    if len(raw) > MAX_BODY:
        raise _bad_signature("body too large")
    match = SIGNATURE_RE.match((header or "").strip())
    if not match:
        raise _bad_signature("missing or malformed X-Casso-Signature")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad_signature("body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad_signature("body is not a JSON object")
    timestamp_ms = int(match.group(1))
    expected = hmac.new(secret.encode(), f"{timestamp_ms}.{canonical(body)}".encode(), hashlib.sha512).hexdigest()
    if not hmac.compare_digest(expected, match.group(2).lower()):
        raise _bad_signature("signature does not match")
    now = time.time() if now is None else now
    if abs(now - timestamp_ms / 1000) > tolerance:
        raise _bad_signature("timestamp outside the tolerance")
    return body


def transfers(body: dict) -> list[IncomingTransfer]:
    """The transfers of a verified body (one per ``data`` item)."""
    data = body.get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        amount = item.get("amount")
        reference = str(item.get("reference") or "").strip()
        txn_id = reference or (f"casso:{item['id']}" if item.get("id") not in (None, "", 0) else None)
        out.append(IncomingTransfer(
            transaction_id=txn_id, amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
            description=str(item.get("description") or "")[:1000], source="casso",
            account_no=str(item.get("accountNumber") or "")[:40] or None,
            occurred_at=parse_date(item.get("transactionDateTime")), raw=item))
    return out
