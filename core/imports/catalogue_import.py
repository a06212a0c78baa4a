"""Bulk import of producers, products, variants and certifications from CSV/XLSX (all-or-nothing).

One row per variant (see README "Bulk import"). Every row goes through the
same checks as the admin API — the API's input schemas, then the services'
own rules (``producers.normalise_tax_code``, ``geo.require_commune``,
``groups.resolve``, ``products.normalise_gtin``, ``certifications.check_rules``,
province scope) — and every problem becomes a row error ``{row, column, code,
message, message_en}``. Only when no row fails is anything written: the
services are called with ``autocommit=False`` inside ONE transaction that is
committed once at the end and rolled back on any error, so a failure in row
900 leaves the database exactly as it was. A dry run validates and rehearses
the writes, then rolls back.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Callable

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db import commit, db
from core.errors import DomainError, Forbidden
from core.catalogue.models import Producer, Product, Variant
from core.audit import trail as audit
from core.certification import certifications
from core.geo import units as geo
from core.catalogue import producers, products
from core.imports.formats import Table, file_error
from core.catalogue.access import can_manage_producer, require_province
from core.text import fold, nfc
from core.certification.schemas import CertificationInSchema
from core.catalogue.schemas import ProducerInSchema
from core.catalogue.schemas import ProductInSchema
from core.catalogue.schemas import VariantInSchema

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
IMPORT_ROLES = ("admin", "organiser")
MAX_REPORTED_ERRORS = 1000

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

# marshmallow's English messages → Vietnamese (the API answers them in English only).
_MM_VI = [
    (r"Missing data for required field\.", lambda m: "Thiếu dữ liệu bắt buộc."),
    (r"Field may not be null\.", lambda m: "Không được để trống."),
    (r"Not a valid integer\.", lambda m: "Không phải số nguyên hợp lệ."),
    (r"Not a valid number\.", lambda m: "Không phải số hợp lệ."),
    (r"Not a valid email address\.", lambda m: "Địa chỉ email không hợp lệ."),
    (r"Not a valid date\.", lambda m: "Ngày không hợp lệ."),
    (r"Not a valid boolean\.", lambda m: "Giá trị có/không không hợp lệ."),
    (r"Not a valid URL\.", lambda m: "Đường dẫn không hợp lệ."),
    (r"String does not match expected pattern\.", lambda m: "Sai định dạng."),
    (r"Length must be between (\d+) and (\d+)\.", lambda m: f"Độ dài phải từ {m[1]} đến {m[2]} ký tự."),
    (r"Shorter than minimum length (\d+)\.", lambda m: f"Ngắn hơn {m[1]} ký tự."),
    (r"Longer than maximum length (\d+)\.", lambda m: f"Dài quá {m[1]} ký tự."),
    (r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.",
     lambda m: f"Phải từ {m[1]} đến {m[2]}."),
    (r"Must be greater than or equal to (\S+)\.", lambda m: f"Phải lớn hơn hoặc bằng {m[1]}."),
    (r"Must be less than or equal to (\S+)\.", lambda m: f"Phải nhỏ hơn hoặc bằng {m[1]}."),
    (r"Must be one of: (.*)\.", lambda m: f"Phải là một trong: {m[1]}."),
]


# --- report --------------------------------------------------------------------------------------------------------

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
    for pattern, build in _MM_VI:
        match = re.fullmatch(pattern, message_en)
        if match:
            return build(match)
    if "(control character" in message_en:
        return message_en  # BaseSchema's message is already bilingual
    return f"Giá trị không hợp lệ ({message_en})"


def _from_domain(exc: DomainError, row: int, fields_map: dict | None = None,
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


def _load(schema, data: dict, fields_map: dict, row: int, errors: list[RowError],
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
                msg = str(msg)
                errors.append(RowError(row, fields_map.get(key), "validation.invalid", _vi_for(msg), msg))
        return None


# --- cell parsing --------------------------------------------------------------------------------------------------

def _text(value) -> str | None:
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


def _code(value, width: int) -> str | None:
    """Identifier cell; a number from a spreadsheet lost its leading zeros, so pad it back."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)).zfill(width)
    return _text(value)


class CellError(Exception):
    def __init__(self, code: str, vi: str, en: str):
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en


_THOUSANDS = re.compile(r"-?\d{1,3}(?:[.,\u00a0 ]\d{3})+")


def _integer(value) -> int | None:
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


