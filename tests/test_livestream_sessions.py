"""Livestream plugin: sessions, showcase, holds, comment ingestion (webhook, upload, adapters), drafts."""
from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from core.db import db
from core.sales.models import SalesChannel
from support.checks import error_of, row_counts
from support.livestream import BASE, comment, drafts, make_session, push, variant_ids
from support.orders import stock_of


def _session_body(**extra):
    return {"platform": "tiktok", "title": "Phiên cuối tuần", "scheduled_at": "2026-11-28T19:30:00", **extra}


# --- sessions -------------------------------------------------------------------------------
def test_a_producer_schedules_its_own_session_as_a_sales_channel(client, login, demo):
    r = client.post(BASE, headers=login("cs.htx-binh-loi"), json=_session_body())
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "scheduled" and body["scheduled_at"] == "2026-11-28T19:30:00+07:00"
    assert body["tracking_link"] == f"?ls={body['tracking_code']}" and len(body["webhook_secret"]) == 64
    assert [h["name"] for h in body["hosts"]] == ["HTX Dịch vụ - Nông nghiệp Bình Lợi"]
    channel = db.session.get(SalesChannel, body["sales_channel_id"])
    assert (channel.kind, channel.code) == ("livestream", f"livestream:{body['id']}")
    listed = client.get(BASE, headers=login("sct.dongnai")).get_json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]
    assert client.get(BASE, headers=login("cs.son-an")).get_json()["total"] == 0
    r = client.patch(f"{BASE}/{body['id']}", headers=login("cs.htx-binh-loi"), json={"title": "Đổi tên"})
    assert r.status_code == 200 and r.get_json()["title"] == "Đổi tên"


def test_session_bad_input_writes_nothing(client, login, demo):
    headers = login("admin")
    before = row_counts()
    error_of(client.post(BASE, headers=headers, json=_session_body(platform="myspace")), 422)
    error_of(client.post(BASE, headers=headers, json=_session_body(producer_ids=[])), 422)
    error_of(client.post(BASE, headers=headers, json=_session_body(producer_ids=[999999])), 404)
    error_of(client.post(BASE, headers=headers, json={"platform": "tiktok"}), 422)
    assert row_counts() == before


def test_session_refused_callers(client, login, demo):
    own = client.post(BASE, headers=login("cs.htx-binh-loi"), json=_session_body()).get_json()
    error_of(client.post(BASE, json=_session_body()), 401)
    error_of(client.post(BASE, headers=login("hoidong.dongnai"), json=_session_body()), 403)
    error_of(client.get(f"{BASE}/{own['id']}", headers=login("cs.tht-cam-vu-quang")), 403, "auth.out_of_scope")
    error_of(client.post(BASE, headers=login("cs.tht-cam-vu-quang"),
                         json=_session_body(producer_ids=own and [h["producer_id"] for h in own["hosts"]])), 403)
    error_of(client.post(f"{BASE}/{own['id']}/start", headers=login("cs.son-an")), 403)


def test_lifecycle_holds_and_releases_stock(client, login, demo):
    before = stock_of("BL-BDX-HOP2")
    live = make_session(client, login, holds={"BL-BDX-HOP2": 6})
    assert stock_of("BL-BDX-HOP2") == (before[0], before[1] + 6)
    showcase = client.get(f"{BASE}/{live.id}/showcase", headers=live.admin).get_json()["results"]
    a1 = next(i for i in showcase if i["code"] == "A1")
    assert {v["sku"]: (v["price"], v["held"]) for v in a1["variants"]} == {"BL-BDX-1": (59000, 0),
                                                                           "BL-BDX-HOP2": (139000, 6)}
    error_of(client.post(f"{BASE}/{live.id}/start", headers=live.admin), 409, "livestream.bad_transition")
    assert client.post(f"{BASE}/{live.id}/showcase/{a1['id']}/pin", headers=live.admin).get_json()["on_screen"]
    r = client.post(f"{BASE}/{live.id}/end", headers=live.admin)
    assert r.status_code == 200 and r.get_json()["status"] == "ended"
    assert stock_of("BL-BDX-HOP2") == before
    error_of(client.patch(f"{BASE}/{live.id}", headers=live.admin, json={"title": "x"}), 409, "livestream.ended")


