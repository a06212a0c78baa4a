#!/usr/bin/env python3
"""Feed benchmark: a synthetic national catalogue → Google Merchant RSS and Meta catalog CSV from the database.

    python benchmarks/feeds.py                                   # SQLite (temporary file), ~20,000 listed products
    python benchmarks/feeds.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/feeds.py --products 5000

Steps: migrate an empty database (a PostgreSQL URL names the *server*: a throwaway database is created and
dropped); generate ``--products`` products with the search benchmark's generator (``core.search.sample``,
fixed seed; about 91% end up listed, so the default 22,000 gives ~20,000 listed); register a Google
Merchant marketplace with every verified producer opted in and publish a campaign on marketplace channels
(10% off the 4- and 5-star products, a quarter of the items: the feed carries sale prices and dates). Then each feed is built in a **fresh child
process** with the worker app (``core.app.create_worker_app``, as a Celery worker or ``ocop feeds build``;
``plugins.marketplace_feeds.builds.build``: validation, resolver prices in batches, streamed
writer, gzip, the FeedBuild row), so its peak RSS is its own: wall and CPU seconds of the build, peak RSS
of the process and its growth over the RSS before the build (imports and app included in the former).

Last line: ``products=… listed=… items=… on_sale=… app_mb=… rss_s=… rss_cpu_s=… rss_peak_mb=… rss_growth_mb=…
rss_mb_gz=… csv_s=… csv_cpu_s=… csv_peak_mb=… csv_growth_mb=… csv_mb_gz=… load1=…`` (``app_mb``: the child's RSS
before its build; ``load1``: the one-minute load average when the last build ended — the machine is shared).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FEEDS = (("rss", "rss"), ("csv", "csv"))


def _status_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process. Not ``ru_maxrss``: a child started by fork + exec
    inherits the parent's figure there (the parent holds the generated catalogue)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _postgres(base_url: str):
    import psycopg
    admin = base_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"ocop_bench_feeds_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return admin.rsplit("/", 1)[0] + "/" + name, drop


def setup(products: int) -> dict:
    import datetime as dt

    from sqlalchemy import func, insert, select

    from core import migrate
    from core.accounts.authentication import create_user
    from core.app import create_app
    from core.catalogue.listing import listed_clause
    from core.catalogue.models import Producer, Product
    from core import clock
    from core.db import commit, db, utcnow
    from core.pricing import promotions
    from core.search.sample import generate_catalogue
    from plugins.marketplace_feeds import registry
    from plugins.marketplace_feeds.models import MarketplaceProducer
    app = create_app()
    with app.app_context():
        migrate.upgrade()
        t0 = time.perf_counter()
        generate_catalogue(products)
        admin = create_user("bench.admin", "bench-pass-2026", "admin")
        marketplace = registry.create_marketplace(admin, {
            "code": "google", "kind": "google_merchant", "name": "Google Merchant Center",
            "fallback_image_url": "https://ocop.example.vn/static/ocop-placeholder.jpg"})
        producer_ids = db.session.execute(select(Producer.id).where(Producer.status == "verified")).scalars().all()
        db.session.execute(insert(MarketplaceProducer), [
            {"marketplace_id": marketplace.id, "producer_id": p, "status": "active", "joined_at": utcnow(),
             "updated_at": utcnow()} for p in producer_ids])
        start = dt.datetime.combine(clock.today() - dt.timedelta(days=1), dt.time(), clock.VN_TZ)
        campaign = promotions.create_promotion(admin, {
            "name": "Tuần lễ OCOP 4–5 sao trên sàn", "name_en": "4 and 5-star OCOP week on marketplaces",
            "kind": "percentage", "value": 10, "starts_at": start, "ends_at": start + dt.timedelta(days=7),
            "channels": ["marketplace"], "scope": {"stars": [4, 5]}, "requires_opt_in": False})
        promotions.activate_promotion(admin, campaign)
        commit()
        listed = db.session.execute(select(func.count(Product.id)).where(listed_clause())).scalar_one()
        return {"products": products, "listed": listed, "producers": len(producer_ids),
                "generate_s": time.perf_counter() - t0}


def child(fmt: str) -> None:
    """Build one feed in this (fresh) process — the app of a Celery worker or an ``ocop`` command — and print
    its figures as JSON."""
    from core.app import create_worker_app
    from core.db import commit
    from core.storage import storage
    from plugins.marketplace_feeds import builds, registry
    app = create_worker_app()
    with app.app_context():
        marketplace = registry.by_code("google")
        before = _status_mb("VmRSS")
        t0, c0 = time.perf_counter(), time.process_time()
        row = builds.build(marketplace, fmt)
        commit()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = _status_mb("VmHWM")
        path = storage().path(row.storage_key)
        on_sale = None
        if fmt == "rss":  # items with a sale price (counted after the figures are taken)
            with gzip.open(path, "rb") as feed:
                on_sale = sum(line.count(b"<g:sale_price>") for line in feed)
        print(json.dumps({"items": row.items, "refused": row.refused, "s": wall, "cpu_s": cpu, "peak_mb": peak,
                          "app_mb": before, "growth_mb": peak - before, "mb": row.size_bytes / 2**20,
                          "mb_gz": path.stat().st_size / 2**20, "on_sale": on_sale}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: a temporary SQLite file)")
    parser.add_argument("--products", type=int, default=22000, help="products to generate (default 22000)")
    parser.add_argument("--child", choices=[f for f, _ in FEEDS], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    os.environ.setdefault("OCOP_TODAY", "2026-11-23")  # the synthetic certificates are dated around it
    workdir = Path(tempfile.mkdtemp(prefix="ocop-bench-feeds-"))
    url, drop = f"sqlite:///{workdir / 'bench.sqlite3'}", None
    if args.database_url:
        url, drop = _postgres(args.database_url)
    env = {"OCOP_DATABASE_URL": url, "OCOP_INSTANCE_PATH": str(workdir / "instance"), "OCOP_BROKER_URL": "",
           "OCOP_SEARCH_BACKEND": "database", "OCOP_ELASTICSEARCH_URL": "", "OCOP_TODAY": os.environ["OCOP_TODAY"]}
    os.environ.update(env)
    try:
        made = setup(args.products)
        print(f"generated {made['products']} products ({made['listed']} listed) from {made['producers']} "
              f"producers in {made['generate_s']:.1f} s", flush=True)
        figures = {}
        for fmt, label in FEEDS:
            out = subprocess.run([sys.executable, __file__, "--child", fmt], env={**os.environ, **env},
                                 capture_output=True, text=True, check=True)
            figures[label] = json.loads(out.stdout.strip().splitlines()[-1])
            f = figures[label]
            print(f"{label}: {f['items']} items ({f['refused']} refused) in {f['s']:.2f} s ({f['cpu_s']:.2f} s CPU), "
                  f"peak RSS {f['peak_mb']:.0f} MB (+{f['growth_mb']:.0f} MB over the app), "
                  f"{f['mb']:.1f} MB ({f['mb_gz']:.1f} MB gzip)", flush=True)
        r, c = figures["rss"], figures["csv"]
        print(f"products={made['products']} listed={made['listed']} items={r['items']} on_sale={r['on_sale']} "
              f"app_mb={r['app_mb']:.0f} rss_s={r['s']:.2f} rss_cpu_s={r['cpu_s']:.2f} rss_peak_mb={r['peak_mb']:.0f} "
              f"rss_growth_mb={r['growth_mb']:.0f} rss_mb_gz={r['mb_gz']:.1f} "
              f"csv_s={c['s']:.2f} csv_cpu_s={c['cpu_s']:.2f} csv_peak_mb={c['peak_mb']:.0f} "
              f"csv_growth_mb={c['growth_mb']:.0f} csv_mb_gz={c['mb_gz']:.1f} load1={os.getloadavg()[0]:.1f}")
    finally:
        if drop:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
