"""Shared set-up for the sales points plugin tests: two points in Đồng Nai with one operator each."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

BASE = "/admin/v1/sales-points"
PASSWORD = "op-pass-2026"
HOURS = {"mon": [{"open": "07:30", "close": "21:00"}], "sat": [{"open": "08:00", "close": "12:00"},
                                                               {"open": "13:30", "close": "22:00"}],
         "note": "Nghỉ Tết Nguyên đán"}


@dataclass
class Points:
    client: object
    login: object
    a: int
    b: int
    organiser: dict
    op_a: dict
    op_b: dict
    admin: dict
    ids: dict = field(default_factory=dict)

    def variant(self, sku: str):
        from core.db import db
        from core.catalogue.models import Variant
        return db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()

    def producer_id(self, sku: str) -> int:
        return self.variant(sku).product.producer_id


def make_point(client, headers, name, commune="26188", **extra):
    body = {"name": name, "location_kind": "tourist_site_hotel_restaurant", "commune_code": commune,
            "address": "Khu du lịch Bửu Long, Đồng Nai", "opening_hours": HOURS,
            "contacts": {"phone": "0251 3812 345", "contact_name": "Chị Lan"},
            "managing_organisation": "Trung tâm Xúc tiến Thương mại Đồng Nai",
            "recognition_decision_no": "123/QĐ-SCT", **extra}
    response = client.post(BASE, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bind(client, headers, point_id, username):
    response = client.post(f"{BASE}/{point_id}/operators", json={"username": username, "password": PASSWORD,
                                                                 "full_name": f"Nhân viên {username}"},
                           headers=headers)
    assert response.status_code == 201, response.get_json()


def setup_points(client, login) -> Points:
    """Demo catalogue must be loaded. Point A (Tân Triều) with op.a, point B (Trị An) with op.b."""
    organiser = login("sct.dongnai")
    a = make_point(client, organiser, "Điểm OCOP Bửu Long", commission_rate_bp=1500)
    b = make_point(client, organiser, "Điểm OCOP Trị An", commune="26170", location_kind="highway_stop")
    bind(client, organiser, a["id"], "op.a")
    bind(client, organiser, b["id"], "op.b")
    return Points(client=client, login=login, a=a["id"], b=b["id"], organiser=organiser,
                  op_a=login("op.a", PASSWORD), op_b=login("op.b", PASSWORD), admin=login("admin"))


def receive(points: Points, point_id: int, headers: dict, producer_sku: str, lines: list[dict], **extra):
    body = {"producer_id": points.producer_id(producer_sku), "lines": lines, **extra}
    return points.client.post(f"{BASE}/{point_id}/receipts", json=body, headers=headers)


def sell(points: Points, point_id: int, headers: dict, lines: list[dict], method="cash", **extra):
    body = {"payment_method": method, "lines": lines, **extra}
    return points.client.post(f"{BASE}/{point_id}/sales", json=body, headers=headers)


def on_hand(points: Points, point_id: int, sku: str) -> int:
    from core.db import db
    from core.inventory import ledger
    from plugins.sales_points.models import SalesPoint
    db.session.expire_all()
    point = db.session.get(SalesPoint, point_id)
    return ledger.stock_level(points.variant(sku), point.stock_location_id)["on_hand"]


def ledger_ok() -> None:
    from core.db import db
    from core.inventory import ledger
    db.session.expire_all()
    assert ledger.verify_ledger() == []
