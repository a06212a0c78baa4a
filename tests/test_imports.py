"""Bulk import (CSV/XLSX → producers, products, variants, certifications): all-or-nothing, per-row report."""
from __future__ import annotations

import datetime as dt
import io
from importlib import resources

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from core.db import db
from core.audit.models import AuditEvent
from core.certification.models import Certification
from core.catalogue.models import Producer, Product, Variant
from core.imports.formats import read_table, write_csv, write_xlsx
from core.imports.catalogue_import import COLUMNS, example_rows
from support.checks import error_of, row_counts

URL = "/admin/v1/imports"
EXAMPLE = resources.files("core").joinpath("data/import_example.csv").read_bytes()
POMELO = "Bưởi đường lá cam Tân Triều"
HONEY = "Mật ong rừng Vũ Quang"


def _csv(rows, columns=COLUMNS) -> bytes:
    return write_csv(list(columns), rows).encode("utf-8")


def _post(client, headers, data: bytes, filename="import.csv", dry_run=None):
    form = {"file": (io.BytesIO(data), filename)}
    if dry_run is not None:
        form["dry_run"] = "true" if dry_run else "false"
    return client.post(URL, headers=headers, data=form, content_type="multipart/form-data")


def _row(**changes) -> dict:
    """A valid extra row (new Đồng Nai producer, 3-star product) with ``changes``."""
    row = {"producer_name": "Công ty TNHH Thực phẩm Phú Lý", "legal_form": "enterprise", "tax_code": "3603312413",
           "registration_no": "3603312413", "commune_code": "26173", "product_name": "Chả lụa Phú Lý",
           "group": "food", "product_set": "processed_meat_eggs_milk_seafood_honey",
           "variant_sku": "PL-CL-500", "variant_name": "Cây 500 g", "gtin": "8930000100047", "unit": "cây",
           "weight_g": "500", "price": "120.000", "cert_stars": "3", "cert_score": "58", "cert_level": "province",
           "cert_criteria": "148", "cert_decision_no": "3001/QĐ-UBND", "cert_issued_on": "2025-10-01"}
    row.update(changes)
    return row


def _listed_names(client) -> set[str]:
    return {p["name"] for p in client.get("/storefront/v1/products?limit=100").get_json()["results"]}


@pytest.fixture
def admin(login, demo):
    return login("admin")


# --- happy paths ---------------------------------------------------------------------------------------------------
def test_example_csv_imports_and_certified_products_become_listed(client, admin):
    assert POMELO not in _listed_names(client)
    response = _post(client, admin, EXAMPLE, "import_example.csv")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["created"] == {"producers": 2, "products": 3, "variants": 4, "certifications": 2}
    assert body["errors"] == [] and body["dry_run"] is False and body["rows"] == 4
    listed = _listed_names(client)
    assert {POMELO, HONEY} <= listed
    assert "Trải nghiệm vườn bưởi Tân Triều" not in listed  # imported, but never certified
    htx = db.session.execute(select(Producer).where(Producer.tax_code == "3603312406")).scalar_one()
    assert htx.status == "verified" and htx.province_code == "75" and htx.verified_at is not None
    pomelo = db.session.execute(select(Product).where(Product.name == POMELO)).scalar_one()
    assert pomelo.status == "active" and pomelo.producer_id == htx.id and pomelo.listed_stars == 3
    assert {(v.sku, v.gtin, v.price, v.weight_g) for v in pomelo.variants} == {
        ("TT-BDLC-1", "8930000100016", 60000, 1200), ("TT-BDLC-HOP2", "8930000100023", 140000, 2600)}
    cert = pomelo.current_certification()
    assert (cert.stars, float(cert.score), cert.level, cert.issued_on, cert.expires_on) == (
        3, 64.5, "province", dt.date(2025, 9, 15), dt.date(2028, 9, 15))
    tour = db.session.execute(select(Product).where(Product.group_code == "tourism",
                                                    Product.producer_id == htx.id)).scalar_one()
    assert tour.variants[0].is_service is True
    honey = db.session.execute(select(Product).where(Product.name == HONEY)).scalar_one()
    assert honey.producer.tax_code is None and honey.producer.province_code == "42"
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "import.completed")).scalar_one() \
        .after["created"] == body["created"]