def _decimal(value) -> Decimal | None:
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


def _boolean(value) -> bool | None:
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


def _date(value) -> str | None:
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


def _alias(value: str | None, aliases: dict) -> str | None:
    if value is None:
        return None
    return aliases.get(fold(value).strip(), value)


# --- plan ----------------------------------------------------------------------------------------------------------

@dataclass
class PlannedProduct:
    key: tuple
    row: int
    data: dict | None
    values: dict
    existing: Product | None = None
    variants: list[tuple[int, dict]] = field(default_factory=list)
    cert: dict | None = None
    cert_row: int | None = None
    cert_values: dict | None = None


@dataclass
class PlannedProducer:
    key: tuple
    row: int
    data: dict | None
    values: dict
    existing: Producer | None = None
    scope_error: RowError | None = None
    products: dict = field(default_factory=dict)


@dataclass
class Plan:
    rows: int = 0
    producers: dict = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


def system_actor():
    """The actor used by ``ocop import`` without ``--user``: platform rights, no user row."""
    return SimpleNamespace(id=None, username="ocop-cli", role="admin", province_code=None, producer_id=None)


def check_columns(table: Table) -> None:
    """Refuse a header with missing required, unknown or repeated columns (row 1 errors)."""
    errors = []
    seen = set()
    for column in table.columns:
        if not column:
            continue
        if column not in COLUMNS:
            errors.append(RowError(1, column, "import.unknown_column", f"Cột không được hỗ trợ: {column}.",
                                   f"Unknown column: {column}."))
        elif column in seen:
            errors.append(RowError(1, column, "import.duplicate_column", f"Cột bị lặp: {column}.",
                                   f"Repeated column: {column}."))
        seen.add(column)
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            errors.append(RowError(1, column, "import.missing_column", f"Thiếu cột bắt buộc: {column}.",
                                   f"Missing required column: {column}."))
    if errors:
        raise ImportFailed(errors, len(table))


