"""Reading bulk-import tables (CSV in UTF-8 with or without BOM, XLSX) into rows of cell values.

Only the file format lives here; what the columns mean is :mod:`core.imports.columns`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import DomainError
from core.plugins import LazyModule

# openpyxl (with lxml) costs ~11 MB at import: loaded when a spreadsheet is first read or written
openpyxl = LazyModule("openpyxl")

MAX_ROWS = 50_000
MAX_COLUMNS = 60
XLSX_MAGIC = b"PK\x03\x04"
#: XLSX limits checked on the zip before openpyxl reads anything, then while it reads
MAX_XLSX_UNCOMPRESSED = 64 * 1024 * 1024
MAX_XLSX_PARTS = 500
MAX_XLSX_CELLS = 3_000_000  # declared by a worksheet's dimension, and read
MAX_XLSX_SHEET_ROWS = 200_000  # rows read, blank ones included
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"')
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


@dataclass
class Table:
    """A header and its data rows; ``rows`` holds ``(row_number, {column: value})`` with 1-based sheet row numbers."""

    columns: list[str]
    rows: list[tuple[int, dict]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)


def file_error(code: str, vi: str, en: str, **details) -> DomainError:
    """A whole-file problem (unreadable, wrong format, too big): 422 with the import error envelope."""
    return DomainError(code, vi, en, {"rows": [], **details}, status=422)


def _header(values) -> list[str]:
    columns = [(str(v).strip().lstrip("\ufeff").lower() if v is not None else "") for v in values]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise file_error("import.empty_file", "Tệp không có dòng tiêu đề.", "The file has no header row.")
    if len(columns) > MAX_COLUMNS:
        raise file_error("import.too_many_columns", f"Tệp có quá {MAX_COLUMNS} cột.",
                         f"The file has more than {MAX_COLUMNS} columns.")
    return columns


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _add_row(table: Table, number: int, values) -> None:
    values = list(values)
    if all(_blank(v) for v in values):
        return  # empty lines are skipped
    if len(table.rows) >= MAX_ROWS:
        raise file_error("import.too_many_rows", f"Tệp có quá {MAX_ROWS} dòng dữ liệu; hãy chia nhỏ tệp.",
                         f"The file has more than {MAX_ROWS} data rows; split it.", max_rows=MAX_ROWS)
    extra = values[len(table.columns):]
    row = {col: (values[i] if i < len(values) else None) for i, col in enumerate(table.columns) if col}
    if any(not _blank(v) for v in extra):
        row["__extra__"] = True  # more cells than header columns
    table.rows.append((number, row))


def read_csv(data: bytes) -> Table:
    """Parse CSV bytes (UTF-8, optional BOM; comma, semicolon or tab separated)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error("import.encoding", "Tệp CSV phải được lưu với mã hóa UTF-8.",
                         "CSV files must be encoded in UTF-8.")
    first_line = text.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise file_error("import.empty_file", "Tệp trống.", "The file is empty.")
        table = Table(_header(header))
        for number, values in enumerate(reader, start=2):  # record numbers, as a spreadsheet shows them
            _add_row(table, number, values)
    except csv.Error as exc:
        raise file_error("import.bad_csv", "Tệp CSV sai định dạng.", f"Malformed CSV: {exc}.")
    return table


def _xlsx_value(value):
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    return value


