"""Reading marketplace order exports (CSV, XLSX as the seller downloads them) and webhook bodies into
plain order records, matching columns by header name (Shopee, TikTok Shop, Lazada and generic headers).

No database here: :mod:`plugins.marketplace_feeds.order_import` turns the records into core orders.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from core.plugins import LazyModule
from core.text import fold, nfc

# openpyxl (with lxml) costs ~11 MB at import: loaded when a spreadsheet is first read or written
openpyxl = LazyModule("openpyxl")

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
#: canonical column → header names (folded: lowercase, no diacritics) used by the marketplaces' exports
HEADERS = {
    "order_id": ("order_id", "ma don hang", "order id", "ordernumber", "order number", "so don hang", "order_number"),
    "status": ("status", "trang thai don hang", "order status", "trang thai", "order_status"),
    "sku": ("sku", "seller sku", "sku phan loai hang", "sellersku", "ma sku", "sku san pham", "seller_sku"),
    "quantity": ("quantity", "so luong", "qty"),
    "unit_price": ("unit_price", "gia uu dai", "sku unit original price", "unitprice", "don gia", "gia ban",
                   "paidprice", "unit price"),
    "buyer_name": ("buyer_name", "ten nguoi nhan", "recipient", "customername", "customer name", "nguoi nhan"),
    "phone": ("phone", "so dien thoai", "phone #", "sdt", "shippingphone"),
    "address": ("address", "dia chi nhan hang", "detail address", "shippingaddress", "dia chi", "shipping address"),
    "tracking_no": ("tracking_no", "ma van don", "tracking id", "trackingcode", "tracking number"),
}
REQUIRED = ("order_id", "status", "sku", "quantity", "unit_price")
#: marketplace status words (folded) → the plugin's status: new, shipped, delivered, cancelled, returned
STATUSES = {
    "new": ("new", "pending", "unpaid", "confirmed", "to ship", "awaiting shipment", "awaiting collection",
            "ready to ship", "packed", "processing", "cho xac nhan", "cho lay hang", "cho thanh toan", "da xac nhan"),
    "shipped": ("shipped", "in transit", "shipping", "dang giao", "dang van chuyen", "da giao cho dvvc",
                "da giao cho don vi van chuyen"),
    "delivered": ("delivered", "completed", "da giao", "hoan thanh", "da nhan hang", "giao thanh cong"),
    "cancelled": ("cancelled", "canceled", "da huy", "huy", "failed delivery", "giao that bai"),
    "returned": ("returned", "refunded", "return", "tra hang", "tra hang/hoan tien", "hoan tien", "da tra hang"),
}
_STATUS_OF = {word: status for status, words in STATUSES.items() for word in words}


class OrderFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing columns); ``details`` says why."""

    def __init__(self, code: str, message: str, message_en: str, details: dict | None = None):
        super().__init__(message_en)
        self.code, self.message, self.message_en, self.details = code, message, message_en, details or {}


@dataclass
class Line:
    row: int | None
    sku: str
    quantity: int
    unit_price: int


@dataclass
class OrderRecord:
    """One marketplace order: its id, the status word as given and as understood, buyer, lines, the rows it came from."""

    order_id: str
    status_word: str
    status: str | None
    rows: list[int | None] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    buyer_name: str | None = None
    phone: str | None = None
    address: str | None = None
    tracking_no: str | None = None
    problems: list[str] = field(default_factory=list)


def status_of(word) -> str | None:
    return _STATUS_OF.get(" ".join(fold(str(word or "")).replace("_", " ").split()))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfc(str(value)).strip()


def _integer(value) -> int | None:
    text = _text(value).replace(".", "").replace(",", "").replace("₫", "").replace("VND", "").replace(" ", "")
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def _header_map(header: list) -> dict[str, int]:
    folded = [" ".join(fold(_text(h)).split()) for h in header]
    found = {}
    for column, names in HEADERS.items():
        for i, name in enumerate(folded):
            if name in names:
                found[column] = i
                break
    return found


def _rows_csv(data: bytes) -> list[list]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrderFileError("marketplace_import.bad_encoding", "Tệp CSV phải mã hoá UTF-8.",
                             "The CSV file must be UTF-8.") from exc
    sample = text[:4096]
    delimiter = max((",", ";", "\t"), key=sample.count)
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise OrderFileError("marketplace_import.bad_file", "Tệp CSV không đọc được.", f"Unreadable CSV: {exc}") from exc