class _Validator:
    """Validates every row (no writes) and builds the plan of what to create."""

    def __init__(self, user, table: Table):
        self.user = user
        self.table = table
        self.plan = Plan(rows=len(table))
        self.name_index: dict[tuple, tuple] = {}
        self.skus: dict[str, int] = {}
        self.gtins: dict[str, int] = {}
        self.taken_skus: set[str] = set()
        self.taken_gtins: set[str] = set()

    def error(self, row, column, code, vi, en):
        self.plan.errors.append(RowError(row, column, code, vi, en))

    # existing SKUs/GTINs in one query per chunk instead of two per row
    def preload(self) -> None:
        skus, gtins = set(), set()
        for _, raw in self.table.rows:
            sku = _text(raw.get("variant_sku"))
            if sku:
                skus.add(sku)
            try:
                gtin = products.normalise_gtin(_code(raw.get("gtin"), 0))
            except DomainError:
                gtin = None
            if gtin:
                gtins.add(gtin)
        for values, column, target in ((skus, Variant.sku, self.taken_skus), (gtins, Variant.gtin, self.taken_gtins)):
            values = sorted(values)
            for i in range(0, len(values), 500):
                target.update(db.session.execute(select(column).where(column.in_(values[i:i + 500]))).scalars())

    def run(self, progress: Callable[[str, int], None] | None = None) -> Plan:
        self.preload()
        for number, raw in self.table.rows:
            self.row(number, raw)
            if progress:
                progress("validate", 1)
        return self.plan

    def row(self, number: int, raw: dict) -> None:
        if raw.get("__extra__"):
            self.error(number, None, "import.extra_cells", "Dòng có nhiều ô hơn số cột tiêu đề.",
                       "The row has more cells than the header has columns.")
        producer = self.producer(number, raw)
        product = self.product(number, raw, producer)
        self.variant(number, raw, product)
        self.certification(number, raw, product)

    # --- producer ---
    def producer(self, number: int, raw: dict) -> PlannedProducer:
        values = {
            "name": _text(raw.get("producer_name")),
            "legal_form": _alias(_text(raw.get("legal_form")), LEGAL_FORM_ALIASES),
            "tax_code": _code(raw.get("tax_code"), 10),
            "registration_no": _code(raw.get("registration_no"), 0),
            "commune_code": _code(raw.get("commune_code"), 5),
            "email": _text(raw.get("producer_email")),
        }
        tax_code = None
        if values["tax_code"]:
            try:
                tax_code = values["tax_code"] = producers.normalise_tax_code(values["tax_code"])
            except DomainError as exc:
                self.plan.errors.append(_from_domain(exc, number, PRODUCER_FIELDS))
        name_key = ("name", fold(values["name"] or ""), values["commune_code"])
        if tax_code:
            key = ("tax", tax_code)
        elif values["tax_code"]:
            key = ("bad-tax", values["tax_code"])
        else:
            key = self.name_index.get(name_key, name_key)
        planned = self.plan.producers.get(key)
        if planned is not None:
            self.same_values(number, planned.values, values, PRODUCER_FIELDS, "import.inconsistent_producer",
                             "chủ thể", "producer")
        else:
            planned = self.new_producer(number, key, values, tax_code)
            self.plan.producers[key] = planned
            self.name_index.setdefault(name_key, key)
        if planned.scope_error is not None:
            err = planned.scope_error
            self.plan.errors.append(RowError(number, err.column, err.code, err.message, err.message_en))
        return planned

    def new_producer(self, number: int, key: tuple, values: dict, tax_code: str | None) -> PlannedProducer:
        errors_before = len(self.plan.errors)
        data = _load(ProducerInSchema(), {k: v for k, v in values.items() if v is not None}, PRODUCER_FIELDS,
                     number, self.plan.errors)
        planned = PlannedProducer(key, number, data, values)
        if data is not None and tax_code:
            data["tax_code"] = tax_code
        planned.existing = self.match_producer(number, tax_code, values)
        if planned.existing is not None:
            if not can_manage_producer(self.user, planned.existing):
                planned.scope_error = RowError(
                    number, "tax_code" if tax_code else "producer_name", "auth.out_of_scope",
                    "Chủ thể này thuộc tỉnh khác, nằm ngoài phạm vi của bạn.",
                    "This producer belongs to another province, outside your scope.")
            return planned
        if values["commune_code"]:
            try:
                geo.require_commune(values["commune_code"])
            except DomainError as exc:
                self.plan.errors.append(_from_domain(exc, number, PRODUCER_FIELDS))
        if data is None or len(self.plan.errors) > errors_before or (values["tax_code"] and not tax_code):
            return planned  # already reported (a bad tax code is reported once, by the caller)
        transient = Producer()  # never added to the session: runs the service's rules only
        try:
            producers.apply_fields(transient, dict(data))
        except DomainError as exc:
            self.plan.errors.append(_from_domain(exc, number, PRODUCER_FIELDS, "producer_name"))
            return planned
        try:
            require_province(self.user, transient.province_code)
        except Forbidden:
            planned.scope_error = RowError(
                number, "commune_code", "auth.out_of_scope",
                f"Xã/phường {values['commune_code']} thuộc tỉnh khác, nằm ngoài phạm vi của bạn.",
                f"Commune {values['commune_code']} is in another province, outside your scope.")
        return planned

    def match_producer(self, number: int, tax_code: str | None, values: dict) -> Producer | None:
        if tax_code:
            return db.session.execute(select(Producer).where(Producer.tax_code == tax_code)).scalar_one_or_none()
        if values["tax_code"] or not values["name"] or not values["commune_code"]:
            return None
        wanted = fold(values["name"])
        found = [p for p in db.session.execute(select(Producer).where(
            Producer.commune_code == values["commune_code"])).scalars() if fold(p.name) == wanted]
        if len(found) > 1:
            self.error(number, "producer_name", "import.ambiguous_producer",
                       "Có nhiều chủ thể cùng tên trong xã này; hãy ghi mã số thuế.",
                       "Several producers have this name in this commune; give the tax code.")
            return None
        return found[0] if found else None

    # --- product ---
    def product(self, number: int, raw: dict, producer: PlannedProducer) -> PlannedProduct:
        values = {"name": _text(raw.get("product_name")), "group": _text(raw.get("group")),
                  "product_set": _text(raw.get("product_set")), "description": _text(raw.get("description"))}
        key = (producer.key, fold(values["name"] or ""))
        planned = producer.products.get(key)
        if planned is not None:
            self.same_values(number, planned.values, values, PRODUCT_FIELDS, "import.inconsistent_product",
                             "sản phẩm", "product")
            return planned
        errors_before = len(self.plan.errors)
        data = _load(ProductInSchema(), {k: v for k, v in values.items() if v is not None}, PRODUCT_FIELDS,
                     number, self.plan.errors)
        planned = PlannedProduct(key, number, data, values)
        producer.products[key] = planned
        if producer.existing is not None and values["name"]:
            wanted = fold(values["name"])
            planned.existing = next((p for p in db.session.execute(select(Product).where(
                Product.producer_id == producer.existing.id)).scalars() if fold(p.name) == wanted), None)
        if planned.existing is not None or data is None or len(self.plan.errors) > errors_before:
            return planned
        transient = Product()  # never added to the session
        try:
            with db.session.no_autoflush:
                products.apply_fields(transient, {**data, "status": "active"})
        except DomainError as exc:
            self.plan.errors.append(_from_domain(exc, number, PRODUCT_FIELDS, "product_name"))
        return planned

    # --- variant ---
    def variant(self, number: int, raw: dict, product: PlannedProduct) -> None:
        values = {"sku": _text(raw.get("variant_sku")), "name": _text(raw.get("variant_name")),
                  "gtin": _code(raw.get("gtin"), 0), "unit": _text(raw.get("unit"))}
        unparsed = set()
        for name, parse in (("weight_g", _integer), ("price", _integer), ("is_service", _boolean)):
            try:
                values[name] = parse(raw.get(VARIANT_FIELDS[name]))
            except CellError as exc:
                self.error(number, VARIANT_FIELDS[name], exc.code, exc.vi, exc.en)
                values[name] = None
                unparsed.add(name)
        errors_before = len(self.plan.errors)
        data = _load(VariantInSchema(), {k: v for k, v in values.items() if v is not None}, VARIANT_FIELDS,
                     number, self.plan.errors, unparsed)
        if unparsed:
            data = None
        sku = values["sku"]
        if sku:
            if sku in self.skus:
                self.error(number, "variant_sku", "import.duplicate_sku",
                           f"Mã SKU {sku} đã xuất hiện ở dòng {self.skus[sku]}.",
                           f"SKU {sku} already appears in row {self.skus[sku]}.")
            elif sku in self.taken_skus:
                self.error(number, "variant_sku", "variant.sku_taken", "Mã SKU đã tồn tại.", "SKU already exists.")
            self.skus.setdefault(sku, number)
        gtin = None
        if values["gtin"]:
            try:
                gtin = products.normalise_gtin(values["gtin"])
            except DomainError as exc:
                self.plan.errors.append(_from_domain(exc, number, VARIANT_FIELDS))
        if gtin:
            if gtin in self.gtins:
                self.error(number, "gtin", "import.duplicate_gtin",
                           f"Mã GTIN {gtin} đã xuất hiện ở dòng {self.gtins[gtin]}.",
                           f"GTIN {gtin} already appears in row {self.gtins[gtin]}.")
            elif gtin in self.taken_gtins:
                self.error(number, "gtin", "variant.gtin_taken", "Mã GTIN đã tồn tại.", "GTIN already exists.")
            self.gtins.setdefault(gtin, number)
        if data is not None and len(self.plan.errors) == errors_before:
            data["gtin"] = gtin
            data.setdefault("is_service", False)
            product.variants.append((number, data))

    # --- certification ---
    def certification(self, number: int, raw: dict, product: PlannedProduct) -> None:
        if all(_text(raw.get(column)) is None for column in CERT_FIELDS.values()):
            return  # no certification on this row (or repeated from another row of the product)
        values: dict = {"level": _alias(_text(raw.get("cert_level")), LEVEL_ALIASES),
                        "criteria_set": _code(raw.get("cert_criteria"), 0),
                        "decision_no": _text(raw.get("cert_decision_no"))}
        for name, parse in (("stars", _integer), ("score", _decimal), ("issued_on", _date)):
            try:
                values[name] = parse(raw.get(CERT_FIELDS[name]))
            except CellError as exc:
                self.error(number, CERT_FIELDS[name], exc.code, exc.vi, exc.en)
                return
        if product.cert_values is not None:
            self.same_values(number, product.cert_values, values, CERT_FIELDS, "import.inconsistent_certification",
                             "chứng nhận", "certification")
            return
        product.cert_values, product.cert_row = values, number
        loadable = {k: (str(v) if k == "score" else v) for k, v in values.items() if v is not None}
        data = _load(CertificationInSchema(), loadable, CERT_FIELDS, number, self.plan.errors)
        if data is None:
            return
        try:
            certifications.check_rules(data["stars"], data["score"], data["level"], data["issued_on"],
                                       data.get("criteria_set"))
        except DomainError as exc:
            self.plan.errors.append(_from_domain(exc, number, CERT_FIELDS))
            return
        if data["level"] == "central" and self.user.role != "admin":
            self.error(number, "cert_level", "auth.forbidden", "Kết quả cấp trung ương do quản trị viên ghi nhận.",
                       "Central-level results are recorded by an administrator.")
            return
        current = product.existing.current_certification() if product.existing is not None else None
        if current is not None and data["issued_on"] < current.issued_on:
            self.error(number, "cert_issued_on", "certification.older_than_current",
                       "Ngày cấp sớm hơn chứng nhận hiện hành.",
                       "Issue date is earlier than the current certification's.")
            return
        product.cert = data

    def same_values(self, number: int, first: dict, values: dict, fields_map: dict, code: str,
                    vi_what: str, en_what: str) -> None:
        """A repeated producer/product/certification must repeat the same values (a blank cell repeats them)."""
        for name, value in values.items():
            if value is None or name not in fields_map:
                continue
            if first.get(name) is not None and value != first[name] and not (
                    isinstance(value, str) and fold(value) == fold(str(first[name])) and name.endswith("name")):
                column = fields_map[name]
                self.error(number, column, code,
                           f"Giá trị cột {column} khác với dòng trước của cùng {vi_what}.",
                           f"Column {column} differs from an earlier row of the same {en_what}.")


