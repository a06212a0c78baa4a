"""The fairs' console pages (register_console_pages): the organiser's events, lifecycle, booth map editor,
applications review, allocation board, fees with their payment status and settlement; the producer's
applications, fees with the VietQR code and booths; booth staff's till. Happy paths, bad input (nothing
written), refused roles, and the plugin switched off (pages and menu gone)."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.db import commit, db
from core.payments import vietqr
from plugins.fairs import booth_stock, fees
from plugins.fairs.models import FairApplication, FairBooth, FairEvent, FairFeeLine
from plugins.fairs.tests.fixtures import build, counts, user
from support.console import console_login, post

OPERATOR_PASSWORD = "booth-staff-2026"


def text(response) -> str:
    return response.get_data(as_text=True)


def logged_in(app, username, password="ocop-demo-2026"):
    client = app.test_client()
    assert console_login(client, username, password).status_code == 302
    return client


def booth(fair, code) -> FairBooth:
    db.session.expire_all()
    return db.session.get(FairBooth, fair.booths[code])


# --- organiser ------------------------------------------------------------------------------------------
def test_organiser_lists_events_and_moves_one_along_its_lifecycle(app, demo):
    fair = build("draft")
    organiser = logged_in(app, "sct.dongnai")
    listing = organiser.get("/console/fairs")
    assert listing.status_code == 200 and 'id="fair-events"' in text(listing)
    assert f"/console/fairs/event?event={fair.event_id}" in text(listing)
    assert organiser.get("/console/fairs/event").status_code == 302  # no event: back to the list
    detail = organiser.get(f"/console/fairs/event?event={fair.event_id}")
    assert detail.status_code == 200 and 'id="fair-next-status"' in text(detail)
    moved = post(organiser, f"/console/fairs/{fair.event_id}/transition", {"to": "open"})
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(FairEvent, fair.event_id).status == "open"
    skipped = post(organiser, f"/console/fairs/{fair.event_id}/transition", {"to": "running"})
    assert skipped.status_code == 409 and "running" in text(skipped)
    assert db.session.get(FairEvent, fair.event_id).status == "open"
    # without the CSRF token nothing moves
    assert organiser.post(f"/console/fairs/{fair.event_id}/transition", data={"to": "allocating"}).status_code == 400


def test_map_editor_moves_and_resizes_a_booth_and_refuses_an_overlap(app, demo):
    fair = build("open")
    organiser = logged_in(app, "sct.dongnai")
    page = organiser.get(f"/console/fairs/map?event={fair.event_id}")
    assert page.status_code == 200 and "<svg" in text(page) and 'id="booth-form-A01"' in text(page)
    assert 'id="booth-A01"' in text(page)  # the SVG drawn from the booth geometry
    a01 = booth(fair, "A01")
    x0 = a01.x
    form = {"zone_code": "A", "x": x0, "y": 12, "w": 8, "h": 6, "booth_type": a01.booth_type, "price": a01.price}
    moved = post(organiser, f"/console/fairs/{fair.event_id}/booths/{a01.id}", form)
    assert moved.status_code == 302  # without JavaScript: back to the map
    assert (booth(fair, "A01").y, booth(fair, "A01").w, booth(fair, "A01").h) == (12, 8, 6)
    # htmx: the redrawn editor comes back as a fragment
    fragment = post(organiser, f"/console/fairs/{fair.event_id}/booths/{a01.id}", {**form, "x": x0 + 1},
                    headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<svg" in text(fragment) and "<html" not in text(fragment)
    assert booth(fair, "A01").x == x0 + 1
    a02 = booth(fair, "A02")
    a02_x, a02_y = a02.x, a02.y
    before = counts()
    clash = post(organiser, f"/console/fairs/{fair.event_id}/booths/{a02.id}",
                 {"zone_code": "A", "x": x0 + 1, "y": 12, "w": 8, "h": 6})
    assert clash.status_code == 422 and 'id="map-error"' in text(clash) and "A01" in text(clash)
    bad = post(organiser, f"/console/fairs/{fair.event_id}/booths/{a02.id}", {"x": "abc", "w": "0"})
    assert bad.status_code == 422
    assert counts() == before and (booth(fair, "A02").x, booth(fair, "A02").y) == (a02_x, a02_y)
    added = post(organiser, f"/console/fairs/{fair.event_id}/booths",
                 {"code": "B09", "zone_code": "B", "x": 51, "y": 25, "w": 5, "h": 5, "booth_type": "standard",
                  "size_m2": "9", "price": 1_000_000})
    assert added.status_code == 302
    assert db.session.execute(select(FairBooth).where(FairBooth.event_id == fair.event_id,
                                                      FairBooth.code == "B09")).scalar_one().w == 5


def test_organiser_reviews_applications_and_accepts_the_proposal(app, demo):
    fair = build("applied")
    organiser = logged_in(app, "sct.dongnai")
    post(organiser, f"/console/fairs/{fair.event_id}/transition", {"to": "allocating"})
    page = organiser.get(f"/console/fairs/applications?event={fair.event_id}")
    assert page.status_code == 200 and 'id="fair-applications"' in text(page)
    loi, minh, nhan = (fair.applications[n] for n in ("cs.htx-binh-loi", "cs.htx-binh-minh", "cs.nhan-tuan-nhan"))
    review = f"/console/fairs/{fair.event_id}/applications/{{}}/review"
    before = counts()
    refused = post(organiser, review.format(minh), {"decision": "reject"})  # a rejection needs a reason
    assert refused.status_code == 422 and counts() == before
    assert post(organiser, review.format(minh), {"decision": "reject", "reason": "Hết chỗ khu A"}).status_code == 302
    assert post(organiser, review.format(nhan), {"decision": "waitlist"}).status_code == 302
    assert post(organiser, review.format(loi), {"decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert [db.session.get(FairApplication, i).status for i in (loi, minh, nhan)] == ["approved", "rejected",
                                                                                     "waitlisted"]
    assert db.session.get(FairApplication, minh).decision_reason == "Hết chỗ khu A"
    board = organiser.get(f"/console/fairs/allocation?event={fair.event_id}")
    assert board.status_code == 200 and 'id="accept-proposal"' in text(board)
    booth_ids = re.findall(r'name="booth_id"[^>]*>.*?<option value="(\d+)"[^>]*selected', text(board), re.S)
    accepted = post(organiser, f"/console/fairs/{fair.event_id}/allocation",
                    {"application_id": [str(loi)], "booth_id": [booth_ids[0]]})
    assert accepted.status_code == 302
    board = text(organiser.get(f"/console/fairs/allocation?event={fair.event_id}"))
    assert "HTX Dịch vụ - Nông nghiệp Bình Lợi" in board.split('id="fair-assignments"', 1)[1].split("</table>")[0]
    assert post(organiser, f"/console/fairs/{fair.event_id}/allocation", {}).status_code == 422


def test_fees_show_the_payment_status_and_the_transfer_and_a_fee_is_paid_once(app, demo):
    fair = build("assigned")
    organiser = logged_in(app, "sct.dongnai")
    producer = logged_in(app, "cs.htx-binh-loi")
    mine = producer.get("/console/fairs/my-fees")
    assert mine.status_code == 200 and 'id="my-fees"' in text(mine)
    fee_id = db.session.execute(select(FairFeeLine.id).where(FairFeeLine.event_id == fair.event_id,
                                                             FairFeeLine.booth_code == "A01")).scalar_one()
    assert post(producer, f"/console/fairs/{fair.event_id}/fees/{fee_id}/transfer").status_code == 302
    mine = text(producer.get("/console/fairs/my-fees"))
    reference = re.search(r'class="transfer-reference">(OCOP\d+)<', mine).group(1)
    assert 'src="data:image/svg+xml;base64,' in mine and "1.500.000 ₫" in mine
    listed = text(organiser.get(f"/console/fairs/fees?event={fair.event_id}"))
    assert reference in listed and 'data-status="unpaid"' in listed
    # another producer cannot start a transfer for it; the organiser cannot use the producer's page
    assert post(logged_in(app, "cs.htx-binh-minh"), f"/console/fairs/{fair.event_id}/fees/{fee_id}/transfer"
                ).status_code == 403
    assert organiser.get("/console/fairs/my-fees").status_code == 403
    assert producer.get(f"/console/fairs/fees?event={fair.event_id}").status_code == 403
    before = counts()
    assert post(organiser, f"/console/fairs/{fair.event_id}/fees/{fee_id}/pay", {"method": "cheque"}).status_code == 422
    assert post(organiser, f"/console/fairs/{fair.event_id}/fees/{fee_id}/pay",
                {"method": "bank_transfer"}).status_code == 422  # a transfer needs the bank's reference
    assert counts() == before
    paid = post(organiser, f"/console/fairs/{fair.event_id}/fees/{fee_id}/pay",
                {"method": "bank_transfer", "reference": "FT26330001"})
    assert paid.status_code == 302
    listed = text(organiser.get(f"/console/fairs/fees?event={fair.event_id}"))
    assert f'id="fee-{fee_id}" data-status="paid"' in listed
    again = post(organiser, f"/console/fairs/{fair.event_id}/fees/{fee_id}/pay", {"method": "cash"})
    assert again.status_code == 409
    assert [p.status for p in fees.payables.payments_of(fees.PAYABLE_KIND, fee_id)] == ["succeeded"]


# --- producer -------------------------------------------------------------------------------------------
def test_producer_applies_with_listed_products_and_withdraws(app, demo):
    fair = build("open")
    producer = logged_in(app, "cs.htx-binh-loi")
    page = producer.get("/console/fairs/mine")
    assert page.status_code == 200 and f"/console/fairs/apply?event={fair.event_id}" in text(page)
    form = producer.get(f"/console/fairs/apply?event={fair.event_id}")
    product_ids = re.findall(r'name="product_ids" value="(\d+)"', text(form))
    assert form.status_code == 200 and product_ids
    before = counts()
    bad = post(producer, f"/console/fairs/{fair.event_id}/apply",
               {"product_ids": product_ids, "contact_name": "Chị Hoa", "contact_phone": "abc"})
    assert bad.status_code == 422 and 'id="apply-error"' in text(bad) and counts() == before
    done = post(producer, f"/console/fairs/{fair.event_id}/apply",
                {"product_ids": product_ids, "contact_name": "Chị Hoa", "contact_phone": "0903 123 456"})
    assert done.status_code == 302
    application = db.session.execute(select(FairApplication).where(
        FairApplication.event_id == fair.event_id)).scalar_one()
    assert application.status == "submitted"
    assert post(logged_in(app, "cs.htx-binh-minh"),
                f"/console/fairs/applications/{application.id}/withdraw").status_code == 403
    assert post(producer, f"/console/fairs/applications/{application.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert db.session.get(FairApplication, application.id).status == "withdrawn"
    assert logged_in(app, "sct.dongnai").get("/console/fairs/mine").status_code == 403


def test_booth_staff_sells_at_the_till_and_the_booth_stock_drops(app, demo):
    fair = build("running")
    assignment_id = fair.assignments["cs.htx-binh-loi"]
    booth_stock.add_staff(user("cs.htx-binh-loi"), assignment_id,
                          {"username": "booth.a01", "password": OPERATOR_PASSWORD})
    commit()
    staff = logged_in(app, "booth.a01", OPERATOR_PASSWORD)
    page = staff.get("/console/fairs/booths")
    assert page.status_code == 200 and f'id="booth-till-{assignment_id}"' in text(page)
    assert re.search(r'data-sku="BL-BDX-1">20<', text(page))
    variant = re.search(r'name="variant_id" value="(\d+)"', text(page)).group(1)
    too_many = post(staff, f"/console/fairs/booths/{assignment_id}/sale",
                    {"variant_id": variant, "quantity": "999", "payment_method": "cash"})
    assert too_many.status_code == 409
    sold = post(staff, f"/console/fairs/booths/{assignment_id}/sale",
                {"variant_id": variant, "quantity": "3", "payment_method": "card", "client_ref": "t1"})
    assert sold.status_code == 302
    page = text(staff.get("/console/fairs/booths"))
    assert re.search(r'data-sku="BL-BDX-1">17<', page)
    # another exhibitor's booth is not this operator's
    other = fair.assignments["cs.htx-binh-minh"]
    assert post(staff, f"/console/fairs/booths/{other}/sale",
                {"variant_id": variant, "quantity": "1", "payment_method": "cash"}).status_code == 403
    assert staff.get("/console/fairs").status_code == 403
    # the producer sees the same booth, its sale and the settlement export
    producer = logged_in(app, "cs.htx-binh-loi")
    assert re.search(r'data-sku="BL-BDX-1">17<', text(producer.get("/console/fairs/booths")))
    csv = producer.get(f"/console/fairs/settlement/export?assignment={assignment_id}&format=csv")
    assert csv.status_code == 200 and "BL-BDX-1" in text(csv)
    organiser = logged_in(app, "sct.dongnai")
    settlement = organiser.get(f"/console/fairs/settlement?event={fair.event_id}")
    assert settlement.status_code == 200 and f'id="settlement-{assignment_id}"' in text(settlement)
    xlsx = organiser.get(f"/console/fairs/settlement/export?assignment={assignment_id}&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert logged_in(app, "cs.htx-binh-minh").get(
        f"/console/fairs/settlement/export?assignment={assignment_id}&format=csv").status_code == 403


def test_menu_entries_per_role(app, demo):
    def menu(client):
        return re.findall(r'<aside class="console-menu">(.*?)</aside>', text(client.get("/console/", follow_redirects=True)), re.S)[0]
    assert "/console/fairs\"" in menu(logged_in(app, "sct.dongnai"))
    producer_menu = menu(logged_in(app, "cs.htx-binh-loi"))
    assert "/console/fairs/mine" in producer_menu and "/console/fairs/my-fees" in producer_menu
    assert "/console/fairs\"" not in producer_menu


def test_fairs_switched_off_take_their_pages_and_menu_away(instance_path, database_url, app, demo):
    from conftest import make_settings
    from core.app import create_app
    other = create_app(make_settings(instance_path, database_url, plugins_disabled=["fairs"]))
    rules = {r.rule for r in other.url_map.iter_rules()}
    assert not [r for r in rules if r.startswith("/console/fairs")] and "/console/products" in rules
    assert "console_fairs" not in {m.endpoint.split(".")[0] for m in other.extensions["ocop_console"].menu}
    client = other.test_client()
    assert console_login(client, "sct.dongnai").status_code == 302
    assert client.get("/console/fairs").status_code == 404
    assert "/console/fairs" not in text(client.get("/console/", follow_redirects=True))


def test_vietqr_of_a_fee_decodes_to_its_amount_and_reference(app, demo):
    fair = build("assigned")
    producer = logged_in(app, "cs.htx-binh-loi")
    fee_id = db.session.execute(select(FairFeeLine.id).where(FairFeeLine.event_id == fair.event_id,
                                                             FairFeeLine.booth_code == "A01")).scalar_one()
    post(producer, f"/console/fairs/{fair.event_id}/fees/{fee_id}/transfer")
    transfer = fees.view(db.session.get(FairFeeLine, fee_id)).transfer
    parsed = vietqr.parse_payload(transfer["vietqr"])
    assert (parsed.amount, parsed.purpose) == (1_500_000, transfer["transfer_reference"])
