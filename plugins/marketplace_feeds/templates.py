"""Filling a marketplace's mass-upload spreadsheet (TikTok Shop, Shopee, Lazada …) with the published items.

Sellers download dated, per-category templates; headers differ by marketplace, language and date, so
columns are matched by header name (folded: case and diacritics ignored) against :data:`COLUMNS`, in the
first rows of the first sheet. Rows are written below the header (after the marketplace's own example
or instruction rows, i.e. from the first empty row); unknown columns are left blank. ``.xlsm`` templates
keep their macros (openpyxl ``keep_vba``).
"""
from __future__ import annotations

import io

from core.errors import ValidationFailed
from core.plugins import LazyModule
from core.text import fold
from plugins.marketplace_feeds import items as feed_items
from plugins.marketplace_feeds import validation
from plugins.marketplace_feeds.models import Marketplace

# openpyxl (with lxml) costs ~11 MB at import: loaded when a spreadsheet is first read or written
openpyxl = LazyModule("openpyxl")

MAX_BYTES = 10 * 1024 * 1024
HEADER_ROWS = 10  # the header is looked for in this many first rows
#: item field → header names used by the marketplaces' templates (folded)
COLUMNS = {
    "title": ("product name", "ten san pham", "san pham", "product_name", "name"),
    "description": ("product description", "mo ta san pham", "mo ta", "description"),
    "id": ("sku", "seller sku", "sku phan loai", "ma sku", "sku nguoi ban", "seller_sku"),
    "item_group_id": ("parent sku", "sku san pham", "ma san pham", "parent_sku"),
    "price": ("price", "gia", "gia ban", "retail price", "price (vnd)", "gia (vnd)"),
    "quantity": ("quantity", "stock", "kho hang", "so luong", "ton kho", "available stock"),
    "weight_g": ("weight", "can nang", "weight (g)", "can nang (g)", "package weight(g)"),
    "image_link": ("main image", "image", "hinh anh", "anh bia", "hinh anh san pham 1", "image 1"),
    "brand": ("brand", "thuong hieu"),
    "gtin": ("gtin", "barcode", "ma vach", "gtin code"),
    "product_type": ("category", "danh muc", "nganh hang"),
    "link": ("link", "product link", "duong dan"),
}
_FIELD_OF = {name: field for field, names in COLUMNS.items() for name in names}


def _bad(code: str, vi: str, en: str) -> ValidationFailed:
    return ValidationFailed({"file": [en]}, code=code, message=vi, message_en=en)


def _key(value) -> str:
    return " ".join(fold(str(value)).split()) if value is not None else ""


def find_header(sheet) -> tuple[int, dict[int, str]]:
    """``(header row number, {column number: item field})`` — the row matching the most known headers."""
    best = (0, {})
    for row in sheet.iter_rows(min_row=1, max_row=HEADER_ROWS):
        found = {cell.column: _FIELD_OF[_key(cell.value)] for cell in row if _key(cell.value) in _FIELD_OF}
        if len(found) > len(best[1]):
            best = (row[0].row, found)
    if len(best[1]) < 2 or "id" not in best[1].values():
        raise _bad("marketplace_template.no_header", "Không tìm thấy dòng tiêu đề (cần ít nhất cột SKU).",
                   "No header row found (a SKU column is needed).")
    return best


def _value(item, field: str):
    """The cell value: integers for money, stock and weight; text otherwise."""
    return getattr(item, field)


def fill(marketplace: Marketplace, data: bytes, filename: str,
         producer_id: int | None = None) -> tuple[bytes, str, dict]:
    """The template with one row per published, valid item (of ``producer_id`` only, when given);
    ``(bytes, content type, summary)``."""
    name = (filename or "").lower()
    if not name.endswith((".xlsx", ".xlsm")):
        raise _bad("marketplace_template.unsupported", "Chỉ nhận mẫu .xlsx hoặc .xlsm.",
                   "Only .xlsx or .xlsm templates are accepted.")
    if not data or len(data) > MAX_BYTES:
        raise _bad("marketplace_template.size", "Tệp mẫu rỗng hoặc lớn hơn 10 MB.",
                   "The template is empty or larger than 10 MB.")
    macros = name.endswith(".xlsm")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), keep_vba=macros)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise _bad("marketplace_template.bad_file", "Không đọc được tệp mẫu.", "The template cannot be read.") from exc
    try:
        sheet = book.worksheets[0]
        header_row, columns = find_header(sheet)
        row = header_row + 1
        while any(sheet.cell(row=row, column=c).value not in (None, "") for c in columns):
            row += 1  # the marketplace's own instruction or example rows stay
        written = refused = 0
        for item in feed_items.iter_items(marketplace, producer_id=producer_id):
            if validation.refused(validation.check(item)):
                refused += 1
                continue
            for column, field in columns.items():
                sheet.cell(row=row, column=column, value=_value(item, field))
            row += 1
            written += 1
        out = io.BytesIO()
        book.save(out)
    finally:
        if book.vba_archive is not None:  # the macros' copy: closed here, not by the collector (it fails there)
            book.vba_archive.close()
    content_type = ("application/vnd.ms-excel.sheet.macroEnabled.12" if macros else
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return out.getvalue(), content_type, {"rows": written, "refused": refused, "header_row": header_row,
                                          "columns": sorted(set(columns.values()))}