# --- run -----------------------------------------------------------------------------------------------------------

def validate_table(user, table: Table, progress=None) -> Plan:
    """Check the header and every row without writing anything; returns the plan (``plan.errors`` may be set)."""
    check_columns(table)
    return _Validator(user, table).run(progress)


def _write(user, plan: Plan, progress=None) -> dict:
    """Create everything in the plan in the current transaction (no commit); returns counts."""
    created = {"producers": 0, "products": 0, "variants": 0, "certifications": 0}
    row, part = 0, None
    try:
        for planned in plan.producers.values():
            row, part = planned.row, PRODUCER_FIELDS
            producer = planned.existing
            if producer is None:
                producer = producers.create_producer(user, planned.data, status="verified", autocommit=False)
                created["producers"] += 1
            for item in planned.products.values():
                variants = [data for _, data in item.variants]
                if item.existing is None:
                    row, part = item.row, PRODUCT_FIELDS
                    product = products.create_product(user, producer, {
                        **item.data, "status": "active", "origin_commune_code": producer.commune_code,
                        "variants": variants}, autocommit=False)
                    created["products"] += 1
                    created["variants"] += len(variants)
                else:
                    product = item.existing
                    for row, data in item.variants:
                        part = VARIANT_FIELDS
                        products.add_variant(user, product, data, autocommit=False)
                        created["variants"] += 1
                if item.cert is not None:
                    row, part = item.cert_row, CERT_FIELDS
                    certifications.record_certification(user, product, item.cert, autocommit=False)
                    created["certifications"] += 1
                if progress:
                    progress("write", len(item.variants))
    except DomainError as exc:
        db.session.rollback()
        raise ImportFailed([_from_domain(exc, row, part)], plan.rows)
    except IntegrityError:
        db.session.rollback()
        raise ImportFailed([RowError(row, None, "import.conflict",
                                     "Dữ liệu vừa bị thay đổi bởi thao tác khác (trùng mã); hãy thử lại.",
                                     "The data changed concurrently (duplicate code); try again.")], plan.rows)
    except BaseException:
        db.session.rollback()
        raise
    return created


