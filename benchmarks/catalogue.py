#!/usr/bin/env python3
"""Catalogue list throughput: GET /storefront/v1/products vs a bare Flask endpoint, both on gunicorn (2 workers).

    python benchmarks/catalogue.py [--products 20000] [--promotions 200] [--clients 4] [--seconds 10] [--database-url URL]
                                   [--cpu-only]

Builds a database (SQLite in a temp folder by default) with the demo catalogue
plus N generated listed products, serves the real app with gunicorn, measures a
page of 20 (default sort) under a bounded load from 127.0.0.1 — the same page
(answer cache hit) and 600 different pages (cache misses: every request builds
the page and prices it) — then adds ``--promotions`` live promotions (channel
prices of producers, opt-in provincial campaigns with 20 producers each,
national stackable offers) and measures both again; finally serves a bare
Flask app answering a same-sized JSON payload the same way.
In-process CPU milliseconds per request (uncached and cached) are measured
too, before and after: they stay comparable on a busy machine; so is the CPU per uncached search
(``--cpu-only`` prints only these, for the list and for search).
Last line: ``list_rps=… promo_list_rps=… list_drop_pct=… pages_rps=… promo_pages_rps=… pages_drop_pct=…
bare_rps=… ratio=… p95_ms=… promo_p95_ms=… page_cpu_ms=… promo_page_cpu_ms=… cached_cpu_ms=…
promo_cached_cpu_ms=…``.
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


def add_promotions(database_url: str, instance: Path, n_promotions: int) -> int:
    """``n_promotions`` live promotions through the pricing services; returns how many are active now."""
    os.environ["OCOP_DATABASE_URL"] = database_url
    os.environ["OCOP_INSTANCE_PATH"] = str(instance)
    from sqlalchemy import func, select
    from core.accounts.authentication import create_user
    from core.accounts.models import User
    from core.app import create_app
    from core.catalogue.models import Producer
    from core.config import load_settings
    from core.db import db
    from core.pricing import promotions
    from core.pricing.models import Promotion
    from core import clock

    app = create_app(load_settings(password_hash_method="scrypt:1024:8:1"))
    with app.app_context():
        rng = random.Random(20261201)
        now = clock.now()
        window = {"starts_at": now - dt.timedelta(days=1), "ends_at": now + dt.timedelta(days=10)}
        admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
        organisers = {}
        for province in ("75", "42", "37"):
            name = f"bench.sct.{province}"
            organisers[province] = db.session.execute(select(User).where(User.username == name)).scalar_one_or_none() \
                or create_user(name, "ocop-bench-2026", "organiser", province_code=province)
        by_province = {p: list(db.session.execute(select(Producer.id).where(Producer.province_code == p)
                                                  .order_by(Producer.id).limit(2000)).scalars())
                       for p in organisers}
        producers = [i for ids in by_province.values() for i in ids]
        db.session.commit()
        kinds = [("percentage", lambda: rng.choice([5, 10, 15, 20])), ("amount", lambda: rng.randrange(1, 20) * 1000),
                 ("fixed_price", lambda: rng.randrange(15, 600) * 1000)]
        for i in range(n_promotions):
            share = i % 10
            if share < 7:  # a producer's own price on a channel, for all or some of its products
                kind, value = rng.choice(kinds)
                producer_id = rng.choice(producers)
                owner = db.session.execute(select(User).where(User.producer_id == producer_id)).scalar_one_or_none() \
                    or create_user(f"bench.cs.{producer_id}", "ocop-bench-2026", "producer", producer_id=producer_id)
                data = {"kind": kind, "value": value(), "channels": rng.choice([["online_store"], ["sales_point"], []])}
            elif share < 9:  # a provincial campaign; 20 of its producers join
                province = rng.choice(list(organisers))
                data = {"kind": "percentage", "value": rng.choice([10, 15, 20]), "max_units_per_order": 5,
                        "budget": 50_000_000, "channels": ["online_store", "sales_point"]}
                owner = organisers[province]
            else:  # a national offer on a group or star level, stackable
                data = {"kind": "amount", "value": rng.choice([2000, 5000]), "stackable": True, "requires_opt_in": False,
                        "scope": rng.choice([{"groups": [rng.choice(GROUPS)[0]]}, {"stars": [rng.choice([4, 5])]}])}
                owner = admin
            promotion = promotions.create_promotion(owner, {"name": f"Khuyến mãi {i}", "name_en": f"Promotion {i}",
                                                            **window, **data})
            promotions.activate_promotion(owner, promotion)
            if share in (7, 8):
                for producer_id in rng.sample(by_province[province], min(20, len(by_province[province]))):
                    promotions.opt_in(admin, promotion, producer_id)
        db.session.commit()
        return db.session.execute(select(func.count()).select_from(Promotion).where(
            Promotion.status == "published", Promotion.starts_at <= now, Promotion.ends_at > now)).scalar_one()


def page_cost(database_url: str, instance: Path, pages: int = 300) -> tuple[float, float]:
    """CPU milliseconds (this process: app + database) per list request: uncached pages, then one cached page.

    Unlike requests per second, this barely moves when other work shares the machine.
    """
    os.environ["OCOP_DATABASE_URL"] = database_url
    os.environ["OCOP_INSTANCE_PATH"] = str(instance)
    from core.app import create_app
    from core.catalogue import version as catalogue_cache
    from core.config import load_settings

    client = create_app(load_settings()).test_client()
    for n in range(20):  # warm-up: imports, connections, statement caches
        client.get(f"/storefront/v1/products?limit=20&page={n + 1}")
    started = time.process_time()
    for n in range(pages):
        catalogue_cache.clear()
        assert client.get(f"/storefront/v1/products?limit=20&page={n + 1}").status_code == 200
    uncached = (time.process_time() - started) * 1000 / pages
    started = time.process_time()
    for _ in range(pages):
        assert client.get("/storefront/v1/products?limit=20").status_code == 200
    return uncached, (time.process_time() - started) * 1000 / pages


def search_cost(database_url: str, instance: Path, queries: int = 200, reindex: bool = False) -> float:
    """CPU milliseconds (this process) per uncached storefront search (answer cache off), pages of 20.

    ``reindex``: build the search index first (the generated products were inserted in bulk).
    """
    os.environ["OCOP_DATABASE_URL"] = database_url
    os.environ["OCOP_INSTANCE_PATH"] = str(instance)
    from core.app import create_app
    from core.config import load_settings
    from core.search import service

    app = create_app(load_settings())
    if reindex:
        with app.app_context():
            service.reindex()
    app.extensions["ocop_search_cache"] = False
    client = app.test_client()
    terms = [f"{w} {a}" for w in WORDS for a in ADJ][:queries]
    for term in terms[:20]:  # warm-up
        client.get("/storefront/v1/search", query_string={"q": term, "limit": 20})
    started = time.process_time()
    for term in terms:
        assert client.get("/storefront/v1/search", query_string={"q": term, "limit": 20}).status_code == 200
    return (time.process_time() - started) * 1000 / len(terms)


def measure(port: int, args) -> tuple[dict, dict]:
    """The same page (cache hits) and 600 different pages (cache misses), each after a warm-up."""
    path = "/storefront/v1/products?limit=20"
    pages = [f"/storefront/v1/products?limit=20&page={n}" for n in range(1, 601)]
    load(port, path, clients=args.clients, seconds=2)
    same = load(port, path, clients=args.clients, seconds=args.seconds)
    load(port, pages, clients=args.clients, seconds=2)
    different = load(port, pages, clients=args.clients, seconds=args.seconds)
    return same, different


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=20000)
    parser.add_argument("--promotions", type=int, default=200, help="live promotions for the second measurement")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--cpu-only", action="store_true",
                        help="only the in-process CPU figures (list and search, before/after the promotions)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ocop-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["OCOP_TODAY"] = "2026-11-23"
    started = time.perf_counter()
    build_database(database_url, workdir / "instance", args.products)
    print(f"database ready: {args.products} generated products + demo in {time.perf_counter() - started:.1f}s")

    if args.cpu_only:
        cost = page_cost(database_url, workdir / "instance")
        search = search_cost(database_url, workdir / "instance", reindex=True)
        active = add_promotions(database_url, workdir / "instance", args.promotions) if args.promotions else 0
        promo_cost = page_cost(database_url, workdir / "instance")
        promo_search = search_cost(database_url, workdir / "instance")

        def rise(before, after):
            return 100.0 * (after - before) / before if before else 0.0

        print(f"active promotions {active}")
        print(f"page_cpu_ms={cost[0]:.2f} promo_page_cpu_ms={promo_cost[0]:.2f} "
              f"page_cpu_rise_pct={rise(cost[0], promo_cost[0]):.1f} cached_cpu_ms={cost[1]:.2f} "
              f"promo_cached_cpu_ms={promo_cost[1]:.2f} search_cpu_ms={search:.2f} "
              f"promo_search_cpu_ms={promo_search:.2f} search_cpu_rise_pct={rise(search, promo_search):.1f}")
        return

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
        listed, pages = measure(port, args)
        cost = page_cost(database_url, workdir / "instance")
        active = add_promotions(database_url, workdir / "instance", args.promotions) if args.promotions else 0
        promo_cost = page_cost(database_url, workdir / "instance")
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", path + "&page=3")
        on_sale = sum(1 for p in json.loads(conn.getresponse().read())["results"] if p["sale_price_min"])
        promo_listed, promo_pages = measure(port, args)
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
    print(f"payload {len(payload)} bytes; clients={args.clients}; seconds={args.seconds}; "
          f"active promotions {active}; on sale on page 3: {on_sale}/20")
    for label, figures in (("products list (same page)", listed), ("  with promotions", promo_listed),
                           ("600 pages (uncached)", pages), ("  with promotions", promo_pages), ("bare flask", bare)):
        print(f"{label:<26} {figures['rps']:.0f} req/s p50 {figures['p50_ms']:.1f} ms "
              f"p95 {figures['p95_ms']:.1f} ms errors {figures['errors']}")

    def drop(before, after):
        return 100.0 * (before["rps"] - after["rps"]) / before["rps"] if before["rps"] else 0.0

    ratio = listed["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(f"list_rps={listed['rps']:.0f} promo_list_rps={promo_listed['rps']:.0f} "
          f"list_drop_pct={drop(listed, promo_listed):.1f} pages_rps={pages['rps']:.0f} "
          f"promo_pages_rps={promo_pages['rps']:.0f} pages_drop_pct={drop(pages, promo_pages):.1f} "
          f"bare_rps={bare['rps']:.0f} ratio={ratio:.2f} p95_ms={listed['p95_ms']:.1f} "
          f"promo_p95_ms={promo_listed['p95_ms']:.1f} page_cpu_ms={cost[0]:.2f} promo_page_cpu_ms={promo_cost[0]:.2f} "
          f"cached_cpu_ms={cost[1]:.2f} promo_cached_cpu_ms={promo_cost[1]:.2f}")


if __name__ == "__main__":
    main()
