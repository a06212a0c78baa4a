#!/usr/bin/env python3
"""Catalogue list throughput: GET /storefront/v1/products vs a bare Flask endpoint, both on gunicorn (2 workers).

    python benchmarks/catalogue.py [--products 20000] [--clients 4] [--seconds 10] [--database-url URL]

Builds a database (SQLite in a temp folder by default) with the demo catalogue
plus N generated listed products, serves the real app with gunicorn, measures a
page of 20 (default sort) under a bounded load from 127.0.0.1, then serves a
bare Flask app answering a same-sized JSON payload the same way.
Last line: ``list_rps=… bare_rps=… ratio=… p95_ms=…``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._load import free_port, load, start_gunicorn  # noqa: E402

WORDS = ["Bưởi", "Cam", "Quýt", "Mật ong", "Trà", "Chè", "Cà phê", "Rượu", "Nước mắm", "Bánh", "Gạo", "Nấm",
         "Tinh dầu", "Mứt", "Kẹo", "Miến", "Nem", "Giò", "Hạt điều", "Tiêu", "Sâm", "Chả cá", "Khô gà"]
ADJ = ["đặc sản", "hữu cơ", "truyền thống", "thượng hạng", "sấy dẻo", "da xanh", "rừng", "cao cấp", "xanh"]
PLACES = ["Bình Lợi", "Vũ Quang", "Hương Sơn", "Phú Lý", "Trị An", "Vị Khê", "Bắc Sơn", "Tân Triều", "Điền Xá"]
GROUPS = [("food", "fresh_produce"), ("food", "honey_other_agrifood"), ("beverages", "other_alcoholic"),
          ("medicinal_herbs", "essential_oils_other_herbs"), ("handicrafts", "household_decorative_crafts")]
LEGAL = ["enterprise", "cooperative", "cooperative_group", "household_business"]


def build_database(database_url: str, instance: Path, n_products: int) -> None:
    """Migrate, load the demo, then bulk-insert ``n_products`` consistent, listed products."""
    os.environ["OCOP_DATABASE_URL"] = database_url
    os.environ["OCOP_INSTANCE_PATH"] = str(instance)
    from core.app import create_app
    from core import migrate
    from core.config import load_settings
    from core.db import db
    from core.demo import seed_demo
    from core.certification.models import Certification
    from core.catalogue.models import Producer, Product, Variant
    from core.text import fold, slugify
    from core.db import utcnow

    app = create_app(load_settings(password_hash_method="scrypt:1024:8:1"))
    with app.app_context():
        migrate.upgrade()
        seed_demo()
        rng = random.Random(20261123)
        communes = ["26188", "26170", "26173", "18313", "13972"]
        provinces = {"26188": "75", "26170": "75", "26173": "75", "18313": "42", "13972": "37"}
        producers = []
        for i in range(max(1, n_products // 4)):
            commune = rng.choice(communes)
            name = f"HTX {rng.choice(WORDS)} {rng.choice(PLACES)} {i}"
            producers.append(dict(id=10_000 + i, name=name, slug=f"{slugify(name)}-{i}", legal_form=rng.choice(LEGAL),
                                  commune_code=commune, province_code=provinces[commune], status="verified",
                                  created_at=utcnow(), updated_at=utcnow()))
        db.session.execute(Producer.__table__.insert(), producers)
        products, variants, certs = [], [], []
        today = dt.date(2026, 11, 23)
        for i in range(n_products):
            group, pset = rng.choice(GROUPS)
            name = f"{rng.choice(WORDS)} {rng.choice(ADJ)} {rng.choice(PLACES)} {i}"
            price = rng.randrange(20, 900) * 1000
            stars = rng.choice([3, 3, 3, 4, 4, 5])
            issued = today - dt.timedelta(days=rng.randrange(30, 900))
            pid = 100_000 + i
            products.append(dict(id=pid, producer_id=rng.choice(producers)["id"], name=name, slug=f"{slugify(name)}-{i}",
                                 group_code=group, product_set_code=pset, status="active", is_listed=True,
                                 listed_stars=stars, listed_until=issued.replace(year=issued.year + 3),
                                 price_min=price, price_max=price, created_at=utcnow(), updated_at=utcnow()))
            variants.append(dict(id=pid, product_id=pid, sku=f"GEN-{i}", name="Gói tiêu chuẩn", price=price,
                                 is_service=False, active=True, created_at=utcnow(), updated_at=utcnow()))
            score = {3: 60, 4: 80, 5: 92}[stars]
            certs.append(dict(id=pid, product_id=pid, stars=stars, score=score, level="central" if stars == 5 else "province",
                              criteria_set="148", decision_no=f"{i}/QĐ-UBND", issued_on=issued,
                              expires_on=issued.replace(year=issued.year + 3), status="active", created_at=utcnow()))
        for table, rows in ((Product.__table__, products), (Variant.__table__, variants),
                            (Certification.__table__, certs)):
            for start in range(0, len(rows), 2000):
                db.session.execute(table.insert(), rows[start:start + 2000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            for table in ("producer", "product", "variant", "certification"):
                db.session.execute(db.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ocop-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    started = time.perf_counter()
    build_database(database_url, workdir / "instance", args.products)
    print(f"database ready: {args.products} generated products + demo in {time.perf_counter() - started:.1f}s")

    env = {"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(workdir / "instance"),
           "OCOP_TODAY": "2026-11-23"}
    path = "/storefront/v1/products?limit=20"
    port = free_port()
    server = start_gunicorn("core.wsgi:app", port, env)
    try:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", path)
        payload = conn.getresponse().read()
        assert json.loads(payload)["total"] >= args.products, "generated products are not listed"
        load(port, path, clients=args.clients, seconds=2)  # warm-up
        listed = load(port, path, clients=args.clients, seconds=args.seconds)
    finally:
        server.terminate()
        server.wait()
    payload_file = workdir / "payload.json"
    payload_file.write_bytes(payload)
    port = free_port()
    bare_server = start_gunicorn("benchmarks.bare_app:app", port, {"BARE_PAYLOAD_FILE": str(payload_file),
                                                                   "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    try:
        load(port, "/bare", clients=args.clients, seconds=2)
        bare = load(port, "/bare", clients=args.clients, seconds=args.seconds)
    finally:
        bare_server.terminate()
        bare_server.wait()
    print(f"payload {len(payload)} bytes; clients={args.clients}; seconds={args.seconds}")
    print(f"products list: {listed['rps']:.0f} req/s p50 {listed['p50_ms']:.1f} ms p95 {listed['p95_ms']:.1f} ms errors {listed['errors']}")
    print(f"bare flask:    {bare['rps']:.0f} req/s p50 {bare['p50_ms']:.1f} ms p95 {bare['p95_ms']:.1f} ms errors {bare['errors']}")
    ratio = listed["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(f"list_rps={listed['rps']:.0f} bare_rps={bare['rps']:.0f} ratio={ratio:.2f} p95_ms={listed['p95_ms']:.1f}")


if __name__ == "__main__":
    main()