def _rows_xlsx(data: bytes) -> list[list]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise OrderFileError("marketplace_import.bad_file", "Tệp Excel không đọc được.",
                             "The Excel file cannot be read.") from exc
    try:
        sheet = book.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def read_file(data: bytes, filename: str) -> tuple[str, list[OrderRecord]]:
    """``(source, records)`` from an export; raises :class:`OrderFileError` for a file that cannot be read."""
    if not data:
        raise OrderFileError("marketplace_import.empty", "Tệp rỗng.", "The file is empty.")
    if len(data) > MAX_BYTES:
        raise OrderFileError("marketplace_import.too_large", "Tệp vượt quá 10 MB.", "The file exceeds 10 MB.")
    name = (filename or "").lower()
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        source, rows = "xlsx", _rows_xlsx(data)
    elif name.endswith((".csv", ".txt")) or not name:
        source, rows = "csv", _rows_csv(data)
    else:
        raise OrderFileError("marketplace_import.unsupported", "Chỉ nhận tệp CSV hoặc XLSX.",
                             "Only CSV or XLSX files are accepted.", {"filename": filename})
    rows = [r for r in rows if any(_text(v) for v in r)]
    if not rows:
        raise OrderFileError("marketplace_import.empty", "Tệp không có dòng nào.", "The file has no rows.")
    columns = _header_map(rows[0])
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise OrderFileError("marketplace_import.missing_columns", "Thiếu cột: " + ", ".join(missing),
                             "Missing columns: " + ", ".join(missing), {"missing": missing})
    if len(rows) - 1 > MAX_ROWS:
        raise OrderFileError("marketplace_import.too_many_rows", f"Tối đa {MAX_ROWS} dòng.",
                             f"At most {MAX_ROWS} rows.")
    return source, group_rows(rows[1:], columns, first_row=2)


def group_rows(rows: list[list], columns: dict[str, int], first_row: int = 2) -> list[OrderRecord]:
    """One record per order id, lines in file order; each row's problems kept on its record."""
    records: dict[str, OrderRecord] = {}
    loose: list[OrderRecord] = []

    def cell(row, column):
        i = columns.get(column)
        return row[i] if i is not None and i < len(row) else None

    for n, row in enumerate(rows, start=first_row):
        order_id = _text(cell(row, "order_id"))
        word = _text(cell(row, "status"))
        if not order_id or len(order_id) > 120:
            loose.append(OrderRecord(order_id or "", word, None, rows=[n],
                                     problems=[f"row {n}: order id missing or longer than 120 characters"]))
            continue
        record = records.get(order_id)
        if record is None:
            record = records[order_id] = OrderRecord(order_id, word, status_of(word))
        record.rows.append(n)
        if status_of(word) != record.status:
            record.problems.append(f"row {n}: status '{word}' differs from the order's first row")
        for column in ("buyer_name", "phone", "address", "tracking_no"):
            value = _text(cell(row, column))
            if value and not getattr(record, column):
                setattr(record, column, value)
        add_line(record, n, cell(row, "sku"), cell(row, "quantity"), cell(row, "unit_price"))
    for record in records.values():
        if record.status is None:
            record.problems.append(f"unknown status '{record.status_word}'")
    return loose + list(records.values())


def add_line(record: OrderRecord, row: int | None, sku, quantity, unit_price) -> None:
    sku, qty, price = _text(sku), _integer(quantity), _integer(unit_price)
    where = f"row {row}" if row is not None else f"line {len(record.lines) + 1}"
    if not sku or len(sku) > 64:
        record.problems.append(f"{where}: SKU missing or too long")
    elif qty is None or not 0 < qty <= 10_000:
        record.problems.append(f"{where}: quantity must be a whole number from 1 to 10000")
    elif price is None or not 0 <= price <= 1_000_000_000:
        record.problems.append(f"{where}: unit price must be a whole number of VND")
    else:
        record.lines.append(Line(row, sku, qty, price))


def read_webhook(document) -> list[OrderRecord]:
    """``{"orders": [{"order_id", "status", "buyer_name", "phone", "address", "tracking_no",
    "lines": [{"sku", "quantity", "unit_price"}]}]}`` (or one order object) → records."""
    orders = document.get("orders") if isinstance(document, dict) and "orders" in document else [document]
    if not isinstance(orders, list) or not orders or len(orders) > 1000:
        raise OrderFileError("marketplace_import.bad_body", "Nội dung webhook sai định dạng.",
                             "The webhook body is malformed: 1 to 1000 orders expected.")
    records = []
    for n, order in enumerate(orders):
        if not isinstance(order, dict):
            raise OrderFileError("marketplace_import.bad_body", "Đơn hàng phải là đối tượng JSON.",
                                 f"orders[{n}] must be an object.")
        order_id, word = _text(order.get("order_id")), _text(order.get("status"))
        record = OrderRecord(order_id, word, status_of(word), rows=[None])
        if not order_id or len(order_id) > 120:
            record.problems.append(f"orders[{n}]: order id missing or longer than 120 characters")
        if record.status is None:
            record.problems.append(f"orders[{n}]: unknown status '{word}'")
        for column in ("buyer_name", "phone", "address", "tracking_no"):
            value = order.get(column)
            setattr(record, column, _text(value)[:300] if isinstance(value, (str, int)) else None)
        lines = order.get("lines")
        if not isinstance(lines, list) or not lines:
            record.problems.append(f"orders[{n}]: lines must be a non-empty list")
        else:
            for line in lines[:200]:
                line = line if isinstance(line, dict) else {}
                add_line(record, None, line.get("sku"), line.get("quantity"), line.get("unit_price"))
        records.append(record)
    return records
