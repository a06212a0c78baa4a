"""The marketplace feeds plugin's console pages: a producer's refused items and opt-in/out per marketplace;
for organisers, who is present on which marketplace and the per-file order import with its per-row report.

Each page: the happy path, bad input (a 4xx page, nothing written), refused callers, the plugin switched off.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, update

from support.console import console_as, console_login, post
from support.marketplace import seed_marketplaces

PRODUCER = "cs.htx-binh-loi"
HEADER = "order_id,status,sku,quantity,unit_price,buyer_name,phone,address,tracking_no"
GOOD = ("SP-1001,Chờ xác nhận,BL-BDX-1,2,58500,Nguyễn Văn A,0912345678,Biên Hoà,",
        "SP-1001,Chờ xác nhận,BL-TDB-10,1,90000,Nguyễn Văn A,0912345678,Biên Hoà,")


@pytest.fixture
def markets(app, demo):
    return seed_marketplaces()["marketplaces"]


def text(response):
    return response.get_data(as_text=True)


def csv(*rows):
    return ("\n".join((HEADER, *rows)) + "\n").encode("utf-8")


def upload(client, marketplace_id, data: bytes, name="orders.csv"):
    return post(client, "/console/marketplaces/import",
                {"marketplace_id": str(marketplace_id), "file": (io.BytesIO(data), name)},
                content_type="multipart/form-data")


def orders_count():
    from core.db import db
    from core.sales.models import Order
    from plugins.marketplace_feeds.models import OrderImport
    db.session.rollback()
    return (db.session.execute(select(func.count(Order.id))).scalar_one(),
            db.session.execute(select(func.count(OrderImport.id))).scalar_one())


def participation(marketplace_id, username=PRODUCER):
    from core.accounts.models import User
    from core.db import db
    from plugins.marketplace_feeds.models import MarketplaceProducer
    db.session.rollback()
    user = db.session.execute(select(User).where(User.username == username)).scalar_one()
    return db.session.execute(select(MarketplaceProducer.status).where(
        MarketplaceProducer.marketplace_id == marketplace_id,
        MarketplaceProducer.producer_id == user.producer_id)).scalar_one_or_none()


def break_a_gtin_and_build(markets):
    """One of the producer's variants gets a GTIN with a wrong check digit; Google's RSS feed is built."""
    from core.catalogue.models import Variant
    from core.db import commit, db
    from plugins.marketplace_feeds import builds, registry
    db.session.execute(update(Variant).where(Variant.sku == "BL-TDB-10").values(gtin="8930000000001"))
    db.session.execute(update(Variant).where(Variant.sku == "BM-QHC-1KG").values(gtin="8930000000003"))
    build = builds.build(registry.get_marketplace(markets["google"]), "rss")
    commit()
    assert build.refused == 2
    return build


# --- producer --------------------------------------------------------------------------------------------
def test_producer_sees_only_its_refused_items_with_field_and_rule(app, markets):
    break_a_gtin_and_build(markets)
    page = text(console_as(app, PRODUCER).get("/console/marketplaces/mine"))
    google = page.split('id="marketplace-google"', 1)[1].split("</article>", 1)[0]
    assert 'data-sku="BL-TDB-10" data-rule="gtin.check_digit"' in google and "<td>gtin</td>" in google
    assert "BM-QHC-1KG" not in page  # another producer's item
    assert "1 sản phẩm bị loại" in google
    assert "chưa được tạo" in page.split('id="marketplace-shopee"', 1)[1].split("</article>", 1)[0]
    other = text(console_as(app, "cs.htx-binh-minh").get("/console/marketplaces/mine"))
    assert 'data-sku="BM-QHC-1KG"' in other and "BL-TDB-10" not in other


def test_producer_opts_out_and_back_in(app, markets):
    producer = console_as(app, PRODUCER)
    assert 'id="marketplace-shopee" data-status="active"' in text(producer.get("/console/marketplaces/mine"))
    r = post(producer, f"/console/marketplaces/{markets['shopee']}/withdraw")
    assert r.status_code == 302 and participation(markets["shopee"]) == "withdrawn"
    assert 'id="marketplace-shopee" data-status="withdrawn"' in text(producer.get(r.headers["Location"]))
    r = post(producer, f"/console/marketplaces/{markets['shopee']}/join", {"shop_url": "https://shopee.vn/binhloi"})
    assert r.status_code == 302 and participation(markets["shopee"]) == "active"


def test_opt_in_refusals_write_nothing(app, markets):
    from core.catalogue.models import Producer
    from core.db import commit, db
    producer = console_as(app, "cs.htx-binh-minh")
    absent = markets["postmart"]
    assert participation(absent, "cs.htx-binh-minh") is None
    r = post(producer, f"/console/marketplaces/{absent}/withdraw")  # never joined
    assert r.status_code == 404 and 'id="form-error"' in text(r)
    db.session.execute(update(Producer).where(Producer.name.like("%Bình Minh%")).values(status="suspended"))
    commit()
    r = post(producer, f"/console/marketplaces/{absent}/join")
    assert r.status_code == 409 and 'id="form-error"' in text(r)
    assert post(producer, "/console/marketplaces/999999/join").status_code == 404
    script = post(console_as(app, PRODUCER), f"/console/marketplaces/{markets['google']}/join",
                  {"shop_url": "javascript:alert(1)"})
    assert script.status_code == 422 and 'id="form-error"' in text(script)
    assert participation(absent, "cs.htx-binh-minh") is None


def test_producer_pages_refuse_other_roles(app, markets):
    for username in ("sct.dongnai", "admin", "hoidong.dongnai"):
        other = console_as(app, username)
        assert other.get("/console/marketplaces/mine").status_code == 403, username
        assert post(other, f"/console/marketplaces/{markets['shopee']}/withdraw").status_code == 403, username
    assert participation(markets["shopee"]) == "active"


# --- organiser -----------------------------------------------------------------------------------------
def test_presence_per_marketplace_in_the_organisers_province(app, markets):
    from core.accounts.authentication import create_user
    from core.db import commit
    page = text(console_as(app, "sct.dongnai").get("/console/marketplaces/presence"))
    postmart = page.split('id="marketplace-postmart"', 1)[1].split("</section>", 1)[0]
    assert postmart.count("data-producer=") == 2 and "Vũ Quang" not in page  # Hà Tĩnh's producer
    assert "Bình Lợi" in page.split('id="marketplace-google"', 1)[1]
    create_user("sct.hatinh", "ocop-demo-2026", "organiser", province_code="42")
    commit()
    far = text(console_as(app, "sct.hatinh").get("/console/marketplaces/presence"))
    assert "Bình Lợi" not in far
    assert "Vũ Quang" in text(console_as(app, "admin").get("/console/marketplaces/presence"))


def test_organiser_imports_an_order_file_with_the_per_row_report(app, markets):
    organiser = console_as(app, "sct.dongnai")
    assert organiser.get("/console/marketplaces/import").status_code == 200
    before = orders_count()
    r = upload(organiser, markets["shopee"], csv(*GOOD))
    assert r.status_code == 200 and 'id="import-result"' in text(r), text(r)[:1500]
    assert text(r).count('class="outcome-created"') == 2
    assert orders_count() == (before[0] + 1, before[1] + 1)
    again = upload(organiser, markets["shopee"], csv(*GOOD))
    assert again.status_code == 200 and text(again).count('class="outcome-duplicate"') == 2
    assert orders_count()[0] == before[0] + 1


def test_a_bad_order_file_writes_nothing_and_reports_each_row(app, markets):
    organiser = console_as(app, "sct.dongnai")
    before = orders_count()
    r = upload(organiser, markets["shopee"], csv(*GOOD, "SP-1003,Chờ xác nhận,NO-SUCH-SKU,1,1000,,,,"))
    body = text(r)
    assert r.status_code == 422 and 'id="row-report"' in body and "unknown SKU NO-SUCH-SKU" in body
    assert 'class="outcome-refused"' in body and "không ghi" in body
    for data, name in ((b"a,b,c\n1,2,3\n", "orders.csv"), (b"", "orders.csv"), (b"%PDF-1.4", "orders.pdf")):
        assert upload(organiser, markets["shopee"], data, name).status_code == 422, name
    assert post(organiser, "/console/marketplaces/import", {"marketplace_id": ""}).status_code == 422
    assert post(organiser, "/console/marketplaces/import", {"marketplace_id": str(markets["shopee"])},
                content_type="multipart/form-data").status_code == 422  # no file
    assert upload(organiser, 999999, csv(*GOOD)).status_code == 404
    assert orders_count() == before


def test_organiser_pages_refuse_other_roles(app, markets):
    before = orders_count()
    for username in (PRODUCER, "hoidong.dongnai"):
        other = console_as(app, username)
        assert other.get("/console/marketplaces/presence").status_code == 403, username
        assert other.get("/console/marketplaces/import").status_code == 403, username
        assert upload(other, markets["shopee"], csv(*GOOD)).status_code == 403, username
    assert orders_count() == before


# --- the plugin switched off -------------------------------------------------------------------------
def test_plugin_disabled_removes_its_pages_and_menu(instance_path, database_url, app, markets):
    from conftest import make_settings
    from core.app import create_app
    assert "Sàn TMĐT của tôi" in text(console_as(app, PRODUCER).get("/console/", follow_redirects=True))
    other = create_app(make_settings(instance_path, database_url, plugins_disabled=["marketplace_feeds"]))
    assert not any(r.rule.startswith("/console/marketplaces") for r in other.url_map.iter_rules())
    for username, page in ((PRODUCER, "/console/products"), ("sct.dongnai", "/console/imports")):
        client = other.test_client()
        assert console_login(client, username).status_code == 302
        home = text(client.get("/console/", follow_redirects=True)).split("</aside>")[0]
        assert "Sàn TMĐT" not in home and "Nhập đơn từ sàn" not in home and "Chủ thể trên sàn" not in home
        assert client.get("/console/marketplaces/mine").status_code == 404
        assert client.get(page).status_code == 200
