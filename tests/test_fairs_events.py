"""Fairs plugin: events and their lifecycle, the booth map (JSON, SVG), the storefront pages."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from core.audit.models import AuditEvent
from core.db import db
from core.sales.models import SalesChannel
from plugins.fairs.models import FairEvent
from plugins.fairs.tests.fixtures import (BASE, BOOTHS, PUBLIC, ZONES, build, counts, error, event_body, make_user)


def _create(client, headers, **extra):
    response = client.post(BASE, json=event_body(**extra), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_organiser_creates_an_event_with_its_channel_and_map(client, login, demo):
    organiser = login("sct.dongnai")
    event = _create(client, organiser)
    assert event["status"] == "draft" and event["province_code"] == "75" and event["slug"] == "hoi-cho-ocop-vinh-cuu"
    assert event["sales_channel_code"] == "fair_booth:hoi-cho-ocop-vinh-cuu"
    channel = db.session.execute(select(SalesChannel).where(SalesChannel.code == event["sales_channel_code"])).scalar_one()
    assert channel.kind == "fair_booth"
    url = f"{BASE}/{event['id']}"
    for zone in ZONES:
        assert client.post(f"{url}/zones", json=zone, headers=organiser).status_code == 201
    response = client.post(f"{url}/booths", json={"booths": BOOTHS}, headers=organiser)
    assert response.status_code == 201, response.get_json()
    assert [b["code"] for b in response.get_json()["results"]] == ["A01", "A02", "B01", "P01"]
    the_map = client.get(f"{url}/map", headers=organiser).get_json()
    assert (the_map["width"], the_map["height"]) == (100, 60)
    p01 = next(b for b in the_map["booths"] if b["code"] == "P01")
    assert p01["capacity"] == 2 and p01["free_slots"] == 2 and p01["exhibitors"] is None
    assert {k: p01[k] for k in ("x", "y", "w", "h")} == {"x": 62, "y": 1, "w": 30, "h": 20}
    patched = client.patch(url, json={"name": "Hội chợ OCOP Vĩnh Cửu lần 2", "opening_hours": {"open": "07:30",
                                                                                            "close": "22:00"}},
                           headers=organiser)
    assert patched.status_code == 200 and patched.get_json()["opening_hours"]["open"] == "07:30"
    assert client.get(url, headers=login("cs.htx-binh-loi")).status_code == 403  # drafts are the organiser's


@pytest.mark.parametrize("change, code", [
    ({"ends_on": "2026-11-20"}, "fair.invalid_dates"),
    ({"applications_close_on": "2026-11-30"}, "fair.invalid_dates"),
    ({"opening_hours": {"open": "21:00", "close": "08:00"}}, "fair.invalid_hours"),
    ({"fee_policy": "subsidised", "subsidy_share_bp": 0}, "fair.subsidy_required"),
    ({"venue_unit_code": "75"}, "validation.invalid"),
    ({"kind": "concert"}, "validation.invalid"),
    ({"starts_on": "not a date"}, "validation.invalid"),
    ({"name": "x\u0000y"}, "validation.invalid"),
    ({"unknown": 1}, "validation.invalid"),
])
def test_bad_event_input_is_refused_and_writes_nothing(client, login, demo, change, code):
    organiser = login("sct.dongnai")
    before = counts()
    error(client.post(BASE, json=event_body(**change), headers=organiser), 422, code)
    assert counts() == before


def test_event_creation_is_refused_outside_the_callers_province(client, login, demo):
    make_user("sct.hatinh", "organiser", province_code="42")
    before = counts()
    error(client.post(BASE, json=event_body(), headers=login("sct.hatinh")), 403, "fair.out_of_scope")
    error(client.post(BASE, json=event_body(), headers=login("cs.htx-binh-loi")), 403, "auth.forbidden")
    error(client.post(BASE, json=event_body()), 401, "auth.required")
    assert counts() == before


def test_map_geometry_is_checked_as_a_whole(client, login, demo):
    organiser = login("sct.dongnai")
    url = f"{BASE}/{_create(client, organiser)['id']}"
    for zone in ZONES:
        client.post(f"{url}/zones", json=zone, headers=organiser)
    error(client.post(f"{url}/zones", json={**ZONES[0], "code": "C"}, headers=organiser), 422, "fair.overlap")
    error(client.post(f"{url}/zones", json={**ZONES[0], "code": "C", "x": 90, "y": 40}, headers=organiser), 422,
          "fair.outside_map")
    error(client.post(f"{url}/zones", json=ZONES[0], headers=organiser), 409, "fair.zone_code_taken")
    before = counts()
    overlapping = [BOOTHS[0], {**BOOTHS[1], "x": 5}]
    error(client.post(f"{url}/booths", json={"booths": overlapping}, headers=organiser), 422, "fair.overlap")
    error(client.post(f"{url}/booths", json={"booths": [{**BOOTHS[0], "x": 45}]}, headers=organiser), 422,
          "fair.outside_zone")
    error(client.post(f"{url}/booths", json={"booths": [{**BOOTHS[0], "capacity": 3}]}, headers=organiser), 422,
          "fair.capacity")
    error(client.post(f"{url}/booths", json={"booths": [{**BOOTHS[0], "zone_code": "Z"}]}, headers=organiser), 422,
          "fair.unknown_zone")
    error(client.post(f"{url}/booths", json={"booths": [{**BOOTHS[0], "size_m2": "big"}]}, headers=organiser), 422)
    error(client.post(f"{url}/booths", json={"booths": [BOOTHS[0]]}, headers=login("cs.htx-binh-loi")), 403)
    assert counts() == before


def test_lifecycle_moves_one_checked_step_at_a_time_and_is_audited(client, login, demo):
    organiser = login("sct.dongnai")
    event = _create(client, organiser)
    url = f"{BASE}/{event['id']}"
    error(client.post(f"{url}/transition", json={"to": "open"}, headers=organiser), 409, "fair.no_booths")
    for zone in ZONES:
        client.post(f"{url}/zones", json=zone, headers=organiser)
    client.post(f"{url}/booths", json={"booths": BOOTHS}, headers=organiser)
    error(client.post(f"{url}/transition", json={"to": "published"}, headers=organiser), 409,
          "fair.invalid_transition")
    error(client.post(f"{url}/transition", json={"to": "finished"}, headers=organiser), 422, "validation.invalid")
    make_user("sct.hatinh", "organiser", province_code="42")
    error(client.post(f"{url}/transition", json={"to": "open"}, headers=login("sct.hatinh")), 403, "fair.out_of_scope")
    for status in ("open", "allocating", "published", "running", "closed", "reported"):
        response = client.post(f"{url}/transition", json={"to": status}, headers=organiser)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
    steps = db.session.execute(select(AuditEvent).where(AuditEvent.action == "fair.status_changed",
                                                        AuditEvent.entity_id == str(event["id"]))
                               .order_by(AuditEvent.id)).scalars().all()
    assert [(e.before["status"], e.after["status"]) for e in steps] == [
        ("draft", "open"), ("open", "allocating"), ("allocating", "published"), ("published", "running"),
        ("running", "closed"), ("closed", "reported")]
    assert steps[0].actor_username == "sct.dongnai" and steps[0].province_code == "75"
    error(client.patch(url, json={"name": "Đổi tên"}, headers=organiser), 409, "fair.wrong_status")


def test_admin_listing_is_scoped(client, login, demo):
    build("draft")
    build("open")
    make_user("sct.hatinh", "organiser", province_code="42")
    assert client.get(BASE, headers=login("sct.dongnai")).get_json()["total"] == 2
    assert client.get(BASE, headers=login("sct.hatinh")).get_json()["total"] == 0
    assert client.get(BASE, headers=login("cs.htx-binh-loi")).get_json()["total"] == 1  # past draft only
    assert client.get(f"{BASE}?status=draft", headers=login("admin")).get_json()["total"] == 1
    error(client.get(f"{BASE}?status=nope", headers=login("admin")), 422)
    error(client.get(BASE), 401)


def test_storefront_lists_published_events_with_exhibitors_map_and_svg(client, login, demo):
    hidden = build("open")
    fair = build("running", name="Tuần lễ OCOP Trị An")
    listed = client.get(PUBLIC).get_json()
    assert [e["slug"] for e in listed["results"]] == [fair.slug]
    assert listed["results"][0]["map_svg"] == f"{PUBLIC}/{fair.slug}/map.svg"
    assert client.get(f"{PUBLIC}?province=42").get_json()["total"] == 0
    assert client.get(f"{PUBLIC}?date_from=2026-11-29").get_json()["total"] == 0
    assert client.get(f"{PUBLIC}?date_to=2026-11-25&province=75").get_json()["total"] == 1
    error(client.get(f"{PUBLIC}?date_from=tomorrow"), 422)
    detail = client.get(f"{PUBLIC}/{fair.slug}").get_json()
    by_booth = {e["booth_code"]: e for e in detail["exhibitors"]}
    assert set(by_booth) == {"A01", "A02", "P01"}
    assert by_booth["A01"]["producer_name"] == "HTX Dịch vụ - Nông nghiệp Bình Lợi"
    assert {p["slug"]: p["stars"] for p in by_booth["A01"]["products"]}["buoi-da-xanh-binh-loi"] == 3
    assert next(b for b in detail["map"]["booths"] if b["code"] == "P01")["exhibitors"] == [
        "Công ty TNHH SX-TM Nhân Tuân Nhân"]
    error(client.get(f"{PUBLIC}/{hidden.slug}"), 404, "fair_event.not_found")
    error(client.get(f"{PUBLIC}/{hidden.slug}/map.svg"), 404, "fair_event.not_found")
    svg = client.get(f"{PUBLIC}/{fair.slug}/map.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    root = ET.fromstring(svg.data)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "A01" in texts and "HTX Dịch vụ - Nông nghiệp Bình Lợi" in texts and "A – Thực phẩm" in texts
    assert len([g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "booth"]) == 4
    where = client.get(f"{PUBLIC}/{fair.slug}/where?product=buoi-da-xanh-binh-loi").get_json()
    assert where["booth_codes"] == ["A01"] and where["product"]["stars"] == 3
    error(client.get(f"{PUBLIC}/{fair.slug}/where?product=cam-vu-quang"), 404, "fair_exhibit.not_found")
    error(client.get(f"{PUBLIC}/{fair.slug}/where"), 422)


def test_svg_escapes_names(client, login, demo):
    fair = build("published", name="Hội chợ <script>alert(1)</script> & OCOP")
    svg = client.get(f"{PUBLIC}/{fair.slug}/map.svg").data.decode()
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)  # well-formed
    event = db.session.get(FairEvent, fair.event_id)
    assert event.slug == fair.slug


# --- the map editor's booth changes -----------------------------------------------------------------------
def test_a_booth_is_moved_and_resized_inside_its_zone_without_overlaps(client, login, demo):
    fair = build("open")
    organiser = login("sct.dongnai")
    url = f"{fair.url}/booths/{fair.booths['A01']}"
    moved = client.patch(url, json={"y": 12, "w": 8, "h": 6, "price": 3_200_000}, headers=organiser)
    assert moved.status_code == 200, moved.get_json()
    assert {k: moved.get_json()[k] for k in ("code", "y", "w", "h", "price")} == {
        "code": "A01", "y": 12, "w": 8, "h": 6, "price": 3_200_000}
    mapped = {b["code"]: b for b in client.get(f"{fair.url}/map", headers=organiser).get_json()["booths"]}
    assert (mapped["A01"]["y"], mapped["A01"]["h"]) == (12, 6)
    before = counts()
    a02 = mapped["A02"]
    error(client.patch(url, json={"x": a02["x"], "y": a02["y"]}, headers=organiser), 422, "fair.overlap")
    error(client.patch(url, json={"x": 45}, headers=organiser), 422, "fair.outside_zone")
    error(client.patch(url, json={"zone_code": "Z"}, headers=organiser), 422, "fair.unknown_zone")
    error(client.patch(url, json={"w": 0}, headers=organiser), 422)
    error(client.patch(url, json={"y": 1}, headers=login("cs.htx-binh-loi")), 403)
    make_user("sct.hatinh", "organiser", province_code="42")
    error(client.patch(url, json={"y": 1}, headers=login("sct.hatinh")), 403, "fair.out_of_scope")
    error(client.patch(f"{fair.url}/booths/999999", json={"y": 1}, headers=organiser), 404)
    assert counts() == before


def test_booths_are_frozen_once_the_allocation_is_published(client, login, demo):
    fair = build("published")
    error(client.patch(f"{fair.url}/booths/{fair.booths['B01']}", json={"y": 25}, headers=login("sct.dongnai")),
          409, "fair.wrong_status")
