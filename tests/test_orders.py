"""Orders: multi-producer views, status machine, fulfilment (stock deducted), cancellation (released), history,
notifications and hooks after commit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from support.checks import error_of, row_counts
from support.orders import ledger_ok, order_id, place_order, stock_of

ADMIN = "/admin/v1/orders"


def _producer_id(slug_part: str) -> int:
    from core.db import db
    from core.accounts.models import User
    return db.session.execute(select(User.producer_id).where(User.username == f"cs.{slug_part}")).scalar_one()


@pytest.fixture
def two_producer_order(client, demo):
    """Cam Vũ Quang (Hà Tĩnh) and Bưởi da xanh Bình Lợi (Đồng Nai) in one checkout, cash on delivery."""
    order = place_order(client, [("VQ-CAM-5KG", 2), ("BL-BDX-1", 3)], gateway="cod", key="demo-order-1")
    order["id"] = order_id(order["number"])
    return order


def test_done_when_demo_shopper_order_with_cod(client, login, two_producer_order):
    order = two_producer_order
    assert order["payment_gateway"] == "cod" and order["payments"][0]["gateway"] == "cod"
    assert order["payments"][0]["status"] == "pending" and order["payments"][0]["amount"] == order["total"]
    assert stock_of("VQ-CAM-5KG") == (150, 2) and stock_of("BL-BDX-1") == (300, 3)

    # each producer sees only its own line, and not the order totals or token
    cam, buoi = login("cs.tht-cam-vu-quang"), login("cs.htx-binh-loi")
    for headers, sku in ((cam, "VQ-CAM-5KG"), (buoi, "BL-BDX-1")):
        listed = client.get(ADMIN, headers=headers).get_json()
        assert listed["total"] == 1
        assert [l["sku"] for l in listed["results"][0]["lines"]] == [sku]
        detail = client.get(f"{ADMIN}/{order['id']}", headers=headers).get_json()
        assert [l["sku"] for l in detail["lines"]] == [sku]
        assert detail["total"] is None and detail["token"] is None and detail["payments"] == []
        assert detail["lines_total"] == detail["lines"][0]["line_total"]

    admin = login("admin")
    full = client.get(f"{ADMIN}/{order['id']}", headers=admin).get_json()
    assert {l["sku"] for l in full["lines"]} == {"VQ-CAM-5KG", "BL-BDX-1"} and full["total"] == order["total"]
    assert client.post(f"{ADMIN}/{order['id']}/confirm", headers=admin).get_json()["status"] == "confirmed"

    # each producer fulfils its own line: stock deducted, ledger written
    shipped = client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=cam,
                          json={"carrier": "Viettel Post", "tracking_no": "VTP123456789"})
    assert shipped.status_code == 201, shipped.get_json()
    assert shipped.get_json()["status"] == "confirmed"
    assert stock_of("VQ-CAM-5KG") == (148, 0) and stock_of("BL-BDX-1") == (300, 3)
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=cam,
                         json={"carrier": "Viettel Post", "tracking_no": "X"}), 409, "order.nothing_to_ship")
    done = client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=buoi,
                       json={"carrier": "GHN", "tracking_no": "GHN0001"}).get_json()
    assert done["status"] == "fulfilled" and [f["carrier"] for f in done["fulfilments"]] == ["GHN"]
    assert stock_of("BL-BDX-1") == (297, 0)
    ledger_ok()

    # the cash was collected: the COD payment is marked paid, the order completes
    payment_id = full["payments"][0]["id"]
    paid = client.post(f"{ADMIN}/{order['id']}/payments/{payment_id}/mark-paid", headers=admin, json={})
    assert paid.status_code == 200 and paid.get_json()["changed"] is True
    assert paid.get_json()["order"]["status"] == "completed"
    assert paid.get_json()["order"]["payment_status"] == "paid"
    again = client.post(f"{ADMIN}/{order['id']}/payments/{payment_id}/mark-paid", headers=admin, json={})
    assert again.get_json()["changed"] is False

    shopper = client.get(f"/storefront/v1/orders/{order['token']}").get_json()
    assert shopper["status"] == "completed" and len(shopper["fulfilments"]) == 2
    assert {f["tracking_no"] for f in shopper["fulfilments"]} == {"VTP123456789", "GHN0001"}

    # notifications: placed, shipped ×2, paid (shopper) and placed/paid for each producer
    from core.db import db
    from core.notifications.models import Notification
    db.session.rollback()
    kinds = sorted(n.kind for n in db.session.execute(select(Notification)).scalars())
    assert kinds.count("order_placed") == 3 and kinds.count("order_shipped") == 2 and kinds.count("order_paid") == 3
    assert {n.status for n in db.session.execute(select(Notification)).scalars()} == {"stored"}


def test_cancelling_another_order_releases_its_allocation(client, login, two_producer_order):
    other = place_order(client, [("BL-BDX-1", 5), ("BL-TDB-10", 2)])
    assert stock_of("BL-BDX-1") == (300, 8) and stock_of("BL-TDB-10") == (120, 2)
    admin = login("admin")
    oid = order_id(other["number"])
    body = client.post(f"{ADMIN}/{oid}/cancel", headers=admin, json={"reason": "Khách đổi ý"}).get_json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "Khách đổi ý"
    assert stock_of("BL-BDX-1") == (300, 3) and stock_of("BL-TDB-10") == (120, 0)
    ledger_ok()
    error_of(client.post(f"{ADMIN}/{oid}/cancel", headers=admin, json={}), 409, "order.invalid_transition")
    error_of(client.post(f"{ADMIN}/{oid}/confirm", headers=admin), 409, "order.invalid_transition")
    shopper = client.get(f"/storefront/v1/orders/{other['token']}").get_json()
    assert shopper["status"] == "cancelled"


def test_organiser_scope_and_refused_callers(client, login, two_producer_order):
    order = two_producer_order
    organiser = login("sct.dongnai")  # Đồng Nai: Bình Lợi's province
    listed = client.get(ADMIN, headers=organiser).get_json()
    assert listed["total"] == 1 and len(listed["results"][0]["lines"]) == 2
    # a line of its province shows it the order; acting on the whole of it needs every line (or admin)
    error_of(client.post(f"{ADMIN}/{order['id']}/confirm", headers=organiser), 403, "order.other_provinces")
    assert client.post(f"{ADMIN}/{order['id']}/confirm", headers=login("admin")).status_code == 200

    hanoi_only = place_order(client, [("VQ-CAM-5KG", 1)])  # only a Hà Tĩnh producer
    hid = order_id(hanoi_only["number"])
    error_of(client.get(f"{ADMIN}/{hid}", headers=organiser), 403, "auth.out_of_scope")
    error_of(client.post(f"{ADMIN}/{hid}/cancel", headers=organiser, json={}), 403)
    assert client.get(ADMIN, headers=organiser).get_json()["total"] == 1

    buoi = login("cs.htx-binh-loi")
    error_of(client.get(f"{ADMIN}/{hid}", headers=buoi), 403, "auth.out_of_scope")
    error_of(client.post(f"{ADMIN}/{hid}/fulfilments", headers=buoi, json={"carrier": "GHN", "tracking_no": "1"}),
             403)
    error_of(client.post(f"{ADMIN}/{order['id']}/confirm", headers=buoi), 403, "auth.forbidden")
    error_of(client.post(f"{ADMIN}/{order['id']}/cancel", headers=buoi, json={}), 403, "auth.forbidden")
    error_of(client.get(ADMIN, headers=login("hoidong.dongnai")), 403, "auth.forbidden")
    error_of(client.get(ADMIN), 401, "auth.required")
    error_of(client.get(f"{ADMIN}/{order['id']}"), 401)
    error_of(client.post(f"{ADMIN}/{order['id']}/confirm"), 401)
    error_of(client.get(f"{ADMIN}/{order['id']}/events"), 401)
    error_of(client.get(f"{ADMIN}/999999", headers=login("admin")), 404, "order.not_found")


def test_fulfilment_rules(client, login, two_producer_order):
    order = two_producer_order
    admin, cam = login("admin"), login("cs.tht-cam-vu-quang")
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=cam,
                         json={"carrier": "VTP", "tracking_no": "1"}), 409, "order.not_fulfillable")
    client.post(f"{ADMIN}/{order['id']}/confirm", headers=admin)
    lines = {l["sku"]: l["id"] for l in order["lines"]}
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=cam,
                         json={"carrier": "VTP", "tracking_no": "1", "line_ids": [lines["BL-BDX-1"]]}), 422,
             "order.line_not_yours")
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=admin,
                         json={"carrier": "VTP", "tracking_no": "1"}), 422, "validation.invalid")
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=admin,
                         json={"carrier": "VTP", "tracking_no": "1", "line_ids": list(lines.values())}), 422,
             "order.mixed_producers")
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=cam, json={"carrier": "VTP"}), 422)
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=cam,
                         json={"carrier": "VTP", "tracking_no": "1", "extra": 1}), 422)
    before = row_counts()
    assert stock_of("VQ-CAM-5KG") == (150, 2)
    assert row_counts() == before
    # admin ships one producer's line by id
    body = client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=admin,
                       json={"carrier": "VNPost", "tracking_no": "EMS1", "line_ids": [lines["VQ-CAM-5KG"]]})
    assert body.status_code == 201
    assert stock_of("VQ-CAM-5KG") == (148, 0)
    error_of(client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=admin,
                         json={"carrier": "VNPost", "tracking_no": "EMS2", "line_ids": [lines["VQ-CAM-5KG"]]}), 409,
             "order.line_already_shipped")
    # an order that shipped something cannot be cancelled
    error_of(client.post(f"{ADMIN}/{order['id']}/cancel", headers=admin, json={}), 409, "order.already_shipped")
    assert stock_of("BL-BDX-1") == (300, 3)
    ledger_ok()


def test_history_and_producer_filtered_events(client, login, two_producer_order):
    order = two_producer_order
    admin, cam, buoi = login("admin"), login("cs.tht-cam-vu-quang"), login("cs.htx-binh-loi")
    client.post(f"{ADMIN}/{order['id']}/confirm", headers=admin)
    client.post(f"{ADMIN}/{order['id']}/fulfilments", headers=cam, json={"carrier": "VTP", "tracking_no": "A1"})
    events = client.get(f"{ADMIN}/{order['id']}/events", headers=admin).get_json()
    kinds = [e["kind"] for e in events]
    assert kinds[:3] == ["placed", "payment_started", "confirmed"] and "fulfilment_created" in kinds
    confirmed = next(e for e in events if e["kind"] == "confirmed")
    assert confirmed["actor_username"] == "admin"
    assert (confirmed["status_before"], confirmed["status_after"]) == ("unconfirmed", "confirmed")
    assert "fulfilment_created" in [e["kind"] for e in client.get(f"{ADMIN}/{order['id']}/events", headers=cam).get_json()]
    assert "fulfilment_created" not in [e["kind"] for e in
                                        client.get(f"{ADMIN}/{order['id']}/events", headers=buoi).get_json()]


def test_list_filters_and_pagination(client, login, demo):
    for _ in range(3):
        place_order(client, [("BL-BDX-1", 1)])
    admin = login("admin")
    page = client.get(f"{ADMIN}?limit=2", headers=admin).get_json()
    assert page["total"] == 3 and len(page["results"]) == 2 and page["next"]
    assert client.get(f"{ADMIN}?status=cancelled", headers=admin).get_json()["total"] == 0
    number = page["results"][0]["number"]
    assert client.get(f"{ADMIN}?number={number}", headers=admin).get_json()["total"] == 1
    producer = _producer_id("tht-cam-vu-quang")
    assert client.get(f"{ADMIN}?producer_id={producer}", headers=admin).get_json()["total"] == 0
    error_of(client.get(f"{ADMIN}?status=lost", headers=admin), 422)
    error_of(client.get(f"{ADMIN}?limit=1000", headers=admin), 422)
    error_of(client.get(f"{ADMIN}?bogus=1", headers=admin), 422)


def test_status_machine_allows_only_listed_transitions(app, client, demo):
    from core.db import db
    from core.errors import Conflict
    from core.sales.models import Order
    from core.sales import orders
    number = place_order(client, [("BL-BDX-1", 1)])["number"]
    order = db.session.execute(select(Order).where(Order.number == number)).scalar_one()
    for bad in ("fulfilled", "completed", "refunded", "unconfirmed"):
        with pytest.raises(Conflict):
            orders.transition(order, bad)
    orders.transition(order, "confirmed")
    orders.transition(order, "paid")
    with pytest.raises(Conflict):
        orders.transition(order, "confirmed")
    db.session.rollback()
    assert set(orders.TRANSITIONS) == {"unconfirmed", "confirmed", "paid", "fulfilled", "completed", "cancelled",
                                       "refunded"}
    assert orders.TRANSITIONS["cancelled"] == () and orders.TRANSITIONS["refunded"] == ()


def test_state_hooks_fire_after_commit(app, client, login, two_producer_order):
    from core.hookspecs import hookimpl
    from core.plugins import plugin_manager
    calls = []

    class Recorder:
        @hookimpl
        def order_paid(self, order, payment):
            calls.append(("paid", order.number, payment.gateway))

        @hookimpl
        def order_fulfilled(self, order, fulfilment):
            calls.append(("fulfilled", order.number, fulfilment.carrier))

        @hookimpl
        def order_cancelled(self, order):
            calls.append(("cancelled", order.number))

    pm = plugin_manager()
    recorder = Recorder()
    pm.register(recorder, name="test-order-recorder")
    try:
        admin, cam = login("admin"), login("cs.tht-cam-vu-quang")
        oid = two_producer_order["id"]
        client.post(f"{ADMIN}/{oid}/confirm", headers=admin)
        # a refused fulfilment fires nothing
        client.post(f"{ADMIN}/{oid}/fulfilments", headers=cam, json={"carrier": "X", "tracking_no": "1",
                                                                      "line_ids": [999]})
        client.post(f"{ADMIN}/{oid}/fulfilments", headers=cam, json={"carrier": "VTP", "tracking_no": "1"})
        payment_id = two_producer_order["payments"][0]["id"]
        client.post(f"{ADMIN}/{oid}/payments/{payment_id}/mark-paid", headers=admin, json={"note": "đã thu"})
        other = place_order(client, [("BL-BDX-1", 1)])
        client.post(f"{ADMIN}/{order_id(other['number'])}/cancel", headers=admin, json={})
    finally:
        pm.unregister(recorder)
        pm.infos.pop("test-order-recorder", None)
    number = two_producer_order["number"]
    assert calls == [("fulfilled", number, "VTP"), ("paid", number, "cod"), ("cancelled", other["number"])]


def test_paid_order_ships_then_completes(client, login, demo):
    """Bank transfer: paid → fulfilled (both producers ship) → completed by admin (two provinces); an unpaid COD order
    cannot be completed, and an organiser cannot ship another province's producer's lines."""
    order = place_order(client, [("VQ-CAM-5KG", 1), ("BL-BDX-1", 1)], gateway="bank_transfer")
    oid = order_id(order["number"])
    admin, organiser = login("admin"), login("sct.dongnai")
    payment = order["payments"][0]
    assert payment["gateway"] == "bank_transfer" and payment["transfer_reference"].startswith("OCOP")
    client.post(f"{ADMIN}/{oid}/payments/{payment['id']}/mark-paid", headers=admin, json={})
    lines = {l["sku"]: l["id"] for l in order["lines"]}
    error_of(client.post(f"{ADMIN}/{oid}/fulfilments", headers=organiser,
                         json={"carrier": "VTP", "tracking_no": "1", "line_ids": [lines["VQ-CAM-5KG"]]}), 403,
             "auth.out_of_scope")
    assert client.post(f"{ADMIN}/{oid}/fulfilments", headers=organiser,
                       json={"carrier": "GHN", "tracking_no": "2", "line_ids": [lines["BL-BDX-1"]]}).status_code == 201
    body = client.post(f"{ADMIN}/{oid}/fulfilments", headers=login("cs.tht-cam-vu-quang"),
                       json={"carrier": "VTP", "tracking_no": "3"}).get_json()
    assert body["status"] == "fulfilled"
    error_of(client.post(f"{ADMIN}/{oid}/complete", headers=organiser), 403, "order.other_provinces")
    done = client.post(f"{ADMIN}/{oid}/complete", headers=admin)
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    error_of(client.post(f"{ADMIN}/{oid}/complete", headers=admin), 409, "order.invalid_transition")
    error_of(client.post(f"{ADMIN}/{oid}/complete"), 401)
    error_of(client.post(f"{ADMIN}/{oid}/complete", headers=login("cs.htx-binh-loi")), 403)

    cod = place_order(client, [("BL-BDX-1", 1)], gateway="cod")
    cid = order_id(cod["number"])
    client.post(f"{ADMIN}/{cid}/confirm", headers=admin)
    client.post(f"{ADMIN}/{cid}/fulfilments", headers=login("cs.htx-binh-loi"), json={"carrier": "GHN", "tracking_no": "4"})
    error_of(client.post(f"{ADMIN}/{cid}/complete", headers=admin), 409, "order.unpaid")
    ledger_ok()


def test_admin_actions_reach_the_audit_trail(client, login, two_producer_order):
    from core.db import db
    from core.audit.models import AuditEvent
    admin = login("admin")
    client.post(f"{ADMIN}/{two_producer_order['id']}/confirm", headers=admin)
    client.post(f"{ADMIN}/{two_producer_order['id']}/cancel", headers=admin, json={"reason": "hết hàng"})
    db.session.rollback()
    rows = db.session.execute(select(AuditEvent).where(AuditEvent.entity_type == "order")
                              .order_by(AuditEvent.id)).scalars().all()
    actions = [(r.action, r.actor_username, (r.before or {}).get("status"), r.after["status"]) for r in rows]
    assert ("order.confirmed", "admin", "unconfirmed", "confirmed") in actions
    assert ("order.cancelled", "admin", "confirmed", "cancelled") in actions


def test_notifications_are_stored_even_when_the_broker_is_down(client, demo, monkeypatch):
    from core.db import db
    from core.notifications.models import Notification
    from core.sales.tasks import notify_order

    def broker_down(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(notify_order, "apply_async", broker_down)
    order = place_order(client, [("BL-BDX-1", 1)])
    db.session.rollback()
    oid = order_id(order["number"])
    keys = set(db.session.execute(select(Notification.dedupe_key)).scalars())
    assert {f"order:{oid}:order_placed:shopper", f"order:{oid}:order_placed:producer:{_producer_id('htx-binh-loi')}"} \
        <= keys
