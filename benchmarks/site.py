#!/usr/bin/env python3
"""Server time of the public site's pages next to the JSON endpoints they mirror, in the same run.

    python benchmarks/site.py [--docs 20000] [--products 300] [--queries 210] [--database-url URL]

Builds the search benchmarks' catalogue (``core.search.sample.generate_catalogue``, 20,000 products by
default; the database search backend, its index rebuilt), then sends requests in-process (Flask test
client: the whole WSGI stack, no network) alternating, for each item, the site page and the JSON
endpoint: ``/san-pham/<slug>`` vs ``/storefront/v1/products/<slug>`` over ``--products`` listed slugs,
and ``/tim-kiem?q=…`` vs ``/storefront/v1/search?q=…`` over the search benchmark's query mix (answer
cache off, so every search runs). Prints p50/p95 wall milliseconds and CPU milliseconds per request;
last line ``product_p95_ms=… product_json_p95_ms=… search_p95_ms=… search_json_p95_ms=… …``.
The target is a p95 of at most 20 ms for both pages.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.search import _postgres, machine, query_mix  # noqa: E402
from core import migrate  # noqa: E402
from core.app import create_app  # noqa: E402
from core.catalogue import landing  # noqa: E402
from core.db import db  # noqa: E402
from core.search import service  # noqa: E402
from core.search.sample import generate_catalogue  # noqa: E402


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(client, path: str) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def side_by_side(client, pairs: list[tuple[str, str]], rounds: int) -> dict:
    """Each (site, json) pair in turn, ``rounds`` times after one warm-up pass."""
    for site, api in pairs[:20]:
        client.get(site), client.get(api)
    out = {"site": ([], []), "json": ([], [])}
    for _ in range(rounds):
        for site, api in pairs:
            for kind, path in (("site", site), ("json", api)):
                wall, cpu = timed(client, path)
                out[kind][0].append(wall)
                out[kind][1].append(cpu)
    return {kind: {"p50": quantile(w, .5), "p95": quantile(w, .95), "cpu": sum(c) / len(c), "n": len(w)}
            for kind, (w, c) in out.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLite URL of a new file, or a PostgreSQL server URL")
    parser.add_argument("--docs", type=int, default=20000, help="products to generate (default 20000)")
    parser.add_argument("--products", type=int, default=300, help="product slugs to request (default 300)")
    parser.add_argument("--queries", type=int, default=210, help="distinct search queries (default 210)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over each list (default 2)")
    args = parser.parse_args(argv)

    os.environ.setdefault("OCOP_TODAY", "2026-11-23")
    workdir = Path(tempfile.mkdtemp(prefix="ocop-bench-site-"))
    drop = None
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if url.startswith(("postgresql", "postgres:")):
        url, drop = _postgres(url)
    os.environ.update({"OCOP_DATABASE_URL": url, "OCOP_INSTANCE_PATH": str(workdir / "instance"),
                       "OCOP_SEARCH_BACKEND": "database", "OCOP_BROKER_URL": "", "OCOP_ELASTICSEARCH_URL": "",
                       "OCOP_SEARCH_CACHE": "0"})
    try:
        app = create_app()
        with app.app_context():
            engine = db.engine.dialect.name
            migrate.upgrade()
            t0 = time.perf_counter()
            generated = generate_catalogue(args.docs)
            service.reindex()
            print(f"machine: {machine()}", flush=True)
            print(f"database: {engine}; {generated['products']} products ({generated['listed']} listed) "
                  f"generated and indexed in {time.perf_counter() - t0:.1f} s", flush=True)
            total = landing.listed_product_count()
            rng = random.Random(19)
            slugs = [landing.listed_product_slugs(rng.randrange(total), 1)[0][0] for _ in range(args.products)]
            db.session.remove()
        queries = [qs for _, qs in query_mix(args.queries)]
        client = app.test_client()
        products = side_by_side(client, [(f"/san-pham/{s}", f"/storefront/v1/products/{s}") for s in slugs],
                                args.rounds)
        searches = side_by_side(client, [(f"/tim-kiem?{qs}", f"/storefront/v1/search?{qs}") for qs in queries],
                                args.rounds)
        for name, figures in (("product", products), ("search", searches)):
            for kind in ("site", "json"):
                f = figures[kind]
                print(f"{name:8} {kind:5} n={f['n']:4} p50={f['p50']:6.2f} ms p95={f['p95']:6.2f} ms "
                      f"cpu={f['cpu']:6.2f} ms/request", flush=True)
        print(f"backend=database-{engine} docs={args.docs} "
              f"product_p95_ms={products['site']['p95']:.2f} product_json_p95_ms={products['json']['p95']:.2f} "
              f"search_p95_ms={searches['site']['p95']:.2f} search_json_p95_ms={searches['json']['p95']:.2f} "
              f"product_cpu_ms={products['site']['cpu']:.2f} product_json_cpu_ms={products['json']['cpu']:.2f} "
              f"search_cpu_ms={searches['site']['cpu']:.2f} search_json_cpu_ms={searches['json']['cpu']:.2f}")
    finally:
        if drop:
            drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