# --- showcase ------------------------------------------------------------------------------
def test_showcase_codes_are_unique_and_products_belong_to_hosts(client, login, demo):
    live = make_session(client, login, start=False)
    ids = variant_ids("VQ-CAM-5KG", "BL-BDX-1")
    url = f"{BASE}/{live.id}/showcase"
    quyt, other = live.items["B1"], login("cs.tht-cam-vu-quang")
    assert client.delete(f"{url}/{quyt['id']}", headers=live.admin).status_code == 204
    before = row_counts()
    error_of(client.post(url, headers=live.admin, json={"code": "a01", "product_id": quyt["product_id"]}), 409,
             "livestream.code_taken")
    error_of(client.post(url, headers=live.admin, json={"code": "Z9", "product_id": ids["VQ-CAM-5KG"][1]}), 422)
    error_of(client.post(url, headers=live.admin, json={"code": "not a code", "product_id": quyt["product_id"]}), 422)
    error_of(client.post(url, headers=live.admin, json={"code": "C1", "product_id": ids["BL-BDX-1"][1]}), 409,
             "livestream.product_pinned")
    error_of(client.post(url, headers=live.admin, json={"code": "C1", "product_id": quyt["product_id"],
                                                        "variants": [{"variant_id": ids["BL-BDX-1"][0]}]}), 422)
    error_of(client.post(url, headers=other, json={"code": "C1", "product_id": quyt["product_id"]}), 403)
    assert row_counts() == before
    r = client.post(url, headers=live.admin, json={"code": "b01", "product_id": quyt["product_id"]})
    assert r.status_code == 201 and r.get_json()["code"] == "B01"
    assert [v["words"] for v in r.get_json()["variants"]] == ["Túi 1 kg"]
    r = client.patch(f"{url}/{r.get_json()['id']}", headers=live.admin, json={"code": "C7"})
    assert r.status_code == 200 and r.get_json()["code"] == "C7"
    error_of(client.patch(f"{url}/{r.get_json()['id']}", headers=live.admin, json={"code": "A1"}), 409)


# --- comments -----------------------------------------------------------------------------
def test_webhook_batches_are_signed_and_idempotent(client, login, demo):
    live = make_session(client, login)
    batch = [comment(1, "hoa", "A1 loại 1 x2"), comment(2, "nam", "chốt 2 B1"), comment(3, "hoa", "A2 50ml")]
    r = push(client, live, batch)
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"received": 3, "created": 3, "skipped": 0, "drafts": 2}
    before = row_counts()
    assert push(client, live, batch).get_json() == {"received": 3, "created": 0, "skipped": 3, "drafts": 0}
    assert push(client, live, [batch[0], batch[0]]).get_json()["created"] == 0
    assert row_counts() == before
    got = drafts(client, live)
    assert [(l["code"], l["variant_sku"], l["quantity"]) for l in got["hoa"]["lines"]] == [
        ("A1", "BL-BDX-1", 2), ("A2", "BL-TDB-50", 1)]
    assert got["hoa"]["total"] == 59000 * 2 + 175000


def test_webhook_refuses_bad_signatures_and_malformed_batches(client, login, demo):
    live = make_session(client, login)
    before = row_counts()
    error_of(push(client, live, [comment(1, "hoa", "A1")], secret="wrong"), 401, "livestream.bad_signature")
    error_of(push(client, live, None, raw=b"{not json"), 422, "livestream.bad_batch")
    error_of(push(client, live, []), 422, "livestream.bad_batch")
    bad = error_of(push(client, live, [comment(1, "hoa", "A1"), {"id": "x", "text": 5}]), 422, "livestream.bad_batch")
    assert list(bad["details"]) == ["1"]
    error_of(push(client, live, {"data": "nope"}, fmt="facebook"), 422, "livestream.bad_batch")
    error_of(push(client, live, [comment(1, "hoa", "A1")], fmt="myspace"), 422, "livestream.bad_batch")
    assert row_counts() == before


