"""Marketplace feeds plugin: the registry, opt-in, the demo's Google feed checked item by item, the other
formats, validation reports, secret URLs, ETag/304, gzip, delisting, reports, the plugin switched off."""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile

import pytest
from click.testing import CliRunner
from lxml import etree
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from stdnum import ean

from core import migrate
from core.accounts.models import User
from core.app import create_app
from core.celery_app import init_celery
from core.catalogue.listing import listed_clause
from core.catalogue.models import Producer, Product, Variant
from core.cli import build_cli
from core.db import db
from core.inventory import ledger
from core.pricing import resolver
from core.pricing.models import Promotion
from plugins.marketplace_feeds.demo import CAMPAIGN
from plugins.marketplace_feeds.models import FeedBuild
from support.checks import error_of, row_counts
from support.marketplace import BASE, feed_path, seed_marketplaces

G = "{http://base.google.com/ns/1.0}"
REQUIRED = ("id", "item_group_id", "availability", "price", "brand", "condition", "image_link")


@pytest.fixture
def markets(app, demo):
    return seed_marketplaces()["marketplaces"]


def _items(xml: bytes) -> dict[str, dict]:
    root = etree.fromstring(xml)
    assert root.tag == "rss" and root.get("version") == "2.0"
    assert xml.count(b"xmlns:g=") == 1 and b"ns0:" not in xml  # the namespace is declared once
    items = {}
    for item in root.find("channel").findall("item"):
        fields = {}
        for child in item:
            name = child.tag.replace(G, "")
            fields.setdefault(name, child.text)
        items[fields["id"]] = fields
    return items


