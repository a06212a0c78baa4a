"""Hostile XLSX workbooks made on the fly: an openpyxl workbook whose worksheet or strings part is replaced."""
from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _base(header=("name", "tax_code")) -> bytes:
    workbook = Workbook()
    workbook.active.append(list(header))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_part(name: str, xml: bytes, base: bytes | None = None) -> bytes:
    """``base`` (a small valid workbook) with part ``name`` replaced by ``xml``."""
    source = zipfile.ZipFile(io.BytesIO(base or _base()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, xml if info.filename == name else source.read(info.filename))
    return out.getvalue()


def sheet(rows_xml: str, dimension: str = "A1:B1", prolog: str = "") -> bytes:
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet {NS}><dimension ref="{dimension}"/>'
           f"<sheetData>{rows_xml}</sheetData></worksheet>")
    return with_part(SHEET, xml.encode("utf-8"))


def header_row() -> str:
    return '<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>tax_code</t></is></c></row>'


def billion_laughs(hidden: bool = False) -> bytes:
    """Nested entities in the worksheet; ``hidden`` puts 8 KB of comments before the DTD (past a prefix check)."""
    entities = '<!ENTITY a "ha">' + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                                            for i in range(8))
    prolog = ("<!--" + "x" * 8192 + "-->" if hidden else "") + f"<!DOCTYPE worksheet [{entities}]>"
    cell = '<row r="2"><c r="A2" t="inlineStr"><is><t>&i;</t></is></c></row>'
    return sheet(header_row() + cell, prolog=prolog)


def external_entity() -> bytes:
    prolog = '<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    return sheet(header_row() + '<row r="2"><c r="A2" t="inlineStr"><is><t>&x;</t></is></c></row>', prolog=prolog)


def huge_dimension(dimension: str = "A1:XFD3000") -> bytes:
    """A tiny sheet declaring a huge dimension (openpyxl pads read-only rows to it)."""
    return sheet(header_row() + '<row r="3000"><c r="A3000" t="inlineStr"><is><t>x</t></is></c></row>',
                 dimension=dimension)


def huge_cell(chars: int = 30_000_000) -> bytes:
    """One inline cell of ``chars`` characters (a ~30 KB zip)."""
    return sheet(header_row() + f'<row r="2"><c r="A2" t="inlineStr"><is><t>{"A" * chars}</t></is></c></row>',
                 dimension="A1:B2")


def wide_rows(rows: int = 2_000, columns: int = 16_000) -> bytes:
    """Rows whose last cell sits far right: without the column cap each row would be padded to it."""
    body = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>a</t></is></c>'
                   f'<c r="WMZ{r}" t="inlineStr"><is><t>z</t></is></c></row>' for r in range(2, rows + 2))
    return sheet(header_row() + body, dimension=f"A1:WMZ{rows + 1}")
