"""Helpers for the livestream plugin tests: a session with the demo showcase, signed webhook calls."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

BASE = "/admin/v1/livestreams"
ADDRESS = {"province_code": "75", "commune_code": "26188", "street": "12 Nguyễn Văn Trỗi"}
CONFIRM = {"full_name": "Nguyễn Thị Lan", "phone": "0912345678", "shipping_address": ADDRESS,
           "payment_gateway": "cod"}


@dataclass
class Live:
    id: int
    secret: str
    code: str
    admin: dict
    items: dict


def variant_ids(*skus):
    from core.db import db
    from core.catalogue.models import Variant
    rows = db.session.execute(select(Variant.sku, Variant.id, Variant.product_id).where(Variant.sku.in_(skus))).all()
    return {sku: (vid, pid) for sku, vid, pid in rows}


def producer_id(sku: str) -> int:
    from core.db import db
    from core.catalogue.models import Product, Variant
    return db.session.execute(select(Product.producer_id).join(Variant, Variant.product_id == Product.id)
                              .where(Variant.sku == sku)).scalar_one()


def make_session(client, login, *, holds=None, start=True, user="admin") -> Live:
    """The demo showcase (A1 bưởi, A2 tinh dầu, B1 quýt) on a facebook session hosted by two Đồng Nai producers."""
    from plugins.livestream.demo import SHOWCASE
    headers = login(user)
    ids = variant_ids(*[s for item in SHOWCASE.values() for s in item])
    hosts = sorted({producer_id(sku) for sku in ids})
    response = client.post(BASE, headers=headers, json={"platform": "facebook", "title": "Phiên thử",
                                                        "scheduled_at": "2026-11-23T20:00:00+07:00",
                                                        "producer_ids": hosts})
    assert response.status_code == 201, response.get_json()
    session = response.get_json()
    items = {}
    for code, offered in SHOWCASE.items():
        product_id = ids[next(iter(offered))][1]
        body = {"code": code, "product_id": product_id, "variants": [
            {"variant_id": ids[sku][0], "words": words, "session_price": price,
             "hold_quantity": (holds or {}).get(sku, 0)} for sku, (words, price, _) in offered.items()]}
        r = client.post(f"{BASE}/{session['id']}/showcase", headers=headers, json=body)
        assert r.status_code == 201, r.get_json()
        items[code] = r.get_json()
    if start:
        assert client.post(f"{BASE}/{session['id']}/start", headers=headers).status_code == 200
    return Live(session["id"], session["webhook_secret"], session["tracking_code"], headers, items)


def push(client, live: Live, comments, *, fmt=None, secret=None, raw=None):
    """POST a signed webhook batch."""
    from plugins.livestream.comments import sign
    body = raw if raw is not None else json.dumps(comments, ensure_ascii=False).encode()
    query = f"?format={fmt}" if fmt else ""
    return client.post(f"/storefront/v1/livestreams/{live.id}/webhook{query}", data=body, content_type="application/json",
                       headers={"X-Livestream-Signature": sign(secret or live.secret, body)})


def comment(n, author, text, minute=0):
    return {"id": f"t{n}", "author_id": author, "author_name": author.upper(), "text": text,
            "created_at": f"2026-11-23T20:{minute:02d}:{n % 60:02d}+07:00"}


def drafts(client, live: Live, **query):
    r = client.get(f"{BASE}/{live.id}/drafts", headers=live.admin, query_string=query)
    assert r.status_code == 200, r.get_json()
    return {d["author_id"]: d for d in r.get_json()["results"]}
