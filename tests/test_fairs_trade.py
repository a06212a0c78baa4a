"""Fairs plugin: visitors by day and gate, the B2B deals register, meeting slots at supply–demand conferences
(no double-booked table, producer or buyer — also under concurrency on PostgreSQL), and the reports."""
from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from core.accounts.models import User
from core.db import commit, db
from plugins.fairs import events, trade
from plugins.fairs.models import FairMeeting
from plugins.fairs.tests.fixtures import BASE, build, counts, error, make_user, product_ids, user, variant_id


def test_visitors_by_day_and_gate(client, login, demo):
    fair = build("running")
    organiser = login("sct.dongnai")
    url = f"{fair.url}/visitors"
    for body in ({"day": "2026-11-25", "gate": "Cổng 1", "visitors": 300},
                 {"day": "2026-11-25", "gate": "Cổng 1", "visitors": 120, "device_ref": "gate1-0001"},
                 {"day": "2026-11-25", "gate": "Cổng 1", "visitors": 120, "device_ref": "gate1-0001"},  # repeated post
                 {"day": "2026-11-26", "gate": "Cổng 2", "visitors": 80}):
        assert client.post(url, json=body, headers=organiser).status_code == 201
    figures = client.get(url, headers=organiser).get_json()
    assert figures == {"items": [{"day": "2026-11-25", "gate": "Cổng 1", "visitors": 420},
                                 {"day": "2026-11-26", "gate": "Cổng 2", "visitors": 80}], "total": 500}
    before = counts()
    error(client.post(url, json={"day": "2026-12-25", "gate": "Cổng 1", "visitors": 1}, headers=organiser), 422,
          "fair.outside_dates")
    error(client.post(url, json={"day": "2026-11-25", "gate": "Cổng 1", "visitors": 0}, headers=organiser), 422)
    error(client.post(url, json={"day": "2026-11-25", "gate": "", "visitors": 3}, headers=organiser), 422)
    error(client.post(url, json={"day": "2026-11-25", "gate": "A", "visitors": 3}, headers=login("cs.htx-binh-loi")),
          403)
    make_user("sct.hatinh", "organiser", province_code="42")
    error(client.post(url, json={"day": "2026-11-25", "gate": "A", "visitors": 3}, headers=login("sct.hatinh")), 403,
          "fair.out_of_scope")
    assert counts() == before
    error(client.get(url, headers=login("cs.htx-binh-loi")), 403)


def test_deals_register_and_status_flow(client, login, demo):
    fair = build("running")
    loi = login("cs.htx-binh-loi")
    body = {"kind": "contract", "buyer_name": "Siêu thị Co.opmart Biên Hòa", "product_ids": product_ids("cs.htx-binh-loi")[:1],
            "value": 120_000_000, "quantity": 2000, "follow_up_on": "2026-12-15"}
    response = client.post(f"{fair.url}/deals", json=body, headers=loi)
    assert response.status_code == 201, response.get_json()
    deal = response.get_json()
    assert deal["status"] == "signed" and deal["producer_name"] == "HTX Dịch vụ - Nông nghiệp Bình Lợi"
    before = counts()
    error(client.post(f"{fair.url}/deals", json={**body, "value": -1}, headers=loi), 422)
    error(client.post(f"{fair.url}/deals", json={**body, "product_ids": product_ids("cs.htx-binh-minh")}, headers=loi),
          422, "fair.product_not_own")
    error(client.post(f"{fair.url}/deals", json={**body, "follow_up_on": "2026-01-01"}, headers=loi), 422,
          "fair.invalid_dates")
    error(client.post(f"{fair.url}/deals", json={**body, "kind": "handshake"}, headers=loi), 422)
    error(client.post(f"{fair.url}/deals", json={**body, "producer_id": user("cs.tran-gia").producer_id},
                      headers=login("sct.dongnai")), 422, "fair.not_exhibitor")
    error(client.post(f"{fair.url}/deals", json={**body, "product_ids": []}, headers=login("cs.tran-gia")), 422,
          "fair.not_exhibitor")
    assert counts() == before
    error(client.patch(f"{BASE}/deals/{deal['id']}", json={"status": "signed"}, headers=login("cs.htx-binh-minh")), 403)
    moved = client.patch(f"{BASE}/deals/{deal['id']}", json={"status": "in_progress"}, headers=loi)
    assert moved.status_code == 200 and moved.get_json()["status"] == "in_progress"
    done = client.patch(f"{BASE}/deals/{deal['id']}", json={"status": "delivered"}, headers=login("sct.dongnai"))
    assert done.get_json()["status"] == "delivered"
    error(client.patch(f"{BASE}/deals/{deal['id']}", json={"status": "lapsed"}, headers=loi), 409,
          "fair.invalid_transition")
    error(client.patch(f"{BASE}/deals/{deal['id']}", json={"status": "gone"}, headers=loi), 422)
    assert len(client.get(f"{fair.url}/deals", headers=loi).get_json()["results"]) == 1
    assert client.get(f"{fair.url}/deals", headers=login("cs.htx-binh-minh")).get_json()["results"] == []


