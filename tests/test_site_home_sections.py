"""The site's home page announces the promotions running on the web store (core pricing) and the fairs the
fairs plugin returns from ``site_home_sections``; the fairs' own site pages; the home page without the plugin."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from core import clock
from core.accounts.models import User
from core.db import db
from core.pricing import promotions
from plugins.fairs.tests.fixtures import build

CAMPAIGN = "Tuần lễ OCOP Đồng Nai"  # the demo's organiser campaign: online store, sales points, fair booths


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def section(body: str, key: str) -> str | None:
    match = re.search(rf'<section id="{key}".*?</section>', body, re.S)
    return match.group(0) if match else None


def _promotion(name: str, channels: list[str], starts: dt.datetime, days: int = 5, **extra):
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    promotion = promotions.create_promotion(admin, {
        "name": name, "name_en": name + " (en)", "kind": "percentage", "value": 10, "starts_at": starts,
        "ends_at": starts + dt.timedelta(days=days), "channels": channels, "requires_opt_in": False, **extra})
    promotions.activate_promotion(admin, promotion)
    db.session.commit()
    return promotion


def test_home_shows_the_promotions_running_on_the_web_store(client, demo):
    now = clock.now()
    _promotion("Chỉ bán trên livestream", ["livestream"], now - dt.timedelta(days=1))
    _promotion("Sắp tới", ["online_store"], now + dt.timedelta(days=2))
    ended = _promotion("Đã dừng", ["online_store"], now - dt.timedelta(days=1))
    promotions.end_promotion(db.session.execute(select(User).where(User.username == "admin")).scalar_one(), ended)
    db.session.commit()
    _promotion("Giảm giá nhóm thực phẩm", [], now - dt.timedelta(hours=2), scope={"groups": ["food"]})
    campaigns = section(html(client.get("/")), "campaigns")
    assert campaigns is not None
    assert CAMPAIGN in campaigns and "Giảm giá nhóm thực phẩm" in campaigns
    assert "Chỉ bán trên livestream" not in campaigns and "Sắp tới" not in campaigns and "Đã dừng" not in campaigns
    # the demo campaign: 3 days ago → 4 days ahead, from midnight Vietnam time; the two producers that joined
    start = (clock.today() - dt.timedelta(days=3)).strftime("%d/%m/%Y")
    end = (clock.today() + dt.timedelta(days=4)).strftime("%d/%m/%Y")
    assert f"Từ 00:00 {start} đến 00:00 {end}" in campaigns and "Giảm 15 %" in campaigns
    assert 'href="/tinh/75"' in campaigns  # an organiser's campaign lists its province's products
    assert 'href="/chu-the/htx-nong-nghiep-binh-minh"' in campaigns  # a producer that joined it
    assert 'href="/nhom/food"' in campaigns  # a campaign scoped to one group links to the group's page
    english = section(html(client.get("/?lang=en")), "campaigns")
    assert "Đồng Nai OCOP week" in english and "15 % off" in english and "Campaigns on now" in english


def test_home_shows_running_and_upcoming_fairs_linking_to_their_pages(client, demo):
    fair = build("running", name="Tuần lễ OCOP Trị An")
    hidden = build("open", name="Hội chợ chưa công bố")
    fairs = section(html(client.get("/")), "fairs")
    assert fairs is not None and "Tuần lễ OCOP Trị An" in fairs and "Hội chợ chưa công bố" not in fairs
    assert f'href="/hoi-cho-trien-lam/{fair.slug}"' in fairs
    assert "25/11/2026 – 28/11/2026" in fairs and "Sân vận động xã Trị An, Đồng Nai" in fairs
    assert "Hội chợ · Đang diễn ra" in fairs
    page = html(client.get(f"/hoi-cho-trien-lam/{fair.slug}"))
    assert "<h1>Tuần lễ OCOP Trị An</h1>" in page and "gian A01" in page
    assert 'href="/san-pham/buoi-da-xanh-binh-loi"' in page
    assert f'src="/storefront/v1/fairs/{fair.slug}/map.svg"' in page
    listing = html(client.get("/hoi-cho-trien-lam"))
    assert f'href="/hoi-cho-trien-lam/{fair.slug}"' in listing and hidden.slug not in listing
    assert 'href="/hoi-cho-trien-lam"' in listing  # in the site header
    assert client.get(f"/hoi-cho-trien-lam/{hidden.slug}").status_code == 404
    assert client.get("/hoi-cho-trien-lam/khong-co").status_code == 404
    for url in ("/", "/hoi-cho-trien-lam", f"/hoi-cho-trien-lam/{fair.slug}"):
        assert len(client.get(url).data) < 100_000, url
    assert "Fair · On now" in section(html(client.get("/?lang=en")), "fairs")
    assert "<h1>OCOP fairs and exhibitions</h1>" in html(client.get("/hoi-cho-trien-lam"))


def test_no_fair_section_without_upcoming_fairs(client, demo):
    build("open")
    assert section(html(client.get("/")), "fairs") is None


@pytest.fixture
def app_without_fairs(app, instance_path, database_url):
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    yield create_app(make_settings(instance_path, database_url, plugins_disabled=["fairs"]))
    init_celery(app)  # give Celery back to the session's app


def test_home_without_the_fairs_plugin_has_no_fair_section_and_no_error(app_without_fairs, client, demo):
    build("running", name="Tuần lễ OCOP Trị An")
    other = app_without_fairs.test_client()
    body = html(other.get("/"))
    assert section(body, "fairs") is None and "Tuần lễ OCOP Trị An" not in body
    assert CAMPAIGN in section(body, "campaigns")
    assert 'href="/hoi-cho-trien-lam"' not in body
    assert other.get("/hoi-cho-trien-lam").status_code == 404


def _sale_cards(body: str) -> int:
    return body.count('<span class="sale">')


def test_listing_and_search_cards_show_sale_prices_and_follow_a_new_promotion(client, demo):
    """The campaign's joined producers' products carry their sale price on search and listing cards; a
    promotion started afterwards shows on the next view (the site's listing cache follows the pricing state)."""
    search = html(client.get("/tim-kiem?q=buoi"))
    assert "Bưởi da xanh Bình Lợi" in search
    province_before = html(client.get("/tinh/75"))
    joined = html(client.get("/chu-the/htx-nong-nghiep-binh-minh"))
    assert _sale_cards(joined) >= 1 and "<s>" in joined  # the demo campaign: 15 % off, base price struck
    before = _sale_cards(province_before)
    _promotion("Giảm giá toàn tỉnh", ["online_store"], clock.now() - dt.timedelta(hours=1))
    province_after = html(client.get("/tinh/75"))
    assert _sale_cards(province_after) > before
    assert _sale_cards(html(client.get("/tim-kiem?q=buoi"))) > _sale_cards(search)


def test_fair_list_refuses_a_bad_page_with_the_error_envelope(client, demo):
    for page in ("-5", "0", "abc", "1001", "9" * 40):
        response = client.get(f"/hoi-cho-trien-lam?page={page}")
        assert response.status_code == 422, page
        assert "trang phải là số từ 1 đến 1000" in response.get_data(as_text=True)  # the site's error page
    assert client.get("/hoi-cho-trien-lam?page=1").status_code == 200
