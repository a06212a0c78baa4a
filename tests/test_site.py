"""The public site at ``/``: pages from the storefront services, SEO tags, 410 for delisted products, the
no-JavaScript cart → checkout → order flow, sitemap and robots, and the ``register_site_pages`` hook."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from core.hookspecs import hookimpl
from support.checks import row_counts
from support.sales_points import receive, setup_points

POMELO = "/san-pham/buoi-da-xanh-binh-loi"
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def html(response) -> str:
    return response.get_data(as_text=True)


def json_ld(body: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert match, "no JSON-LD on the page"
    return json.loads(match.group(1))


def cart_cookie(client) -> str | None:
    cookie = client.get_cookie("ocop_cart")
    return cookie.value if cookie else None


def add(client, sku, quantity="1"):
    return client.post("/gio-hang/them", data={"sku": sku, "quantity": quantity})


# --- catalogue pages -------------------------------------------------------------------------------
def test_home_shows_listed_products_only_with_vnd_prices(client, demo):
    response = client.get("/")
    body = html(response)
    assert response.status_code == 200 and response.mimetype == "text/html"
    listed = client.get("/storefront/v1/products?limit=50").get_json()["results"]
    assert listed and all(f'href="/san-pham/{p["slug"]}"' in body for p in listed)
    assert "Bánh tét" not in body and "Rượu nhung nai" not in body  # never certified / certificate expired
    assert "65.000 ₫" in body and 'href="/tinh/75"' in body and 'lang="vi"' in body
    assert '<link rel="canonical" href="http://127.0.0.1:5000/">' in body
    assert 'src="/assets/site/htmx.min.js"' in body and "http" not in re.sub(r'(href|content)="http[^"]*"', "", body)
    assert client.get("/assets/site/htmx.min.js").status_code == 200
    assert client.get("/assets/site/site.css").status_code == 200


def test_product_page_badge_variants_story_and_share_tags(client, demo):
    response = client.get(POMELO)
    body = html(response)
    assert response.status_code == 200
    assert "<h1>Bưởi da xanh Bình Lợi</h1>" in body
    assert "OCOP ★★★" in body and "104/QĐ-UBND" in body and "20/09/2027" in body  # decision, expiry dd/mm/yyyy
    assert "65.000 ₫" in body and "150.000 ₫" in body and "Còn hàng" in body
    assert body.count('action="/gio-hang/them"') == 2
    assert '<meta property="og:type" content="product">' in body and 'name="twitter:card"' in body
    assert f'<link rel="canonical" href="http://127.0.0.1:5000{POMELO}">' in body
    assert 'href="/chu-the/' in body and len(response.data) < 100_000


def test_json_ld_is_a_product_whose_offers_match_the_api_price(client, demo):
    body = html(client.get(POMELO))
    ld = json_ld(body)
    api = client.get("/storefront/v1/products/buoi-da-xanh-binh-loi").get_json()
    assert ld["@type"] == "Product" and ld["name"] == api["name"] and ld["brand"]["name"] == api["producer"]["name"]
    expected = {v["sku"]: v["sale_price"] if v["sale_price"] is not None else v["price"] for v in api["variants"]}
    assert {o["sku"]: o["price"] for o in ld["offers"]} == expected
    assert all(o["priceCurrency"] == "VND" and o["availability"] == "https://schema.org/InStock" for o in ld["offers"])


def test_sale_price_and_its_end_come_from_the_price_resolver(client, demo):
    """Cam Vũ Quang's producer is in the demo's Đồng Nai OCOP week or not: the site says what the API says."""
    for slug in [p["slug"] for p in client.get("/storefront/v1/products?limit=50").get_json()["results"]]:
        api = client.get(f"/storefront/v1/products/{slug}").get_json()
        body = html(client.get(f"/san-pham/{slug}"))
        offers = {o["sku"]: o for o in json_ld(body)["offers"]}
        for variant in api["variants"]:
            if variant["sale_price"] is not None:
                assert offers[variant["sku"]]["price"] == variant["sale_price"]
                assert "giá khuyến mãi đến" in body and f'{variant["sale_price"]:,} ₫'.replace(",", ".") in body
                assert offers[variant["sku"]]["priceValidUntil"] == variant["sale_ends_at"][:10]
            else:
                assert offers[variant["sku"]]["price"] == variant["price"]


def test_delisted_product_is_gone_with_similar_listed_products(client, demo):
    response = client.get("/san-pham/ruou-nhung-nai-hieu-liem")  # certificate expired
    body = html(response)
    assert response.status_code == 410 and "Rượu nhung nai Hiếu Liêm" in body
    links = re.findall(r'href="/san-pham/([^"?]+)"', body)
    listed = {p["slug"] for p in client.get("/storefront/v1/products?limit=50").get_json()["results"]}
    assert links and set(links) <= listed
    assert "ruou-nhung-huou-huong-son" in links  # same group first
    unknown = client.get("/san-pham/khong-co-san-pham-nay")
    assert unknown.status_code == 404 and unknown.mimetype == "text/html" and "Không tìm thấy" in html(unknown)


def test_producer_group_and_province_pages(client, demo):
    pomelo = client.get("/storefront/v1/products/buoi-da-xanh-binh-loi").get_json()
    producer = html(client.get(f"/chu-the/{pomelo['producer']['slug']}"))
    assert pomelo["producer"]["name"] in producer and 'href="/san-pham/tinh-dau-buoi-binh-loi"' in producer
    group = client.get(f"/nhom/{pomelo['group']['code']}")
    assert group.status_code == 200 and POMELO in html(group)
    province = client.get("/tinh/75")
    assert province.status_code == 200 and "Đồng Nai" in html(province) and POMELO in html(province)
    assert "Cam Vũ Quang" not in html(province)  # Hà Tĩnh
    assert client.get("/tinh/DNA").status_code == 200  # the pre-2025 code answers with its successor
    assert client.get("/nhom/khong-co").status_code == 404
    assert client.get("/tinh/khong-co").status_code == 404


def test_search_without_diacritics_with_facets_and_typos(client, demo):
    body = html(client.get("/tim-kiem?q=buoi"))
    assert 'href="/san-pham/buoi-da-xanh-binh-loi"' in body and "Tinh dầu bưởi" in body
    assert "Hạng sao" in body and "Nhóm sản phẩm" in body and "noindex" in body
    typo = html(client.get("/tim-kiem?q=bưởi+da+xamh"))
    assert 'href="/san-pham/buoi-da-xanh-binh-loi"' in typo
    filtered = html(client.get("/tim-kiem?q=buoi&stars=4"))
    assert "tinh-dau-buoi-binh-loi" in filtered and 'href="/san-pham/buoi-da-xanh-binh-loi"' not in filtered


@pytest.mark.parametrize("query", ["stars=9", "min_price=-1", "sort=nope", "q=" + "x" * 300, "q=%01", "cursor=zzz"])
def test_bad_search_input_is_a_4xx_page(client, demo, query):
    response = client.get(f"/tim-kiem?{query}")
    assert 400 <= response.status_code < 500 and response.mimetype == "text/html"


def test_english_is_switchable_and_remembered(client, demo):
    body = html(client.get(f"{POMELO}?lang=en"))
    assert 'lang="en"' in body and "Add to cart" in body and "Valid until" in body
    assert "Add to cart" in html(client.get(POMELO))  # the cookie remembers
    assert "Thêm vào giỏ" in html(client.get(f"{POMELO}?lang=vi"))


def test_where_to_buy_in_person_lists_sales_points_holding_the_product(client, demo, login):
    points = setup_points(client, login)
    lines = [{"sku": "BL-BDX-1", "quantity": 5, "lot_no": "L1", "best_before": "2027-01-15", "unit_cost": 50000}]
    assert receive(points, points.a, points.op_a, "BL-BDX-1", lines).status_code == 201
    body = html(client.get(POMELO))
    assert "Điểm OCOP Bửu Long" in body and "Điểm OCOP Trị An" not in body  # B holds no pomelo
    finder = html(client.get("/diem-ban?tinh=75"))
    assert "Điểm OCOP Bửu Long" in finder and "Điểm OCOP Trị An" in finder and "google.com/maps" in finder
    assert "Hàng đang chuyển đến" not in finder and "Kho HTX" not in finder  # transit and warehouses: no counter
    assert "Điểm OCOP Bửu Long" not in html(client.get("/diem-ban?tinh=42"))


# --- cart, checkout, order status (plain forms: no JavaScript) ---------------------------------------
def test_cart_checkout_cod_and_order_status_without_javascript(client, demo):
    response = add(client, "BL-BDX-1", "2")
    assert response.status_code == 303 and response.headers["Location"].startswith("/gio-hang")
    token = cart_cookie(client)
    assert token and "130.000 ₫" in html(client.get("/gio-hang"))
    page = html(client.get("/thanh-toan"))
    assert 'name="province_code"' in page and "Chọn tỉnh rồi bấm Lưu" in page
    key = re.search(r'name="order_key" value="([^"]+)"', page).group(1)
    contact = {"full_name": "Nguyễn Thị Lan", "phone": "0912 345 678", "email": "lan@example.vn",
               "street": "12 Nguyễn Văn Trỗi", "order_key": key}
    # choosing the province first (no commune list yet) saves the contact and shows the province's communes
    saved = client.post("/thanh-toan", data={**contact, "province_code": "75", "communes_for": "", "action": "save"})
    assert saved.status_code == 200 and 'value="26188"' in html(saved) and 'name="communes_for" value="75"' in html(saved)
    chosen = client.post("/thanh-toan", data={**contact, "province_code": "75", "communes_for": "75",
                                              "commune_code": "26188", "action": "save"})
    assert chosen.status_code == 200 and 'name="delivery_method" value="standard"' in html(chosen)
    placed = client.post("/thanh-toan", data={**contact, "province_code": "75", "communes_for": "75",
                                              "commune_code": "26188", "delivery_method": "standard",
                                              "payment_gateway": "cod", "action": "place"})
    assert placed.status_code == 303, html(placed)
    status_url = placed.headers["Location"]
    assert status_url.startswith("/don-hang/") and cart_cookie(client) is None
    order = client.get(status_url.replace("/don-hang/", "/storefront/v1/orders/")).get_json()
    assert order["payment_gateway"] == "cod" and order["shipping_address"]["province"]["name"] == "Đồng Nai"
    body = html(client.get(status_url))
    assert order["number"] in body and "Chờ xác nhận" in body and "Thanh toán khi nhận hàng" in body
    assert "Phường Tân Triều" in body and "noindex" in body
    # a second click on "Đặt hàng" (the browser still sending the cart cookie) shows the same order
    client.set_cookie("ocop_cart", token)
    before = row_counts()
    again = client.post("/thanh-toan", data={**contact, "action": "place"})
    assert again.status_code == 303 and again.headers["Location"] == status_url and row_counts() == before


def test_bank_transfer_order_shows_the_vietqr_image(client, demo):
    add(client, "BL-TDB-10")
    data = {"full_name": "Lan", "phone": "0912345678", "province_code": "75", "communes_for": "75",
            "commune_code": "26188", "street": "1 Đồng Khởi", "delivery_method": "standard",
            "payment_gateway": "bank_transfer", "action": "place", "order_key": "k-bank-1"}
    placed = client.post("/thanh-toan", data=data)
    assert placed.status_code == 303, html(placed)
    body = html(client.get(placed.headers["Location"]))
    qr = re.search(r'<img src="([^"]+qr\.png)"', body)
    assert qr and client.get(qr.group(1)).status_code == 200 and "Chuyển khoản" in body


def test_refused_checkout_keeps_nothing_and_tells_why(client, demo):
    add(client, "BL-BDX-1")
    before = row_counts()
    wrong = client.post("/thanh-toan", data={"full_name": "Lan", "phone": "0912345678", "province_code": "42",
                                             "communes_for": "42", "commune_code": "26188", "street": "1",
                                             "action": "place"})
    assert wrong.status_code == 422 and 'role="alert"' in html(wrong)
    assert row_counts() == before
    incomplete = client.post("/thanh-toan", data={"action": "place"})
    assert incomplete.status_code == 422 and row_counts() == before
    bad_email = client.post("/thanh-toan", data={"email": "not-an-email", "action": "save"})
    assert bad_email.status_code == 422


@pytest.mark.parametrize("form", [{"sku": "TG-BT-1"}, {"sku": "NO-SUCH"}, {"sku": "BL-BDX-1", "quantity": "0"},
                                  {"sku": "BL-BDX-1", "quantity": "abc"}, {"sku": "BL-BDX-1", "quantity": "100"}, {}])
def test_refused_add_to_cart_is_a_4xx_page(client, demo, form):
    before = row_counts()
    response = client.post("/gio-hang/them", data=form)
    assert 400 <= response.status_code < 500 and response.mimetype == "text/html"
    assert row_counts() == before


def test_cart_lines_change_and_go(client, demo):
    add(client, "BL-BDX-1")
    add(client, "BL-BDX-1")
    cart = client.get(f"/storefront/v1/checkouts/{cart_cookie(client)}").get_json()
    assert cart["lines"][0]["quantity"] == 2
    line = cart["lines"][0]["id"]
    client.post(f"/gio-hang/dong/{line}", data={"quantity": "5", "action": "update"})
    assert "325.000 ₫" in html(client.get("/gio-hang"))
    client.post(f"/gio-hang/dong/{line}", data={"action": "remove"})
    assert "Giỏ hàng đang trống" in html(client.get("/gio-hang"))
    assert client.get("/thanh-toan").status_code == 303


def test_commune_options_for_htmx(client, demo):
    body = html(client.get("/thanh-toan/xa?province_code=75"))
    assert '<option value="26188"' in body and 'name="communes_for" value="75"' in body


def test_unknown_order_token_is_404(client, demo):
    assert client.get("/don-hang/nope").status_code == 404


# --- crawlers ----------------------------------------------------------------------------------------
def test_robots_and_chunked_sitemap(client, demo, monkeypatch):
    robots = html(client.get("/robots.txt"))
    assert "Disallow: /thanh-toan" in robots and "Sitemap: http://127.0.0.1:5000/sitemap.xml" in robots
    from storefront_api.site import crawl
    monkeypatch.setattr(crawl, "CHUNK", 3)
    index = ET.fromstring(client.get("/sitemap.xml").data)
    files = [loc.text for loc in index.findall("s:sitemap/s:loc", SITEMAP_NS)]
    listed = client.get("/storefront/v1/products?limit=50").get_json()["results"]
    assert len(files) == 1 + -(-len(listed) // 3)
    urls = []
    for url in files[1:]:
        chunk = ET.fromstring(client.get(url.replace("http://127.0.0.1:5000", "")).data)
        urls += [loc.text for loc in chunk.findall("s:url/s:loc", SITEMAP_NS)]
    assert sorted(urls) == sorted(f"http://127.0.0.1:5000/san-pham/{p['slug']}" for p in listed)
    pages = html(client.get("/sitemap-pages.xml"))
    assert "/tinh/75" in pages and "/chu-the/" in pages
    assert client.get(f"/sitemap-products-{len(files) + 3}.xml").status_code == 404


def test_the_site_shadows_no_other_route(app, client, demo):
    adapter = app.url_map.bind("localhost")
    for path in ("/docs", "/openapi.json", "/media/x.png", "/healthz", "/readyz", "/metrics",
                 "/storefront/v1/products", "/admin/v1/orders"):
        endpoint, _ = adapter.match(path)
        assert not endpoint.startswith("site."), path
    assert client.get("/openapi.json").get_json()["info"]["title"] == "ocop-commerce"
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/storefront/v1/products").mimetype == "application/json"
    # the API's errors stay JSON envelopes
    assert client.get("/storefront/v1/products/nope").get_json()["error"]["code"] == "product.not_found"


def test_main_pages_are_under_100_kb(client, demo):
    add(client, "BL-BDX-1")
    for url in ("/", POMELO, "/tim-kiem?q=buoi", "/tinh/75", "/gio-hang", "/thanh-toan", "/diem-ban"):
        response = client.get(url)
        assert response.status_code == 200 and len(response.data) < 100_000, url


# --- the register_site_pages hook ----------------------------------------------------------------------
class FairPages:
    """A plugin adding a page through ``register_site_pages`` (as a fairs plugin will)."""

    def __init__(self, folder):
        self.folder = folder

    @hookimpl
    def register_site_pages(self, pages):
        pages.add_template_folder(self.folder)

        def fairs():
            return pages.render("fairs/index.html", fairs=["Hội chợ OCOP Đồng Nai 2026"])

        pages.add("/hoi-cho", fairs, name="fairs", title="Hội chợ", title_en="Fairs", nav=True)


@pytest.fixture
def app_with_fair_pages(app, instance_path, database_url, tmp_path):
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    from core.db import db
    from core.plugins import build_plugin_manager
    folder = tmp_path / "templates" / "fairs"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text('{% extends "site/layout.html" %}{% block content %}<h1>{{ t("Hội chợ", '
                                       '"Fairs") }}</h1>{% for f in fairs %}<p>{{ f }}</p>{% endfor %}'
                                       '{% endblock %}', encoding="utf-8")
    pm = build_plugin_manager([])
    pm.register(FairPages(str(tmp_path / "templates")), name="fair_pages")
    db.session.commit()
    yield create_app(make_settings(instance_path, database_url), plugin_manager=pm)
    init_celery(app)  # give Celery back to the session's app


def test_plugins_add_pages_with_the_sites_layout_and_language(app_with_fair_pages, client, demo):
    other = app_with_fair_pages.test_client()
    body = html(other.get("/hoi-cho"))
    assert "<h1>Hội chợ</h1>" in body and "Hội chợ OCOP Đồng Nai 2026" in body and 'href="/hoi-cho"' in body
    assert "<h1>Fairs</h1>" in html(other.get("/hoi-cho?lang=en"))
    assert "Hội chợ OCOP Đồng Nai" in html(other.get("/hoi-cho"))
    assert client.get("/hoi-cho").status_code == 404  # the page belongs to the app whose plugin added it
    assert 'href="/hoi-cho"' not in html(client.get("/"))
