#!/usr/bin/env python3
"""Server time per main page of the web console, on the demo plus the 20,000-product benchmark catalogue.

    python benchmarks/console.py [--database-url postgresql://postgres@127.0.0.1:5432/ocop_bench_console]
                                 [--products 20000] [--repeat 20]

The database is a THROWAWAY one (default: a temporary SQLite file; a PostgreSQL database has its schema
dropped and rebuilt): migrations, the demo catalogue (users, sales point with an operator) and
``--products`` synthetic products of ``core.search.sample``. Each main page is then requested
``--repeat`` times per role through the Flask test client (session cookie, templates, services, the
request's commit) after two warm-up requests; no HTTP server, so the time is the app's own.
Per page: median and worst wall ms, CPU ms (``time.process_time``), SQL statements. Target ≤ 100 ms.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.checkout import ensure_database  # noqa: E402

OP_PASSWORD = "op-pass-2026"
PAGES = {  # role → pages (ids filled in by build)
    "cs.htx-binh-loi": ["/console/products", "/console/products/{product}", "/console/products/new", "/console/stock",
                        "/console/orders", "/console/promotions"],
    "op.bench": ["/console/till/{point}"],
    "sct.dongnai": ["/console/dashboard", "/console/dashboard?unit=26188", "/console/producers/verification",
                    "/console/certifications", "/console/products", "/console/orders", "/console/campaigns",
                    "/console/campaigns/{promotion}"],
    "admin": ["/console/dashboard", "/console/dashboard?province=75&year=2026&period=h2"],
}


def build(app, products: int) -> dict:
    from sqlalchemy import select
    from core import migrate
    from core.accounts.models import User
    from core.catalogue.models import Variant
    from core.db import commit, db
    from core.demo import seed_demo
    from core.pricing.models import Promotion
    from core.search.sample import generate_catalogue
    from plugins.sales_points import services
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        migrate.upgrade()
        seed_demo()
        commit()
        generate_catalogue(products)
        admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
        point = services.create_point(admin, {"name": "Điểm OCOP Bửu Long", "commune_code": "26188",
                                              "location_kind": "tourist_site_hotel_restaurant",
                                              "address": "Khu du lịch Bửu Long, Đồng Nai"})
        services.bind_operator(admin, point, {"username": "op.bench", "password": OP_PASSWORD, "full_name": "Thu ngân"})
        product = db.session.execute(select(Variant.product_id).where(Variant.sku == "BL-BDX-1")).scalar_one()
        promotion = db.session.execute(select(Promotion.id).order_by(Promotion.id)).scalars().first()
        commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        return {"point": point.id, "product": product, "promotion": promotion}


class StatementCounter:
    def __init__(self, engine):
        from sqlalchemy import event
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args, **kwargs):
        self.count += 1


def log_in(app, username: str, password: str):
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/console/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def measure(app, ids: dict, repeat: int) -> list[dict]:
    from core.db import db
    with app.app_context():
        counter = StatementCounter(db.engine)
    out = []
    for username, paths in PAGES.items():
        client = log_in(app, username, OP_PASSWORD if username == "op.bench" else "ocop-demo-2026")
        for template in paths:
            path = template.format(**ids)
            for _ in range(2):
                assert client.get(path).status_code == 200, path
            walls, cpus = [], []
            counter.count = 0
            for _ in range(repeat):
                cpu, wall = time.process_time(), time.perf_counter()
                response = client.get(path)
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            out.append({"user": username, "path": path, "median_ms": statistics.median(walls), "max_ms": max(walls),
                        "cpu_ms": statistics.median(cpus), "statements": counter.count / repeat})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--products", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("OCOP_TODAY", "2026-11-23")
    from core.app import create_app
    from core.config import load_settings
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        if args.database_url:
            ensure_database(args.database_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_") or k == "OCOP_TODAY"}
        app = create_app(load_settings(env, instance_path=Path(tmp), database_url=url))
        started = time.perf_counter()
        ids = build(app, args.products)
        print(f"built demo + {args.products} products in {time.perf_counter() - started:.0f} s "
              f"({url.split(':', 1)[0]})", flush=True)
        rows = measure(app, ids, args.repeat)
    for row in rows:
        print(f"{row['user']:<16} {row['path']:<52} median {row['median_ms']:6.1f} ms  max {row['max_ms']:6.1f} ms  "
              f"cpu {row['cpu_ms']:6.1f} ms  sql {row['statements']:5.1f}")
    worst = max(rows, key=lambda r: r["median_ms"])
    print(f"pages={len(rows)} worst_median_ms={worst['median_ms']:.1f} ({worst['path']}) "
          f"target_ms=100 met={'yes' if worst['median_ms'] <= 100 else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
