"""Notifications list (scoped) and the report index (core + plugin ``reports`` hook)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import commit, db
from core.accounts.models import User
from core.notifications.delivery import notify


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _user(username):
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


@pytest.fixture
def notes(demo):
    """One notification for a Đồng Nai producer, one for a Ninh Bình producer, one for the Đồng Nai organiser."""
    binh_loi, vi_khe = _user("cs.htx-binh-loi").producer_id, _user("cs.vi-khe").producer_id
    notify("certification.expiring", "t:binh-loi", "Sắp hết hạn", "Chứng nhận OCOP sắp hết hạn.",
           producer_id=binh_loi, data={"days_left": 45})
    notify("certification.expiring", "t:vi-khe", "Sắp hết hạn", "Chứng nhận OCOP sắp hết hạn.", producer_id=vi_khe)
    notify("report.due", "t:sct", "Báo cáo 6 tháng", "Hạn báo cáo 10/5.", user_id=_user("sct.dongnai").id)
    commit()
    return {"binh_loi": binh_loi, "vi_khe": vi_khe}


def _subjects(client, headers, query=""):
    response = client.get(f"/admin/v1/notifications{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_admin_sees_all_notifications(client, notes, login):
    body = _subjects(client, login("admin"))
    assert body["total"] == 3 and body["next"] is None
    note = next(n for n in body["results"] if n["producer_id"] == notes["binh_loi"])
    assert note["kind"] == "certification.expiring" and note["data"] == {"days_left": 45}
    assert note["status"] == "stored"  # no SMTP configured: stored for this list
    assert note["created_at"].endswith("+07:00")
    only_vi_khe = _subjects(client, login("admin"), f"?producer_id={notes['vi_khe']}")
    assert [n["producer_id"] for n in only_vi_khe["results"]] == [notes["vi_khe"]]
    assert _subjects(client, login("admin"), "?kind=report.due")["total"] == 1
    assert _subjects(client, login("admin"), "?status=sent")["total"] == 0


def test_producer_and_organiser_see_their_scope(client, notes, login):
    mine = _subjects(client, login("cs.htx-binh-loi"))
    assert [n["producer_id"] for n in mine["results"]] == [notes["binh_loi"]]
    # asking for another producer's notifications yields nothing
    assert _subjects(client, login("cs.htx-binh-loi"), f"?producer_id={notes['vi_khe']}")["total"] == 0
    assert _subjects(client, login("cs.son-an"))["total"] == 0
    organiser = _subjects(client, login("sct.dongnai"))
    assert {(n["producer_id"], n["kind"]) for n in organiser["results"]} == {
        (notes["binh_loi"], "certification.expiring"), (None, "report.due")}


@pytest.mark.parametrize("query, field", [("status=lost", "status"), ("limit=0", "limit"),
                                          ("producer_id=abc", "producer_id"), ("sort=new", "sort")])
def test_notifications_bad_query(client, notes, login, query, field):
    error = _error(client.get(f"/admin/v1/notifications?{query}", headers=login("admin")), 422, "validation.invalid")
    assert field in error["details"]


def test_notifications_refused_callers(client, notes, login):
    _error(client.get("/admin/v1/notifications"), 401, "auth.required")
    _error(client.get("/admin/v1/notifications", headers=login("hoidong.dongnai")), 403, "auth.forbidden")


def test_report_index_lists_plugin_reports(app, client, demo, login):
    body = client.get("/admin/v1/reports", headers=login("sct.dongnai")).get_json()
    assert body["total"] == len(body["results"]) and body["next"] is None
    hello = [r for r in body["results"] if r["code"] == "hello"]
    if app.extensions["ocop_plugins"].is_enabled("hello"):
        assert hello == [{"code": "hello", "name": "Báo cáo chào", "name_en": "Hello report",
                          "url": "/storefront/v1/hello"}]
    else:  # OCOP_PLUGINS_DISABLED=hello
        assert hello == []
    # the core's one report (the province dashboard) and exactly what the enabled plugins offer
    offered = [r for result in app.extensions["ocop_plugins"].hook.reports(user=_user("sct.dongnai"))
               for r in result or []]
    assert sorted(r["code"] for r in body["results"]) == sorted(["province_dashboard"] + [r["code"] for r in offered])
    # every role may ask; plugins decide what each user sees
    for username in ("admin", "hoidong.dongnai", "cs.vi-khe"):
        assert client.get("/admin/v1/reports", headers=login(username)).status_code == 200


def test_report_index_bad_input_and_refused(client, demo, login):
    error = _error(client.get("/admin/v1/reports?format=pdf", headers=login("admin")), 422, "validation.invalid")
    assert "format" in error["details"]
    _error(client.get("/admin/v1/reports"), 401, "auth.required")
    _error(client.get("/admin/v1/reports", headers={"Authorization": "Bearer nope"}), 401, "auth.invalid_token")
