"""Bulk import of producers, products, variants and certifications from CSV/XLSX (all-or-nothing).

Every row goes through the same checks as the admin API — the API's input
schemas, then the services' own rules (``producers.normalise_tax_code``,
``geo.require_commune``, ``groups.resolve``, ``products.normalise_gtin``,
``certifications.check_rules``, province scope) — and every problem becomes a
row error (:mod:`core.imports.row_errors`). Only when no row fails is anything
written, inside a SAVEPOINT: a failure in row 900 undoes rows 1–899, and a dry
run rehearses every write, then undoes them. The caller (request, ``ocop
import``) owns and commits the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import trail as audit
from core.catalogue import producers, products
from core.catalogue.access import can_manage_producer, require_province
from core.catalogue.models import Producer, Product, Variant
from core.catalogue.schemas import ProducerInSchema, ProductInSchema, VariantInSchema
from core.certification import certifications
from core.certification.access import may_record_certifications, may_record_level
from core.certification.schemas import CertificationInSchema
from core.db import db, savepoint
from core.errors import DomainError, Forbidden
from core.geo import units as geo
from core.imports.access import IMPORT_ROLES, require_importer
from core.imports.columns import (CERT_FIELDS, COLUMNS, LEGAL_FORM_ALIASES, LEVEL_ALIASES, PRODUCER_FIELDS,
                                  PRODUCT_FIELDS, REQUIRED_COLUMNS, VARIANT_FIELDS, CellError, cell_alias,
                                  cell_boolean, cell_code, cell_date, cell_decimal, cell_integer, cell_text)
from core.imports.formats import Table, file_error
from core.imports.row_errors import ImportFailed, RowError, load_row, row_error_from
from core.text import fold

__all__ = ["COLUMNS", "IMPORT_ROLES", "ImportFailed", "Plan", "RowError", "check_columns", "example_rows",
           "run_import", "system_actor", "validate_table"]


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
            sku = cell_text(raw.get("variant_sku"))
            if sku:
                skus.add(sku)
            try:
                gtin = products.normalise_gtin(cell_code(raw.get("gtin"), 0))
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
            "name": cell_text(raw.get("producer_name")),
            "legal_form": cell_alias(cell_text(raw.get("legal_form")), LEGAL_FORM_ALIASES),
            "tax_code": cell_code(raw.get("tax_code"), 10),
            "registration_no": cell_code(raw.get("registration_no"), 0),
            "commune_code": cell_code(raw.get("commune_code"), 5),
            "email": cell_text(raw.get("producer_email")),
        }
        tax_code = None
        if values["tax_code"]:
            try:
                tax_code = values["tax_code"] = producers.normalise_tax_code(values["tax_code"])
            except DomainError as exc:
                self.plan.errors.append(row_error_from(exc, number, PRODUCER_FIELDS))
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
        data = load_row(ProducerInSchema(), {k: v for k, v in values.items() if v is not None}, PRODUCER_FIELDS,
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
                self.plan.errors.append(row_error_from(exc, number, PRODUCER_FIELDS))
        if data is None or len(self.plan.errors) > errors_before or (values["tax_code"] and not tax_code):
            return planned  # already reported (a bad tax code is reported once, by the caller)
        transient = Producer()  # never added to the session: runs the service's rules only
        try:
            producers.apply_fields(transient, dict(data))
        except DomainError as exc:
            self.plan.errors.append(row_error_from(exc, number, PRODUCER_FIELDS, "producer_name"))
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
        """The verified producer this row names (tax code, else name in commune). A producer not verified
        under the same tax code is a row error: a self-registration is no claim on an official list."""
        if tax_code:
            found = db.session.execute(select(Producer).where(Producer.tax_code == tax_code)).scalar_one_or_none()
            if found is not None and found.status != "verified":
                self.error(number, "tax_code", "import.producer_not_verified",
                           f"Mã số thuế {tax_code} thuộc một chủ thể chưa được xác minh ({found.status}); "
                           "hãy xác minh hoặc từ chối đăng ký đó trước.",
                           f"Tax code {tax_code} belongs to a producer that is not verified ({found.status}); "
                           "verify or reject that registration first.")
                return None
            return found
        if values["tax_code"] or not values["name"] or not values["commune_code"]:
            return None
        wanted = fold(values["name"])
        found = [p for p in db.session.execute(select(Producer).where(
            Producer.commune_code == values["commune_code"], Producer.status == "verified")).scalars()
            if fold(p.name) == wanted]
        if len(found) > 1:
            self.error(number, "producer_name", "import.ambiguous_producer",
                       "Có nhiều chủ thể cùng tên trong xã này; hãy ghi mã số thuế.",
                       "Several producers have this name in this commune; give the tax code.")
            return None
        return found[0] if found else None

    # --- product ---
    def product(self, number: int, raw: dict, producer: PlannedProducer) -> PlannedProduct:
        values = {"name": cell_text(raw.get("product_name")), "group": cell_text(raw.get("group")),
                  "product_set": cell_text(raw.get("product_set")), "description": cell_text(raw.get("description"))}
        key = (producer.key, fold(values["name"] or ""))
        planned = producer.products.get(key)
        if planned is not None:
            self.same_values(number, planned.values, values, PRODUCT_FIELDS, "import.inconsistent_product",
                             "sản phẩm", "product")
            return planned
        errors_before = len(self.plan.errors)
        data = load_row(ProductInSchema(), {k: v for k, v in values.items() if v is not None}, PRODUCT_FIELDS,
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
            self.plan.errors.append(row_error_from(exc, number, PRODUCT_FIELDS, "product_name"))
        return planned

    # --- variant ---
    def variant(self, number: int, raw: dict, product: PlannedProduct) -> None:
        values = {"sku": cell_text(raw.get("variant_sku")), "name": cell_text(raw.get("variant_name")),
                  "gtin": cell_code(raw.get("gtin"), 0), "unit": cell_text(raw.get("unit"))}
        unparsed = set()
        for name, parse in (("weight_g", cell_integer), ("price", cell_integer), ("is_service", cell_boolean)):
            try:
                values[name] = parse(raw.get(VARIANT_FIELDS[name]))
            except CellError as exc:
                self.error(number, VARIANT_FIELDS[name], exc.code, exc.vi, exc.en)
                values[name] = None
                unparsed.add(name)
        errors_before = len(self.plan.errors)
        data = load_row(VariantInSchema(), {k: v for k, v in values.items() if v is not None}, VARIANT_FIELDS,
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
                self.plan.errors.append(row_error_from(exc, number, VARIANT_FIELDS))
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
        if all(cell_text(raw.get(column)) is None for column in CERT_FIELDS.values()):
            return  # no certification on this row (or repeated from another row of the product)
        values: dict = {"level": cell_alias(cell_text(raw.get("cert_level")), LEVEL_ALIASES),
                        "criteria_set": cell_code(raw.get("cert_criteria"), 0),
                        "decision_no": cell_text(raw.get("cert_decision_no"))}
        for name, parse in (("stars", cell_integer), ("score", cell_decimal), ("issued_on", cell_date)):
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
        data = load_row(CertificationInSchema(), loadable, CERT_FIELDS, number, self.plan.errors)
        if data is None:
            return
        try:
            certifications.check_rules(data["stars"], data["score"], data["level"], data["issued_on"],
                                       data.get("criteria_set"))
        except DomainError as exc:
            self.plan.errors.append(row_error_from(exc, number, CERT_FIELDS))
            return
        if not may_record_certifications(self.user):
            self.error(number, "cert_level", "auth.forbidden",
                       "Chỉ hội đồng đánh giá (hoặc quản trị viên) ghi nhận kết quả chứng nhận.",
                       "Only certifiers (or an administrator) record certification results.")
            return
        if not may_record_level(self.user, data["level"]):
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
    """Create everything in the plan (flushes only); returns counts. A failing row raises :class:`ImportFailed`."""
    created = {"producers": 0, "products": 0, "variants": 0, "certifications": 0}
    row, part = 0, None
    try:
        for planned in plan.producers.values():
            row, part = planned.row, PRODUCER_FIELDS
            producer = planned.existing
            if producer is None:
                producer = producers.create_producer(user, planned.data, status="verified")
                created["producers"] += 1
            for item in planned.products.values():
                variants = [data for _, data in item.variants]
                if item.existing is None:
                    row, part = item.row, PRODUCT_FIELDS
                    product = products.create_product(user, producer, {
                        **item.data, "status": "active", "origin_commune_code": producer.commune_code,
                        "variants": variants})
                    created["products"] += 1
                    created["variants"] += len(variants)
                else:
                    product = item.existing
                    for row, data in item.variants:
                        part = VARIANT_FIELDS
                        products.add_variant(user, product, data)
                        created["variants"] += 1
                if item.cert is not None:
                    row, part = item.cert_row, CERT_FIELDS
                    certifications.record_certification(user, product, item.cert)
                    created["certifications"] += 1
                if progress:
                    progress("write", len(item.variants))
    except DomainError as exc:
        raise ImportFailed([row_error_from(exc, row, part)], plan.rows) from exc
    except IntegrityError as exc:
        raise ImportFailed([RowError(row, None, "import.conflict",
                                     "Dữ liệu vừa bị thay đổi bởi thao tác khác (trùng mã); hãy thử lại.",
                                     "The data changed concurrently (duplicate code); try again.")], plan.rows) from exc
    return created


def run_import(user, table: Table, dry_run: bool = False, source: str | None = None,
               progress: Callable[[str, int], None] | None = None) -> dict:
    """Validate every row, then create producers/products/variants/certifications, all or nothing.

    ``user``: an admin or organiser (organisers only within their province).
    Raises :class:`ImportFailed` (422, ``details.rows``) when any row fails;
    then nothing is written. The writes run in a SAVEPOINT, undone when a row
    fails and, for a ``dry_run``, once they have all been rehearsed.
    ``progress(phase, n)`` is called as rows are processed (phases ``validate``
    and ``write``). Flushes only: the caller commits.
    """
    require_importer(user)
    plan = validate_table(user, table, progress)
    if plan.errors:
        raise ImportFailed(plan.errors, plan.rows)
    if not table.rows:
        raise file_error("import.empty_file", "Tệp không có dòng dữ liệu nào.", "The file has no data rows.")
    with savepoint(keep=not dry_run):
        created = _write(user, plan, progress)
    matched = {"producers": sum(1 for p in plan.producers.values() if p.existing is not None),
               "products": sum(1 for p in plan.producers.values() for i in p.products.values()
                               if i.existing is not None)}
    if not dry_run:
        audit.record("import.completed", None, actor=user, entity_type="import", entity_id=(source or "-")[-60:],
                     province_code=getattr(user, "province_code", None),
                     after={"rows": plan.rows, "created": created, "matched": matched, "source": source})
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