def run_import(user, table: Table, dry_run: bool = False, source: str | None = None,
               progress: Callable[[str, int], None] | None = None) -> dict:
    """Validate every row, then create producers/products/variants/certifications in ONE transaction.

    ``user``: an admin or organiser (organisers only within their province).
    Raises :class:`ImportFailed` (422, ``details.rows``) when any row fails;
    then nothing is written. ``dry_run`` validates and rehearses the writes,
    then rolls back. ``progress(phase, n)`` is called as rows are processed
    (phases ``validate`` and ``write``). Commits on success.
    """
    if user is None or user.role not in IMPORT_ROLES:
        raise Forbidden(details={"allowed_roles": list(IMPORT_ROLES)})
    plan = validate_table(user, table, progress)
    if plan.errors:
        db.session.rollback()
        raise ImportFailed(plan.errors, plan.rows)
    if not table.rows:
        raise file_error("import.empty_file", "Tệp không có dòng dữ liệu nào.", "The file has no data rows.")
    created = _write(user, plan, progress)
    matched = {"producers": sum(1 for p in plan.producers.values() if p.existing is not None),
               "products": sum(1 for p in plan.producers.values() for i in p.products.values()
                               if i.existing is not None)}
    if dry_run:
        db.session.rollback()
    else:
        try:
            audit.record("import.completed", None, actor=user, entity_type="import", entity_id=(source or "-")[-60:],
                         province_code=getattr(user, "province_code", None),
                         after={"rows": plan.rows, "created": created, "matched": matched, "source": source})
            commit()
        except BaseException:
            db.session.rollback()
            raise
    return {"created": created, "errors": [], "matched": matched, "rows": plan.rows, "dry_run": dry_run}


