"""The demo's recorded livestream: two Đồng Nai producers, a showcase of three products, 111 comments.

``data/demo_session.jsonl`` holds the comments, ``data/demo_expected.json`` the draft orders they
must give (per viewer). Loaded by ``ocop livestream seed-demo`` after the core demo catalogue.
"""
from __future__ import annotations

import datetime as dt
import json
from importlib import resources

from sqlalchemy import select

from core.accounts.models import User
from core.catalogue.models import Variant
from core.db import db
from plugins.livestream import comments, metrics, sessions, showcases
from plugins.livestream.models import LivestreamSession

TITLE = "Phiên demo: Bưởi da xanh Bình Lợi và quýt hữu cơ Phú Lý"
#: code → {sku: (words viewers use, session price in VND or None, units held)}
SHOWCASE = {"A1": {"BL-BDX-1": ("Loại 1", 59000, 20), "BL-BDX-HOP2": ("Hộp quà", 139000, 10)},
            "A2": {"BL-TDB-10": ("Lọ 10ml", None, 0), "BL-TDB-50": ("Lọ 50ml", 175000, 5)},
            "B1": {"BM-QHC-1KG": ("Túi 1kg", 65000, 20)}}
STARTED = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.timezone.utc)  # 20:00 in Vietnam
ENDED = STARTED + dt.timedelta(minutes=40)


def _data(name: str) -> str:
    return resources.files("plugins.livestream").joinpath(f"data/{name}").read_text("utf-8")


def recorded_comments() -> list[dict]:
    return [json.loads(line) for line in _data("demo_session.jsonl").splitlines() if line.strip()]


def expected_drafts() -> dict[str, list[dict]]:
    return json.loads(_data("demo_expected.json"))


def seed_demo_session() -> dict:
    """Create, run and end the recorded session (idempotent: an existing demo session is kept). Flushes."""
    found = db.session.execute(select(LivestreamSession).where(LivestreamSession.title == TITLE)).scalar_one_or_none()
    if found is not None:
        return {"skipped": True, "session_id": found.id}
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one_or_none()
    variants = {v.sku: v for v in db.session.execute(
        select(Variant).where(Variant.sku.in_([s for item in SHOWCASE.values() for s in item]))).scalars()}
    if admin is None or len(variants) < sum(len(item) for item in SHOWCASE.values()):
        return {"skipped": True, "reason": "the core demo catalogue is not loaded (ocop demo)"}
    producer_ids = list(dict.fromkeys(variants[s].product.producer_id for item in SHOWCASE.values() for s in item))
    session = sessions.create_session(admin, {"platform": "facebook", "title": TITLE, "scheduled_at": STARTED,
                                              "stream_url": "https://www.facebook.com/htxbinhloi/videos/demo",
                                              "producer_ids": producer_ids})
    for code, offered in SHOWCASE.items():
        product = variants[next(iter(offered))].product
        showcases.pin_product(admin, session, {"code": code, "product_id": product.id, "variants": [
            {"variant_id": variants[sku].id, "words": words, "session_price": price, "hold_quantity": hold}
            for sku, (words, price, hold) in offered.items()]})
    sessions.go_live(admin, session)
    session.started_at = STARTED
    result = comments.ingest(session, recorded_comments())
    metrics.record_samples(session, [{"at": STARTED + dt.timedelta(minutes=m), "views": 150 * m, "peak_viewers": 40 + 9 * m,
                                      "likes": 30 * m, "shares": 2 * m, "comments": 3 * m} for m in range(0, 41, 10)])
    sessions.end(admin, session)
    session.ended_at = ENDED
    db.session.flush()
    return {"session_id": session.id, **result}