def _conference():
    return build("published", kind="supply_demand", name="Hội nghị kết nối cung cầu Đồng Nai")


def test_meetings_never_double_book_a_table_producer_or_buyer(client, login, demo):
    fair = _conference()
    organiser = login("sct.dongnai")
    loi, minh = (user(n).producer_id for n in ("cs.htx-binh-loi", "cs.htx-binh-minh"))
    url = f"{fair.url}/meetings"
    slot = "2026-11-25T09:00:00+07:00"
    first = client.post(url, json={"table_code": "T1", "starts_at": slot, "producer_id": loi,
                                   "buyer_name": "Công ty Bách Hóa Xanh"}, headers=organiser)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["starts_at"] == slot
    before = counts()
    for body in ({"table_code": "T1", "starts_at": slot, "producer_id": minh, "buyer_name": "Lotte Mart"},
                 {"table_code": "T2", "starts_at": slot, "producer_id": loi, "buyer_name": "Lotte Mart"},
                 {"table_code": "T2", "starts_at": slot, "producer_id": minh, "buyer_name": "công ty bách hóa xanh"}):
        error(client.post(url, json=body, headers=organiser), 409, "fair.slot_taken")
    error(client.post(url, json={"table_code": "T2", "starts_at": "2026-11-25T09:10:00+07:00", "producer_id": minh,
                                 "buyer_name": "Lotte Mart"}, headers=organiser), 422, "fair.invalid_slot")
    error(client.post(url, json={"table_code": "T2", "starts_at": "2026-12-25T09:00:00+07:00", "producer_id": minh,
                                 "buyer_name": "Lotte Mart"}, headers=organiser), 422, "fair.outside_dates")
    error(client.post(url, json={"table_code": "T2", "starts_at": slot, "producer_id": user("cs.tran-gia").producer_id,
                                 "buyer_name": "Lotte Mart"}, headers=organiser), 422, "fair.not_exhibitor")
    error(client.post(url, json={"table_code": "T2", "starts_at": "soon", "producer_id": minh, "buyer_name": "L"},
                      headers=organiser), 422)
    error(client.post(url, json={"table_code": "T2", "starts_at": slot, "producer_id": minh, "buyer_name": "L"},
                      headers=login("cs.htx-binh-minh")), 403)
    assert counts() == before
    # "09:00" without an offset is Vietnam time; the next slot is free for everyone
    assert client.post(url, json={"table_code": "T1", "starts_at": "2026-11-25T09:30:00", "producer_id": minh,
                                  "buyer_name": "Công ty Bách Hóa Xanh"}, headers=organiser).status_code == 201
    mine = client.get(url, headers=login("cs.htx-binh-minh")).get_json()["results"]
    assert [m["starts_at"] for m in mine] == ["2026-11-25T09:30:00+07:00"]
    fair_not_conference = build("published", name="Hội chợ thường")
    error(client.post(f"{fair_not_conference.url}/meetings", json={"table_code": "T1", "starts_at": slot,
                                                                   "producer_id": loi, "buyer_name": "X"},
                      headers=organiser), 422, "fair.not_a_conference")