def test_xlsx_import_with_spreadsheet_typed_cells(client, admin):
    rows = []
    for row in example_rows():
        row = dict(row)
        for column in ("price", "weight_g", "cert_stars"):
            if row.get(column) not in (None, ""):
                row[column] = int(row[column])
        if row.get("cert_score"):
            row["cert_score"] = float(str(row["cert_score"]).replace(",", "."))
        if row.get("cert_issued_on"):
            row["cert_issued_on"] = dt.datetime(2025, 9, 15) if "/" in row["cert_issued_on"] \
                else dt.date.fromisoformat(row["cert_issued_on"])
        if row.get("tax_code"):
            row["tax_code"] = int(row["tax_code"])  # a number cell, as Excel stores it
        if row.get("gtin"):
            row["gtin"] = int(row["gtin"])
        row["is_service"] = row["is_service"] == "true"
        rows.append(row)
    data = write_xlsx(list(COLUMNS), rows)
    response = _post(client, admin, data, "san-pham.xlsx")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == {"producers": 2, "products": 3, "variants": 4, "certifications": 2}
    assert {POMELO, HONEY} <= _listed_names(client)
    honey = db.session.execute(select(Product).where(Product.name == HONEY)).scalar_one()
    assert honey.current_certification().issued_on == dt.date(2024, 5, 10) and honey.listed_stars == 4


def test_existing_producer_is_matched_by_name_and_commune_and_values_are_parsed(client, admin):
    binh_loi = db.session.execute(select(Producer).where(Producer.commune_code == "DNA-VC-BL")).scalar_one()
    row = _row(producer_name="htx dịch vụ - nông nghiệp bình lợi", legal_form="HTX", tax_code="",
               registration_no="", commune_code="DNA-VC-BL", product_name="Mứt vỏ bưởi Bình Lợi",
               product_set="processed_fruit_veg_nuts", cert_score="58,0", cert_issued_on="01/10/2025")
    second = _row(**{k: row[k] for k in ("producer_name", "legal_form", "tax_code", "registration_no",
                                         "commune_code", "product_name", "product_set")},
                  variant_sku="PL-CL-1000", variant_name="Hộp 1 kg", gtin="", price="210000 đ",
                  cert_stars="", cert_score="", cert_level="", cert_criteria="", cert_decision_no="",
                  cert_issued_on="")  # certification columns may be left blank on later rows of the product
    response = _post(client, admin, _csv([row, second]))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["created"] == {"producers": 0, "products": 1, "variants": 2, "certifications": 1}
    assert body["matched"] == {"producers": 1, "products": 0}
    product = db.session.execute(select(Product).where(Product.name == "Mứt vỏ bưởi Bình Lợi")).scalar_one()
    assert product.producer_id == binh_loi.id and product.is_listed
    assert sorted(v.price for v in product.variants) == [120000, 210000]


def test_dry_run_validates_and_writes_nothing(client, admin):
    before = row_counts()
    response = _post(client, admin, EXAMPLE, dry_run=True)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["dry_run"] is True
    assert body["created"] == {"producers": 2, "products": 3, "variants": 4, "certifications": 2}
    assert row_counts() == before
    assert POMELO not in _listed_names(client)


