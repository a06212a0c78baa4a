"""The columns of an import file and how their cells are read (numbers, dates, yes/no, friendly spellings).

One row per variant (see README "Bulk import"); a spreadsheet cell may hold a
number where text is meant (codes lose their leading zeros) and Vietnamese
number, money and date spellings ("150.000 đ", "71,7", "15/09/2025").
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from core.text import fold, nfc

PRODUCER_FIELDS = {"name": "producer_name", "legal_form": "legal_form", "tax_code": "tax_code",
                   "registration_no": "registration_no", "commune_code": "commune_code", "email": "producer_email"}
PRODUCT_FIELDS = {"name": "product_name", "group": "group", "product_set": "product_set", "description": "description"}
VARIANT_FIELDS = {"sku": "variant_sku", "name": "variant_name", "gtin": "gtin", "unit": "unit", "weight_g": "weight_g",
                  "price": "price", "is_service": "is_service"}
CERT_FIELDS = {"stars": "cert_stars", "score": "cert_score", "level": "cert_level", "criteria_set": "cert_criteria",
               "decision_no": "cert_decision_no", "issued_on": "cert_issued_on"}
COLUMNS = (*PRODUCER_FIELDS.values(), *PRODUCT_FIELDS.values(), *VARIANT_FIELDS.values(), *CERT_FIELDS.values())
REQUIRED_COLUMNS = ("producer_name", "legal_form", "commune_code", "product_name", "group",
                    "variant_sku", "variant_name", "price")

# Friendly spellings accepted besides the codes (compared folded: no diacritics, lower case).
LEGAL_FORM_ALIASES = {
    "dn": "enterprise", "doanh nghiep": "enterprise", "cong ty": "enterprise",
    "htx": "cooperative", "hop tac xa": "cooperative",
    "tht": "cooperative_group", "to hop tac": "cooperative_group",
    "hkd": "household_business", "ho kinh doanh": "household_business",
}
LEVEL_ALIASES = {"huyen": "district", "cap huyen": "district", "tinh": "province", "cap tinh": "province",
                 "trung uong": "central", "cap trung uong": "central", "tw": "central"}
TRUE_WORDS = {"1", "true", "yes", "y", "x", "co", "dich vu", "service"}
FALSE_WORDS = {"0", "false", "no", "n", "khong", "hang hoa", "goods"}

# Column each service error code is about, when the error itself names no field.
CODE_COLUMNS = {
    "certification.score_stars_mismatch": "cert_stars",
    "certification.stars_not_allowed_for_level": "cert_stars",
    "certification.level_not_allowed": "cert_level",
    "certification.criteria_mismatch": "cert_criteria",
    "certification.no_rules": "cert_issued_on",
    "certification.older_than_current": "cert_issued_on",
    "variant.sku_taken": "variant_sku",
    "variant.gtin_taken": "gtin",
    "producer.tax_code_taken": "tax_code",
    "product.slug_taken": "product_name",
}


def cell_text(value) -> str | None:
    """A text cell: NFC, stripped, None when blank (numbers and dates as text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = nfc(str(value)).strip()
    return text or None


def cell_code(value, width: int) -> str | None:
    """Identifier cell; a number from a spreadsheet lost its leading zeros, so pad it back."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)).zfill(width)
    return cell_text(value)


class CellError(Exception):
    """A cell that cannot be read as its column's type (a row error with ``code``, Vietnamese and English text)."""

    def __init__(self, code: str, vi: str, en: str):
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en


_THOUSANDS = re.compile(r"-?\d{1,3}(?:[.,\u00a0 ]\d{3})+")


def cell_integer(value) -> int | None:
    """A whole-number cell (VND amounts may carry thousands separators and ``đ``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellError("import.not_integer", "Phải là số nguyên.", "Must be a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError("import.not_integer", "Phải là số nguyên.", "Must be a whole number.")
    text = str(value).strip()
    text = re.sub(r"\s*(đ|₫|vnd|vnđ)$", "", text, flags=re.IGNORECASE)
    if _THOUSANDS.fullmatch(text):
        text = re.sub(r"[.,\u00a0 ]", "", text)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    raise CellError("import.not_integer", "Phải là số nguyên (ví dụ 150000).", "Must be a whole number (e.g. 150000).")


def cell_decimal(value) -> Decimal | None:
    """A decimal cell (a Vietnamese decimal comma is accepted)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    text = str(value).strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # Vietnamese decimal comma: 71,7
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise CellError("import.not_number", "Phải là số (ví dụ 71,7).", "Must be a number (e.g. 71.7).")
    return number


def cell_boolean(value) -> bool | None:
    """A yes/no cell (1/0, true/false, có/không, dịch vụ/hàng hoá)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
    else:
        word = fold(str(value).strip())
        if not word:
            return None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise CellError("import.not_boolean", "Phải là có/không (1/0, true/false).", "Must be yes/no (1/0, true/false).")


def cell_date(value) -> str | None:
    """ISO date text from a date cell, ``YYYY-MM-DD`` or ``DD/MM/YYYY``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text).isoformat()
        match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if match:
            return dt.date(int(match[3]), int(match[2]), int(match[1])).isoformat()
    except ValueError:
        pass
    raise CellError("import.bad_date", "Ngày phải theo dạng YYYY-MM-DD hoặc DD/MM/YYYY.",
                    "Dates must be YYYY-MM-DD or DD/MM/YYYY.")


def cell_alias(value: str | None, aliases: dict) -> str | None:
    """The code for a friendly spelling (compared folded), or the value itself."""
    if value is None:
        return None
    return aliases.get(fold(value).strip(), value)
