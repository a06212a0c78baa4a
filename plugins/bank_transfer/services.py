"""Bank statement import: the CSV or XLSX export of a Vietnamese bank, columns found by their header.

Bank exports put a title block (bank name, account, period) above the table:
the header row is the first of the top 30 rows naming a description column
and an amount column. Names are compared without diacritics and case:

* description: ``nội dung``, ``diễn giải``, ``mô tả``, ``chi tiết giao dịch``, ``description``…
* credit (VND): ``số tiền ghi có``, ``ghi có``, ``có``, ``có TKTT``, ``credit``… — or a signed ``số tiền`` / ``amount``
* transaction id: ``số tham chiếu``, ``mã giao dịch``, ``số bút toán``, ``số GD``, ``reference no``…
* date: ``ngày giao dịch``, ``ngày hiệu lực``, ``ngày``, ``date``…

Every line goes through :func:`plugins.bank_transfer.reconciliation.record_transfer`,
so importing a statement twice (or a line the webhook already brought) changes nothing.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser

from core.errors import invalid
from core.imports.formats import SpreadsheetRefused, xlsx_rows
from core.text import fold
from plugins.bank_transfer.reconciliation import IncomingTransfer, record_transfer

COLUMNS = {
    "description": ("noi dung", "dien giai", "mo ta", "mo ta giao dich", "noi dung chi tiet", "chi tiet giao dich",
                    "noi dung giao dich", "description", "content", "memo", "transaction details", "remark"),
    "credit": ("so tien ghi co", "ghi co", "co", "co tktt", "so tien co", "phat sinh co", "credit",
               "credit amount", "so tien ghi co (vnd)", "ghi co (vnd)"),
    "amount": ("so tien", "amount", "so tien (vnd)", "so tien giao dich", "transaction amount"),
    "transaction_id": ("so tham chieu", "ma giao dich", "so but toan", "so gd", "ma gd", "so giao dich",
                       "transaction_id", "transaction id", "reference_no", "reference no", "reference number",
                       "so ct", "so chung tu", "id"),
    "date": ("ngay giao dich", "ngay hieu luc", "ngay gd", "ngay", "thoi gian", "date", "transaction date",
             "posting date", "ngay hach toan"),
    "currency": ("loai tien", "tien te", "currency", "ccy"),
}
MAX_BYTES = 10 * 1024 * 1024
HEADER_SCAN_ROWS = 30
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
REPORT_KEYS = ("paid", "partial", "overpaid", "refund_due", "already_processed", "unmatched", "skipped")


def _bad(reason_vi: str, reason_en: str):
    return invalid("file", reason_vi, reason_en, code="bank_transfer.bad_statement")


def parse_amount(raw) -> int | None:
    """Whole VND from ``1.500.000``, ``1,500,000``, ``1500000 VND``, ``1.500.000,00`` or a number cell."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(round(raw)) if raw == raw else None
    text = str(raw or "").strip().upper().replace("VND", "").replace("Đ", "").replace("₫", "").strip()
    if not text:
        return None
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("-() +")
    text = re.sub(r"[.,]\d{2}$", "", text) if re.search(r"\d[.,]\d{3}[.,]\d{2}$|^\d+[.,]\d{2}$", text) else text
    digits = re.sub(r"[.,\s]", "", text)
    if not digits.isdigit() or len(digits) > 15:
        return None
    return -int(digits) if negative else int(digits)


def parse_date(raw) -> dt.datetime | None:
    """A statement date (``23/11/2026``, ``2026-11-23 14:02:37``, a date cell) in Vietnam time → UTC."""
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, dt.date):
        value = dt.datetime(raw.year, raw.month, raw.day)
    else:
        text = str(raw or "").strip()
        if not text:
            return None
        try:
            value = dateparser.parse(text, dayfirst=not re.match(r"^\d{4}-", text))
        except (ValueError, OverflowError):
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=VIETNAM)
    return value.astimezone(dt.timezone.utc)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(row: list) -> dict[str, int] | None:
    folded = [re.sub(r"\s+", " ", fold(_cell_text(h))).strip().rstrip(":") for h in row]
    found = {}
    for key, names in COLUMNS.items():
        for name in names:  # the first name of the list that a column carries wins
            if name in folded:
                found[key] = folded.index(name)
                break
    if "description" in found and ("credit" in found or "amount" in found):
        return found
    return None


def _rows_csv(data: bytes) -> list[list]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("tệp CSV phải mã hoá UTF-8", "a CSV file must be UTF-8") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return [row for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error:
        raise _bad("tệp CSV bị hỏng", "the CSV file is broken") from None


def _rows_xlsx(data: bytes) -> list[list]:
    """The first worksheet's rows through the core's bounded XLSX reader (no XML entities, capped work)."""
    try:
        return [list(row) for row in xlsx_rows(data)]
    except SpreadsheetRefused as exc:
        raise _bad(f"tệp XLSX bị từ chối: {exc.vi}", f"the XLSX file is refused: {exc.en}") from None


def read_statement(data: bytes | str) -> list[IncomingTransfer | int]:
    """The statement's credit lines as :class:`IncomingTransfer` (file line number in ``raw["line"]``)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise _bad("tệp quá lớn", "the file is too large")
    if not data.strip():
        raise _bad("tệp rỗng", "the file is empty")
    rows = _rows_xlsx(data) if data[:4] == b"PK\x03\x04" else _rows_csv(data)
    columns, start = None, 0
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns = _header(row)
        if columns:
            start = index + 1
            break
    if not columns:
        raise _bad("tệp sao kê cần cột nội dung và số tiền",
                   "the statement needs a description column and an amount column")
    out = []
    for number, row in enumerate(rows[start:], start=start + 1):
        if not any(_cell_text(c) for c in row):
            continue

        def cell(key, row=row):
            i = columns.get(key)
            return row[i] if i is not None and i < len(row) else None
        amount = parse_amount(cell("credit") if "credit" in columns else cell("amount"))
        description = _cell_text(cell("description"))
        out.append(IncomingTransfer(
            transaction_id=_cell_text(cell("transaction_id")) or None, amount=amount, description=description,
            source="statement", currency=_cell_text(cell("currency")) or "VND", occurred_at=parse_date(cell("date")),
            raw={"line": number}))
    return out


def import_statement(data: bytes | str, *, actor=None, progress=None) -> dict:
    """Apply a statement's credit lines; each line commits on its own. Returns counts and one answer per line."""
    transfers = read_statement(data)
    report = {key: 0 for key in REPORT_KEYS}
    report["lines"] = []
    for transfer in transfers:
        answer = record_transfer(transfer, actor=actor)
        report[answer["outcome"]] += 1
        report["lines"].append({"line": transfer.raw["line"], **answer})
        if progress:
            progress()
    return report