def example_rows() -> list[dict]:
    """A few realistic rows (two producers, three products, one uncertified) for the shipped example file."""
    return [
        {"producer_name": "HTX Nông nghiệp Tân Triều", "legal_form": "cooperative", "tax_code": "3603312406",
         "registration_no": "4707000123", "commune_code": "26188", "producer_email": "htx.tantrieu@example.vn",
         "product_name": "Bưởi đường lá cam Tân Triều", "group": "food", "product_set": "fresh_produce",
         "description": "Bưởi đường lá cam trồng ven sông Đồng Nai, múi vàng, vị ngọt thanh.",
         "variant_sku": "TT-BDLC-1", "variant_name": "Trái 1–1,3 kg", "gtin": "8930000100016", "unit": "trái",
         "weight_g": 1200, "price": 60000, "is_service": "false", "cert_stars": 3, "cert_score": "64,5",
         "cert_level": "province", "cert_criteria": "148", "cert_decision_no": "2415/QĐ-UBND",
         "cert_issued_on": "15/09/2025"},
        {"producer_name": "HTX Nông nghiệp Tân Triều", "legal_form": "cooperative", "tax_code": "3603312406",
         "registration_no": "4707000123", "commune_code": "26188", "producer_email": "htx.tantrieu@example.vn",
         "product_name": "Bưởi đường lá cam Tân Triều", "group": "food", "product_set": "fresh_produce",
         "description": "Bưởi đường lá cam trồng ven sông Đồng Nai, múi vàng, vị ngọt thanh.",
         "variant_sku": "TT-BDLC-HOP2", "variant_name": "Hộp quà 2 trái", "gtin": "8930000100023", "unit": "hộp",
         "weight_g": 2600, "price": 140000, "is_service": "false", "cert_stars": 3, "cert_score": "64,5",
         "cert_level": "province", "cert_criteria": "148", "cert_decision_no": "2415/QĐ-UBND",
         "cert_issued_on": "15/09/2025"},
        {"producer_name": "HTX Nông nghiệp Tân Triều", "legal_form": "cooperative", "tax_code": "3603312406",
         "registration_no": "4707000123", "commune_code": "26188", "producer_email": "htx.tantrieu@example.vn",
         "product_name": "Trải nghiệm vườn bưởi Tân Triều", "group": "tourism", "product_set": "community_eco_tourism",
         "description": "Tham quan vườn bưởi, hái bưởi và thưởng thức đặc sản (chưa được đánh giá OCOP).",
         "variant_sku": "TT-TOUR-VB", "variant_name": "Vé tham quan nửa ngày", "unit": "vé", "price": 80000,
         "is_service": "true"},
        {"producer_name": "Hộ kinh doanh Mật ong Phan Thị Hoa", "legal_form": "household_business",
         "registration_no": "28A8001234", "commune_code": "18313",
         "product_name": "Mật ong rừng Vũ Quang", "group": "food", "product_set": "honey_other_agrifood",
         "description": "Mật ong khai thác từ rừng Vũ Quang, Hà Tĩnh.", "variant_sku": "VQ-MO-500",
         "variant_name": "Chai 500 ml", "gtin": "8930000100030", "unit": "chai", "weight_g": 700,
         "price": 250000, "is_service": "false", "cert_stars": 4, "cert_score": "76", "cert_level": "province",
         "cert_criteria": "148", "cert_decision_no": "1187/QĐ-UBND", "cert_issued_on": "2024-05-10"},
    ]
