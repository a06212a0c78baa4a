"""Stock under concurrency (PostgreSQL): no overselling, no lost updates, ledger and figures agree.

Each worker thread pushes its own app context, so it gets its own session
and database connection, like concurrent requests do.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from core.db import commit, db
from core.errors import DomainError
from core.inventory.models import Stock, StockLocation, StockMovement
from core.catalogue.models import Variant
from core.inventory import ledger


@pytest.fixture
def fifty(postgres_url, app, demo):
    """Cam Vũ Quang counted down to 50 in its producer's warehouse → (app, variant id, location id)."""
    v = db.session.execute(select(Variant).where(Variant.sku == "VQ-CAM-5KG")).scalar_one()
    wh = db.session.execute(select(StockLocation).where(StockLocation.producer_id == v.product.producer_id)).scalar_one()
    ledger.count(wh, v, 50, actor=None, reason="kiểm kê trước thử tải")
    commit()
    return app, v.id, wh.id


def run_in_threads(app, jobs, workers=20):
    """Run ``jobs`` (callables) concurrently, each in its own app context; released together by a barrier."""
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


def figures(variant_id, location_id):
    db.session.expire_all()
    s = db.session.execute(select(Stock).where(Stock.variant_id == variant_id,
                                               Stock.location_id == location_id)).scalar_one()
    return s.on_hand, s.allocated


def test_100_concurrent_allocations_against_50_in_stock(fifty):
    app, variant_id, location_id = fifty

    def allocate_one(n):
        def job():
            try:
                ledger.allocate(variant_id, 1, reference=f"order:CONC-{n:03d}")
                commit()
                return "ok"
            except DomainError as exc:
                db.session.rollback()
                return exc.code
        return job

    results = run_in_threads(app, [allocate_one(n) for n in range(100)])
    assert results.count("ok") == 50
    assert results.count("stock.insufficient") == 50
    assert figures(variant_id, location_id) == (50, 50)
    allocations = db.session.execute(select(func.count()).select_from(StockMovement)
                                     .where(StockMovement.kind == "allocation")).scalar_one()
    assert allocations == 50
    assert ledger.verify_ledger() == []


def test_two_operators_adjusting_the_same_stock_at_once(fifty):
    app, variant_id, location_id = fifty

    def operator(delta, times):
        def job():
            done = 0
            for _ in range(times):
                try:
                    ledger.adjust(location_id, variant_id, delta, actor=None, reason="điều chỉnh song song")
                    commit()
                    done += 1
                except DomainError:
                    db.session.rollback()
            return done
        return job

    # one adds 30 units one by one while the other removes 30: no update may be lost
    assert run_in_threads(app, [operator(+1, 30), operator(-1, 30)], workers=2) == [30, 30]
    assert figures(variant_id, location_id) == (50, 0)
    # both remove 40 units from 50: exactly 50 removals succeed and stock never goes negative
    done = run_in_threads(app, [operator(-1, 40), operator(-1, 40)], workers=2)
    assert sum(done) == 50
    assert figures(variant_id, location_id) == (0, 0)
    assert ledger.verify_ledger() == []


def test_concurrent_counts_receipts_and_allocations_keep_the_ledger(fifty):
    app, variant_id, location_id = fifty

    def receipt():
        ledger.receive(location_id, variant_id, 5, actor=None, reason="nhập")
        commit()

    def allocation(n):
        def job():
            try:
                ledger.allocate(variant_id, 3, location=location_id, reference=f"order:MIX-{n}")
                commit()
            except DomainError:
                db.session.rollback()
        return job

    def release(n):
        def job():
            ledger.release(f"order:MIX-{n}")
            commit()
        return job

    jobs = [receipt for _ in range(10)] + [allocation(n) for n in range(20)] + [release(n) for n in range(0, 20, 2)]
    run_in_threads(app, jobs)
    on_hand, allocated = figures(variant_id, location_id)
    assert on_hand == 100 and 0 <= allocated <= on_hand
    assert ledger.verify_ledger() == []
