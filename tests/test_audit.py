"""Audit API: filters, pagination, province scoping, refused callers."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.db import db
from core.audit.models import AuditEvent
from core.catalogue.models import Producer


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _count(*where):
    return db.session.execute(select(func.count()).select_from(AuditEvent).where(*where)).scalar_one()


def test_admin_sees_everything_newest_first_paginated(client, demo, login):
    headers = login("admin")
    total = _count()
    assert total > 20
    page1 = client.get("/admin/v1/audit?limit=5", headers=headers).get_json()
    assert page1["total"] == total and len(page1["results"]) == 5
    assert page1["next"].startswith("/admin/v1/audit?") and "page=2" in page1["next"]
    ids = [e["id"] for e in page1["results"]]
    assert ids == sorted(ids, reverse=True)
    event = page1["results"][0]
    assert set(event) == {"id", "at", "actor_id", "actor_username", "action", "entity_type", "entity_id",
                          "province_code", "before", "after"}
    assert event["at"].endswith("+07:00")  # shown in Vietnam time
    page2 = client.get(page1["next"], headers=headers).get_json()
    assert not {e["id"] for e in page2["results"]} & set(ids)
    assert {e["province_code"] for e in client.get("/admin/v1/audit?limit=100", headers=headers)
            .get_json()["results"]} >= {"75", "42", "37"}


def test_filters(client, demo, login):
    headers = login("admin")
    producer = db.session.execute(select(Producer).where(Producer.slug.like("%vi-khe%"))).scalar_one()
    body = client.get(f"/admin/v1/audit?entity_type=producer&entity_id={producer.id}", headers=headers).get_json()
    assert body["total"] == 1 and body["results"][0]["action"] == "producer.created"
    assert body["results"][0]["after"]["name"] == producer.name

    by_prefix = client.get("/admin/v1/audit?action=product.&limit=100", headers=headers).get_json()
    assert by_prefix["total"] == _count(AuditEvent.action.like("product.%"))
    assert all(e["action"].startswith("product.") for e in by_prefix["results"])
    exact = client.get("/admin/v1/audit?action=product.created", headers=headers).get_json()
    assert exact["total"] == 9  # nine demo products

    # actions taken by a logged-in user carry the actor
    client.patch(f"/admin/v1/producers/{producer.id}", headers=headers, json={"phone": "0228 3 123 456"})
    mine = client.get("/admin/v1/audit?actor=admin&action=producer.updated", headers=headers).get_json()
    assert mine["total"] == 1 and mine["results"][0]["entity_id"] == str(producer.id)
    assert mine["results"][0]["before"]["phone"] is None and mine["results"][0]["after"]["phone"] == "0228 3 123 456"

    now = dt.datetime.now(dt.timezone.utc)
    recent = client.get("/admin/v1/audit", headers=headers, query_string={
        "since": (now - dt.timedelta(hours=1)).isoformat(), "until": (now + dt.timedelta(hours=1)).isoformat()})
    assert recent.get_json()["total"] == _count()
    old = client.get("/admin/v1/audit?until=2020-01-01", headers=headers).get_json()
    assert old["total"] == 0 and old["results"] == []
    future = client.get("/admin/v1/audit?since=2999-01-01", headers=headers).get_json()
    assert future["total"] == 0
    # a bare date as `until` includes that whole (Vietnam) day
    vn = dt.timezone(dt.timedelta(hours=7))
    first, last = db.session.execute(select(func.min(AuditEvent.at), func.max(AuditEvent.at))).one()
    first_day, last_day = first.astimezone(vn).date().isoformat(), last.astimezone(vn).date().isoformat()
    assert client.get(f"/admin/v1/audit?since={first_day}&until={last_day}",
                      headers=headers).get_json()["total"] == _count()


def test_organiser_and_certifier_see_only_their_province(client, demo, login):
    for username in ("sct.dongnai", "hoidong.dongnai"):
        headers = login(username)
        body = client.get("/admin/v1/audit?limit=100", headers=headers).get_json()
        assert body["total"] == _count(AuditEvent.province_code == "75") > 0
        assert {e["province_code"] for e in body["results"]} == {"75"}
        # filtering on another province cannot widen the scope
        assert client.get("/admin/v1/audit?province_code=42", headers=headers).get_json()["total"] == 0
        vi_khe = db.session.execute(select(Producer).where(Producer.slug.like("%vi-khe%"))).scalar_one()
        assert client.get(f"/admin/v1/audit?entity_type=producer&entity_id={vi_khe.id}",
                          headers=headers).get_json()["total"] == 0


@pytest.mark.parametrize("query, field", [
    ("since=yesterday", "since"),
    ("until=2026-13-45", "until"),
    ("since=2026-11-23&until=2026-11-01", "until"),
    ("limit=101", "limit"),
    ("page=0", "page"),
    ("colour=red", "colour"),
    ("action=" + "x" * 61, "action"),
])
def test_bad_query_is_422(client, demo, login, query, field):
    error = _error(client.get(f"/admin/v1/audit?{query}", headers=login("admin")), 422, "validation.invalid")
    assert field in error["details"]


def test_audit_needs_a_token_and_a_provincial_or_national_role(client, demo, login):
    _error(client.get("/admin/v1/audit"), 401, "auth.required")
    _error(client.get("/admin/v1/audit", headers=login("cs.htx-binh-loi")), 403, "auth.forbidden")
