"""Row errors of an import: one per problem ``{row, column, code, message, message_en}``, and the 422 listing them."""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import ValidationError

from core.errors import DomainError, vietnamese
from core.imports.columns import CODE_COLUMNS, COLUMNS

MAX_REPORTED_ERRORS = 1000

@dataclass
class RowError:
    """One problem in one row (``column`` is None when it concerns the whole row)."""

    row: int
    column: str | None
    code: str
    message: str
    message_en: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code,
                "message": self.message, "message_en": self.message_en}


class ImportFailed(DomainError):
    """The file has row errors; nothing was written. ``details.rows`` lists them."""

    status = 422

    def __init__(self, errors: list[RowError], total_rows: int):
        errors = sorted(errors, key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
        failing = len({e.row for e in errors})
        super().__init__(
            "import.invalid",
            f"{failing} dòng có lỗi ({len(errors)} lỗi); không có dữ liệu nào được ghi.",
            f"{failing} row(s) have errors ({len(errors)} error(s)); nothing was written.",
            {"rows": [e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]], "error_count": len(errors),
             "failed_rows": failing, "total_rows": total_rows, "truncated": len(errors) > MAX_REPORTED_ERRORS})
        self.errors = errors


def _vi_for(message_en: str) -> str:
    """The Vietnamese for a validation message (the API's details use the same translations)."""
    return vietnamese(message_en)


def row_error_from(exc: DomainError, row: int, fields_map: dict | None = None,
                   default_column: str | None = None) -> RowError:
    """Turn a service error into a row error, naming the file column it is about."""
    column = None
    details = exc.details if isinstance(exc.details, dict) else {}
    prefix_field = None
    for key in details:
        if fields_map and key in fields_map:
            column, prefix_field = fields_map[key], key
            break
        if key in COLUMNS:
            column, prefix_field = key, key
            break
    column = CODE_COLUMNS.get(exc.code) or column
    message, message_en = exc.message, exc.message_en
    if prefix_field:  # invalid() prefixes "field: " — the report has its own column
        message = message.removeprefix(f"{prefix_field}: ")
        message_en = message_en.removeprefix(f"{prefix_field}: ")
    return RowError(row, column or default_column, exc.code, message, message_en)


def load_row(schema, data: dict, fields_map: dict, row: int, errors: list[RowError],
             already_reported: set | None = None) -> dict | None:
    """Validate ``data`` with one of the API's input schemas; collect its messages as row errors.

    Fields in ``already_reported`` (cells that could not even be parsed) are not reported twice.
    """
    try:
        return schema.load(data)
    except ValidationError as exc:
        for key, messages in exc.messages.items():
            if already_reported and key in already_reported:
                continue
            flat = messages if isinstance(messages, list) else [str(messages)]
            for msg in flat:
                errors.append(RowError(row, fields_map.get(key), "validation.invalid", _vi_for(msg), str(msg)))
        return None