def _listed_skus(producer_ids=None) -> set[str]:
    stmt = (select(Variant.sku).join(Product, Product.id == Variant.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(listed_clause(), Variant.active.is_(True), Producer.status == "verified"))
    if producer_ids is not None:
        stmt = stmt.where(Product.producer_id.in_(producer_ids))
    return set(db.session.execute(stmt).scalars())


def test_the_demo_google_feed_holds_every_listed_variant_and_each_item_follows_the_rules(client, login, markets):
    admin = login("admin")
    response = client.get(feed_path(client, admin, markets["google"]))
    assert response.status_code == 200 and response.content_type.startswith("application/rss+xml")
    items = _items(response.data)
    assert set(items) == _listed_skus() and len(items) >= 8
    variants = {v.sku: v for v in db.session.execute(select(Variant)).scalars()}
    campaign = db.session.execute(select(Promotion).where(Promotion.name == CAMPAIGN)).scalar_one()
    window = (f"{campaign.starts_at.astimezone(resolver.clock.VN_TZ).isoformat(timespec='minutes')}/"
              f"{campaign.ends_at.astimezone(resolver.clock.VN_TZ).isoformat(timespec='minutes')}")
    on_sale = 0
    for sku, item in items.items():
        variant = variants[sku]
        product = variant.product
        cert = product.current_certification()
        for name in REQUIRED:
            assert item.get(name), (sku, name)
        assert len(item["id"]) <= 50 and len(item["title"]) <= 150 and len(item["description"]) <= 5000
        assert item["item_group_id"] == f"ocop-{product.id}"
        assert item["title"].startswith(product.name)
        assert item["link"].startswith("http") and product.slug in item["link"]
        assert re.fullmatch(r"\d+ VND", item["price"]) and int(item["price"].split()[0]) == variant.price
        assert item["brand"] == product.producer.name
        assert item["condition"] == "new"
        if variant.gtin:
            assert item["gtin"] == variant.gtin and ean.is_valid(item["gtin"]) and "identifier_exists" not in item
        else:
            assert item["identifier_exists"] == "no"
        assert item["custom_label_0"] == f"OCOP {cert.stars} sao" and cert.stars >= 3
        assert item["custom_label_1"] in ("Cấp huyện", "Cấp tỉnh", "Cấp trung ương")
        assert item["custom_label_2"] == f"{cert.expires_on:%Y-%m}"
        assert item["availability"] in ("in_stock", "out_of_stock")
        if variant.is_service:
            assert "shipping_weight" not in item
        price = resolver.price_for(variant, "marketplace:google")
        if price.on_sale:
            on_sale += 1
            assert item["sale_price"] == f"{price.unit_price} VND" and price.unit_price == variant.price * 9 // 10
            assert item["sale_price_effective_date"] == window
        else:
            assert "sale_price" not in item and "sale_price_effective_date" not in item
    # the campaign covers Bình Lợi's products (the producer that opted in), and only on marketplace channels
    assert on_sale == len(_listed_skus([variants["BL-BDX-1"].product.producer_id]))
    assert items["BL-BDX-1"]["sale_price"] == "58500 VND"
    assert not resolver.price_for(variants["BL-BDX-1"], "online_store").discounts or \
        resolver.price_for(variants["BL-BDX-1"], "online_store").unit_price != 58500


def test_etag_304_gzip_and_a_revocable_url(client, login, markets):
    admin = login("admin")
    path = feed_path(client, admin, markets["google"])
    first = client.get(path)
    etag = first.headers["ETag"]
    assert etag and first.headers["Last-Modified"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == first.data
    assert db.session.execute(select(FeedBuild)).scalars().all().__len__() == 1  # reused, not rebuilt
    r = client.post(f"{BASE}/{markets['google']}/rotate", headers=admin, json={"what": "feed_token"})
    assert r.status_code == 200
    error_of(client.get(path), 404, "feed.not_found")
    assert client.get(feed_path(client, admin, markets["google"])).status_code == 200
    error_of(client.get(feed_path(client, admin, markets["google"], "rss").replace("/rss", "/pdf")), 404)
    error_of(client.get("/storefront/v1/feeds/not-a-token/rss"), 404, "feed.not_found")


def test_an_item_leaves_the_feed_when_its_certification_is_withdrawn(client, login, markets):
    admin = login("admin")
    path = feed_path(client, admin, markets["google"])
    before = client.get(path)
    assert "BL-BDX-1" in _items(before.data)
    product = db.session.execute(select(Variant).where(Variant.sku == "BL-BDX-1")).scalar_one().product
    cert = product.current_certification()
    r = client.post(f"/admin/v1/certifications/{cert.id}/withdraw", headers=admin,
                    json={"reason": "Vi phạm tiêu chuẩn chất lượng"})
    assert r.status_code == 200, r.get_json()
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    items = _items(after.data)
    assert not {v.sku for v in product.variants} & set(items)
    assert set(items) == _listed_skus()


def test_a_producer_that_withdraws_leaves_the_marketplace_feeds(client, login, markets):
    headers = login("cs.htx-binh-loi")
    path = feed_path(client, login("admin"), markets["shopee"], "json")
    skus = {i["id"] for i in client.get(path).get_json()["items"]}
    assert "BL-BDX-1" in skus
    r = client.post(f"{BASE}/{markets['shopee']}/producers/withdraw", headers=headers, json={})
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    left = {i["id"] for i in client.get(path).get_json()["items"]}
    assert "BL-BDX-1" not in left and left
    r = client.post(f"{BASE}/{markets['shopee']}/producers/join", headers=headers, json={})
    assert r.status_code == 200 and "BL-BDX-1" in {i["id"] for i in client.get(path).get_json()["items"]}
    present = client.get(f"{BASE}/{markets['shopee']}/producers", headers=login("sct.dongnai")).get_json()
    assert present["total"] >= 1 and all(p["province_code"] == "75" for p in present["results"])


def test_meta_csv_google_tsv_and_json_carry_the_same_items(client, login, markets):
    admin = login("admin")
    rss = _items(client.get(feed_path(client, admin, markets["google"])).data)
    meta = list(csv.DictReader(io.StringIO(client.get(feed_path(client, admin, markets["google"], "csv"))
                                           .data.decode("utf-8"))))
    assert {r["id"] for r in meta} == set(rss)
    assert all(r["availability"] in ("in stock", "out of stock") and r["price"].endswith(" VND") for r in meta)
    assert {r["id"]: r["sale_price"] for r in meta}["BL-BDX-1"] == "58500 VND"
    tsv = list(csv.DictReader(io.StringIO(client.get(feed_path(client, admin, markets["google"], "tsv"))
                                          .data.decode("utf-8")), delimiter="\t"))
    assert {r["id"]: r["custom_label_0"] for r in tsv} == {k: v["custom_label_0"] for k, v in rss.items()}
    body = client.get(feed_path(client, admin, markets["google"], "json")).get_json()
    assert {i["id"] for i in body["items"]} == set(rss)
    bl = next(i for i in body["items"] if i["id"] == "BL-BDX-1")
    assert bl["price"] == 65000 and bl["sale_price"] == 58500 and bl["sale_ends_at"].endswith("+07:00")


def test_local_inventory_has_a_row_per_variant_per_sales_point(client, login, markets):
    admin = login("admin")
    point = client.post("/admin/v1/sales-points", headers=admin, json={
        "name": "Điểm OCOP Bửu Long", "commune_code": "26188", "location_kind": "tourist_site_hotel_restaurant",
        "address": "Khu du lịch Bửu Long, Đồng Nai"})
    assert point.status_code == 201, point.get_json()
    location_id = point.get_json()["stock_location_id"]
    user = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    variant = db.session.execute(select(Variant).where(Variant.sku == "BL-BDX-1")).scalar_one()
    ledger.receive(location_id, variant, 7, actor=user, reason="test", lot_no="L1")
    db.session.commit()
    rows = list(csv.DictReader(io.StringIO(client.get(feed_path(client, admin, markets["google"],
                                                                "local_inventory")).data.decode("utf-8")),
                               delimiter="\t"))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == "BL-BDX-1" and row["quantity"] == "7" and row["availability"] == "in_stock"
    assert row["store_code"] == point.get_json()["code"] and row["price"] == "65000 VND"


def test_items_that_break_a_rule_are_left_out_and_reported(client, login, markets):
    admin = login("admin")
    r = client.patch(f"{BASE}/{markets['postmart']}", headers=admin, json={"fallback_image_url": None})
    assert r.status_code == 200
    error_of(client.get(f"{BASE}/{markets['postmart']}/feeds/rss/report", headers=admin), 404, "feed.not_built")
    build = client.post(f"{BASE}/{markets['postmart']}/feeds/rss/build", headers=admin)
    assert build.status_code == 201 and build.get_json()["items"] == 0 and build.get_json()["refused"] > 0
    report = client.get(f"{BASE}/{markets['postmart']}/feeds/rss/report", headers=admin).get_json()
    errors = [p for p in report["problems"]["problems"] if p["severity"] == "error"]
    assert {p["rule"] for p in errors} == {"image_link.required"} and len(errors) == report["refused"]
    assert all(p["item_id"] and p["field"] == "image_link" and p["message"] and p["message_en"] for p in errors)
    assert _items(client.get(feed_path(client, admin, markets["postmart"])).data) == {}
    items = client.get("/admin/v1/marketplaces/reports/items", headers=admin).get_json()["results"]
    assert any(r["marketplace"] == "postmart" and r["refused"] == report["refused"] for r in items)


def test_registry_bad_input_writes_nothing(client, login, markets):
    admin = login("admin")
    before = row_counts()
    body = {"code": "tiktok-dn", "kind": "tiktok_shop", "name": "TikTok Shop Đồng Nai"}
    error_of(client.post(BASE, headers=admin, json={**body, "kind": "myspace"}), 422)
    error_of(client.post(BASE, headers=admin, json={**body, "code": "A B"}), 422)
    error_of(client.post(BASE, headers=admin, json={**body, "product_url_template": "ftp://x/{slug}"}), 422,
             "marketplace.bad_url_template")
    error_of(client.post(BASE, headers=admin, json={**body, "product_url_template": "https://x/{password}"}), 422)
    error_of(client.post(BASE, headers=admin, json={**body, "category_map": {"food": {"google": "abc"}}}), 422)
    error_of(client.post(BASE, headers=admin, json={**body, "code": "google"}), 409, "marketplace.code_taken")
    error_of(client.post(BASE, headers=admin, json=["not", "an", "object"]), 422)
    error_of(client.post(f"{BASE}/{markets['google']}/rotate", headers=admin, json={"what": "password"}), 422)
    error_of(client.post(f"{BASE}/{markets['google']}/feeds/pdf/build", headers=admin), 404)
    error_of(client.post(f"{BASE}/999999/producers/join", headers=admin, json={"producer_id": 1}), 404)
    error_of(client.post(f"{BASE}/{markets['google']}/producers/join", headers=admin, json={}), 422)
    error_of(client.post(f"{BASE}/{markets['google']}/producers/join", headers=admin,
                         json={"producer_id": 999999}), 404)
    assert row_counts() == before
    r = client.post(BASE, headers=admin, json={**body, "category_map": {"fresh_produce": {"google": "2636",
                                                                                        "category": "Trái cây"}}})
    assert r.status_code == 201 and r.get_json()["channel"] == "marketplace:tiktok-dn"


def test_registry_refused_callers(client, login, markets):
    body = {"code": "lazada-dn", "kind": "lazada", "name": "Lazada"}
    error_of(client.post(BASE, json=body), 401)
    error_of(client.get(BASE), 401)
    error_of(client.post(BASE, headers=login("sct.dongnai"), json=body), 403)
    error_of(client.post(BASE, headers=login("cs.htx-binh-loi"), json=body), 403)
    error_of(client.patch(f"{BASE}/{markets['google']}", headers=login("sct.dongnai"), json={"name": "x"}), 403)
    error_of(client.post(f"{BASE}/{markets['google']}/rotate", headers=login("sct.dongnai"),
                         json={"what": "feed_token"}), 403)
    other_id = db.session.execute(select(User.producer_id).where(User.username == "cs.son-an")).scalar_one()
    error_of(client.post(f"{BASE}/{markets['google']}/producers/join", headers=login("cs.htx-binh-loi"),
                         json={"producer_id": other_id}), 403, "auth.out_of_scope")
    error_of(client.post(f"{BASE}/{markets['google']}/producers/join", headers=login("hoidong.dongnai"),
                         json={}), 403)
    error_of(client.post(f"{BASE}/{markets['google']}/feeds/rss/build", headers=login("cs.htx-binh-loi")), 403)
    error_of(client.get(f"{BASE}/{markets['google']}/feeds/rss/report", headers=login("cs.htx-binh-loi")), 403)
    error_of(client.get(f"{BASE}/reports/presence", headers=login("cs.htx-binh-loi")), 403)
    seen = client.get(f"{BASE}/{markets['google']}", headers=login("sct.dongnai")).get_json()
    assert "feed_urls" not in seen and "webhook_secret" not in seen


def test_reports_are_offered_through_the_reports_hook(client, login, markets):
    admin = login("admin")
    codes = {r["code"] for r in client.get("/admin/v1/reports", headers=admin).get_json()["results"]}
    assert {"marketplace_feeds.presence", "marketplace_feeds.items", "marketplace_feeds.campaigns"} <= codes
    presence = client.get(f"{BASE}/reports/presence", headers=login("sct.dongnai")).get_json()["results"]
    assert {r["marketplace"] for r in presence} == {"google", "shopee", "postmart"}
    campaigns = client.get(f"{BASE}/reports/campaigns", headers=admin).get_json()["results"]
    assert [c["name"] for c in campaigns] == [CAMPAIGN]


def test_cli_builds_a_feed_to_a_file(app, markets, tmp_path, database_url, instance_path):
    output = tmp_path / "google.xml.gz"
    db.session.commit()
    env = {"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path)}
    root, pm = build_cli(app.extensions["ocop_plugins"])
    try:
        result = CliRunner().invoke(root, ["feeds", "build", "google", "--format", "rss", "--output", str(output)],
                                    obj={"pm": pm}, env=env)
    finally:
        init_celery(app)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    items = _items(gzip.decompress(output.read_bytes()))
    assert summary["items"] == len(items) == len(_listed_skus()) and summary["refused"] == 0
    root, pm = build_cli(app.extensions["ocop_plugins"])
    try:
        error = CliRunner().invoke(root, ["feeds", "build", "nowhere", "--output", str(output)], obj={"pm": pm},
                                   env=env)
    finally:
        init_celery(app)
    assert error.exit_code != 0


# --- the plugin switched off ----------------------------------------------------------------------
@pytest.fixture
def disabled_app(app, instance_path, database_url):
    from conftest import make_settings  # the test settings factory (conftest is not imported as a module)
    db.session.commit()
    yield create_app(make_settings(instance_path, database_url, plugins_disabled=["marketplace_feeds"]))
    init_celery(app)


def test_disabled_plugin_removes_its_routes_and_leaves_the_rest_working(disabled_app, client, login, markets):
    path = feed_path(client, login("admin"), markets["google"])
    db.session.commit()
    other = disabled_app.test_client()
    error_of(other.get(path), 404, "route.not_found")
    error_of(other.post("/storefront/v1/marketplaces/google/orders/webhook", data=b"{}"), 404, "route.not_found")
    token = other.post("/auth/token", json={"username": "admin", "password": "ocop-demo-2026"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    error_of(other.get(BASE, headers=headers), 404, "route.not_found")
    assert not [p for p in other.get("/openapi.json").get_json()["paths"] if "marketplace" in p or "/feeds" in p]
    codes = {r["code"] for r in other.get("/admin/v1/reports", headers=headers).get_json()["results"]}
    assert not [c for c in codes if c.startswith("marketplace_feeds.")]
    assert "marketplace" not in disabled_app.extensions["ocop_plugins"].sales_channel_kinds
    assert other.get("/storefront/v1/products").get_json()["total"] == 7
    assert other.get("/storefront/v1/products/buoi-da-xanh-binh-loi").status_code == 200
    assert client.get(path).status_code == 200  # enabled again, it still has its data


def test_disabled_plugin_leaves_no_cli_beat_or_hook_and_core_writes_still_work(disabled_app, client, login, markets):
    db.session.commit()
    pm = disabled_app.extensions["ocop_plugins"]
    implemented = {name: {impl.plugin_name for impl in getattr(pm.hook, name).get_hookimpls()}
                   for name in ("register_cli", "register_tasks", "order_attribution", "reports", "seed_demo_data")}
    assert all("marketplace_feeds" not in plugins for plugins in implemented.values())  # no CLI group, beat, …
    assert "livestream" in implemented["order_attribution"]  # the other plugins still hook in
    assert "marketplace-feeds-refresh" not in init_celery(disabled_app).conf.beat_schedule
    other = disabled_app.test_client()
    token = other.post("/auth/token", json={"username": "admin", "password": "ocop-demo-2026"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    rows = {r["name"]: r for r in other.get("/admin/v1/plugins", headers=headers).get_json()["results"]}
    assert rows["marketplace_feeds"]["enabled"] is False and rows["marketplace_feeds"]["hooks"] == []
    with disabled_app.app_context():
        assert "marketplace_feeds" not in [name for name, _ in migrate.components()]
        product_id = db.session.execute(select(Product.id).where(Product.slug == "banh-tet-dac-san-tran-gia")
                                        ).scalar_one()
    response = other.post(f"/admin/v1/products/{product_id}/certifications", headers=headers,
                          json={"stars": 3, "score": 60, "level": "province", "issued_on": "2026-02-02",
                                "decision_no": "12/QĐ-UBND"})
    assert response.status_code == 201, response.get_json()
    assert other.get("/storefront/v1/products").get_json()["total"] == 8
    # switched on again, the plugin's feed follows the change made while it was off
    path = feed_path(client, login("admin"), markets["google"])
    sku = db.session.execute(select(Variant.sku).where(Variant.product_id == product_id)).scalars().first()
    assert sku in _items(client.get(path).data)


def test_the_rest_of_the_endpoints_refuse_bad_input_and_callers_and_write_nothing(client, login, markets):
    """With test_registry_* and test_every_remaining_endpoint_*: each endpoint has a 4xx for bad input and for a
    caller without the right (anonymous 401, wrong role 403), and none of them writes anything."""
    admin, certifier, producer = login("admin"), login("hoidong.dongnai"), login("cs.htx-binh-loi")
    google = f"{BASE}/{markets['google']}"
    before = row_counts()
    error_of(client.get(google, headers=certifier), 403)
    error_of(client.get(BASE, headers=admin, query_string={"page": 0}), 422)
    error_of(client.patch(google, json={"name": "x"}), 401)
    error_of(client.patch(google, headers=producer, json={"name": "x"}), 403)
    error_of(client.patch(google, headers=admin, json={"active": "maybe"}), 422)
    error_of(client.patch(google, headers=admin, json={"fallback_image_url": "not a url"}), 422)
    error_of(client.post(f"{google}/rotate", json={"what": "feed_token"}), 401)
    error_of(client.post(f"{google}/rotate", headers=admin, json={}), 422)
    error_of(client.post(f"{BASE}/999999/rotate", headers=admin, json={"what": "feed_token"}), 404,
             "marketplace.not_found")
    error_of(client.get(f"{BASE}/999999/producers", headers=admin), 404, "marketplace.not_found")
    error_of(client.get(f"{google}/producers", headers=admin, query_string={"limit": 0}), 422)
    error_of(client.post(f"{google}/producers/join", headers=admin, json={"producer_id": "one"}), 422)
    error_of(client.post(f"{google}/producers/join", headers=producer, json={"shop_url": "javascript:alert(1)"}),
             422)
    error_of(client.post(f"{google}/producers/withdraw", json={}), 401)
    error_of(client.post(f"{google}/producers/withdraw", headers=admin, json={"producer_id": []}), 422)
    error_of(client.post(f"{BASE}/999999/feeds/rss/build", headers=admin), 404, "marketplace.not_found")
    error_of(client.post(f"{google}/feeds/rss/build", headers=certifier), 403)
    error_of(client.get(f"{google}/feeds/rss/report"), 401)
    error_of(client.get(f"{google}/feeds/rss/report", headers=certifier), 403)
    error_of(client.get(f"{google}/feeds/csv/report", headers=admin), 404, "feed.not_built")
    error_of(client.get(f"{BASE}/999999/feeds/rss/report", headers=admin), 404, "marketplace.not_found")
    error_of(client.post(f"{BASE}/999999/templates/fill", headers=admin, data={},
                         content_type="multipart/form-data"), 404, "marketplace.not_found")
    for report in ("presence", "items", "campaigns"):
        error_of(client.get(f"{BASE}/reports/{report}", headers=certifier), 403)
    error_of(client.get("/storefront/v1/feeds/" + "x" * 300 + "/rss"), 404)
    assert row_counts() == before


# --- mass-upload templates ------------------------------------------------------------------------
def _template(header_row: list, macros: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Mẫu đăng sản phẩm hàng loạt — ngành hàng Thực phẩm (2026-11)"])
    sheet.append(header_row)
    sheet.append(["Bắt buộc", "Bắt buộc", "Số nguyên", "Số nguyên"][:len(header_row)])  # the marketplace's hints
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_shopee_template_is_filled_by_header_names(client, login, markets):
    template = _template(["Tên sản phẩm", "SKU người bán", "Giá", "Kho hàng", "Cột lạ"])
    r = client.post(f"{BASE}/{markets['shopee']}/templates/fill", headers=login("cs.htx-binh-loi"),
                    data={"file": (io.BytesIO(template), "Shopee_mass_upload_2026-11.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    assert r.headers["X-Template-Header-Row"] == "2"
    sheet = load_workbook(io.BytesIO(r.data)).active
    assert sheet.cell(row=3, column=1).value == "Bắt buộc"  # the hints row is kept
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    own = {v.sku: v for v in db.session.execute(select(Variant).join(Product).join(Producer)
                                                 .where(Producer.slug.like("%binh-loi%"))).scalars()}
    assert {row[1] for row in rows} == {sku for sku, v in own.items() if v.product.is_listed}
    assert all(row[4] is None for row in rows) and int(r.headers["X-Template-Rows"]) == len(rows)
    price = {row[1]: row[2] for row in rows}
    assert price["BL-BDX-1"] == 65000


def test_templates_bad_input_and_refused_callers(client, login, markets):
    admin = login("admin")
    url = f"{BASE}/{markets['shopee']}/templates/fill"

    def send(data, name, headers=admin):
        return client.post(url, headers=headers, data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    error_of(send(_template(["Cột A", "Cột B"]), "t.xlsx"), 422, "marketplace_template.no_header")
    error_of(send(b"PK\x03\x04nope", "t.xlsx"), 422, "marketplace_template.bad_file")
    error_of(send(b"a,b", "t.csv"), 422, "marketplace_template.unsupported")
    error_of(client.post(url, headers=admin, data={}, content_type="multipart/form-data"), 422,
             "marketplace_template.no_file")
    error_of(send(_template(["SKU", "Giá"]), "t.xlsx", headers={}), 401)
    error_of(send(_template(["SKU", "Giá"]), "t.xlsx", headers=login("hoidong.dongnai")), 403)


def test_an_xlsm_template_keeps_its_macros(client, login, markets):
    plain = _template(["Product Name", "Seller SKU", "Price", "Quantity"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as source, zipfile.ZipFile(buffer, "w") as target:
        for entry in source.infolist():
            target.writestr(entry, source.read(entry.filename))
        target.writestr("xl/vbaProject.bin", b"seller macros \x00\x01")
    r = client.post(f"{BASE}/{markets['shopee']}/templates/fill", headers=login("admin"),
                    data={"file": (io.BytesIO(buffer.getvalue()), "TikTok_template.xlsm")},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    assert r.content_type == "application/vnd.ms-excel.sheet.macroEnabled.12"
    with zipfile.ZipFile(io.BytesIO(r.data)) as filled:
        assert filled.read("xl/vbaProject.bin") == b"seller macros \x00\x01"
    assert int(r.headers["X-Template-Rows"]) == len(_listed_skus())


def test_every_remaining_endpoint_refuses_bad_input_and_callers(client, login, markets):
    admin, certifier, producer = login("admin"), login("hoidong.dongnai"), login("cs.son-an")
    absent = login("cs.tht-cam-vu-quang")  # not on Postmart
    google = f"{BASE}/{markets['google']}"
    before = row_counts()
    error_of(client.get(BASE, headers=admin, query_string={"kind": "myspace"}), 422)
    error_of(client.get(BASE, headers=admin, query_string={"limit": 1000}), 422)
    error_of(client.get(BASE, headers=certifier), 403)
    error_of(client.get(f"{BASE}/999999", headers=admin), 404, "marketplace.not_found")
    error_of(client.get(google), 401)
    error_of(client.patch(google, headers=admin, json={"product_url_template": "https://x/{slug:d}"}), 422,
             "marketplace.bad_url_template")
    error_of(client.patch(google, headers=admin, json={"code": "renamed"}), 422)
    error_of(client.patch(google, headers=admin, json={"category_map": {"food": "422"}}), 422)
    error_of(client.patch(f"{BASE}/999999", headers=admin, json={"name": "x"}), 404)
    error_of(client.get(f"{google}/producers", headers=admin, query_string={"status": "maybe"}), 422)
    error_of(client.get(f"{google}/producers", headers=certifier), 403)
    error_of(client.get(f"{google}/producers"), 401)
    error_of(client.post(f"{BASE}/{markets['postmart']}/producers/withdraw", headers=absent, json={}), 404,
             "marketplace_producer.not_found")
    error_of(client.post(f"{google}/producers/withdraw", headers=producer, json={"shop_url": "not a url"}), 422)
    error_of(client.post(f"{google}/producers/withdraw", headers=certifier, json={}), 403)
    error_of(client.post(f"{google}/producers/join"), 401)
    error_of(client.get(f"{google}/feeds/pdf/report", headers=admin), 404)
    error_of(client.post(f"{google}/feeds/rss/build"), 401)
    for report in ("presence", "items", "campaigns"):
        error_of(client.get(f"{BASE}/reports/{report}"), 401)
        error_of(client.get(f"{BASE}/reports/{report}", headers=producer), 403)
    assert row_counts() == before
    # a producer sees its own presence only
    mine = client.get(f"{google}/producers", headers=producer).get_json()
    assert [p["producer"] for p in mine["results"]] == ["Công ty Cổ phần Sơn An Hương Sơn"]
