"""Admin API for promotions and vouchers: campaigns with producer opt-in, lifecycle, bad input (422/403 and
nothing written), refused callers, previews, invitations, reports, price quotes and audit events."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core import clock
from core.db import commit, db
from support.checks import error_of, row_counts
from support.pricing import iso, make_promotion, user, variant

BASE = "/admin/v1/promotions"


def body(**overrides) -> dict:
    now = clock.now()
    return {"name": "Tết 2027", "name_en": "Tet 2027", "kind": "percentage", "value": 10,
            "starts_at": iso(now + dt.timedelta(days=1)), "ends_at": iso(now + dt.timedelta(days=8)),
            "channels": ["online_store", "sales_point"], **overrides}


def demo_campaign_id() -> int:
    from core.pricing.models import Promotion
    return db.session.execute(select(Promotion.id).where(Promotion.name == "Tuần lễ OCOP Đồng Nai")).scalar_one()


@pytest.fixture
def other_organiser(app, demo):
    """An organiser of Hà Tĩnh (42)."""
    from core.accounts.authentication import create_user
    create_user("sct.hatinh", "ocop-demo-2026", "organiser", province_code="42")
    create_user("quay.1", "ocop-demo-2026", "operator")
    commit()


# --- the campaign flow ---------------------------------------------------------------------------
def test_organiser_campaign_with_producer_opt_in_preview_and_audit(client, login, demo):
    organiser, binh_loi = login("sct.dongnai"), login("cs.htx-binh-loi")
    created = client.post(BASE, json=body(requires_opt_in=False), headers=organiser)
    assert created.status_code == 201, created.get_json()
    promo = created.get_json()
    assert (promo["lifecycle"], promo["owner_kind"], promo["province_code"]) == ("draft", "organiser", "75")
    assert promo["requires_opt_in"] is True  # an organiser's campaign always needs the producers' consent
    assert promo["starts_at"].endswith("+07:00")
    pid = promo["id"]
    error_of(client.post(f"{BASE}/{pid}/opt-in", json={}, headers=binh_loi), 403, "pricing.out_of_scope")  # a draft

    activated = client.post(f"{BASE}/{pid}/activate", headers=organiser)
    assert activated.status_code == 200 and activated.get_json()["lifecycle"] == "scheduled"
    joined = client.post(f"{BASE}/{pid}/opt-in", json={}, headers=binh_loi)
    assert joined.status_code == 200 and joined.get_json()["status"] == "accepted"
    assert client.post(f"{BASE}/{pid}/opt-in", json={}, headers=binh_loi).status_code == 200  # idempotent
    # a producer of another province cannot join a Đồng Nai campaign
    error_of(client.post(f"{BASE}/{pid}/opt-in", json={}, headers=login("cs.tht-cam-vu-quang")), 403,
             "pricing.out_of_scope")
    error_of(client.post(f"{BASE}/{pid}/opt-in", json={"producer_id": user("cs.son-an").producer_id},
                         headers=binh_loi), 403, "pricing.out_of_scope")  # nor for another producer

    participants = client.get(f"{BASE}/{pid}/participants", headers=organiser).get_json()
    assert [(p["producer"], p["status"]) for p in participants["results"]] == [
        ("HTX Dịch vụ - Nông nghiệp Bình Lợi", "accepted")]

    preview = client.get(f"{BASE}/{pid}/preview?limit=50", headers=organiser).get_json()
    rows = {r["sku"]: r for r in preview["results"]}
    assert rows["BL-BDX-1"]["price_with"] == 58_500 and rows["BL-BDX-1"]["opted_in"] is True
    assert rows["BL-BDX-1"]["price_without"] == 65_000 and rows["BL-BDX-1"]["promotion_discount"] == 6_500
    assert rows["SAHS-RNH-500"]["opted_in"] is False and rows["SAHS-RNH-500"]["price_with"] == 405_000
    assert "VQ-CAM-5KG" not in rows  # a Hà Tĩnh producer is outside the organiser's reach
    # the lamp is in the demo campaign (15%) already: the better one wins in the preview as at checkout
    assert rows["NTN-DEN-S"]["price_with"] == rows["NTN-DEN-S"]["price_without"] == 272_000

    left = client.post(f"{BASE}/{pid}/withdraw", json={}, headers=binh_loi)  # before the start: allowed
    assert left.status_code == 200 and left.get_json()["status"] == "withdrawn"
    # once a campaign runs, an opted-in producer stays in it
    error_of(client.post(f"{BASE}/{demo_campaign_id()}/withdraw", json={}, headers=login("cs.htx-binh-minh")), 409,
             "promotion.withdraw_too_late")
    error_of(client.post(f"{BASE}/{demo_campaign_id()}/withdraw", json={}, headers=binh_loi), 409,
             "promotion.withdraw_too_late")

    events = client.get(f"/admin/v1/audit?entity_type=promotion&entity_id={pid}", headers=organiser).get_json()
    assert {e["action"] for e in events["results"]} == {"promotion.created", "promotion.activated"}
    answers = client.get("/admin/v1/audit?entity_type=promotion_participant", headers=organiser).get_json()
    assert {"promotion.opted_in", "promotion.withdrawn"} <= {e["action"] for e in answers["results"]}


def test_invitations_notify_the_producers_that_have_not_answered(client, login, demo):
    from core.notifications.models import Notification
    pid = demo_campaign_id()
    response = client.post(f"{BASE}/{pid}/invitations", headers=login("sct.dongnai"))
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["producers"] == 4  # Đồng Nai's verified producers minus the two that joined
    db.session.rollback()
    notes = db.session.execute(select(Notification).where(Notification.kind == "promotion.invitation")).scalars().all()
    invited = {n.producer_id for n in notes}
    assert len(notes) == 4 and user("cs.htx-binh-loi").producer_id in invited
    assert user("cs.htx-binh-minh").producer_id not in invited
    assert client.post(f"{BASE}/{pid}/invitations", headers=login("sct.dongnai")).status_code == 202
    db.session.rollback()
    assert len(db.session.execute(select(Notification).where(Notification.kind == "promotion.invitation"))
               .scalars().all()) == 4  # asked again: nobody is told twice
    error_of(client.post(f"{BASE}/{pid}/invitations", headers=login("cs.htx-binh-loi")), 403)


# --- lifecycle -------------------------------------------------------------------------------------
def test_lifecycle_rules(client, login, demo):
    organiser = login("sct.dongnai")
    pid = demo_campaign_id()
    error_of(client.patch(f"{BASE}/{pid}", json={"value": 50}, headers=organiser), 409, "promotion.locked")
    renamed = client.patch(f"{BASE}/{pid}", json={"name": "Tuần lễ OCOP Đồng Nai 2026"}, headers=organiser)
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Tuần lễ OCOP Đồng Nai 2026"
    error_of(client.delete(f"{BASE}/{pid}", headers=organiser), 409, "promotion.not_draft")
    ended = client.post(f"{BASE}/{pid}/end", headers=organiser)
    assert ended.status_code == 200 and ended.get_json()["lifecycle"] == "ended"
    error_of(client.patch(f"{BASE}/{pid}", json={"name": "Khác"}, headers=organiser), 409, "promotion.ended")
    error_of(client.post(f"{BASE}/{pid}/end", headers=organiser), 409, "promotion.not_running")
    error_of(client.post(f"{BASE}/{pid}/activate", headers=organiser), 409, "promotion.not_draft")
    error_of(client.post(f"{BASE}/{pid}/opt-in", json={}, headers=login("cs.htx-binh-loi")), 409, "promotion.not_open")

    draft = client.post(BASE, json=body(), headers=organiser).get_json()
    assert client.delete(f"{BASE}/{draft['id']}", headers=organiser).status_code == 204
    error_of(client.get(f"{BASE}/{draft['id']}", headers=organiser), 404, "promotion.not_found")
    events = client.get(f"/admin/v1/audit?entity_type=promotion&entity_id={draft['id']}", headers=organiser)
    assert {e["action"] for e in events.get_json()["results"]} == {"promotion.created", "promotion.deleted"}


def test_limits_never_go_below_what_was_used(client, login, demo):
    from core.pricing import usage
    promo = make_promotion(kind="amount", value=5_000, budget=100_000, scope={"variants": [variant("BL-BDX-1").id]})
    usage.record_promotion_usage(promo, "order:L-1", 4, 20_000, producer_id=variant("BL-BDX-1").product.producer_id)
    commit()
    admin = login("admin")
    before = row_counts()
    error_of(client.patch(f"{BASE}/{promo.id}", json={"budget": 19_999}, headers=admin), 422,
             "promotion.limit_below_usage")
    error_of(client.patch(f"{BASE}/{promo.id}", json={"max_total_units": 3}, headers=admin), 422,
             "promotion.limit_below_usage")
    assert row_counts() == before
    ok = client.patch(f"{BASE}/{promo.id}", json={"budget": 20_000, "max_total_units": 4}, headers=admin)
    assert ok.status_code == 200 and ok.get_json()["discount_used"] == 20_000


# --- bad input and refused callers -------------------------------------------------------------------
def _vq_product_id():
    return variant("VQ-CAM-5KG").product_id


@pytest.mark.parametrize("overrides, status, code", [
    ({"value": 120}, 422, "promotion.percentage_over_100"),
    ({"starts_at": "2027-01-10T00:00:00", "ends_at": "2027-01-09T00:00:00"}, 422, "promotion.window_invalid"),
    ({"starts_at": "2026-01-01T00:00:00", "ends_at": "2026-01-09T00:00:00"}, 422, "promotion.window_past"),
    ({"scope": {"variants": [987654]}}, 422, "promotion.unknown_scope"),
    ({"scope": {"groups": ["jewellery"]}}, 422, "promotion.unknown_scope"),
    ({"scope": {"provinces": ["DNA"]}}, 422, "promotion.unknown_scope"),  # retired: use the current code 75
    ({"scope": {"producers": "VQ"}}, 403, "pricing.out_of_scope"),  # another province's producer
    ({"scope": {"products": "VQ-PRODUCT"}}, 403, "pricing.out_of_scope"),
    ({"channels": ["teleshopping"]}, 422, "promotion.unknown_channel"),
    ({"scope": {"colour": ["red"]}}, 422, "validation.invalid"),
    ({"scope": {"variants": [2**40]}}, 422, "validation.invalid"),
    ({"value": "10"}, 422, "validation.invalid"),
    ({"value": 10**13}, 422, "validation.invalid"),
    ({"kind": "buy_one_get_one"}, 422, "validation.invalid"),
    ({"starts_at": "2026-13-01T00:00:00"}, 422, "validation.invalid"),
    ({"starts_at": "0001-01-01T00:00:00+14:00"}, 422, "validation.invalid"),
    ({"name": "x\u0000y"}, 422, "validation.invalid"),
    ({"surprise": True}, 422, "validation.invalid"),
])
def test_bad_promotion_input_is_refused_and_changes_nothing(client, login, demo, overrides, status, code):
    scope = overrides.get("scope")
    if scope and scope.get("producers") == "VQ":
        overrides = {**overrides, "scope": {"producers": [user("cs.tht-cam-vu-quang").producer_id]}}
    if scope and scope.get("products") == "VQ-PRODUCT":
        overrides = {**overrides, "scope": {"products": [_vq_product_id()]}}
    headers = login("sct.dongnai")
    before = row_counts()
    error_of(client.post(BASE, json=body(**overrides), headers=headers), status, code)
    assert row_counts() == before


def test_bad_edits_are_refused_and_change_nothing(client, login, demo):
    organiser = login("sct.dongnai")
    draft = client.post(BASE, json=body(), headers=organiser).get_json()
    before = row_counts()
    error_of(client.patch(f"{BASE}/{draft['id']}", json={"value": 101}, headers=organiser), 422,
             "promotion.percentage_over_100")
    error_of(client.patch(f"{BASE}/{draft['id']}", json={"ends_at": draft["starts_at"]}, headers=organiser), 422,
             "promotion.window_invalid")
    error_of(client.patch(f"{BASE}/{draft['id']}", json={"scope": {"producers": [user("cs.vi-khe").producer_id]}},
                          headers=organiser), 403, "pricing.out_of_scope")
    assert row_counts() == before


def test_refused_callers(client, login, demo, other_organiser):
    pid = demo_campaign_id()
    error_of(client.get(BASE), 401, "auth.required")
    error_of(client.post(BASE, json=body()), 401, "auth.required")
    for username in ("hoidong.dongnai", "quay.1"):  # certifier, operator
        error_of(client.post(BASE, json=body(), headers=login(username)), 403, "auth.forbidden")
        error_of(client.get(f"{BASE}/{pid}", headers=login(username)), 403, "auth.forbidden")
    # another province's organiser can neither see nor change Đồng Nai's campaign
    error_of(client.get(f"{BASE}/{pid}", headers=login("sct.hatinh")), 403, "pricing.out_of_scope")
    error_of(client.patch(f"{BASE}/{pid}", json={"name": "Của tôi"}, headers=login("sct.hatinh")), 403,
             "pricing.out_of_scope")
    error_of(client.post(f"{BASE}/{pid}/end", headers=login("sct.hatinh")), 403, "pricing.out_of_scope")
    error_of(client.get(f"{BASE}/{pid}/report", headers=login("sct.hatinh")), 403, "pricing.out_of_scope")
    # a producer sees the campaign it may join but cannot change it; organisers do not opt in for producers
    assert client.get(f"{BASE}/{pid}", headers=login("cs.htx-binh-loi")).status_code == 200
    error_of(client.patch(f"{BASE}/{pid}", json={"name": "Của tôi"}, headers=login("cs.htx-binh-loi")), 403)
    error_of(client.post(f"{BASE}/{pid}/opt-in", json={}, headers=login("sct.dongnai")), 403, "auth.forbidden")
    error_of(client.get(f"{BASE}/{pid}", headers=login("cs.tht-cam-vu-quang")), 403, "pricing.out_of_scope")
    # a producer's promotion covers only its own products
    error_of(client.post(BASE, json=body(scope={"products": [_vq_product_id()]}), headers=login("cs.htx-binh-loi")),
             403, "pricing.out_of_scope")


def test_producer_promotions_and_who_sees_what(client, login, demo):
    binh_loi = login("cs.htx-binh-loi")
    own = client.post(BASE, json=body(name="Giá livestream", name_en="Live price", kind="fixed_price", value=55_000,
                                      scope={"products": [variant("BL-BDX-1").product_id]}, requires_opt_in=True),
                      headers=binh_loi)
    assert own.status_code == 201, own.get_json()
    assert own.get_json()["owner_kind"] == "producer" and own.get_json()["requires_opt_in"] is False
    seen = {p["id"] for p in client.get(BASE, headers=binh_loi).get_json()["results"]}
    assert seen == {own.get_json()["id"], demo_campaign_id()}  # its own, and the campaign it may join
    assert client.get(BASE, headers=login("cs.tht-cam-vu-quang")).get_json()["total"] == 0
    organiser = client.get(BASE, headers=login("sct.dongnai")).get_json()
    assert {p["id"] for p in organiser["results"]} == seen  # its province's promotions, producers' too
    active = client.get(f"{BASE}?lifecycle=active", headers=login("admin")).get_json()
    assert [p["id"] for p in active["results"]] == [demo_campaign_id()]
    error_of(client.get(f"{BASE}?lifecycle=running", headers=login("admin")), 422, "validation.invalid")


# --- vouchers ------------------------------------------------------------------------------------------
def test_voucher_crud_codes_and_refusals(client, login, demo):
    organiser = login("sct.dongnai")
    created = client.post("/admin/v1/vouchers", json=body(code="Tết-ĐN", kind="amount", value=30_000,
                                                          min_subtotal=300_000, max_uses=50, per_customer_limit=1),
                          headers=organiser)
    assert created.status_code == 201, created.get_json()
    vid = created.get_json()["id"]
    certifier = login("hoidong.dongnai")
    before = row_counts()
    error_of(client.post("/admin/v1/vouchers", json=body(code="TẾT-đn", kind="amount", value=1), headers=organiser),
             409, "voucher.code_taken")
    error_of(client.post("/admin/v1/vouchers", json=body(code="a b c"), headers=organiser), 422,
             "voucher.invalid_code")
    error_of(client.post("/admin/v1/vouchers", json=body(code="NHIEU", value=150), headers=organiser), 422,
             "voucher.percentage_over_100")
    error_of(client.post("/admin/v1/vouchers", json=body(code="CODO", kind="fixed_price"), headers=organiser), 422)
    error_of(client.post("/admin/v1/vouchers", json=body(code="CODO"), headers=certifier), 403)
    error_of(client.post("/admin/v1/vouchers", json=body(code="CODO")), 401)
    assert row_counts() == before
    error_of(client.get(f"/admin/v1/vouchers/{vid}", headers=login("cs.htx-binh-loi")), 403, "pricing.out_of_scope")
    assert client.post(f"/admin/v1/vouchers/{vid}/activate", headers=organiser).get_json()["lifecycle"] == "scheduled"
    patched = client.patch(f"/admin/v1/vouchers/{vid}", json={"max_uses": 80}, headers=organiser)
    assert patched.status_code == 200 and patched.get_json()["max_uses"] == 80
    report = client.get(f"/admin/v1/vouchers/{vid}/report", headers=organiser).get_json()
    assert report == {"voucher_id": vid, "code": "Tết-ĐN", "uses": 0, "orders": 0, "discount": 0, "gmv": 0}
    assert client.get("/admin/v1/vouchers", headers=organiser).get_json()["total"] == 2  # with the demo's
    assert client.post(f"/admin/v1/vouchers/{vid}/end", headers=organiser).get_json()["lifecycle"] == "ended"


# --- quotes -------------------------------------------------------------------------------------------------
def test_price_quote_for_a_till_and_its_refusals(client, login, demo, other_organiser):
    quote = client.post("/admin/v1/prices/quote", headers=login("quay.1"), json={
        "channel": "sales_point:DN-TRI-AN", "lines": [{"sku": "BM-QHC-1KG", "quantity": 2},
                                                      {"variant_id": variant("SAHS-RNH-500").id, "quantity": 1}]})
    assert quote.status_code == 200, quote.get_json()
    data = quote.get_json()
    assert [(l["unit_price"], l["line_total"]) for l in data["lines"]] == [(59_500, 119_000), (450_000, 450_000)]
    assert data["lines"][0]["discounts"][0]["name"] == "Tuần lễ OCOP Đồng Nai"
    assert (data["base_subtotal"], data["discount_amount"], data["subtotal"]) == (590_000, 21_000, 569_000)
    online = client.post("/admin/v1/prices/quote", headers=login("admin"), json={
        "lines": [{"sku": "BM-QHC-1KG", "quantity": 4}], "vouchers": ["ocop-dongnai"], "phone": "0912 345 678"})
    assert online.get_json()["subtotal"] == 238_000 - 20_000 and online.get_json()["vouchers"] == ["OCOP-DONGNAI"]
    error_of(client.post("/admin/v1/prices/quote", headers=login("admin"),
                         json={"lines": [{"sku": "NOPE", "quantity": 1}]}), 422, "pricing.unknown_variant")
    error_of(client.post("/admin/v1/prices/quote", headers=login("admin"),
                         json={"lines": [{"sku": "BM-QHC-1KG", "quantity": 0}]}), 422, "validation.invalid")
    error_of(client.post("/admin/v1/prices/quote", headers=login("admin"), json={"lines": []}), 422)
    error_of(client.post("/admin/v1/prices/quote", json={"lines": [{"sku": "BM-QHC-1KG", "quantity": 1}]}), 401)
    error_of(client.post("/admin/v1/prices/quote", headers=login("hoidong.dongnai"),
                         json={"lines": [{"sku": "BM-QHC-1KG", "quantity": 1}]}), 403, "auth.forbidden")


ODD_BODIES = [None, [], "text", 42, {"scope": []}, {"scope": {"variants": "1"}}, {"channels": "online_store"},
              {"value": None}, {"value": 1.5}, {"value": True}, {"starts_at": 20261201}, {"ends_at": ""},
              {"scope": {"stars": [6]}}, {"scope": {"variants": [None]}}, {"name": "x" * 10_000},
              {"code": ["A"]}, {"code": "ß" * 60}, {"lines": [{"sku": "BL-BDX-1", "quantity": 1}], "vouchers": [""]},
              {"lines": [{"sku": "BL-BDX-1", "quantity": 1}], "vouchers": ["\u0301\u0301\u0301"]},
              {"lines": [{"sku": "BL-BDX-1", "quantity": 1}], "channel": ":::"},
              {"lines": [{"sku": "BL-BDX-1", "variant_id": 1, "quantity": 1}]}, {"producer_id": -1},
              {"producer_id": 2**40}]


@pytest.mark.parametrize("path", ["/admin/v1/promotions", "/admin/v1/promotions/{pid}", "/admin/v1/vouchers",
                                  "/admin/v1/prices/quote", "/admin/v1/promotions/{pid}/opt-in"])
def test_no_body_shape_causes_a_server_error(client, login, demo, path):
    admin = login("admin")
    url = path.format(pid=demo_campaign_id())
    method = client.patch if url.endswith(str(demo_campaign_id())) else client.post
    for odd in ODD_BODIES + [{**body(), **o} for o in ODD_BODIES if isinstance(o, dict)]:
        response = method(url, json=odd, headers=admin)
        assert response.status_code < 500, (odd, response.get_json())
        if response.status_code >= 400:
            error_of(response, response.status_code)
    for query in ("at=yesterday", "limit=0", "limit=51", "channel=" + "x" * 200, "at=2026-11-23T10:00:00%2B25:00"):
        response = client.get(f"/admin/v1/promotions/{demo_campaign_id()}/preview?{query}", headers=admin)
        error_of(response, 422)


def test_every_remaining_route_refuses_bad_input_and_strangers(client, login, demo, other_organiser):
    pid = demo_campaign_id()
    organiser, stranger, admin = login("sct.dongnai"), login("sct.hatinh"), login("admin")
    draft = client.post(BASE, json=body(), headers=organiser).get_json()["id"]
    for method, url in ((client.delete, f"{BASE}/{draft}"), (client.post, f"{BASE}/{draft}/activate"),
                        (client.get, f"{BASE}/{pid}/preview"), (client.get, f"{BASE}/{pid}/participants"),
                        (client.post, f"{BASE}/{pid}/invitations")):
        error_of(method(url, headers=stranger), 403, "pricing.out_of_scope")
        error_of(method(url), 401, "auth.required")
    error_of(client.delete(f"{BASE}/{draft}", headers=login("cs.htx-binh-loi")), 403, "pricing.out_of_scope")
    error_of(client.post(f"{BASE}/{pid}/withdraw", json={}, headers=organiser), 403, "auth.forbidden")
    error_of(client.get(f"{BASE}/{pid}/participants?page=0", headers=organiser), 422, "validation.invalid")
    error_of(client.get(f"{BASE}/987654/report", headers=organiser), 404, "promotion.not_found")
    error_of(client.post(f"{BASE}/{draft}/invitations", headers=organiser), 409, "promotion.not_open")
    error_of(client.get(f"{BASE}/report?since=soon", headers=organiser), 422, "validation.invalid")
    error_of(client.get(f"{BASE}/report", headers=login("hoidong.dongnai")), 403, "auth.forbidden")
    assert client.get(f"{BASE}/report", headers=admin).get_json() == {"results": [], "total": 0, "next": None}

    voucher = client.post("/admin/v1/vouchers", json=body(code="XOA-DUOC"), headers=organiser).get_json()["id"]
    assert client.get(f"/admin/v1/vouchers/{voucher}", headers=organiser).get_json()["code"] == "XOA-DUOC"
    error_of(client.get("/admin/v1/vouchers?lifecycle=x", headers=organiser), 422, "validation.invalid")
    error_of(client.get("/admin/v1/vouchers"), 401, "auth.required")
    error_of(client.patch(f"/admin/v1/vouchers/{voucher}", json={"value": 0}, headers=organiser), 422)
    error_of(client.patch(f"/admin/v1/vouchers/{voucher}", json={"code": "OCOP-dongnai"}, headers=organiser), 409,
             "voucher.code_taken")
    for method, url in ((client.patch, f"/admin/v1/vouchers/{voucher}"), (client.delete, f"/admin/v1/vouchers/{voucher}"),
                        (client.post, f"/admin/v1/vouchers/{voucher}/activate"),
                        (client.post, f"/admin/v1/vouchers/{voucher}/end"),
                        (client.get, f"/admin/v1/vouchers/{voucher}/report")):
        kwargs = {"json": {"name": "Của tôi"}} if method is client.patch else {}
        error_of(method(url, headers=stranger, **kwargs), 403, "pricing.out_of_scope")
    error_of(client.post(f"/admin/v1/vouchers/{voucher}/end", headers=organiser), 409, "voucher.not_running")
    error_of(client.get("/admin/v1/vouchers/987654", headers=organiser), 404, "voucher.not_found")
    assert client.delete(f"/admin/v1/vouchers/{voucher}", headers=organiser).status_code == 204
    error_of(client.delete(f"/admin/v1/vouchers/{voucher}", headers=organiser), 404, "voucher.not_found")
