"""Shared set-up for the fairs tests: a small fair in Đồng Nai built through the plugin's services, up to a stage.

Needs the demo catalogue (the ``demo`` fixture); every stage commits, as a request would.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, inspect, select

from core.accounts.authentication import create_user
from core.accounts.models import User
from core.catalogue import listing
from core.catalogue.models import Product, Variant
from core.db import db
from plugins.fairs import allocation, applications, booth_stock, events
from plugins.fairs.schemas import FairEventInSchema

BASE = "/admin/v1/fairs"
PUBLIC = "/storefront/v1/fairs"
PASSWORD = "ocop-demo-2026"
STAGES = ("draft", "open", "applied", "approved", "assigned", "published", "stocked", "running")
#: the exhibitors of the small fair (demo producers with listed products)
EXHIBITORS = ("cs.htx-binh-loi", "cs.htx-binh-minh", "cs.nhan-tuan-nhan")


def event_body(**extra) -> dict:
    return {"name": "Hội chợ OCOP Vĩnh Cửu", "kind": "fair", "venue_unit_code": "26170",
            "venue_address": "Sân vận động xã Trị An", "latitude": 11.1, "longitude": 107.03,
            "starts_on": "2026-11-25", "ends_on": "2026-11-28", "opening_hours": {"open": "08:00", "close": "21:00"},
            "applications_open_on": "2026-11-01", "applications_close_on": "2026-11-24",
            "fee_policy": "subsidised", "subsidy_share_bp": 5000, "map_width": 100, "map_height": 60, **extra}


ZONES = [{"code": "A", "name": "Thực phẩm", "product_group": "food", "x": 0, "y": 0, "w": 50, "h": 30},
         {"code": "B", "name": "Thủ công", "product_group": "handicrafts", "x": 50, "y": 0, "w": 50, "h": 30}]
BOOTHS = [{"code": "A01", "zone_code": "A", "booth_type": "corner", "size_m2": 9, "price": 3_000_000,
           "services": ["power"], "x": 1, "y": 1, "w": 10, "h": 10},
          {"code": "A02", "zone_code": "A", "booth_type": "standard", "size_m2": 9, "price": 2_000_000,
           "x": 12, "y": 1, "w": 10, "h": 10},
          {"code": "B01", "zone_code": "B", "booth_type": "standard", "size_m2": 9, "price": 2_000_000,
           "x": 51, "y": 1, "w": 10, "h": 10},
          {"code": "P01", "zone_code": "B", "booth_type": "pavilion", "size_m2": 30, "price": 4_000_000,
           "capacity": 2, "services": ["power", "water"], "x": 62, "y": 1, "w": 30, "h": 20}]


@dataclass
class Fair:
    event_id: int
    slug: str
    booths: dict = field(default_factory=dict)        # code → id
    applications: dict = field(default_factory=dict)  # username → id
    assignments: dict = field(default_factory=dict)   # username → id

    @property
    def url(self) -> str:
        return f"{BASE}/{self.event_id}"


def user(username: str):
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def make_user(username: str, role: str, **extra):
    """A user created and committed (e.g. an organiser of another province)."""
    made = create_user(username, PASSWORD, role, **extra)
    db.session.commit()
    return made


def product_ids(username: str) -> list[int]:
    """The listed products of a demo producer user."""
    producer_id = user(username).producer_id
    return [p.id for p in db.session.execute(select(Product).where(Product.producer_id == producer_id)
                                             .order_by(Product.id)).scalars() if listing.is_listed(p)]


def variant_id(sku: str) -> int:
    return db.session.execute(select(Variant.id).where(Variant.sku == sku)).scalar_one()


def build(stage: str = "running", **event_extra) -> Fair:
    """The small fair taken up to ``stage`` (see :data:`STAGES`), committed."""
    organiser = user("sct.dongnai")
    event = events.create_event(organiser, _parse(event_body(**event_extra)))
    for zone in ZONES:
        events.add_zone(organiser, event, zone)
    booths = events.add_booths(organiser, event, BOOTHS)
    fair = Fair(event.id, event.slug, {b.code: b.id for b in booths})
    steps = STAGES[1:STAGES.index(stage) + 1]
    for step in steps:
        if step == "open":
            events.transition(organiser, event, "open")
        elif step == "applied":
            for name in EXHIBITORS:
                app = applications.submit(user(name), event, {"product_ids": product_ids(name),
                                                              "contact_name": "Chị Hoa", "contact_phone": "0903123456"})
                fair.applications[name] = app.id
        elif step == "approved":
            events.transition(organiser, event, "allocating")
            for app_id in fair.applications.values():
                applications.review(organiser, applications.get_application(app_id), {"decision": "approve"})
        elif step == "assigned":
            places = {"cs.htx-binh-loi": "A01", "cs.htx-binh-minh": "A02", "cs.nhan-tuan-nhan": "P01"}
            for name, app_id in fair.applications.items():
                fair.assignments[name] = allocation.assign(organiser, event, app_id, fair.booths[places[name]]).id
        elif step == "published":
            events.transition(organiser, event, "published")
        elif step == "stocked":
            for name, sku, qty in (("cs.htx-binh-loi", "BL-BDX-1", 20), ("cs.htx-binh-minh", "BM-QHC-1KG", 10)):
                move = booth_stock.dispatch(user(name), fair.assignments[name], {
                    "direction": "in", "lines": [{"variant_id": variant_id(sku), "quantity": qty}]})
                booth_stock.receive(user(name), move.id, {})
        elif step == "running":
            events.transition(organiser, event, "running")
    db.session.commit()
    return fair


def _parse(body: dict) -> dict:
    return FairEventInSchema().load(body)


def counts() -> dict[str, int]:
    """Row counts of the fair tables and the core tables a fair writes (to prove a refusal wrote nothing)."""
    db.session.rollback()
    names = [t for t in db.metadata.sorted_tables
             if t.name.startswith("fair_") or t.name in ("stock_movement", "stock_location", "order", "audit_event",
                                                         "notification", "sales_channel", "stock")]
    existing = set(inspect(db.engine).get_table_names())
    return {t.name: db.session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in names if t.name in existing}


def error(response, status: int, code: str | None = None) -> dict:
    """Assert the error envelope with ``status`` (and ``code``)."""
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message", "message_en"} <= set(body["error"]), body
    assert body["error"]["message"] and body["error"]["message_en"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def day(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)