class SpreadsheetRefused(ValueError):
    """An XLSX file that cannot or must not be read: a stable ``code`` with Vietnamese and English reasons."""

    def __init__(self, code: str, vi: str, en: str):
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _check_xlsx_container(data: bytes) -> None:
    """Refuse a workbook whose zip would cost too much to read: parts, uncompressed size, declared cells, DTDs."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise SpreadsheetRefused("import.bad_xlsx", "Không đọc được tệp Excel (.xlsx).",
                                 "Cannot read the Excel (.xlsx) file.") from None
    if len(parts) > MAX_XLSX_PARTS:
        raise SpreadsheetRefused("import.xlsx_too_large", f"Tệp Excel có quá {MAX_XLSX_PARTS} phần.",
                                 f"The Excel file has more than {MAX_XLSX_PARTS} parts.")
    if sum(part.file_size for part in parts) > MAX_XLSX_UNCOMPRESSED:
        raise SpreadsheetRefused("import.xlsx_too_large",
                                 f"Tệp Excel khi giải nén lớn hơn {MAX_XLSX_UNCOMPRESSED // 2**20} MB.",
                                 f"The Excel file unpacks to more than {MAX_XLSX_UNCOMPRESSED // 2**20} MB.")
    with archive:
        for part in parts:
            if not part.filename.endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(part) as stream:
                    head = stream.read(4096)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
                raise SpreadsheetRefused("import.bad_xlsx", "Không đọc được tệp Excel (.xlsx).",
                                         "Cannot read the Excel (.xlsx) file.") from None
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise SpreadsheetRefused("import.unsafe_xlsx", "Tệp Excel chứa khai báo XML (DTD/entity) không được phép.",
                                         "The Excel file contains an XML DTD or entity declaration, which is refused.")
            found = _DIMENSION.search(head) if part.filename.startswith("xl/worksheets/") else None
            if found and found.group(3):
                columns = _column_number(found.group(3)) - _column_number(found.group(1)) + 1
                rows = int(found.group(4)) - int(found.group(2)) + 1
                if columns * rows > MAX_XLSX_CELLS:
                    raise SpreadsheetRefused("import.xlsx_too_large",
                                             f"Trang tính khai báo {columns} cột × {rows} dòng, quá {MAX_XLSX_CELLS} ô.",
                                             f"The worksheet declares {columns} columns × {rows} rows, more than "
                                             f"{MAX_XLSX_CELLS} cells.")


def xlsx_rows(data: bytes, max_columns: int = MAX_COLUMNS) -> Iterator[tuple]:
    """The first worksheet's rows as value tuples (cached values, not formulas), read with bounded work.

    The zip is checked before reading (:func:`_check_xlsx_container`); rows are cut to ``max_columns + 1``
    cells (one more shows that a row is too wide); the declared dimension is not trusted for padding; rows
    read, cells read and each cell's length are capped. Raises :class:`SpreadsheetRefused`.
    """
    if not openpyxl.DEFUSEDXML:  # openpyxl refuses XML entities and external references only with defusedxml
        raise ImportError("defusedxml must be installed (setup.cfg) so that openpyxl reads XLSX safely")
    _check_xlsx_container(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for damaged files (defusedxml's refusals are ValueErrors)
        raise SpreadsheetRefused("import.bad_xlsx", "Không đọc được tệp Excel (.xlsx).",
                                 "Cannot read the Excel (.xlsx) file.") from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # else every row is padded to the declared width
        rows_read = cells_read = 0
        try:
            for values in sheet.iter_rows(values_only=True, max_col=max_columns + 1):
                rows_read += 1
                cells_read += len(values)
                if rows_read > MAX_XLSX_SHEET_ROWS or cells_read > MAX_XLSX_CELLS:
                    raise SpreadsheetRefused("import.xlsx_too_large", "Trang tính quá lớn (quá nhiều dòng hoặc ô).",
                                             "The worksheet is too large (too many rows or cells).")
                if any(isinstance(v, str) and len(v) > MAX_CELL_CHARS for v in values):
                    raise SpreadsheetRefused("import.xlsx_cell_too_long",
                                             f"Tệp Excel có ô dài quá {MAX_CELL_CHARS} ký tự.",
                                             f"The Excel file has a cell longer than {MAX_CELL_CHARS} characters.")
                yield values
        except SpreadsheetRefused:
            raise
        except Exception:  # entities and DTDs refused by defusedxml, broken XML, bad cell values
            raise SpreadsheetRefused("import.bad_xlsx", "Không đọc được tệp Excel (.xlsx).",
                                     "Cannot read the Excel (.xlsx) file.") from None
    finally:
        workbook.close()


def read_xlsx(data: bytes) -> Table:
    """Parse the first worksheet of an XLSX workbook (cached values, not formulas)."""
    try:
        rows = xlsx_rows(data)
        header = next(rows, None)
        if header is None:
            raise file_error("import.empty_file", "Tệp trống.", "The file is empty.")
        table = Table(_header(header))
        for number, values in enumerate(rows, start=2):
            _add_row(table, number, (_xlsx_value(v) for v in values))
    except SpreadsheetRefused as exc:
        raise file_error(exc.code, exc.vi, exc.en) from None
    return table


def read_table(data: bytes, filename: str | None = None) -> Table:
    """Read an uploaded file: XLSX by its zip signature, legacy .xls refused, anything else as CSV."""
    if not data:
        raise file_error("import.empty_file", "Tệp trống.", "The file is empty.")
    if data.startswith(XLSX_MAGIC):
        return read_xlsx(data)
    if data.startswith(OLE_MAGIC) or (filename or "").lower().endswith(".xls"):
        raise file_error("import.unsupported_format", "Định dạng .xls cũ không được hỗ trợ; hãy lưu thành .xlsx hoặc CSV.",
                         "Legacy .xls is not supported; save as .xlsx or CSV.")
    return read_csv(data)


def read_path(path: str | Path) -> Table:
    """Read a CSV or XLSX file from disk."""
    path = Path(path)
    return read_table(path.read_bytes(), path.name)


def write_csv(columns: list[str], rows: list[dict]) -> str:
    """Render rows as CSV text (UTF-8 with BOM so Excel shows Vietnamese correctly)."""
    out = io.StringIO(newline="")
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    return out.getvalue()


def write_xlsx(columns: list[str], rows: list[dict]) -> bytes:
    """Render rows as an XLSX workbook (code-like columns stored as text)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "import"
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c) for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
