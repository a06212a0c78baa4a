"""Fairs plugin: exhibitor applications, review and withdrawal, booth allocation (manual, proposed), fees,
and — on PostgreSQL — concurrent assignments of one booth giving exactly one."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from core.accounts.models import User
from core.catalogue.models import Product
from core.db import commit, db
from core.inventory.models import StockLocation
from core.notifications.models import Notification
from plugins.fairs import allocation, events
from plugins.fairs.models import FairAssignment, FairFeeLine
from plugins.fairs.tests.fixtures import (BASE, build, counts, error, make_user, product_ids, user)


def _apply(client, login, fair, username, **extra):
    body = {"product_ids": product_ids(username), "contact_name": "Anh Minh", "contact_phone": "0903 123 456",
            "needs": ["power"], **extra}
    return client.post(f"{fair.url}/applications", json=body, headers=login(username))


# --- applications ----------------------------------------------------------------------------------
def test_producer_applies_with_listed_products(client, login, demo):
    fair = build("open")
    response = _apply(client, login, fair, "cs.htx-binh-loi", zone_code="A", booth_type="corner")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "submitted" and body["producer_name"] == "HTX Dịch vụ - Nông nghiệp Bình Lợi"
    assert body["zone_code"] == "A" and body["booth_code"] is None
    mine = client.get(f"{fair.url}/applications", headers=login("cs.htx-binh-loi")).get_json()
    assert mine["total"] == 1
    assert client.get(f"{fair.url}/applications", headers=login("cs.htx-binh-minh")).get_json()["total"] == 0
    assert client.get(f"{fair.url}/applications", headers=login("sct.dongnai")).get_json()["total"] == 1
    error(client.get(f"{BASE}/applications/{body['id']}", headers=login("cs.htx-binh-minh")), 403, "fair.out_of_scope")
    assert client.get(f"{BASE}/applications/{body['id']}", headers=login("cs.htx-binh-loi")).status_code == 200


def test_unlisted_foreign_and_duplicate_applications_are_refused(client, login, demo):
    fair = build("open")
    banh_tet = db.session.execute(select(Product.id).where(Product.slug == "banh-tet-dac-san-tran-gia")).scalar_one()
    buoi = product_ids("cs.htx-binh-loi")[0]
    before = counts()
    err = error(_apply(client, login, fair, "cs.tran-gia", product_ids=[banh_tet]), 422, "fair.product_not_listed")
    assert err["details"]["product_ids"] == [banh_tet] and "OCOP" in err["message"]
    error(_apply(client, login, fair, "cs.htx-binh-minh", product_ids=[buoi]), 422, "fair.product_not_own")
    error(_apply(client, login, fair, "cs.tht-cam-vu-quang"), 422, "fair.province_only")
    error(_apply(client, login, fair, "cs.htx-binh-loi", zone_code="Z"), 422, "fair.unknown_zone")
    error(_apply(client, login, fair, "cs.htx-binh-loi", product_ids=[]), 422, "validation.invalid")
    error(_apply(client, login, fair, "cs.htx-binh-loi", contact_phone="call me"), 422, "validation.invalid")
    error(_apply(client, login, fair, "cs.htx-binh-loi", producer_id=999), 403, "fair.out_of_scope")
    error(client.post(f"{fair.url}/applications", json={}, headers=login("cs.htx-binh-loi")), 422)
    error(client.post(f"{fair.url}/applications", json={"product_ids": [buoi], "contact_name": "A",
                                                        "contact_phone": "0903123456"}), 401)
    assert counts() == before
    assert _apply(client, login, fair, "cs.htx-binh-loi").status_code == 201
    error(_apply(client, login, fair, "cs.htx-binh-loi"), 409, "fair.already_applied")


def test_applications_only_while_open_and_in_the_window(client, login, demo):
    draft = build("draft")
    error(_apply(client, login, draft, "cs.htx-binh-loi"), 403)  # drafts are not visible to producers
    late = build("open", applications_open_on="2026-11-01", applications_close_on="2026-11-20")
    error(_apply(client, login, late, "cs.htx-binh-loi"), 409, "fair.applications_closed")
    other = build("open", open_to_other_provinces=True, name="Hội chợ liên tỉnh")
    assert _apply(client, login, other, "cs.tht-cam-vu-quang").status_code == 201


def test_review_approve_reject_waitlist_notifies_and_is_checked(client, login, demo):
    fair = build("applied")
    organiser = login("sct.dongnai")
    loi, minh = fair.applications["cs.htx-binh-loi"], fair.applications["cs.htx-binh-minh"]
    before = counts()
    error(client.post(f"{BASE}/applications/{loi}/review", json={"decision": "reject"}, headers=organiser), 422,
          "fair.reason_required")
    error(client.post(f"{BASE}/applications/{loi}/review", json={"decision": "maybe"}, headers=organiser), 422)
    error(client.post(f"{BASE}/applications/{loi}/review", json={"decision": "approve"},
                      headers=login("cs.htx-binh-loi")), 403, "auth.forbidden")
    make_user("sct.hatinh", "organiser", province_code="42")
    error(client.post(f"{BASE}/applications/{loi}/review", json={"decision": "approve"},
                      headers=login("sct.hatinh")), 403, "fair.out_of_scope")
    error(client.post(f"{BASE}/applications/999999/review", json={"decision": "approve"}, headers=organiser), 404)
    assert counts() == before
    approved = client.post(f"{BASE}/applications/{loi}/review", json={"decision": "approve"}, headers=organiser)
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    rejected = client.post(f"{BASE}/applications/{minh}/review",
                           json={"decision": "reject", "reason": "Sản phẩm trùng nhóm đã đủ"}, headers=organiser)
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["decision_reason"] == "Sản phẩm trùng nhóm đã đủ"
    error(client.post(f"{BASE}/applications/{minh}/review", json={"decision": "approve"}, headers=organiser), 409,
          "fair.invalid_decision")
    waitlisted = client.post(f"{BASE}/applications/{fair.applications['cs.nhan-tuan-nhan']}/review",
                             json={"decision": "waitlist"}, headers=organiser)
    assert waitlisted.get_json()["status"] == "waitlisted"
    db.session.expire_all()
    notes = db.session.execute(select(Notification).where(Notification.kind == "fair.application_decided")
                               .order_by(Notification.id)).scalars().all()
    assert [n.data["status"] for n in notes] == ["approved", "rejected", "waitlisted"]
    assert "Lý do: Sản phẩm trùng nhóm đã đủ" in notes[1].body and "rejected" in notes[1].subject
    assert notes[0].producer_id == user("cs.htx-binh-loi").producer_id


def test_withdrawal_releases_the_booth_and_cancels_the_fee(client, login, demo):
    fair = build("assigned")
    loi = fair.applications["cs.htx-binh-loi"]
    error(client.post(f"{BASE}/applications/{loi}/withdraw", headers=login("cs.htx-binh-minh")), 403,
          "fair.out_of_scope")
    error(client.post(f"{BASE}/applications/{loi}/withdraw", headers=login("sct.dongnai")), 403, "auth.forbidden")
    response = client.post(f"{BASE}/applications/{loi}/withdraw", headers=login("cs.htx-binh-loi"))
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    db.session.expire_all()
    assert db.session.execute(select(FairAssignment).where(FairAssignment.application_id == loi)).first() is None
    fee = db.session.execute(select(FairFeeLine).where(FairFeeLine.booth_code == "A01")).scalar_one()
    assert fee.status == "cancelled" and fee.assignment_id is None
    error(client.post(f"{BASE}/applications/{loi}/withdraw", headers=login("cs.htx-binh-loi")), 409,
          "fair.invalid_decision")
    # the freed booth can be given to someone else
    booth = client.get(f"{fair.url}/map", headers=login("sct.dongnai")).get_json()["booths"][0]
    assert booth["code"] == "A01" and booth["free_slots"] == 1


# --- allocation ----------------------------------------------------------------------------------
def test_manual_assignment_fee_with_subsidy_and_no_double_booking(client, login, demo):
    fair = build("approved")
    organiser = login("sct.dongnai")
    loi, minh, ntn = (fair.applications[n] for n in ("cs.htx-binh-loi", "cs.htx-binh-minh", "cs.nhan-tuan-nhan"))
    response = client.post(f"{fair.url}/assignments", json={"application_id": loi, "booth_id": fair.booths["A01"]},
                           headers=organiser)
    assert response.status_code == 201, response.get_json()
    assigned = response.get_json()
    assert assigned["booth_code"] == "A01" and assigned["slot"] == 1
    assert assigned["fee"] == {**assigned["fee"], "amount": 3_000_000, "subsidy": 1_500_000, "due": 1_500_000,
                               "status": "unpaid"}
    before = counts()
    error(client.post(f"{fair.url}/assignments", json={"application_id": minh, "booth_id": fair.booths["A01"]},
                      headers=organiser), 409, "fair.booth_taken")
    error(client.post(f"{fair.url}/assignments", json={"application_id": loi, "booth_id": fair.booths["A02"]},
                      headers=organiser), 409, "fair.already_assigned")
    error(client.post(f"{fair.url}/assignments", json={"application_id": minh, "booth_id": 999999},
                      headers=organiser), 404, "fair_booth.not_found")
    error(client.post(f"{fair.url}/assignments", json={"application_id": "x", "booth_id": 1}, headers=organiser), 422)
    error(client.post(f"{fair.url}/assignments", json={"application_id": minh, "booth_id": fair.booths["A02"]},
                      headers=login("cs.htx-binh-minh")), 403)
    assert counts() == before
    # a shared pavilion takes two exhibitors, each paying half
    for app_id in (minh, ntn):
        response = client.post(f"{fair.url}/assignments", json={"application_id": app_id,
                                                                "booth_id": fair.booths["P01"]}, headers=organiser)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["fee"]["amount"] == 2_000_000 and response.get_json()["fee"]["due"] == 1_000_000
    assert sorted(a["slot"] for a in client.get(f"{fair.url}/assignments", headers=organiser).get_json()["results"]
                  if a["booth_code"] == "P01") == [1, 2]
    mine = client.get(f"{fair.url}/assignments", headers=login("cs.htx-binh-loi")).get_json()["results"]
    assert [a["booth_code"] for a in mine] == ["A01"]
    # booth stock locations of kind fair_booth, one per exhibitor
    kinds = {l.kind for l in db.session.execute(select(StockLocation).where(
        StockLocation.id.in_([a.stock_location_id for a in db.session.execute(select(FairAssignment)).scalars()])))
        .scalars()}
    assert kinds == {"fair_booth"}
    # unassign, then the slot is free again
    response = client.delete(f"{fair.url}/assignments/{assigned['id']}", headers=organiser)
    assert response.status_code == 204
    assert client.post(f"{fair.url}/assignments", json={"application_id": minh, "booth_id": fair.booths["A01"]},
                       headers=organiser).status_code == 409  # minh already sits in P01


def test_fees_list_and_payment(client, login, demo):
    fair = build("assigned")
    organiser = login("sct.dongnai")
    fees = client.get(f"{fair.url}/fees", headers=organiser).get_json()["results"]
    assert sorted((f["booth_code"], f["due"]) for f in fees) == [("A01", 1_500_000), ("A02", 1_000_000),
                                                                  ("P01", 1_000_000)]
    own = client.get(f"{fair.url}/fees", headers=login("cs.htx-binh-loi")).get_json()["results"]
    assert [f["booth_code"] for f in own] == ["A01"]
    fee_id = own[0]["id"]
    before = counts()
    error(client.post(f"{fair.url}/fees/{fee_id}/pay", json={"method": "bank_transfer"}, headers=organiser), 422,
          "fair.reference_required")
    error(client.post(f"{fair.url}/fees/{fee_id}/pay", json={"method": "cheque"}, headers=organiser), 422)
    error(client.post(f"{fair.url}/fees/{fee_id}/pay", json={"method": "desk"}, headers=login("cs.htx-binh-loi")), 403)
    assert counts() == before
    paid = client.post(f"{fair.url}/fees/{fee_id}/pay", json={"method": "bank_transfer", "reference": "FT2611230001"},
                       headers=organiser)
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid"
    error(client.post(f"{fair.url}/fees/{fee_id}/pay", json={"method": "desk"}, headers=organiser), 409,
          "fair.fee_not_due")


def test_free_and_paid_fee_policies():
    class Booth:
        price, capacity = 3_000_000, 2

    class Event:
        subsidy_share_bp = 3000
        fee_policy = "free"
    assert allocation.fee_for(Event, Booth) == (1_500_000, 1_500_000)
    Event.fee_policy = "paid"
    assert allocation.fee_for(Event, Booth) == (1_500_000, 0)
    Event.fee_policy = "subsidised"
    assert allocation.fee_for(Event, Booth) == (1_500_000, 450_000)


def test_rules_are_data_and_the_proposal_follows_them(client, login, demo):
    fair = build("approved")
    organiser = login("sct.dongnai")
    defaults = client.get(f"{fair.url}/rules", headers=organiser).get_json()["rules"]
    assert [r["kind"] for r in defaults] == ["stars", "newly_certified", "first_time", "group_mix", "quota"]
    error(client.get(f"{fair.url}/rules", headers=login("cs.htx-binh-loi")), 403)
    before = counts()
    for bad in ([{"kind": "luck", "weight": 1}], [{"kind": "quota", "params": {"level": "village", "max": 1}}],
                [{"kind": "group_mix", "params": {"max_per_zone": 0}}], [{"kind": "stars", "weight": "ten"}]):
        error(client.put(f"{fair.url}/rules", json={"rules": bad}, headers=organiser), 422)
    assert counts() == before
    rules = [{"kind": "stars", "weight": 10, "params": {}}, {"kind": "group_mix", "weight": 0,
                                                             "params": {"max_per_zone": 1}}]
    assert client.put(f"{fair.url}/rules", json={"rules": rules}, headers=organiser).status_code == 200
    before = counts()
    proposal = client.post(f"{fair.url}/proposal", headers=organiser).get_json()
    # Bình Lợi has a 4-star product: first; each food producer alone in zone A; the handicraft one in B
    assert [i["producer_name"] for i in proposal["items"]][0] == "HTX Dịch vụ - Nông nghiệp Bình Lợi"
    placed = {i["producer_name"]: i["booth_code"] for i in proposal["items"]}
    assert placed["HTX Dịch vụ - Nông nghiệp Bình Lợi"] == "A01"
    assert placed["HTX Nông nghiệp Bình Minh"] not in ("A01", "A02")  # the food group already fills zone A
    assert {placed["Công ty TNHH SX-TM Nhân Tuân Nhân"], placed["HTX Nông nghiệp Bình Minh"]} == {"B01", "P01"}
    assert counts() == before  # a proposal writes nothing
    # a commune quota of 0 extra: two producers from the same former district with max 1 per district
    quota = [{"kind": "stars", "weight": 10, "params": {}}, {"kind": "quota", "weight": 0,
                                                             "params": {"level": "district", "max": 1}}]
    client.put(f"{fair.url}/rules", json={"rules": quota}, headers=organiser)
    limited = client.post(f"{fair.url}/proposal", headers=organiser).get_json()
    assert len(limited["items"]) == 1 and {u["reason"] for u in limited["unplaced"]} == {"quota"}
    # accept an edited proposal: all or nothing
    items = [{"application_id": i["application_id"], "booth_id": i["booth_id"]} for i in proposal["items"]]
    clash = [items[0], {**items[1], "booth_id": items[0]["booth_id"]}]
    before = counts()
    error(client.post(f"{fair.url}/proposal/accept", json={"items": clash}, headers=organiser), 409,
          "fair.booth_taken")
    assert counts() == before
    accepted = client.post(f"{fair.url}/proposal/accept", json={"items": items}, headers=organiser)
    assert accepted.status_code == 201 and len(accepted.get_json()["results"]) == 3
    assert client.post(f"{fair.url}/proposal", headers=organiser).get_json()["items"] == []


def test_allocation_needs_the_allocating_status(client, login, demo):
    fair = build("applied")
    error(client.post(f"{fair.url}/proposal", headers=login("sct.dongnai")), 409, "fair.wrong_status")
    error(client.post(f"{fair.url}/assignments", json={"application_id": fair.applications["cs.htx-binh-loi"],
                                                       "booth_id": fair.booths["A01"]}, headers=login("sct.dongnai")),
          409, "fair.wrong_status")


# --- PostgreSQL: many organisers, one booth ---------------------------------------------------------
@pytest.mark.postgres
def test_concurrent_assignments_of_one_booth_give_exactly_one(postgres_url, app, client, login, demo):
    fair = build("approved")
    organiser_id = user("sct.dongnai").id
    event_id = fair.event_id
    app_ids = list(fair.applications.values())
    booth_id = fair.booths["A01"]
    db.session.commit()
    barrier = threading.Barrier(len(app_ids))

    def attempt(application_id):
        with app.app_context():
            try:
                organiser = db.session.get(User, organiser_id)
                event = events.get_event(event_id)
                try:
                    barrier.wait(timeout=30)
                except threading.BrokenBarrierError:
                    pass
                try:
                    allocation.assign(organiser, event, application_id, booth_id)
                    commit()
                    return "assigned"
                except Exception as exc:
                    db.session.rollback()
                    return getattr(exc, "code", repr(exc))
            finally:
                db.session.remove()

    for _round in range(3):
        with ThreadPoolExecutor(max_workers=len(app_ids)) as pool:
            results = list(pool.map(attempt, app_ids))
        assert sorted(results) == ["assigned"] + ["fair.booth_taken"] * (len(app_ids) - 1), results
        db.session.expire_all()
        rows = db.session.execute(select(FairAssignment).where(FairAssignment.booth_id == booth_id)).scalars().all()
        assert len(rows) == 1
        fees = db.session.execute(select(FairFeeLine).where(FairFeeLine.booth_code == "A01",
                                                            FairFeeLine.status == "unpaid")).scalars().all()
        assert len(fees) == 1
        allocation.release(db.session.get(User, organiser_id), rows[0])
        commit()
        barrier.reset()


@pytest.mark.postgres
def test_concurrent_assignments_fill_a_pavilion_exactly(postgres_url, app, client, login, demo):
    fair = build("approved")
    organiser_id = user("sct.dongnai").id
    event_id, booth_id = fair.event_id, fair.booths["P01"]  # capacity 2
    app_ids = list(fair.applications.values())
    db.session.commit()
    barrier = threading.Barrier(len(app_ids))

    def attempt(application_id):
        with app.app_context():
            try:
                organiser = db.session.get(User, organiser_id)
                event = events.get_event(event_id)
                barrier.wait(timeout=30)
                try:
                    allocation.assign(organiser, event, application_id, booth_id)
                    commit()
                    return "assigned"
                except Exception as exc:
                    db.session.rollback()
                    return getattr(exc, "code", repr(exc))
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(app_ids)) as pool:
        results = list(pool.map(attempt, app_ids))
    assert sorted(results) == ["assigned", "assigned", "fair.booth_taken"], results
    db.session.expire_all()
    slots = sorted(db.session.execute(select(FairAssignment.slot).where(FairAssignment.booth_id == booth_id)).scalars())
    assert slots == [1, 2]


def test_fee_policy_is_frozen_once_fees_are_issued(client, login, demo):
    fair = build("assigned")
    organiser = login("sct.dongnai")
    before = counts()
    error(client.patch(fair.url, json={"fee_policy": "free"}, headers=organiser), 409, "fair.fees_issued")
    assert counts() == before
    assert client.patch(fair.url, json={"venue_address": "Nhà thi đấu xã Trị An"}, headers=organiser).status_code == 200
