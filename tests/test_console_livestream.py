"""The livestream plugin's console pages: sessions, session prices, live view of parsed comment orders, results.

Each page: the happy path, bad input (a 4xx form, nothing written), refused callers (other roles, another
producer, another province's organiser), and the plugin switched off.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from support.console import console_as, console_login, post
from support.livestream import BASE, make_session, variant_ids

HOST = "cs.htx-binh-loi"  # hosts the demo session with htx-binh-minh
NOT_HOST = "cs.son-an"


@pytest.fixture
def demo_session(app, demo):
    from core.db import commit
    from plugins.livestream.demo import seed_demo_session
    result = seed_demo_session()
    commit()
    return result["session_id"]


@pytest.fixture
def far_organiser(app, demo):
    """An organiser of Hà Tĩnh (no demo livestream producer there)."""
    from core.accounts.authentication import create_user
    from core.catalogue.models import Producer
    from core.db import commit, db
    province = db.session.execute(select(Producer.province_code).where(Producer.name.like("%Vũ Quang%"))).scalar_one()
    create_user("sct.hatinh", "ocop-demo-2026", "organiser", province_code=province)
    commit()
    return "sct.hatinh"


def text(response):
    return response.get_data(as_text=True)


def session_count():
    from core.db import db
    from plugins.livestream.models import LivestreamSession
    db.session.expire_all()
    return db.session.execute(select(func.count(LivestreamSession.id))).scalar_one()


def new_session_form(**extra):
    return {"title": "Bưởi Tết 2027", "platform": "facebook", "scheduled_at": "2026-12-20T20:00", **extra}


def test_sessions_listed_in_scope(app, demo_session, far_organiser):
    for username in (HOST, "sct.dongnai", "admin"):
        page = text(console_as(app, username).get("/console/livestream"))
        assert f'data-session="{demo_session}"' in page, username
    for username in (NOT_HOST, far_organiser):
        page = console_as(app, username).get("/console/livestream")
        assert page.status_code == 200 and f'data-session="{demo_session}"' not in text(page), username


def test_producer_schedules_a_session_for_itself(app, demo):
    from core.db import db
    from plugins.livestream.models import LivestreamSession
    producer = console_as(app, HOST)
    r = post(producer, "/console/livestream", new_session_form())
    assert r.status_code == 302 and "/console/livestream/session?id=" in r.headers["Location"], text(r)[:1000]
    created = db.session.execute(select(LivestreamSession)).scalar_one()
    assert [h.producer.name for h in created.hosts] == ["HTX Dịch vụ - Nông nghiệp Bình Lợi"]
    assert created.scheduled_at.hour == 13  # 20:00 in Vietnam, stored UTC
    page = text(producer.get(r.headers["Location"]))
    assert 'id="session-created"' in page and 'id="go-live"' in page


def test_organiser_schedules_for_a_province_producer(app, demo):
    from core.catalogue.models import Producer
    from core.db import db
    host = db.session.execute(select(Producer.id).where(Producer.name.like("%Bình Minh%"))).scalar_one()
    organiser = console_as(app, "sct.dongnai")
    assert "Bình Minh" in text(organiser.get("/console/livestream"))  # offered as a host
    r = post(organiser, "/console/livestream", new_session_form(producer_ids=str(host)))
    assert r.status_code == 302, text(r)[:1000]
    assert session_count() == 1


def test_bad_session_forms_write_nothing(app, demo, far_organiser):
    from core.catalogue.models import Producer
    from core.db import db
    producer = console_as(app, HOST)
    for form in (new_session_form(title=""), new_session_form(platform="myspace"),
                 new_session_form(scheduled_at="ngày mai"), new_session_form(stream_url="not a url")):
        r = post(producer, "/console/livestream", form)
        assert r.status_code == 422 and 'id="form-error"' in text(r), (form, r.status_code)
    dongnai = db.session.execute(select(Producer.id).where(Producer.name.like("%Bình Lợi%"))).scalar_one()
    r = post(console_as(app, far_organiser), "/console/livestream", new_session_form(producer_ids=str(dongnai)))
    assert r.status_code == 403 and 'id="form-error"' in text(r)
    assert post(console_as(app, "sct.dongnai"), "/console/livestream", new_session_form()).status_code == 422
    assert session_count() == 0


def test_session_prices_set_from_the_console(app, client, login, demo):
    live = make_session(client, login, start=False, user="admin")
    producer = console_as(app, HOST)
    page = text(producer.get(f"/console/livestream/session?id={live.id}"))
    assert 'id="item-A1"' in page and 'data-sku="BL-BDX-1">59.000 ₫' in page
    item = live.items["A1"]["id"]
    vid = variant_ids("BL-BDX-1")["BL-BDX-1"][0]
    gift = variant_ids("BL-BDX-HOP2")["BL-BDX-HOP2"][0]
    r = post(producer, f"/console/livestream/{live.id}/showcase/{item}/prices",
             {f"price_{vid}": "55.000", f"words_{vid}": "Loại 1", f"hold_{vid}": "0",
              f"price_{gift}": "", f"words_{gift}": "Hộp quà", f"hold_{gift}": "0"})
    assert r.status_code == 302 and "saved=A1" in r.headers["Location"]
    page = text(producer.get(r.headers["Location"]))
    assert 'data-sku="BL-BDX-1">55.000 ₫' in page and 'id="prices-saved"' in page
    showcase = client.get(f"{BASE}/{live.id}/showcase", headers=live.admin).get_json()["results"]
    prices = {o["sku"]: o["session_price"] for i in showcase for o in i["variants"]}
    assert prices["BL-BDX-1"] == 55000 and prices["BL-BDX-HOP2"] is None


def test_bad_prices_and_pins_write_nothing(app, client, login, demo):
    live = make_session(client, login, start=False, user="admin")
    producer = console_as(app, HOST)
    item = live.items["A1"]["id"]
    vid = variant_ids("BL-BDX-1")["BL-BDX-1"][0]
    for value in ("năm mươi", "-5", "5.5"):
        r = post(producer, f"/console/livestream/{live.id}/showcase/{item}/prices", {f"price_{vid}": value})
        assert r.status_code == 422 and 'id="form-error"' in text(r), value
    r = post(producer, f"/console/livestream/{live.id}/showcase",
             {"code": "A1", "product_id": str(live.items["A2"]["product_id"])})
    assert r.status_code in (409, 422) and 'id="form-error"' in text(r)
    assert post(producer, f"/console/livestream/{live.id}/showcase", {"code": "!!", "product_id": "x"}).status_code == 422
    showcase = client.get(f"{BASE}/{live.id}/showcase", headers=live.admin).get_json()["results"]
    assert {o["sku"]: o["session_price"] for i in showcase for o in i["variants"]}["BL-BDX-1"] == 59000
    assert len(showcase) == 3


def test_go_live_comments_become_drafts_on_the_live_view_then_results(app, client, login, demo):
    live = make_session(client, login, start=False, user="admin")
    producer = console_as(app, HOST)
    r = post(producer, f"/console/livestream/{live.id}/start")
    assert r.status_code == 302 and "/console/livestream/live?id=" in r.headers["Location"]
    view = text(producer.get(r.headers["Location"]))
    assert 'hx-trigger="every 3s"' in view and "Chưa có đơn nháp." in view
    batch = {"format": "generic", "document": [
        {"id": "c1", "author_id": "u1", "author_name": "Chị Hoa", "text": "chốt A1 2 trái sdt 0912345678"}]}
    assert client.post(f"{BASE}/{live.id}/comments", headers=live.admin, json=batch).status_code == 200
    feed = text(producer.get(f"/console/livestream/live/feed?id={live.id}"))
    assert "Chị Hoa" in feed and 'data-author="u1"' in feed and "A1" in feed and "0912345678" in feed
    assert "<html" not in feed  # a fragment for htmx
    assert post(producer, f"/console/livestream/{live.id}/start").status_code == 409  # already live
    r = post(producer, f"/console/livestream/{live.id}/end")
    assert r.status_code == 302 and "/console/livestream/results?id=" in r.headers["Location"]
    results = text(producer.get(r.headers["Location"]))
    assert 'id="gmv">0 ₫' in results and 'id="orders">0' in results


def test_results_show_the_sessions_figures(app, client, login, demo_session):
    from core.db import db
    from plugins.livestream import metrics, sessions
    summary = metrics.summary(sessions.get_session(demo_session))
    page = text(console_as(app, "sct.dongnai").get(f"/console/livestream/results?id={demo_session}"))
    assert f'id="gmv">{summary["gmv"]:,} ₫'.replace(",", ".") in page and f'id="orders">{summary["orders"]}<' in page
    assert summary["comments"] > 100 and str(summary["comments"]) in page
    db.session.rollback()


def test_refused_callers(app, demo_session, far_organiser):
    for username in (NOT_HOST, far_organiser):
        other = console_as(app, username)
        for path in ("session", "live", "live/feed", "results"):
            assert other.get(f"/console/livestream/{path}?id={demo_session}").status_code == 403, (username, path)
        assert post(other, f"/console/livestream/{demo_session}/end").status_code == 403
    certifier = console_as(app, "hoidong.dongnai")
    assert certifier.get("/console/livestream").status_code == 403
    assert post(certifier, "/console/livestream", new_session_form()).status_code == 403
    assert certifier.get(f"/console/livestream/results?id={demo_session}").status_code == 403
    assert console_as(app, HOST).get("/console/livestream/session?id=999999").status_code == 404
    assert console_as(app, HOST).get("/console/livestream/session").status_code == 302  # no id: the list
    assert session_count() == 1


def test_operator_is_refused(app, client, login, demo_session):
    from support.sales_points import PASSWORD, setup_points
    setup_points(client, login)
    operator = console_as(app, "op.a", PASSWORD)
    assert operator.get("/console/livestream").status_code == 403
    assert operator.get(f"/console/livestream/live?id={demo_session}").status_code == 403
    assert "Livestream" not in text(operator.get("/console/till", follow_redirects=True)).split("</aside>")[0]


def test_plugin_disabled_removes_its_pages_and_menu(instance_path, database_url, app, demo):
    from conftest import make_settings
    from core.app import create_app
    assert "Livestream" in text(console_as(app, HOST).get("/console/", follow_redirects=True))
    other = create_app(make_settings(instance_path, database_url, plugins_disabled=["livestream"]))
    assert not any(r.rule.startswith("/console/livestream") for r in other.url_map.iter_rules())
    producer = other.test_client()
    assert console_login(producer, HOST).status_code == 302
    home = text(producer.get("/console/", follow_redirects=True))
    assert "Livestream" not in home.split("</aside>")[0] and "Sản phẩm" in home
    assert producer.get("/console/livestream").status_code == 404
    assert producer.get("/console/products").status_code == 200
