"""Bank statement import: match credit lines to pending bank-transfer payments by reference and amount.

Accepted file: CSV (comma or semicolon) with a header row. Columns are found
by name, with or without Vietnamese diacritics, case-insensitive:

* description: ``description``, ``nội dung``, ``diễn giải``, ``content``, ``memo``
* amount (credit, VND): ``amount``, ``số tiền``, ``ghi có``, ``credit``
* transaction id (optional): ``transaction_id``, ``mã giao dịch``, ``số tham chiếu``, ``reference_no``, ``id``
* date (optional): ``date``, ``ngày``, ``ngày giao dịch``

Each line becomes a :class:`~core.services.payments.GatewayEvent` with the
event id ``statement:<transaction id>`` (or a hash of date, amount and
description), so importing the same statement twice changes nothing. A line
pays a payment only when its reference is valid and the amount equals the
payment's amount exactly; everything else is reported for an operator.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re

from core.errors import DomainError, invalid
from core.payments.gateways import GatewayEvent
from core.text import fold
from plugins.bank_transfer.gateway import BankTransferGateway, find_references
from core.db import db
from core.payments.models import Payment
from core.sales import order_payments

COLUMNS = {
    "description": ("description", "noi dung", "dien giai", "content", "memo", "noi dung giao dich"),
    "amount": ("amount", "so tien", "ghi co", "credit", "so tien ghi co", "so tien (vnd)"),
    "transaction_id": ("transaction_id", "ma giao dich", "so tham chieu", "reference_no", "id", "so giao dich"),
    "date": ("date", "ngay", "ngay giao dich", "transaction date"),
}
MAX_BYTES = 10 * 1024 * 1024


def parse_amount(raw: str) -> int | None:
    """Whole VND from ``1.500.000``, ``1,500,000``, ``1500000 VND`` or ``1.500.000,00``; None if not a number."""
    text = (raw or "").strip().upper().replace("VND", "").replace("Đ", "").replace("₫", "").strip()
    if not text:
        return None
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("-() +")
    text = re.sub(r"[.,]\d{2}$", "", text) if re.search(r"\d[.,]\d{3}[.,]\d{2}$|^\d+[.,]\d{2}$", text) else text
    digits = re.sub(r"[.,\s]", "", text)
    if not digits.isdigit():
        return None
    return -int(digits) if negative else int(digits)


def _columns(header: list[str]) -> dict[str, int]:
    found = {}
    folded = [fold(h or "").strip() for h in header]
    for key, names in COLUMNS.items():
        for i, name in enumerate(folded):
            if name in names:
                found[key] = i
                break
    if "description" not in found or "amount" not in found:
        raise invalid("file", "tệp sao kê cần cột nội dung và số tiền",
                      "the statement needs a description column and an amount column",
                      code="bank_transfer.bad_statement")
    return found


def read_statement(text: str) -> list[dict]:
    """Rows ``{line, transaction_id, date, amount, description}`` of a CSV statement."""
    if len(text.encode()) > MAX_BYTES:
        raise invalid("file", "tệp quá lớn", "the file is too large", code="bank_transfer.bad_statement")
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = list(reader)
    if not rows:
        raise invalid("file", "tệp rỗng", "the file is empty", code="bank_transfer.bad_statement")
    columns = _columns(rows[0])
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(key):
            i = columns.get(key)
            return row[i].strip() if i is not None and i < len(row) else ""
        out.append({"line": number, "transaction_id": cell("transaction_id") or None, "date": cell("date") or None,
                    "amount": parse_amount(cell("amount")), "description": cell("description")})
    return out


def event_id(row: dict) -> str:
    """Stable id of a statement line (its bank transaction id, else a hash of its content)."""
    if row.get("transaction_id"):
        return f"statement:{row['transaction_id']}"
    digest = hashlib.sha256(f"{row.get('date')}|{row.get('amount')}|{row.get('description')}".encode()).hexdigest()
    return f"statement:{digest[:24]}"


def import_statement(text: str, *, actor=None, progress=None) -> dict:
    """Match a statement's credit lines to pending bank-transfer payments. Flushes (the caller commits).

    Returns ``{"paid", "already_processed", "amount_mismatch", "unmatched", "skipped", "lines": [...]}``
    where each line carries its outcome.
    """
    from sqlalchemy import select
    rows = read_statement(text)
    report = {"paid": 0, "already_processed": 0, "amount_mismatch": 0, "unmatched": 0, "skipped": 0, "lines": []}
    code = BankTransferGateway.code
    for row in rows:
        outcome, reference = "unmatched", None
        if row["amount"] is None or row["amount"] <= 0:
            outcome = "skipped"
        else:
            for candidate in find_references(row["description"]):
                payment = db.session.execute(select(Payment).where(Payment.gateway == code,
                                                                   Payment.transfer_reference == candidate)
                                             ).scalar_one_or_none()
                if payment is None:
                    continue
                reference = candidate
                if payment.amount != row["amount"]:
                    outcome = "amount_mismatch"
                try:
                    changed = order_payments.handle_gateway_event(code, GatewayEvent(
                        event_id=event_id(row), external_id=candidate, kind="succeeded", amount=row["amount"]),
                        actor=actor)
                except DomainError:  # applied in a savepoint: nothing of it is left behind
                    outcome = "unmatched"
                    continue
                if outcome != "amount_mismatch":
                    outcome = "paid" if changed else "already_processed"
                break
        report[outcome] += 1
        report["lines"].append({"line": row["line"], "transaction_id": row["transaction_id"],
                                "amount": row["amount"], "reference": reference, "outcome": outcome})
        if progress:
            progress()
    return report
