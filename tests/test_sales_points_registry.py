"""Sales points plugin: registry, operators, permissions, public listing."""
from __future__ import annotations

import pytest

from support.checks import error_of, row_counts
from support.sales_points import BASE, HOURS, PASSWORD, make_point, setup_points


@pytest.fixture
def sp(client, login, demo):
    return setup_points(client, login)


def test_organiser_registers_point_with_location_and_channel(sp):
    body = sp.client.get(f"{BASE}/{sp.a}", headers=sp.organiser).get_json()
    assert body["code"] == "SP-75-001"
    assert body["province"] == {"code": "75", "name": "Đồng Nai"}
    assert body["commune"]["code"] == "26188"
    assert body["location_kind_name_en"] == "Tourist site, hotel or restaurant"
    assert body["opening_hours"]["sat"][1] == {"open": "13:30", "close": "22:00"}
    assert body["commission_rate_bp"] == 1500 and body["allow_unlisted"] is False
    from core.db import db
    from core.sales.models import SalesChannel
    from core.inventory.models import StockLocation
    location = db.session.get(StockLocation, body["stock_location_id"])
    channel = db.session.get(SalesChannel, body["sales_channel_id"])
    assert location.kind == "sales_point" and location.province_code == "75"
    assert channel.kind == "sales_point" and channel.location_id == location.id
    assert db.session.get(StockLocation, body["transit_location_id"]).kind == "sales_point_transit"


def test_registry_bad_input_and_scope(sp, login):
    c = sp.client
    # unknown location kind, bad hours
    error_of(c.post(BASE, json={"name": "X", "location_kind": "casino", "commune_code": "26188", "address": "abc"},
                    headers=sp.organiser), 422, "validation.invalid")
    bad_hours = {"name": "Điểm X", "location_kind": "post_office", "commune_code": "26188", "address": "abc",
                 "opening_hours": {"mon": [{"open": "21:00", "close": "07:00"}]}}
    error_of(c.post(BASE, json=bad_hours, headers=sp.organiser), 422, "validation.invalid")
    # retired commune (pre-2025 unit)
    error_of(c.post(BASE, json={"name": "Điểm X", "location_kind": "post_office", "commune_code": "DNA-VC-BH",
                                "address": "abc"}, headers=sp.organiser), 422, "sales_point.commune_retired")
    # another province's commune (Hà Tĩnh) → 403 for Đồng Nai's organiser
    before = row_counts()
    error_of(c.post(BASE, json={"name": "Điểm Vũ Quang", "location_kind": "standalone", "commune_code": "18313",
                                "address": "Thị trấn"}, headers=sp.organiser), 403, "sales_point.out_of_scope")
    assert row_counts() == before
    # duplicate code
    error_of(c.post(BASE, json={"code": "SP-75-001", "name": "Điểm trùng", "location_kind": "standalone",
                                "commune_code": "26188", "address": "abc"}, headers=sp.organiser), 409,
             "sales_point.code_taken")
    # operators and producers cannot register points; anonymous callers get 401
    error_of(c.post(BASE, json={"name": "Điểm Y", "location_kind": "standalone", "commune_code": "26188",
                                "address": "abc"}, headers=sp.op_a), 403)
    error_of(c.post(BASE, json={}), 401)
    error_of(c.patch(f"{BASE}/{sp.a}", json={"status": "closed"}, headers=login("cs.htx-binh-loi")), 403)
    error_of(c.patch(f"{BASE}/{sp.a}", json={"status": "gone"}, headers=sp.organiser), 422)
    error_of(c.patch(f"{BASE}/{sp.a}", json={"code": "NEW"}, headers=sp.organiser), 422)
    error_of(c.get(f"{BASE}/999999", headers=sp.admin), 404, "sales_point.not_found")


def test_operator_sees_only_own_points(sp):
    c = sp.client
    own = c.get(BASE, headers=sp.op_a).get_json()
    assert [p["id"] for p in own["results"]] == [sp.a] and own["total"] == 1
    assert c.get(f"{BASE}/{sp.a}", headers=sp.op_a).status_code == 200
    error_of(c.get(f"{BASE}/{sp.b}", headers=sp.op_a), 403, "sales_point.out_of_scope")
    assert c.get(BASE, headers=sp.organiser).get_json()["total"] == 2
    assert c.get(f"{BASE}?kind=highway_stop", headers=sp.organiser).get_json()["total"] == 1
    error_of(c.get(f"{BASE}?kind=nope", headers=sp.organiser), 422)
    error_of(c.get(BASE), 401)


