"""Livestream plugin: the confirmation queue → core orders, attribution by link, metrics, reports, SSE, disabling."""
from __future__ import annotations

import http.client
import json
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from core.db import db
from core.sales.models import Order
from support.checks import error_of, row_counts
from support.livestream import BASE, CONFIRM, comment, drafts, make_session, push
from support.orders import checkout_for, ledger_ok, stock_of


def _live_with_orders(client, login, **kwargs):
    live = make_session(client, login, **kwargs)
    batch = [comment(1, "hoa", "A1 loại 1 x2"), comment(2, "nam", "chốt 2 B1"), comment(3, "hoa", "B1 1"),
             comment(4, "lan", "A1 3"), comment(5, "mai", "A3")]
    assert push(client, live, batch).status_code == 200
    return live, drafts(client, live)


def test_confirm_places_one_core_order_on_the_session_channel(client, login, demo):
    live, queue = _live_with_orders(client, login, holds={"BL-BDX-1": 5})
    before = stock_of("BL-BDX-1")
    a1 = live.items["A1"]["id"]
    assert client.post(f"{BASE}/{live.id}/showcase/{a1}/pin", headers=live.admin).status_code == 200
    url = f"{BASE}/{live.id}/drafts/{queue['hoa']['id']}/confirm"
    r = client.post(url, headers=live.admin, json=CONFIRM)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    order = db.session.get(Order, body["order_id"])
    assert order.channel_id == client.get(f"{BASE}/{live.id}", headers=live.admin).get_json()["sales_channel_id"]
    assert order.attribution["reference"] == f"livestream:{live.id}" and order.payment_gateway == "cod"
    assert sorted((l.sku, l.quantity, l.allocated_quantity) for l in order.lines) == [
        ("BL-BDX-1", 2, 2), ("BM-QHC-1KG", 1, 1)]
    # the hold gave the order its stock and was topped up again: 5 - 2 held, 2 allocated to the order
    assert stock_of("BL-BDX-1") == (before[0], before[1] - 5 + 3 + 2)
    again = client.post(url, headers=live.admin, json=CONFIRM)
    assert again.status_code == 200 and again.get_json()["order_id"] == body["order_id"]
    assert again.get_json()["created"] is False
    # a later comment from the same viewer does not change the confirmed draft nor make a second order
    push(client, live, [comment(9, "hoa", "lấy thêm 2 A1 loại 1")])
    assert db.session.execute(select(Order)).scalars().all() == [order]
    assert drafts(client, live, status="confirmed")["hoa"]["lines"][0]["quantity"] == 2
    summary = client.get(f"{BASE}/{live.id}/summary", headers=live.admin).get_json()
    assert summary["orders"] == 1 and summary["gmv"] == order.total and summary["unique_commenters"] == 4
    assert summary["conversion"] == 0.25 and summary["products"][0]["quantity"] == 2
    assert [(p["code"], p["orders"]) for p in summary["pins"]] == [("A1", 1)]
    assert sum(m["orders"] for m in summary["orders_per_minute"]) == 1
    assert client.post(f"{BASE}/{live.id}/end", headers=live.admin).status_code == 200
    assert stock_of("BL-BDX-1") == (before[0], before[1] - 5 + 2)
    ledger_ok()


def test_confirm_bad_input_and_refused_callers_write_nothing(client, login, demo):
    live, queue = _live_with_orders(client, login)
    other, certifier = login("cs.tht-cam-vu-quang"), login("hoidong.dongnai")
    before = row_counts()
    url = f"{BASE}/{live.id}/drafts/{queue['hoa']['id']}/confirm"
    error_of(client.post(url, headers=live.admin, json={**CONFIRM, "payment_gateway": "stripe"}), 422)
    error_of(client.post(url, headers=live.admin, json={k: v for k, v in CONFIRM.items() if k != "phone"}), 422)
    error_of(client.post(url, headers=live.admin,
                         json={**CONFIRM, "shipping_address": {**CONFIRM["shipping_address"], "commune_code": "x"}}),
             422)
    # "A1 3": the variant is not said, so the seller must edit first
    error_of(client.post(f"{BASE}/{live.id}/drafts/{queue['lan']['id']}/confirm", headers=live.admin, json=CONFIRM),
             422, "livestream.variant_required")
    error_of(client.post(f"{BASE}/{live.id}/drafts/{queue['mai']['id']}/confirm", headers=live.admin, json=CONFIRM),
             422, "livestream.draft_empty")
    error_of(client.post(url, headers=other, json=CONFIRM), 403)
    error_of(client.post(url, headers=certifier, json=CONFIRM), 403)
    error_of(client.post(url, json=CONFIRM), 401)
    error_of(client.post(f"{BASE}/{live.id}/drafts/999999/confirm", headers=live.admin, json=CONFIRM), 404)
    assert row_counts() == before


