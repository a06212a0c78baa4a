#!/usr/bin/env python3
"""App CPU per counter sale: a sales point till posting sales through the real app (in process).

    python benchmarks/counter_sale.py [--database-url postgresql://postgres@127.0.0.1:5432/ocop_bench_counter]
                                      [--sales 300] [--lines 2] [--broker redis://127.0.0.1:6379/13]

The database is a THROWAWAY one (default: a temporary SQLite file; a PostgreSQL database has its schema
dropped and rebuilt): migrations, the demo catalogue, one sales point with an operator and plenty of stock
in two lots per variant. Then, one after the other (a till is one person), ``--sales`` counter sales of
``--lines`` lines each (cash with change, a fresh ``client_ref``) go through the Flask test client —
authentication, schema, ``core.sales.counter.record_counter_sale``, the till receipt, the request's commit
and the after-commit hooks — and the same number again straight through the service (commit included,
no HTTP). CPU is this process's (``time.process_time``), so on PostgreSQL the database server's work is
not in it; SQL statements are counted per sale. Search-index updates go to the broker when it is
reachable (``--broker``), as in production; no worker drains them during the run.

Last line: ``request_cpu_ms_per_sale=… service_cpu_ms_per_sale=… wall_ms_per_sale=… statements_per_sale=…``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.checkout import broker_reachable, ensure_database  # noqa: E402

SKUS = ("BL-BDX-1", "BL-TDB-10", "BL-BDX-HOP2")
PASSWORD = "op-pass-2026"


def build(app, stock: int) -> dict:
    """Demo catalogue, one point with an operator, ``stock`` units of each SKU in two lots; returns ids."""
    from sqlalchemy import select
    from core import migrate
    from core.accounts.models import User
    from core.catalogue.models import Variant
    from core.db import commit, db
    from core.demo import seed_demo
    from core.inventory import ledger
    from plugins.sales_points import services
    import datetime as dt
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        migrate.upgrade()
        seed_demo()
        admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
        point = services.create_point(admin, {"name": "Điểm OCOP Bửu Long", "commune_code": "26188",
                                              "location_kind": "tourist_site_hotel_restaurant",
                                              "address": "Khu du lịch Bửu Long, Đồng Nai"})
        services.bind_operator(admin, point, {"username": "op.bench", "password": PASSWORD,
                                              "full_name": "Thu ngân"})
        for sku in SKUS:
            variant = db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()
            for lot_no, best_before in (("EARLY", dt.date(2027, 1, 15)), ("LATE", dt.date(2027, 6, 1))):
                ledger.receive(point.stock_location_id, variant, stock // 2, actor=admin, reason="benchmark",
                               reference="bench", lot_no=lot_no, best_before=best_before)
        ids = {"point": point.id, "channel": point.sales_channel_id, "location": point.stock_location_id,
               "variants": [db.session.execute(select(Variant.id).where(Variant.sku == sku)).scalar_one()
                            for sku in SKUS]}
        commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        return ids


class StatementCounter:
    def __init__(self, engine):
        from sqlalchemy import event
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs):
        self.count += 1


def through_requests(app, ids: dict, sales: int, lines: int, warmup: int) -> dict:
    client = app.test_client()
    token = client.post("/auth/token", json={"username": "op.bench", "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    body_lines = [{"sku": sku, "quantity": 1} for sku in SKUS[:lines]]
    url = f"/admin/v1/sales-points/{ids['point']}/sales"

    def sale(n):
        response = client.post(url, headers=headers, json={"payment_method": "cash", "amount_tendered": 500000,
                                                           "client_ref": f"bench-http-{n}", "lines": body_lines})
        assert response.status_code == 201, response.get_json()

    for n in range(warmup):
        sale(-1 - n)
    with app.app_context():
        from core.db import db
        counter = StatementCounter(db.engine)
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(sales):
        sale(n)
    return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "statements": counter.count}


def through_the_service(app, ids: dict, sales: int, lines: int, warmup: int) -> dict:
    from core.accounts.models import User
    from core.db import commit, db
    from core.sales import counter
    from sqlalchemy import select
    with app.app_context():
        user_id = db.session.execute(select(User.id).where(User.username == "op.bench")).scalar_one()
    sale_lines = [counter.CounterLine(variant_id, 1) for variant_id in ids["variants"][:lines]]
    payments = [counter.CounterPayment("cash", tendered=500000)]

    def sale(n):
        with app.app_context():
            counter.record_counter_sale(ids["channel"], ids["location"], sale_lines, payments,
                                        db.session.get(User, user_id), client_ref=f"bench-svc-{n}")
            commit()

    for n in range(warmup):
        sale(-1 - n)
    with app.app_context():
        statements = StatementCounter(db.engine)
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(sales):
        sale(n)
    return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "statements": statements.count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="a THROWAWAY database (default: temporary SQLite)")
    parser.add_argument("--sales", type=int, default=300)
    parser.add_argument("--lines", type=int, default=2, choices=(1, 2, 3))
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13",
                        help="Celery broker for after-commit tasks ('' = in-process)")
    args = parser.parse_args()
    os.environ["OCOP_TODAY"] = "2026-11-23"
    tmp = tempfile.TemporaryDirectory(prefix="ocop-bench-counter-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    if url.startswith("postgresql"):
        ensure_database(url)
    broker = args.broker if args.broker and broker_reachable(args.broker) else ""
    if broker:
        import redis
        redis.Redis.from_url(broker).flushdb()
    from core.app import create_app
    from core.config import load_settings
    app = create_app(load_settings({"OCOP_BROKER_URL": broker} if broker else {}, instance_path=Path(tmp.name),
                                   database_url=url, password_hash_method="scrypt:1024:8:1"))
    stock = 4 * (args.sales + args.warmup) + 100
    ids = build(app, stock)
    http = through_requests(app, ids, args.sales, args.lines, args.warmup)
    service = through_the_service(app, ids, args.sales, args.lines, args.warmup)
    with app.app_context():
        from core.db import db
        from core.inventory import ledger
        from core.sales.models import Order
        from sqlalchemy import func, select
        orders = db.session.execute(select(func.count()).select_from(Order)).scalar_one()
        mismatches = len(ledger.verify_ledger())
        engine = db.engine.dialect.name
    if broker:
        import redis
        redis.Redis.from_url(broker).flushdb()
    n = args.sales
    print(f"engine={engine} broker={'redis' if broker else 'in-process'} sales={n} lines_per_sale={args.lines}")
    print(f"orders={orders} ledger_mismatches={mismatches}")
    print(f"request_cpu_ms_per_sale={http['cpu'] / n * 1000:.2f} service_cpu_ms_per_sale={service['cpu'] / n * 1000:.2f}"
          f" wall_ms_per_sale={http['wall'] / n * 1000:.2f} service_wall_ms_per_sale={service['wall'] / n * 1000:.2f}"
          f" statements_per_sale={http['statements'] / n:.1f} service_statements_per_sale="
          f"{service['statements'] / n:.1f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