def test_bind_existing_operator_and_unbind(sp, login):
    c = sp.client
    # op.b may also run point A (one user, several points)
    r = c.post(f"{BASE}/{sp.a}/operators", json={"username": "op.b"}, headers=sp.organiser)
    assert r.status_code == 201, r.get_json()
    names = {o["username"] for o in c.get(f"{BASE}/{sp.a}/operators", headers=sp.op_a).get_json()["results"]}
    assert names == {"op.a", "op.b"}
    assert c.get(BASE, headers=login("op.b", PASSWORD)).get_json()["total"] == 2
    # only operator-role users can be bound; unknown users need a password to be created
    error_of(c.post(f"{BASE}/{sp.a}/operators", json={"username": "cs.htx-binh-loi"}, headers=sp.organiser), 422,
             "sales_point.not_an_operator")
    error_of(c.post(f"{BASE}/{sp.a}/operators", json={"username": "ghost"}, headers=sp.organiser), 404)
    error_of(c.post(f"{BASE}/{sp.a}/operators", json={"username": "op.c"}, headers=sp.op_a), 403)
    user_id = next(o["user_id"] for o in c.get(f"{BASE}/{sp.a}/operators", headers=sp.admin).get_json()["results"]
                   if o["username"] == "op.b")
    assert c.delete(f"{BASE}/{sp.a}/operators/{user_id}", headers=sp.organiser).status_code == 204
    error_of(c.delete(f"{BASE}/{sp.a}/operators/{user_id}", headers=sp.organiser), 404)
    error_of(c.get(f"{BASE}/{sp.a}", headers=login("op.b", PASSWORD)), 403)


def test_organiser_of_other_province_sees_nothing(sp, app):
    from core.db import commit
    from core.accounts.authentication import create_user
    create_user("sct.hatinh", "ocop-demo-2026", "organiser", province_code="42")
    commit()
    other = sp.login("sct.hatinh")
    assert sp.client.get(BASE, headers=other).get_json()["total"] == 0
    error_of(sp.client.get(f"{BASE}/{sp.a}", headers=other), 403)
    error_of(sp.client.patch(f"{BASE}/{sp.a}", json={"name": "Đổi tên"}, headers=other), 403)
    vq = make_point(sp.client, other, "Điểm OCOP Vũ Quang", commune="18313", location_kind="standalone")
    assert vq["code"] == "SP-42-001"


def test_update_point_and_audit(sp):
    r = sp.client.patch(f"{BASE}/{sp.a}", json={"allow_unlisted": True, "near_expiry_days": 45,
                                               "opening_hours": {"sun": [{"open": "08:00", "close": "17:00"}]}},
                        headers=sp.organiser)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["allow_unlisted"] is True and body["near_expiry_days"] == 45
    assert body["opening_hours"] == {"sun": [{"open": "08:00", "close": "17:00"}]}
    from core.db import db
    from core.audit.models import AuditEvent
    from sqlalchemy import select
    actions = set(db.session.execute(select(AuditEvent.action).where(AuditEvent.entity_type == "sales_point")).scalars())
    assert {"sales_point.created", "sales_point.updated"} <= actions


def test_public_listing_filters_and_hides_inactive(sp):
    c = sp.client
    body = c.get("/storefront/v1/sales-points").get_json()
    assert body["total"] == 2
    first = next(p for p in body["results"] if p["code"] == "SP-75-001")
    assert first["opening_hours"]["mon"] == HOURS["mon"] and first["phone"] == "0251 3812 345"
    assert "commission_rate_bp" not in first and "stock_location_id" not in first
    assert c.get("/storefront/v1/sales-points?commune=26170").get_json()["total"] == 1
    assert c.get("/storefront/v1/sales-points?province=42").get_json()["total"] == 0
    error_of(c.get("/storefront/v1/sales-points?limit=1000"), 422)
    error_of(c.get("/storefront/v1/sales-points?colour=red"), 422)
    sp.client.patch(f"{BASE}/{sp.b}", json={"status": "suspended"}, headers=sp.organiser)
    assert c.get("/storefront/v1/sales-points").get_json()["total"] == 1


def test_consignment_agreements(sp, login):
    c = sp.client
    producer = sp.producer_id("BL-BDX-1")
    r = c.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "commission_rate_bp": 2000,
                                                   "valid_from": "2026-01-01"}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["effective_rate_bp"] == 2000
    error_of(c.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "valid_from": "2026-06-01"},
                    headers=sp.organiser), 409, "sales_point.agreement_overlap")
    error_of(c.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "valid_from": "2026-06-01",
                                                         "valid_to": "2026-01-01"}, headers=sp.organiser), 422)
    error_of(c.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "valid_from": "2026-06-01"},
                    headers=sp.op_b), 403)
    # the producer sees its own agreement; another producer sees none
    own = c.get(f"{BASE}/{sp.a}/consignments", headers=login("cs.htx-binh-loi")).get_json()
    assert own["total"] == 1
    assert c.get(f"{BASE}/{sp.a}/consignments", headers=login("cs.son-an")).get_json()["total"] == 0
    ended = c.post(f"{BASE}/consignments/{r.get_json()['id']}/end", json={"valid_to": "2026-10-31"},
                   headers=sp.op_a)
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"
    # a rate-less agreement uses the point's default (15 %)
    r2 = c.post(f"{BASE}/{sp.a}/consignments", json={"producer_id": producer, "valid_from": "2026-11-01"},
                headers=sp.op_a)
    assert r2.get_json()["effective_rate_bp"] == 1500