def test_edit_and_reject_drafts(client, login, demo):
    live, queue = _live_with_orders(client, login)
    assert queue["mai"]["needs_review"] is True and queue["mai"]["lines"] == []
    other = login("cs.tht-cam-vu-quang")
    url = f"{BASE}/{live.id}/drafts/{queue['lan']['id']}"
    before = row_counts()
    error_of(client.patch(url, headers=live.admin, json={"lines": [{"code": "Z1", "quantity": 1}]}), 422,
             "livestream.unknown_line")
    error_of(client.patch(url, headers=live.admin, json={"lines": [{"code": "A1", "quantity": 0}]}), 422)
    error_of(client.patch(url, headers=other, json={"lines": []}), 403)
    error_of(client.post(f"{url}/reject", headers=other), 403)
    assert row_counts() == before
    r = client.patch(url, headers=live.admin, json={"lines": [{"code": "a1", "variant_sku": "BL-BDX-HOP2",
                                                               "quantity": 3}]})
    assert r.status_code == 200 and r.get_json()["edited"] is True
    assert r.get_json()["total"] == 3 * 139000
    push(client, live, [comment(20, "lan", "A2 50ml")])  # the seller's lines win over later comments
    assert drafts(client, live)["lan"]["lines"] == r.get_json()["lines"]
    assert client.post(f"{BASE}/{live.id}/drafts/{queue['mai']['id']}/reject", headers=live.admin).status_code == 200
    error_of(client.post(f"{BASE}/{live.id}/drafts/{queue['mai']['id']}/reject", headers=live.admin), 409,
             "livestream.draft_closed")
    assert "mai" in drafts(client, live, status="rejected")


def test_storefront_orders_by_the_session_link_are_credited_within_its_window(client, login, demo):
    live = make_session(client, login)
    token = checkout_for(client, [("BL-TDB-10", 1)], gateway="cod")["token"]
    error_of(client.post("/storefront/v1/livestreams/track", json={"checkout_token": token, "code": "nope"}), 404)
    error_of(client.post("/storefront/v1/livestreams/track", json={"checkout_token": token}), 422)
    r = client.post("/storefront/v1/livestreams/track", json={"checkout_token": token, "code": live.code})
    assert r.status_code == 200 and r.get_json() == {"session_id": live.id, "tagged": True}
    placed = client.post(f"/storefront/v1/checkouts/{token}/complete")
    assert placed.status_code == 201, placed.get_json()
    order = db.session.execute(select(Order).where(Order.number == placed.get_json()["number"])).scalar_one()
    assert order.attribution == {"source": "livestream", "reference": f"livestream:{live.id}",
                                 "session_id": live.id, "via": "tag"}
    # the ``?ls=`` argument on the complete request works too; a scheduled (not started) session gets no credit
    token = checkout_for(client, [("BL-TDB-10", 1)], gateway="cod")["token"]
    placed = client.post(f"/storefront/v1/checkouts/{token}/complete?ls={live.code}").get_json()
    assert db.session.execute(select(Order.attribution).where(Order.number == placed["number"])).scalar_one()["via"] \
        == "link"
    later = make_session(client, login, start=False)
    token = checkout_for(client, [("BL-TDB-10", 1)], gateway="cod")["token"]
    placed = client.post(f"/storefront/v1/checkouts/{token}/complete?ls={later.code}").get_json()
    assert db.session.execute(select(Order.attribution).where(Order.number == placed["number"])).scalar_one() is None
    summary = client.get(f"{BASE}/{live.id}/summary", headers=live.admin).get_json()
    assert summary["orders_from_link"] == 2 and summary["orders_from_comments"] == 0


def test_metrics_and_reports(client, login, demo):
    live = make_session(client, login)
    other = login("hoidong.dongnai")
    url = f"{BASE}/{live.id}/metrics"
    samples = [{"at": "2026-11-23T20:05:00+07:00", "views": 100, "peak_viewers": 30, "likes": 5},
               {"at": "2026-11-23T20:10:00+07:00", "views": 250, "peak_viewers": 55, "shares": 2, "comments": 9}]
    assert client.post(url, headers=live.admin, json={"samples": samples}).get_json() == {"recorded": 2}
    assert client.post(url, headers=live.admin, json={"samples": samples[1:]}).get_json() == {"recorded": 1}
    summary = client.get(f"{BASE}/{live.id}/summary", headers=live.admin).get_json()
    assert summary["peak_viewers"] == 55 and len(summary["samples"]) == 2
    assert summary["samples"][0]["at"] == "2026-11-23T20:05:00+07:00"
    before = row_counts()
    error_of(client.post(url, headers=live.admin, json={"samples": [{"at": "yesterday"}]}), 422)
    error_of(client.post(url, headers=live.admin, json={"samples": [{"at": samples[0]["at"], "views": -1}]}), 422)
    error_of(client.post(url, headers=other, json={"samples": samples}), 403)
    error_of(client.get(f"{BASE}/{live.id}/summary", headers=other), 403)
    assert row_counts() == before
    push(client, live, [comment(1, "hoa", "A2 50ml")])
    hoa = drafts(client, live)["hoa"]
    assert client.post(f"{BASE}/{live.id}/drafts/{hoa['id']}/confirm", headers=live.admin,
                       json={**CONFIRM, "payment_gateway": "bank_transfer"}).status_code == 201
    report = client.get(f"{BASE}/reports/sessions", headers=login("sct.dongnai")).get_json()
    assert report["sessions"] == 1 and report["orders"] == 1 and report["best_products"][0]["quantity"] == 1
    assert {p["name"] for p in report["producers"]} == {"HTX Dịch vụ - Nông nghiệp Bình Lợi",
                                                        "HTX Nông nghiệp Bình Minh"}
    assert report["provinces"][0]["province_code"] == "75"
    assert client.get(f"{BASE}/reports/sessions", headers=login("cs.tht-cam-vu-quang")).get_json()["sessions"] == 0
    error_of(client.get(f"{BASE}/reports/sessions", headers=live.admin, query_string={"from": "soon"}), 422)
    error_of(client.get(f"{BASE}/reports/sessions", headers=other), 403)
    codes = {r["code"] for r in client.get("/admin/v1/reports", headers=live.admin).get_json()["results"]}
    assert {"livestream.sessions", "livestream.best_products"} <= codes


