"""The web console (/console/): login, language, CSRF, role-scoped menu and pages, the producer's, the till's,
the organiser's main tasks and the province dashboard (also as JSON and XLSX), on the real app and database."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from support.console import console_login, csrf, post
from support.sales_points import PASSWORD as OP_PASSWORD, on_hand, receive, setup_points

ROLES = ("producer", "operator", "organiser", "admin", "certifier")
USERS = {"producer": ("cs.htx-binh-loi", None), "operator": ("op.a", OP_PASSWORD),
         "organiser": ("sct.dongnai", None), "admin": ("admin", None), "certifier": ("hoidong.dongnai", None)}


@pytest.fixture
def world(client, login, demo):
    """Demo catalogue, two sales points with one operator each, stock at point A, a pending producer."""
    from core.catalogue import producers
    from core.db import commit
    points = setup_points(client, login)
    r = receive(points, points.a, points.op_a, "BL-BDX-1", [
        {"sku": "BL-BDX-1", "quantity": 5, "lot_no": "L1", "best_before": "2027-03-01"},
        {"sku": "BL-TDB-10", "quantity": 4}])
    assert r.status_code == 201, r.get_json()
    pending = producers.create_producer(None, {"name": "HTX Nông sản Long Thành", "legal_form": "cooperative",
                                               "commune_code": "26188"}, status="pending")
    commit()
    points.ids["pending"] = pending.id
    return points


def as_role(client, role):
    username, password = USERS[role]
    response = console_login(client, username, password or "ocop-demo-2026")
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def product_id(sku):
    from core.catalogue.models import Variant
    from core.db import db
    return db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one().product_id


def text(response):
    return response.get_data(as_text=True)


# --- login, language, CSRF --------------------------------------------------------------------
def test_login_page_logout_and_wrong_password(app, demo):
    client = app.test_client()
    assert client.get("/console/products").status_code == 302
    assert "/console/login" in client.get("/console/products").headers["Location"]
    page = client.get("/console/login")
    assert page.status_code == 200 and "Đăng nhập" in text(page)
    wrong = console_login(client, "cs.htx-binh-loi", "not-the-password")
    assert wrong.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in text(wrong)
    ok = console_login(client, "cs.htx-binh-loi")
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/console/")
    assert client.get("/console/").headers["Location"].endswith("/console/products")  # the producer's start page
    assert client.get("/console/products").status_code == 200
    out = post(client, "/console/logout")
    assert out.status_code == 302
    assert client.get("/console/products").status_code == 302  # the token was revoked


def test_login_is_throttled_like_the_api(app, demo):
    client = app.test_client()
    for _ in range(app.config["OCOP"].login_max_failures):
        console_login(client, "sct.dongnai", "wrong-password")
    locked = console_login(client, "sct.dongnai")
    assert locked.status_code == 429 and "Đăng nhập sai nhiều lần" in text(locked)


def test_login_only_redirects_within_the_console(app, demo):
    client = app.test_client()
    token = csrf(client)
    r = client.post("/console/login", data={"username": "admin", "password": "ocop-demo-2026", "csrf_token": token,
                                            "next": "https://evil.example/"})
    assert r.headers["Location"].endswith("/console/")


def test_every_post_needs_the_csrf_token(app, demo):
    client = app.test_client()
    client.get("/console/login")
    r = client.post("/console/login", data={"username": "admin", "password": "ocop-demo-2026"})
    assert r.status_code == 400 and "Phiên làm việc đã hết hạn" in text(r)
    r = client.post("/console/login", data={"username": "admin", "password": "ocop-demo-2026", "csrf_token": "forged"})
    assert r.status_code == 400
    assert client.get("/console/dashboard").status_code == 302  # not logged in


def test_language_switch_to_english_and_back(app, demo):
    client = as_role(app.test_client(), "producer")
    assert "Sản phẩm của tôi" in text(client.get("/console/products"))
    r = post(client, "/console/lang", {"lang": "en", "next": "/console/products"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/products")
    page = text(client.get("/console/products"))
    assert "My products" in page and '<html lang="en"' in page
    post(client, "/console/lang", {"lang": "vi"})
    assert "Sản phẩm của tôi" in text(client.get("/console/products"))


def test_assets_are_served_from_the_package_without_a_cdn(app, demo):
    client = as_role(app.test_client(), "admin")
    page = text(client.get("/console/dashboard"))
    for asset in re.findall(r'(?:src|href)="(/console/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset
    assert "vendor/htmx-2.0.11.min.js" in page and "vendor/chart-4.6.1.umd.min.js" in page and "pico-2.1.1" in page
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)


# --- menu and every route as every role ---------------------------------------------------------------
def test_menu_is_scoped_by_role(app, world):
    expected = {"producer": ({"Sản phẩm", "Tồn kho", "Đơn hàng"}, {"Xác minh chủ thể", "Số liệu tỉnh", "Bán hàng tại quầy"}),
                "operator": ({"Bán hàng tại quầy"}, {"Sản phẩm", "Xác minh chủ thể", "Số liệu tỉnh"}),
                "organiser": ({"Số liệu tỉnh", "Xác minh chủ thể", "Chứng nhận OCOP", "Nhập dữ liệu"}, {"Bán hàng tại quầy"}),
                "admin": ({"Số liệu tỉnh", "Xác minh chủ thể", "Bán hàng tại quầy", "Sản phẩm"}, set()),
                "certifier": ({"Chứng nhận OCOP", "Sản phẩm"}, {"Xác minh chủ thể", "Số liệu tỉnh"})}
    for role, (shown, hidden) in expected.items():
        client = as_role(app.test_client(), role)
        menu = text(client.get("/console/")) if role == "operator" else text(client.get("/console/", follow_redirects=True))
        nav = menu.split('class="console-menu"', 1)[1].split("</aside>", 1)[0]
        for label in shown:
            assert label in nav, (role, label)
        for label in hidden:
            assert label not in nav, (role, label)


def _console_routes(app, method="GET"):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/console") and method in rule.methods and not rule.rule.startswith("/console/static"):
            yield rule


def _url(rule, ids):
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:\w+:)?{name}>", str(ids.get(name, 1)), url)
    return url


#: what a role must never see on any console page (another producer's, another province's, another point's)
FOREIGN = {"producer": ("SAHS-RNH-500", "Cam Vũ Quang", "NTN-DEN-S", "Điểm OCOP Trị An"),
           "operator": ("Điểm OCOP Trị An", "Cam Vũ Quang"),
           "organiser": ("Cam Vũ Quang", "VQ-CAM-5KG", "Làng nghề cây cảnh Vị Khê"),
           "certifier": ("Cam Vũ Quang", "VQ-CAM-5KG"), "admin": ()}
FILES = {"console.dashboard_xlsx": "spreadsheetml.sheet", "console.dashboard_pdf": "application/pdf"}


def _route_ids(app, world):
    from core.db import db
    from core.pricing.models import Promotion
    from plugins.sales_points.models import PosSale
    op = as_role(app.test_client(), "operator")
    sale = post(op, f"/console/till/{world.a}/sale", {"line_sku": "BL-BDX-1", "line_quantity": "1",
                                                      "payment_method": "card"})
    assert sale.status_code == 302, text(sale)
    return {"product_id": product_id("BL-BDX-1"), "point_id": world.a,
            "sale_id": db.session.execute(select(PosSale.id)).scalar_one(), "producer_id": world.ids["pending"],
            "promotion_id": db.session.execute(select(Promotion.id)).scalars().first()}


def _check_answer(app, role, rule, r):
    """A GET as ``role``: its roles → the page (HTML with the role's header, nothing foreign) or a redirect
    inside the console; other roles → 403; never a 5xx."""
    allowed = getattr(app.view_functions[rule.endpoint], "console_roles", None)
    where = (role, rule.rule, r.status_code)
    assert r.status_code < 500, where
    if allowed is not None and role not in allowed:
        assert r.status_code == 403 and "không dành cho vai trò của bạn" in text(r), where
        return
    if r.status_code == 302:
        assert r.headers["Location"].startswith("/console") and "/login" not in r.headers["Location"], where
        return
    known = all(name in ("product_id", "point_id", "sale_id", "producer_id", "promotion_id") for name in rule.arguments)
    assert r.status_code == 200 or (not known and r.status_code == 404), where
    if rule.endpoint in FILES:
        assert FILES[rule.endpoint] in r.mimetype, where
    elif r.status_code == 200:
        page = text(r)
        assert f'data-role="{role}"' in page, where  # the page is the console's, for this user
        for foreign in FOREIGN[role]:
            assert foreign not in page, (*where, foreign)


def test_every_console_route_as_each_role(app, world):
    """Every console route in the app's url_map, as anonymous, producer, operator, organiser, certifier and
    admin: GET answers the role's scoped page, a redirect or 403; POST (with the CSRF token, an empty form)
    is refused with a 4xx or redirects, never a 5xx; anonymous always goes to the login page."""
    ids = _route_ids(app, world)
    gets, posts = list(_console_routes(app)), list(_console_routes(app, "POST"))
    assert len(gets) >= 20 and len(posts) >= 12
    anonymous = app.test_client()
    csrf(anonymous)
    for rule in gets + posts:
        r = anonymous.get(_url(rule, ids)) if rule in gets else post(anonymous, _url(rule, ids))
        if rule.endpoint in ("console.login", "console.set_language", "console.logout"):
            assert r.status_code in (200, 302), rule.rule
        else:
            assert r.status_code == 302 and "/console/login" in r.headers["Location"], rule.rule
    for role in ROLES:
        client = as_role(app.test_client(), role)
        for rule in gets:
            if rule.endpoint != "console.login":
                _check_answer(app, role, rule, client.get(_url(rule, ids)))
        for rule in posts:
            if rule.endpoint in ("console.logout", "console.login"):
                continue
            r = post(client, _url(rule, ids))
            allowed = getattr(app.view_functions[rule.endpoint], "console_roles", None)
            assert r.status_code < 500, (role, "POST", rule.rule, r.status_code, text(r)[:300])
            if allowed is not None and role not in allowed:
                assert r.status_code == 403, (role, "POST", rule.rule, r.status_code)


def test_pages_are_scoped_like_the_api(app, world):
    own, other = product_id("BL-BDX-1"), product_id("SAHS-RNH-500")
    producer = as_role(app.test_client(), "producer")
    assert producer.get(f"/console/products/{own}").status_code == 200
    denied = producer.get(f"/console/products/{other}")
    assert denied.status_code == 403 and "không có quyền" in text(denied)
    page = text(producer.get("/console/products"))
    assert "Bưởi da xanh Bình Lợi" in page and "Rượu Nhung Hươu" not in page
    stock = text(producer.get("/console/stock"))
    assert "BL-BDX-1" in stock and "SAHS-RNH-500" not in stock
    movements = stock.split('id="movements"', 1)[1]
    assert "Tồn kho demo" in movements and "SAHS-RNH-500" not in movements
    op_b = app.test_client()
    assert console_login(op_b, "op.b", OP_PASSWORD).status_code == 302
    assert op_b.get(f"/console/till/{world.a}").status_code == 403  # another point's till
    assert producer.get("/console/dashboard").status_code == 403
    organiser = as_role(app.test_client(), "organiser")
    assert organiser.get("/console/dashboard?province=01").status_code == 403


# --- producer ------------------------------------------------------------------------------------------
def test_products_show_listing_state_reason_certification_and_expiry_warning(app, world):
    from core.db import db
    from core.catalogue.models import Producer
    organiser = as_role(app.test_client(), "organiser")
    page = text(organiser.get("/console/products"))
    assert "Chưa có chứng nhận OCOP còn hiệu lực từ 3 sao" in page  # Bánh tét Trần Gia: never certified
    rows = dict(re.findall(r'<tr data-product-id="(\d+)">(.*?)</tr>', page, flags=re.S))
    den = rows[str(product_id("NTN-DEN-S"))]  # 3★ until 2027-01-15: 53 days from the pinned 2026-11-23
    assert "Đang niêm yết" in den and "53 ngày" in den and "Sắp hết hạn" in den
    buoi = rows[str(product_id("BL-BDX-1"))]  # until 2027-09-20: no warning
    assert "Đang niêm yết" in buoi and "Sắp hết hạn" not in buoi and "3★" in buoi
    assert db.session.execute(select(Producer)).scalars().first() is not None


def test_producer_edits_a_product_and_sees_it_listed(app, world):
    from core.accounts.models import User
    from core.catalogue import products
    from core.db import commit, db
    pid = product_id("BL-BDX-1")
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    products.update_product(admin, products.get_product(pid), {"status": "draft"})
    commit()
    producer = as_role(app.test_client(), "producer")
    before = text(producer.get(f"/console/products/{pid}"))
    assert "Chưa niêm yết" in before and "Sản phẩm chưa ở trạng thái đang bán" in before
    variants = re.findall(r'name="price_(\d+)" inputmode="numeric" value="(\d+)"', before)
    form = {"name": "Bưởi da xanh Bình Lợi loại 1", "description": "Bưởi ngọt", "status": "active"}
    for vid, price in variants:
        form[f"price_{vid}"] = "68.000" if price == "65000" else price
        form[f"active_{vid}"] = "on"
    r = post(producer, f"/console/products/{pid}", form)
    assert r.status_code == 302, text(r)
    after = text(producer.get(r.headers["Location"]))
    assert "Đã lưu" in after and "Đang niêm yết" in after and 'value="68000"' in after
    db.session.expire_all()
    shop = app.test_client().get(f"/storefront/v1/products/{products.get_product(pid).slug}")
    assert shop.status_code == 200 and shop.get_json()["name"] == "Bưởi da xanh Bình Lợi loại 1"


def test_a_refused_edit_writes_nothing(app, world):
    from core.catalogue import products
    from core.db import db
    pid = product_id("BL-BDX-1")
    producer = as_role(app.test_client(), "producer")
    variant_ids = [v.id for v in products.get_product(pid).variants]
    form = {"name": "Tên mới", "status": "active", **{f"price_{v}": "0" for v in variant_ids}}
    r = post(producer, f"/console/products/{pid}", form)
    assert r.status_code == 422 and "giá phải là số nguyên VND lớn hơn 0" in text(r)
    db.session.expire_all()
    assert products.get_product(pid).name == "Bưởi da xanh Bình Lợi"


def test_orders_to_fulfil_show_only_the_producers_lines(app, world):
    op = as_role(app.test_client(), "operator")
    receive(world, world.a, world.op_a, "SAHS-RNH-500", [{"sku": "SAHS-RNH-500", "quantity": 2, "lot_no": "R1",
                                                                 "best_before": "2028-01-01"}])
    r = post(op, f"/console/till/{world.a}/sale", {"line_sku": ["BL-BDX-1", "SAHS-RNH-500"],
                                                   "line_quantity": ["2", "1"], "payment_method": "card"})
    assert r.status_code == 302, text(r)
    producer = as_role(app.test_client(), "producer")
    page = text(producer.get("/console/orders?status=completed"))
    assert "BL-BDX-1" in page and "SAHS-RNH-500" not in page and "Chỉ hiện các dòng hàng của bạn" in page
    organiser = text(as_role(app.test_client(), "organiser").get("/console/orders?status=completed"))
    assert "BL-BDX-1" in organiser and "SAHS-RNH-500" in organiser


# --- till -----------------------------------------------------------------------------------------------
def test_till_sells_by_gtin_and_the_stock_drops(app, world):
    from core.catalogue.models import Variant
    from core.db import db
    gtin = db.session.execute(select(Variant.gtin).where(Variant.sku == "BL-BDX-1")).scalar_one()
    op = as_role(app.test_client(), "operator")
    till = op.get("/console/till", follow_redirects=True)
    assert till.status_code == 200 and 'id="till-code"' in text(till)
    line = post(op, f"/console/till/{world.a}/line", {"code": gtin, "quantity": "2"}, headers={"HX-Request": "true"})
    assert line.status_code == 200 and 'name="line_sku" value="BL-BDX-1"' in text(line)
    unknown = post(op, f"/console/till/{world.a}/line", {"code": "NO-SUCH", "quantity": "1"})
    assert "till-line-error" in text(unknown)
    before = on_hand(world, world.a, "BL-BDX-1")
    sale = post(op, f"/console/till/{world.a}/sale", {"line_sku": "BL-BDX-1", "line_quantity": "2",
                                                      "payment_method": "cash", "amount_tendered": "200.000"})
    assert sale.status_code == 302, text(sale)
    receipt = text(op.get(sale.headers["Location"]))
    assert "HOÁ ĐƠN BÁN LẺ" in receipt and "130.000 ₫" in receipt and "70.000 ₫" in receipt  # change
    assert on_hand(world, world.a, "BL-BDX-1") == before - 2


def test_till_refuses_more_than_in_stock_and_keeps_the_lines(app, world):
    op = as_role(app.test_client(), "operator")
    before = on_hand(world, world.a, "BL-BDX-1")
    r = post(op, f"/console/till/{world.a}/sale", {"line_sku": "BL-BDX-1", "line_quantity": "99",
                                                   "payment_method": "card"})
    assert r.status_code == 409 and 'value="BL-BDX-1"' in text(r) and 'id="till-error"' in text(r)
    assert on_hand(world, world.a, "BL-BDX-1") == before


# --- organiser ------------------------------------------------------------------------------------------
def test_organiser_verifies_a_producer_and_the_dashboard_changes(app, world):
    organiser = as_role(app.test_client(), "organiser")
    mix = lambda: re.search(r'data-code="cooperatives"><td>[^<]+</td><td>[^(]+\((\d+)/(\d+)\)',
                            text(organiser.get("/console/dashboard"))).groups()
    coops, total = map(int, mix())
    queue = text(organiser.get("/console/producers/verification"))
    assert "HTX Nông sản Long Thành" in queue
    row = post(organiser, f"/console/producers/{world.ids['pending']}/status", {"status": "verified"},
               headers={"HX-Request": "true"})
    assert row.status_code == 200 and 'data-status="verified"' in text(row)
    assert "HTX Nông sản Long Thành" not in text(organiser.get("/console/producers/verification"))
    assert mix() == (str(coops + 1), str(total + 1))


def test_certifications_to_watch(app, world):
    organiser = as_role(app.test_client(), "organiser")
    expiring = text(organiser.get("/console/certifications?state=expiring"))
    assert "Đèn gỗ trang trí" in expiring and "Bưởi da xanh" not in expiring
    expired = text(organiser.get("/console/certifications?state=expired"))
    assert "Rượu nhung nai Hiếu Liêm" in expired


def test_imports_report_each_failing_row_and_write_nothing(app, world):
    from core.catalogue.models import Producer
    from core.db import db
    organiser = as_role(app.test_client(), "organiser")
    count = db.session.execute(select(Producer.id)).all()
    bad = "producer_name,legal_form,commune_code,product_name,group,sku,price\nHTX A,cooperative,26188,Mật ong,food,MO-1,abc\n"
    r = post(organiser, "/console/imports", {"file": (io.BytesIO(bad.encode()), "bad.csv")},
             content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="row-errors"' in text(r)
    assert db.session.execute(select(Producer.id)).all() == count


# --- dashboard --------------------------------------------------------------------------------------------
def test_dashboard_tables_json_and_xlsx_tell_the_same_figures(app, world, login):
    organiser = as_role(app.test_client(), "organiser")
    page = text(organiser.get("/console/dashboard"))
    assert 'id="chart-stars"' in page and 'id="gmv"' in page and 'id="expiring"' in page
    data = app.test_client().get("/admin/v1/reports/province-dashboard", headers=login("sct.dongnai")).get_json()
    assert data["province_code"] == "75"
    total = data["products_by_stars"]["total"]
    assert f"<strong>{total}</strong>" in page
    assert {t["code"]: t["target"] for t in data["producer_mix"]["targets"]} == {"cooperatives": 0.4, "enterprises": 0.3}
    assert [c["product_name"] for c in data["expiring_certificates"]][:1] == ["Đèn gỗ trang trí nội thất Trị An"]
    assert sum(g["products"] for g in data["products_by_group"]) == total
    xlsx = organiser.get("/console/dashboard.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(xlsx.data))
    assert sum(row[5] for row in book["San pham theo sao"].iter_rows(min_row=3, values_only=True)) == total
    other = app.test_client().get("/admin/v1/reports/province-dashboard?province=01", headers=login("sct.dongnai"))
    assert other.status_code == 403
    producer = app.test_client().get("/admin/v1/reports/province-dashboard", headers=login("cs.htx-binh-loi"))
    assert producer.status_code == 403
    bad = app.test_client().get("/admin/v1/reports/province-dashboard?year=abc", headers=login("admin"))
    assert bad.status_code == 422


def test_gmv_by_channel_and_month_counts_counter_sales(app, world, login):
    op = as_role(app.test_client(), "operator")
    r = post(op, f"/console/till/{world.a}/sale", {"line_sku": "BL-BDX-1", "line_quantity": "2",
                                                   "payment_method": "card"})
    assert r.status_code == 302
    data = app.test_client().get("/admin/v1/reports/province-dashboard", headers=login("admin")).get_json()
    gmv = data["gmv_by_channel_month"]
    assert gmv["total"] == 130000
    assert [row["gmv"] for row in gmv["rows"] if row["gmv"]] == [130000]  # one month, one channel
    assert len(gmv["months"]) == 12 and gmv["channels"][0]["kind"] == "sales_point"


# --- the register_console_pages hook -----------------------------------------------------------------
def test_register_console_pages_hook_mounts_plugin_pages(app, world):
    """sales_points implements register_console_pages: its till is a console page with a menu entry."""
    pages = app.extensions["ocop_console"]
    assert "console_sales_points.till_points" in {m.endpoint for m in pages.menu}
    assert app.view_functions["console_sales_points.till"].console_roles == ("admin", "operator")


def test_a_plugin_page_is_behind_login_roles_and_csrf(instance_path, database_url, app, demo):
    from core.app import create_app
    from core.hookspecs import hookimpl
    from core.plugins import build_plugin_manager
    from conftest import make_settings

    class Notes:
        @hookimpl
        def register_console_pages(self, console):
            console.add_page("/notes", lambda: console.render("console/error.html", message="ghi chú"),
                             endpoint="notes", roles=("organiser",), methods=("GET", "POST"),
                             menu=("Ghi chú", "Notes"), blueprint="notes")

    pm = build_plugin_manager(["sales_points"])
    pm.register(Notes(), name="notes")
    other = create_app(make_settings(instance_path, database_url, plugins_disabled=["sales_points"]),
                       plugin_manager=pm)
    client = other.test_client()
    assert client.get("/console/notes").status_code == 302
    assert console_login(client, "sct.dongnai").status_code == 302
    page = client.get("/console/notes")
    assert page.status_code == 200 and "ghi chú" in text(page) and "Ghi chú" in text(page)
    assert client.post("/console/notes").status_code == 400  # no CSRF token
    assert "/console/till" not in {r.rule for r in other.url_map.iter_rules()}  # sales_points switched off
    producer = other.test_client()
    console_login(producer, "cs.htx-binh-loi")
    assert producer.get("/console/notes").status_code == 403


def test_every_console_asset_and_template_is_package_data():
    """setup.cfg's package_data globs cover every file the console serves or renders (installed, not only in git)."""
    import configparser
    from fnmatch import fnmatch
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    config = configparser.ConfigParser()
    config.read(root / "setup.cfg")
    data = config["options.package_data"]
    for package, folder in (("admin", root / "admin" / "console"), ("plugins", root / "plugins" / "sales_points")):
        globs = [g.strip() for g in data[package].split(",")]
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".html", ".js", ".css", ".txt"):
                relative = path.relative_to(root / package).as_posix()
                assert any(fnmatch(relative, g) for g in globs), relative