def test_adapters_and_uploads(client, login, demo):
    live = make_session(client, login)
    facebook = {"data": [{"id": "fb1", "from": {"id": "u1", "name": "Lan"}, "message": "A1 hộp quà",
                          "created_time": "2026-11-23T13:01:00+0000"}]}
    r = client.post(f"{BASE}/{live.id}/comments", headers=live.admin, json={"format": "facebook", "document": facebook})
    assert r.status_code == 200 and r.get_json()["created"] == 1
    youtube = {"items": [{"id": "yt1", "authorDetails": {"channelId": "u2", "displayName": "Nam"},
                          "snippet": {"displayMessage": "B1 x3", "publishedAt": "2026-11-23T13:02:00Z"}}]}
    assert push(client, live, youtube, fmt="youtube").get_json()["created"] == 1
    csv = "id,author_id,author_name,text,created_at\nc1,u3,Hoa,A2 10ml,2026-11-23T20:03:00+07:00\n".encode()
    r = client.post(f"{BASE}/{live.id}/comments/upload", headers=live.admin,
                    data={"file": (io.BytesIO(csv), "export.csv")}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["created"] == 1, r.get_json()
    got = drafts(client, live)
    assert {a: [(l["code"], l["quantity"]) for l in d["lines"]] for a, d in got.items()} == {
        "u1": [("A1", 1)], "u2": [("B1", 3)], "u3": [("A2", 1)]}
    listed = client.get(f"{BASE}/{live.id}/comments", headers=live.admin, query_string={"intent": "order"}).get_json()
    assert listed["total"] == 3 and listed["results"][0]["written_at"] == "2026-11-23T20:01:00+07:00"
    other = login("cs.tht-cam-vu-quang")
    before = row_counts()
    bad = "name,words\nx,y\n".encode()
    error_of(client.post(f"{BASE}/{live.id}/comments/upload", headers=live.admin,
                         data={"file": (io.BytesIO(bad), "x.csv")}, content_type="multipart/form-data"), 422)
    error_of(client.post(f"{BASE}/{live.id}/comments/upload", headers=live.admin,
                         data={"file": (io.BytesIO(b"\xff\xfe"), "x.json")}, content_type="multipart/form-data"), 422)
    error_of(client.post(f"{BASE}/{live.id}/comments/upload", headers=live.admin, data={},
                         content_type="multipart/form-data"), 422)
    error_of(client.post(f"{BASE}/{live.id}/comments", headers=other, json={"document": []}), 403)
    error_of(client.get(f"{BASE}/{live.id}/comments", headers=other), 403)
    error_of(client.post(f"{BASE}/{live.id}/comments/upload", headers=other,
                         data={"file": (io.BytesIO(csv), "export.csv")}, content_type="multipart/form-data"), 403)
    assert row_counts() == before


def test_the_recorded_demo_session_gives_the_expected_drafts_and_replays_change_nothing(client, login, demo):
    from plugins.livestream import demo as livestream_demo
    result = livestream_demo.seed_demo_session()
    db.session.commit()
    assert result["created"] == len(livestream_demo.recorded_comments()) >= 100
    assert livestream_demo.seed_demo_session()["skipped"] is True
    session_id = result["session_id"]
    headers = login("admin")
    got = {}
    for status in ("open",):
        for d in client.get(f"{BASE}/{session_id}/drafts", headers=headers).get_json()["results"]:
            if d["lines"]:
                got[d["author_id"]] = [{"code": l["code"], "variant_sku": l["variant_sku"], "quantity": l["quantity"]}
                                       for l in d["lines"]]
    expected = livestream_demo.expected_drafts()
    assert {a: sorted(l, key=lambda x: (x["code"], x["variant_sku"] or "")) for a, l in got.items()} == expected
    review = client.get(f"{BASE}/{session_id}/drafts", headers=headers, query_string={"needs_review": "true"})
    assert {d["author_id"] for d in review.get_json()["results"]} == {"fb_20015", "fb_21015", "fb_22015"}
    # replaying the whole recording through the upload changes nothing
    before = row_counts()
    payload = json.dumps(livestream_demo.recorded_comments(), ensure_ascii=False).encode()
    r = client.post(f"{BASE}/{session_id}/comments/upload", headers=headers,
                    data={"file": (io.BytesIO(payload), "replay.json")}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["created"] == 0
    assert row_counts() == before
    summary = client.get(f"{BASE}/{session_id}/summary", headers=headers).get_json()
    assert summary["comments"] == result["created"] and summary["unique_commenters"] == 72
    assert summary["peak_viewers"] == 40 + 9 * 40 and summary["orders"] == 0
    counts = db.session.execute(select(func.count()).select_from(SalesChannel)
                                .where(SalesChannel.kind == "livestream")).scalar_one()
    assert counts == 1


def test_seed_demo_command(app, demo, database_url, instance_path):
    from click.testing import CliRunner
    from core.celery_app import init_celery
    from core.cli import build_cli
    from plugins.livestream.models import LivestreamComment, LivestreamSession
    db.session.commit()
    root, pm = build_cli(app.extensions["ocop_plugins"])
    env = {"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path)}
    try:
        first = CliRunner().invoke(root, ["livestream", "seed-demo"], obj={"pm": pm}, env=env)
        again = CliRunner().invoke(root, ["livestream", "seed-demo"], obj={"pm": pm}, env=env)
    finally:
        init_celery(app)  # the command built its own app; give Celery back to the session's app
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["created"] == 111 and json.loads(again.stdout)["skipped"] is True
    db.session.rollback()
    assert db.session.execute(select(func.count(LivestreamSession.id))).scalar_one() == 1
    assert db.session.execute(select(func.count(LivestreamComment.id))).scalar_one() == 111