# --- the live screen ----------------------------------------------------------------------
@pytest.fixture
def server(app):
    """The real app served by werkzeug on 127.0.0.1 (threaded), for streaming clients."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()
    thread.join()


def _read_events(response, until_kind: str) -> list[tuple[str, str, dict]]:
    """Read SSE frames until one of ``until_kind`` (or the server closes the stream)."""
    events, frame = [], {}
    for raw in response:
        line = raw.decode("utf-8").rstrip("\n")
        if not line:
            if "event" in frame:
                events.append((frame["id"], frame["event"], json.loads(frame["data"])))
                if frame["event"] == until_kind:
                    return events
            frame = {}
        elif not line.startswith(":") and ":" in line:
            key, _, value = line.partition(": ")
            frame[key] = value
    return events


def test_the_event_stream_delivers_new_comments_and_orders_to_a_connected_client(client, login, demo, server):
    live = make_session(client, login)
    push(client, live, [comment(1, "hoa", "A1 loại 1")])
    db.session.commit()
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=20)
    connection.request("GET", f"{BASE}/{live.id}/events", headers={**live.admin, "Last-Event-ID": "0"})
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    seen = _read_events(response, "draft")
    assert [kind for _, kind, _ in seen] == ["comment", "draft"] and seen[0][2]["intent"] == "order"
    # with the stream open, the seller confirms the draft through the same server
    hoa = drafts(client, live)["hoa"]
    db.session.commit()
    other = http.client.HTTPConnection("127.0.0.1", server, timeout=20)
    other.request("POST", f"{BASE}/{live.id}/drafts/{hoa['id']}/confirm", body=json.dumps(CONFIRM),
                  headers={**live.admin, "Content-Type": "application/json"})
    placed = other.getresponse()
    assert placed.status == 201, placed.read()
    number = json.loads(placed.read())["number"]
    later = _read_events(response, "order")
    assert later[-1][1] == "order" and later[-1][2]["number"] == number
    connection.close()
    # reconnecting after the last id sees nothing old again
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=20)
    connection.request("GET", f"{BASE}/{live.id}/events?last_event_id={later[-1][0]}", headers=live.admin)
    response = connection.getresponse()
    assert response.status == 200
    connection.close()


def test_the_event_stream_refuses_bad_ids_and_other_callers(client, login, demo):
    live = make_session(client, login)
    error_of(client.get(f"{BASE}/{live.id}/events", headers={**live.admin, "Last-Event-ID": "abc"}), 422)
    error_of(client.get(f"{BASE}/{live.id}/events", headers=login("cs.tht-cam-vu-quang")), 403)
    error_of(client.get(f"{BASE}/{live.id}/events"), 401)


# --- disabling -----------------------------------------------------------------------------
@pytest.fixture
def disabled_app(app, instance_path, database_url):
    """A second app on the same database with ``OCOP_PLUGINS_DISABLED=livestream``."""
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    db.session.commit()
    yield create_app(make_settings(instance_path, database_url, plugins_disabled=["livestream"]))
    init_celery(app)


def test_disabled_plugin_leaves_the_rest_working(disabled_app, client, login, demo):
    other = disabled_app.test_client()
    token = other.post("/auth/token", json={"username": "admin", "password": "ocop-demo-2026"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    error_of(other.get(BASE, headers=headers), 404, "route.not_found")
    assert not [p for p in other.get("/openapi.json").get_json()["paths"] if "livestreams" in p]
    codes = {r["code"] for r in other.get("/admin/v1/reports", headers=headers).get_json()["results"]}
    assert not [c for c in codes if c.startswith("livestream.")]
    assert "livestream" not in disabled_app.extensions["ocop_plugins"].sales_channel_kinds
    body = {"lines": [{"sku": "BL-TDB-10", "quantity": 1}], "full_name": "Lan", "phone": "0912345678",
            "shipping_address": CONFIRM["shipping_address"]}
    token = other.post("/storefront/v1/checkouts", json=body).get_json()["token"]
    other.patch(f"/storefront/v1/checkouts/{token}", json={"delivery_method": "standard", "payment_gateway": "cod"})
    placed = other.post(f"/storefront/v1/checkouts/{token}/complete?ls=anything")
    assert placed.status_code == 201, placed.get_json()