@pytest.mark.postgres
def test_concurrent_bookings_of_one_table_give_exactly_one(postgres_url, app, client, login, demo):
    fair = _conference()
    organiser_id = user("sct.dongnai").id
    producers = [user(n).producer_id for n in ("cs.htx-binh-loi", "cs.htx-binh-minh", "cs.nhan-tuan-nhan")]
    db.session.commit()
    barrier = threading.Barrier(len(producers))
    slot = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)  # 09:00 in Vietnam

    def attempt(n):
        with app.app_context():
            try:
                organiser = db.session.get(User, organiser_id)
                event = events.get_event(fair.event_id)
                barrier.wait(timeout=30)
                try:
                    trade.book_meeting(organiser, event, {"table_code": "T1", "starts_at": slot,
                                                          "producer_id": producers[n], "buyer_name": f"Buyer {n}"})
                    commit()
                    return "booked"
                except Exception as exc:
                    db.session.rollback()
                    return getattr(exc, "code", repr(exc))
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(producers)) as pool:
        results = list(pool.map(attempt, range(len(producers))))
    assert sorted(results) == ["booked", "fair.slot_taken", "fair.slot_taken"], results
    db.session.expire_all()
    assert len(db.session.execute(select(FairMeeting)).scalars().all()) == 1


def test_event_and_province_reports(client, login, demo):
    fair = build("running")
    organiser = login("sct.dongnai")
    loi = login("cs.htx-binh-loi")
    sale = client.post(f"{BASE}/assignments/{fair.assignments['cs.htx-binh-loi']}/sales", json={
        "lines": [{"variant_id": variant_id("BL-BDX-1"), "quantity": 2}], "payment_method": "card"}, headers=loi)
    total = sale.get_json()["total"]
    client.post(f"{fair.url}/visitors", json={"day": "2026-11-25", "gate": "Cổng 1", "visitors": 250}, headers=organiser)
    client.post(f"{fair.url}/deals", json={"kind": "mou", "buyer_name": "Công ty XNK Miền Nam", "value": 50_000_000},
                headers=loi)
    report = client.get(f"{fair.url}/report", headers=organiser).get_json()
    assert report["exhibitors"] == 3 and report["booths"] == 4 and report["booths_filled"] == 3
    assert report["gmv"] == total and report["orders"] == 1
    assert report["sales_by_group"] == [{"group": "food", "quantity": 2, "value": total}]
    assert report["visitors"] == 250 and report["deals"] == 1 and report["deals_value"] == 50_000_000
    error(client.get(f"{fair.url}/report", headers=loi), 403)
    province = client.get(f"{BASE}/reports/province?year=2026&target=32", headers=organiser).get_json()
    assert province["booth_rounds"] == 3 and province["producers"] == 3 and province["gmv"] == total
    assert province["target"] == 32 and province["target_reached"] is False
    assert province["items"][0]["slug"] == fair.slug
    exported = client.get(f"{BASE}/reports/province?year=2026&format=csv", headers=organiser)
    assert exported.status_code == 200 and fair.slug in exported.data.decode("utf-8-sig")
    assert client.get(f"{BASE}/reports/province?year=2026&format=xlsx", headers=organiser).status_code == 200
    error(client.get(f"{BASE}/reports/province?year=26", headers=organiser), 422)
    error(client.get(f"{BASE}/reports/province?year=2026", headers=login("admin")), 422)
    make_user("sct.hatinh", "organiser", province_code="42")
    error(client.get(f"{BASE}/reports/province?year=2026&province=75", headers=login("sct.hatinh")), 403)
    codes = {r["code"] for r in client.get("/admin/v1/reports", headers=organiser).get_json()["results"]}
    assert {"fairs.event", "fairs.province_year"} <= codes
    assert not [r for r in client.get("/admin/v1/reports", headers=loi).get_json()["results"]
                if r["code"].startswith("fairs.")]
