"""Helpers for pricing tests: users, variants, promotions and vouchers made through the real services."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import clock

VN = clock.VN_TZ


def user(username: str):
    from core.accounts.models import User
    from core.db import db
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def variant(sku: str):
    from core.catalogue.models import Variant
    from core.db import db
    return db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()


def window(days_before: float = 1, days_after: float = 6) -> dict:
    """A window around now (Vietnam time), as the services take it."""
    now = clock.now()
    return {"starts_at": now - dt.timedelta(days=days_before), "ends_at": now + dt.timedelta(days=days_after)}


def make_promotion(owner: str = "admin", activate: bool = True, opt_in: tuple = (), **fields):
    """A promotion created (and activated, and joined by ``opt_in`` producer users) through the services; committed."""
    from core.db import commit
    from core.pricing import promotions
    data = {"name": "Khuyến mãi thử", "name_en": "Test promotion", "kind": "percentage", "value": 10,
            "requires_opt_in": False, **window(), **fields}
    if owner != "admin":
        data.pop("requires_opt_in", None)
    promotion = promotions.create_promotion(user(owner), data)
    if activate:
        promotions.activate_promotion(user(owner), promotion)
    for username in opt_in:
        promotions.opt_in(user(username), promotion)
    commit()
    return promotion


def make_voucher(owner: str = "admin", code: str = "THU-NGHIEM", activate: bool = True, **fields):
    from core.db import commit
    from core.pricing import vouchers
    data = {"code": code, "name": "Mã thử", "name_en": "Test code", "kind": "percentage", "value": 10,
            **window(), **fields}
    voucher = vouchers.create_voucher(user(owner), data)
    if activate:
        vouchers.activate_voucher(user(owner), voucher)
    commit()
    return voucher


def iso(moment: dt.datetime) -> str:
    """An aware datetime as the API takes it (Vietnam time)."""
    return moment.astimezone(VN).isoformat()


def run_in_threads(app, jobs, workers: int = 20) -> list:
    """Run ``jobs`` concurrently, each in its own app context (own session and connection), released by a barrier."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from core.db import db
    barrier = threading.Barrier(min(workers, len(jobs)))

    def wrap(job):
        def run():
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                except threading.BrokenBarrierError:
                    pass
                try:
                    return job()
                finally:
                    db.session.remove()
        return run

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [f.result() for f in [pool.submit(wrap(job)) for job in jobs]]