# --- refused files: per-row report, database unchanged ---------------------------------------------------------------
BAD_ROWS = {
    "bad_gtin": ({"gtin": "8930000100048"}, "gtin", "validation.invalid"),
    "bad_tax_code": ({"tax_code": "3603312414", "registration_no": ""}, "tax_code", "validation.invalid"),
    "unknown_commune": ({"commune_code": "99999"}, "commune_code", "validation.invalid"),
    "score_stars_mismatch": ({"cert_score": "75"}, "cert_stars", "certification.score_stars_mismatch"),
    "bad_price": ({"price": "0"}, "price", "validation.invalid"),
    "unknown_group": ({"group": "jewellery"}, "group", "validation.invalid"),
    "bad_date": ({"cert_issued_on": "31/02/2025"}, "cert_issued_on", "import.bad_date"),
    "enterprise_registration_no": ({"registration_no": "0101234567"}, "registration_no", "validation.invalid"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_one_bad_row_refuses_the_whole_file(client, admin, case):
    changes, column, code = BAD_ROWS[case]
    rows = example_rows() + [_row(**changes)]  # the bad row comes last: row 6 of the sheet
    before = row_counts()
    error = error_of(_post(client, admin, _csv(rows)), 422, "import.invalid")
    assert error["details"]["total_rows"] == 5 and error["details"]["failed_rows"] == 1
    assert [(r["row"], r["column"], r["code"]) for r in error["details"]["rows"]] == [(6, column, code)]
    report = error["details"]["rows"][0]
    assert report["message"] and report["message_en"] and report["message"] != report["message_en"]
    assert row_counts() == before
    assert POMELO not in _listed_names(client)


def test_a_failure_while_writing_the_last_product_rolls_back_everything(client, admin):
    """Validation passed, then a write fails late: the producers/products already flushed disappear too."""
    from core.errors import DomainError
    from core.db import subscribe, unsubscribe

    def refuse_honey(product, was_listed, reason):  # a real in-transaction listener (as the search outbox)
        if product.name == HONEY:
            raise DomainError("test.refused", "Từ chối.", "Refused.", status=422)

    before = row_counts()
    subscribe("catalogue.listing_refreshed", refuse_honey)
    try:
        error = error_of(_post(client, admin, EXAMPLE), 422, "import.invalid")
    finally:
        unsubscribe("catalogue.listing_refreshed", refuse_honey)
    assert [(r["row"], r["code"]) for r in error["details"]["rows"]] == [(5, "test.refused")]
    assert row_counts() == before
    assert POMELO not in _listed_names(client)


def test_every_bad_row_is_reported_at_once(client, admin):
    rows = [_row(), _row(variant_sku="PL-CL-1", gtin="123", price="abc"),
            _row(variant_sku="PL-CL-2", gtin="", tax_code="", registration_no="", commune_code="00000",
                 producer_name="Cơ sở Chả lụa Bà Tư", legal_form="household"),
            _row(variant_sku="PL-CL-3", gtin="", product_name="Giò thủ", cert_stars="5", cert_score="95")]
    before = row_counts()
    error = error_of(_post(client, admin, _csv(rows)), 422, "import.invalid")
    found = {(r["row"], r["column"], r["code"]) for r in error["details"]["rows"]}
    assert found == {
        (3, "gtin", "validation.invalid"), (3, "price", "import.not_integer"),
        (4, "legal_form", "validation.invalid"), (4, "commune_code", "validation.invalid"),
        (5, "cert_stars", "certification.stars_not_allowed_for_level")}, found
    assert row_counts() == before


def test_duplicates_and_inconsistent_repeats_are_row_errors(client, admin):
    rows = [_row(), _row(variant_name="Cây 1 kg"),  # same SKU and GTIN again
            _row(variant_sku="PL-CL-X", gtin="", cert_score="62"),  # another score for the same product
            _row(variant_sku="BL-BDX-1", gtin="", product_name="Nem Phú Lý", cert_stars="", cert_score="",
                 cert_level="", cert_criteria="", cert_decision_no="", cert_issued_on="")]  # SKU of the demo
    before = row_counts()
    error = error_of(_post(client, admin, _csv(rows)), 422, "import.invalid")
    found = {(r["row"], r["column"], r["code"]) for r in error["details"]["rows"]}
    assert found == {(3, "variant_sku", "import.duplicate_sku"), (3, "gtin", "import.duplicate_gtin"),
                     (4, "cert_score", "import.inconsistent_certification"),
                     (5, "variant_sku", "variant.sku_taken")}, found
    assert row_counts() == before


def test_header_problems_are_reported_on_row_one(client, admin):
    columns = [c for c in COLUMNS if c != "price"] + ["colour"]
    error = error_of(_post(client, admin, _csv([_row()], columns)), 422, "import.invalid")
    assert {(r["row"], r["column"], r["code"]) for r in error["details"]["rows"]} == {
        (1, "price", "import.missing_column"), (1, "colour", "import.unknown_column")}


def test_unreadable_files_and_missing_upload(client, admin):
    error_of(_post(client, admin, "tên,giá\n".encode("utf-16")), 422, "import.encoding")
    error_of(_post(client, admin, b"\xd0\xcf\x11\xe0" + b"\0" * 100, "old.xls"), 422, "import.unsupported_format")
    error_of(_post(client, admin, b"PK\x03\x04broken", "x.xlsx"), 422, "import.bad_xlsx")
    error_of(_post(client, admin, _csv([])), 422, "import.empty_file")
    error_of(client.post(URL, headers=admin, data={"dry_run": "true"}, content_type="multipart/form-data"), 422)
    error = error_of(client.post(URL, headers=admin, data={"file": (io.BytesIO(EXAMPLE), "a.csv"),
                                                           "dry_run": "maybe", "mode": "x"},
                                 content_type="multipart/form-data"), 422, "validation.invalid")
    assert set(error["details"]) == {"dry_run", "mode"}
    error_of(client.post(URL, headers=admin, json={"file": "a.csv"}), 422, "validation.invalid")


def test_csv_with_bom_semicolons_and_vietnamese_dates_is_read():
    text = "\ufeffproducer_name;price;cert_issued_on\nHTX Bình Minh;65.000;15/09/2025\n"
    table = read_table(text.encode("utf-8"))
    assert table.columns == ["producer_name", "price", "cert_issued_on"]
    assert table.rows == [(2, {"producer_name": "HTX Bình Minh", "price": "65.000", "cert_issued_on": "15/09/2025"})]


# --- scope ---------------------------------------------------------------------------------------------------------
def test_organiser_imports_own_province_only(client, login, demo):
    organiser = login("sct.dongnai")
    before = row_counts()
    error = error_of(_post(client, organiser, EXAMPLE), 422, "import.invalid")
    rows = [(r["row"], r["column"], r["code"]) for r in error["details"]["rows"]]
    assert (5, "commune_code", "auth.out_of_scope") in rows  # the Vũ Quang (Hà Tĩnh) honey
    # certifications are the certifiers' (and admin's), through the import as through the API
    assert {r for r in rows if r[0] != 5} and all(r[1:] == ("cert_level", "auth.forbidden") for r in rows if r[0] != 5)
    assert row_counts() == before
    own = [{**r, **{c: "" for c in COLUMNS if c.startswith("cert_")}}
           for r in example_rows() if r["commune_code"] == "26188"]
    response = _post(client, organiser, _csv(own))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == {"producers": 1, "products": 2, "variants": 3, "certifications": 0}


def test_organiser_cannot_add_to_a_producer_of_another_province(client, login, demo, admin):
    assert _post(client, admin, EXAMPLE).status_code == 200
    row = next(r for r in example_rows() if r["product_name"] == HONEY)
    row = {**row, "product_name": "Mật ong hoa cà phê", "variant_sku": "VQ-MO-CF", "gtin": "",
           **{c: "" for c in COLUMNS if c.startswith("cert_")}}  # organisers record no certifications
    organiser = login("sct.dongnai")
    before = row_counts()
    error = error_of(_post(client, organiser, _csv([row, {**row, "variant_sku": "VQ-MO-CF2"}])),
                     422, "import.invalid")
    assert [(r["row"], r["code"]) for r in error["details"]["rows"]] == [(2, "auth.out_of_scope"),
                                                                          (3, "auth.out_of_scope")]
    assert row_counts() == before


def test_refused_callers(client, login, demo):
    error_of(_post(client, {}, EXAMPLE), 401, "auth.required")
    for username in ("cs.htx-binh-loi", "hoidong.dongnai"):
        error_of(_post(client, login(username), EXAMPLE), 403, "auth.forbidden")
    assert db.session.execute(select(func.count()).select_from(Product).where(Product.name == POMELO)).scalar() == 0


# --- CLI -----------------------------------------------------------------------------------------------------------
@pytest.fixture
def run_cli(monkeypatch, database_url, instance_path):
    """Run the real ``ocop`` command group (build_cli) against the test database."""
    from core.cli import build_cli
    monkeypatch.setenv("OCOP_DATABASE_URL", database_url)
    monkeypatch.setenv("OCOP_INSTANCE_PATH", str(instance_path))
    monkeypatch.delenv("OCOP_PLUGINS_DISABLED", raising=False)
    root, pm = build_cli()

    def run(*args):
        db.session.commit()  # release our own transaction before another app writes
        result = CliRunner().invoke(root, list(args), obj={"pm": pm})
        db.session.expire_all()
        return result
    return run


def test_cli_import_dry_run_then_import(run_cli, demo, tmp_path):
    path = tmp_path / "import_example.csv"
    path.write_bytes(EXAMPLE)
    before = row_counts()
    result = run_cli("import", str(path), "--dry-run")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Would create 2 producers, 3 products, 4 variants, 2 certifications from 4 rows" in result.stdout
    assert row_counts() == before
    result = run_cli("import", str(path))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Created 2 producers, 3 products, 4 variants, 2 certifications" in result.stdout
    assert db.session.execute(select(func.count()).select_from(Variant)
                              .where(Variant.sku.like("TT-%"))).scalar() == 3
    assert db.session.execute(select(func.count()).select_from(Certification)).scalar() == \
        before["certification"] + 2


def test_cli_import_reports_row_errors_and_writes_nothing(run_cli, demo, tmp_path):
    path = tmp_path / "bad.xlsx"
    rows = example_rows() + [_row(gtin="8930000100048")]
    path.write_bytes(write_xlsx(list(COLUMNS), rows))
    before = row_counts()
    result = run_cli("import", str(path), "--user", "sct.dongnai")
    assert result.exit_code == 1
    assert "dòng/row 5, commune_code" in result.stderr and "[auth.out_of_scope]" in result.stderr
    assert "dòng/row 6, gtin" in result.stderr
    assert row_counts() == before
    result = run_cli("import", str(path), "--user", "cs.htx-binh-loi")
    assert result.exit_code != 0 and "no admin or organiser" in result.output
