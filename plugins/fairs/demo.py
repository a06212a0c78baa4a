"""The demo fair: Đồng Nai's OCOP fair, 13 booths in 3 zones, applications from the demo producers, allocation done
through the automatic proposal, goods moved to the booths and a few booth sales. Loaded by ``ocop fairs seed-demo``
after the core demo catalogue (idempotent); it is running today, so the storefront lists it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import clock
from core.accounts.models import User
from core.catalogue import listing
from core.catalogue.models import Producer, Product
from core.db import db
from core.inventory import ledger
from plugins.fairs import allocation, applications, booth_stock, events, fees, trade
from plugins.fairs.models import FairEvent

SLUG = "hoi-cho-ocop-dong-nai-2026"
ZONES = [{"code": "A", "name": "Thực phẩm", "product_group": "food", "x": 2, "y": 2, "w": 44, "h": 26},
         {"code": "B", "name": "Đồ uống và thảo dược", "product_group": "beverages", "x": 50, "y": 2, "w": 46, "h": 26},
         {"code": "C", "name": "Thủ công mỹ nghệ và gian tỉnh", "product_group": None, "x": 2, "y": 32, "w": 94,
          "h": 26}]


def _booths() -> list[dict]:
    rows = []
    for k in range(5):
        rows.append({"code": f"A{k + 1:02d}", "zone_code": "A", "booth_type": "corner" if k in (0, 4) else "standard",
                     "size_m2": 9, "price": 3_000_000 if k in (0, 4) else 2_000_000, "services": ["power"],
                     "x": 4 + 8 * k, "y": 8, "w": 7, "h": 10})
    for k in range(4):
        rows.append({"code": f"B{k + 1:02d}", "zone_code": "B", "booth_type": "premium" if k == 0 else "standard",
                     "size_m2": 12 if k == 0 else 9, "price": 4_000_000 if k == 0 else 2_000_000,
                     "services": ["power", "fridge"], "x": 52 + 10 * k, "y": 8, "w": 8, "h": 10})
    for k in range(3):
        rows.append({"code": f"C{k + 1:02d}", "zone_code": "C", "booth_type": "standard", "size_m2": 9,
                     "price": 2_000_000, "services": [], "x": 4 + 8 * k, "y": 38, "w": 7, "h": 10})
    rows.append({"code": "P01", "zone_code": "C", "booth_type": "pavilion", "size_m2": 36, "price": 6_000_000,
                 "capacity": 3, "services": ["power", "water"], "x": 40, "y": 36, "w": 30, "h": 18})
    return rows


def seed_demo_fair() -> dict:
    """Create and run the demo fair (an existing one is kept). Flushes."""
    found = db.session.execute(select(FairEvent).where(FairEvent.slug == SLUG)).scalar_one_or_none()
    if found is not None:
        return {"skipped": True, "event_id": found.id}
    users = {u.username: u for u in db.session.execute(select(User)).scalars()}
    organiser = users.get("sct.dongnai")
    if organiser is None:
        return {"skipped": True, "reason": "the core demo catalogue is not loaded (ocop seed demo)"}
    today = clock.today()
    event = events.create_event(organiser, {
        "name": "Hội chợ sản phẩm OCOP Đồng Nai 2026", "slug": SLUG, "kind": "fair", "venue_unit_code": "26170",
        "venue_address": "Quảng trường trung tâm, xã Trị An, Đồng Nai", "latitude": 11.0996, "longitude": 107.0353,
        "starts_on": today, "ends_on": today + dt.timedelta(days=4), "opening_hours": {"open": "08:00", "close": "21:30"},
        "applications_open_on": today - dt.timedelta(days=20), "applications_close_on": today,
        "fee_policy": "subsidised", "subsidy_share_bp": 5000, "open_to_other_provinces": True,
        "map_width": 100, "map_height": 60})
    for zone in ZONES:
        events.add_zone(organiser, event, zone)
    events.add_booths(organiser, event, _booths())
    events.transition(organiser, event, "open")
    applied = []
    for producer in db.session.execute(select(Producer).order_by(Producer.id)).scalars():
        user = next((u for u in users.values() if u.role == "producer" and u.producer_id == producer.id), None)
        shown = [p.id for p in db.session.execute(select(Product).where(Product.producer_id == producer.id)
                                                  .order_by(Product.id)).scalars() if listing.is_listed(p)]
        if user is None or not shown:
            continue
        applied.append(applications.submit(user, event, {
            "product_ids": shown, "contact_name": producer.contact_name or producer.name,
            "contact_phone": producer.phone or "0251 3822 000", "needs": ["power"]}))
    events.transition(organiser, event, "allocating")
    for application in applied:
        applications.review(organiser, application, {"decision": "approve"})
    proposal = allocation.propose(organiser, event)
    assignments = allocation.accept(organiser, event, [{"application_id": i["application_id"],
                                                        "booth_id": i["booth_id"]} for i in proposal["items"]])
    first_fee = next((a.fee for a in assignments if a.fee.status == "unpaid"), None)
    if first_fee is not None:
        fees.pay_fee(organiser, event, first_fee.id, {"method": "desk", "reference": "PT26DEMO0001"})
    events.transition(organiser, event, "published")
    sales, stocked = 0, {}
    for assignment in assignments:
        user = next(u for u in users.values() if u.role == "producer" and u.producer_id == assignment.producer_id)
        lines = _stocked_lines(assignment)
        if not lines:
            continue
        move = booth_stock.dispatch(user, assignment.id, {"direction": "in", "lines": lines})
        booth_stock.receive(user, move.id, {})
        stocked[assignment.id] = user
    events.transition(organiser, event, "running")
    for n, assignment in enumerate(assignments):
        user = stocked.get(assignment.id)
        if user is None:
            continue
        line = _stocked_lines(assignment, booth=True)[:1]
        if line:
            booth_stock.sell(user, assignment.id, {"lines": [{"variant_id": line[0]["variant_id"], "quantity": 1}],
                                                   "payment_method": "cash", "client_ref": f"demo-{n}"})
            sales += 1
    trade.record_visitors(organiser, event, {"day": today, "gate": "Cổng chính", "visitors": 1250})
    if assignments:
        trade.record_deal(organiser, event, {"producer_id": assignments[0].producer_id, "kind": "mou",
                                             "buyer_name": "Công ty TNHH Phân phối Nông sản Sạch Miền Đông",
                                             "value": 250_000_000, "product_ids": [], "signed_on": today})
    db.session.flush()
    return {"event_id": event.id, "slug": event.slug, "booths": len(event.booths), "applications": len(applied),
            "assignments": len(assignments), "sales": sales}


def _stocked_lines(assignment, booth: bool = False) -> list[dict]:
    """Up to 5 units of each exhibited variant the producer's warehouse (or the booth) holds."""
    lines = []
    for product in db.session.execute(select(Product).where(Product.id.in_(assignment.application.product_ids))
                                      .order_by(Product.id)).scalars():
        for variant in product.variants:
            if variant.is_service:
                continue
            location = assignment.stock_location_id if booth else None
            if location is None:
                warehouse = booth_stock.warehouse_of(assignment)
                location = warehouse.id if warehouse else None
            if location is None:
                continue
            available = ledger.stock_level(variant, location)["available"]
            if available > 0:
                lines.append({"variant_id": variant.id, "quantity": min(5, available)})
    return lines
