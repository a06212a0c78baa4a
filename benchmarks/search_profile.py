#!/usr/bin/env python3
"""Where a search request's time goes, per query class (pyinstrument; answer cache off).

    pip install pyinstrument                                       # without it: CPU and statements per class only
    python benchmarks/search_profile.py                            # SQLite (temporary file), 20,000 products
    python benchmarks/search_profile.py --database-url sqlite:////tmp/prof.sqlite3   # built once, reused after
    python benchmarks/search_profile.py --database-url postgresql://postgres@127.0.0.1:5432/ocop_prof --reuse
    python benchmarks/search_profile.py --tree typo                # also print pyinstrument's call tree of a class

Builds the catalogue of ``benchmarks/search.py`` (or reuses one), then sends
each query class of its mix through the storefront endpoint in-process (Flask
test client): first unprofiled for milliseconds per query and SQL statements
per query, then under pyinstrument. Every sample is charged to the innermost
matching bucket on its stack (database, typo correction, highlighting, …).
Prints one table per database: class, ms/query, statements/query, and the
share of each bucket.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.search import CLASSES, _postgres, query_mix  # noqa: E402
from core import migrate
from core.app import create_app
from core.db import db
from core.search import service
from core.search.sample import generate_catalogue

#: (bucket, test on (function, file)) — the first bucket matching a frame, innermost frame first, wins
BUCKETS = [
    ("database", lambda fn, path: "sqlalchemy" in path or "psycopg" in path or "sqlite3" in path),
    ("typo correction", lambda fn, path: fn in ("_correct", "correct", "_vocabulary", "known", "damerau", "_deletes",
                                                "__init__") and "core/search" in path),
    ("highlighting", lambda fn, path: fn in ("highlight", "_highlights") and "core/search" in path),
    ("document JSON decode", lambda fn, path: fn in ("loads", "decode", "raw_decode") and "/json/" in path),
    ("facet labels", lambda fn, path: fn == "render_facets"),
    ("hit rendering", lambda fn, path: fn == "render_hit"),
    ("response JSON", lambda fn, path: fn in ("dumps", "encode", "iterencode") and ("/json/" in path or "flask" in path)),
    ("argument parsing", lambda fn, path: "marshmallow" in path or "webargs" in path or "flask_smorest" in path),
    ("search: other Python", lambda fn, path: "core/search" in path),
    ("Flask, Werkzeug, other", lambda fn, path: True),
]


def _bucket(stack: list[str]) -> str:
    names = {identifier.split("\x00")[0] for identifier in stack}
    if "render_facets" in names:
        return "facet labels"
    if names & {"_correct", "_vocabulary"}:
        return "typo correction"
    for identifier in reversed(stack):
        parts = identifier.split("\x00")
        fn, path = parts[0], parts[1] if len(parts) > 1 else ""
        for name, test in BUCKETS[:-1]:
            if test(fn, path):
                return name
    return BUCKETS[-1][0]


def build(url: str, docs: int) -> None:
    app = create_app()
    with app.app_context():
        migrate.upgrade()
        generate_catalogue(docs)
        t0 = time.perf_counter()
        service.reindex()
        print(f"built {docs} products, index in {time.perf_counter() - t0:.1f} s", flush=True)
        db.session.remove()


def profile(repeat: int, tree: str | None, queries: int) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:  # CPU and statements per class only
        Profiler = None
    from sqlalchemy import event
    app = create_app()
    client = app.test_client()
    mix = query_mix(queries)
    statements = Counter()
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args):
        statements["n"] += 1

    for _, qs in query_mix(60, seed=1015):  # warm up (vocabulary, statement caches)
        client.get("/storefront/v1/search?" + qs)
    print(f"\n{dialect}: wall and CPU ms/query of this process (unprofiled), SQL statements/query, "
          f"share of profiled time per bucket")
    names = [b for b, _ in BUCKETS]
    print(f"{'class':<11}{'ms':>7}{'cpu':>7}{'stmts':>7}  " + "  ".join(f"{n[:14]:>14}" for n in names))
    for cls in CLASSES:
        paths = ["/storefront/v1/search?" + qs for c, qs in mix if c == cls]
        statements.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(repeat):
            for path in paths:
                response = client.get(path)
                assert response.status_code == 200, (path, response.get_json())
        ms = (time.perf_counter() - t0) / (repeat * len(paths)) * 1000
        cpu = (time.process_time() - c0) / (repeat * len(paths)) * 1000
        n_statements = statements["n"] / (repeat * len(paths))
        if Profiler is None:
            print(f"{cls:<11}{ms:>7.2f}{cpu:>7.2f}{n_statements:>7.1f}", flush=True)
            continue
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(repeat):
            for path in paths:
                client.get(path)
        session = profiler.stop()
        shares = Counter()
        for stack, seconds in session.frame_records:
            shares[_bucket(stack)] += seconds
        total = sum(shares.values()) or 1.0
        print(f"{cls:<11}{ms:>7.2f}{cpu:>7.2f}{n_statements:>7.1f}  "
              + "  ".join(f"{100 * shares[n] / total:>13.0f}%" for n in names), flush=True)
        if tree == cls:
            print(profiler.output_text(unicode=True, color=False, show_all=False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLite file URL (built when missing, reused when present) or a "
                                               "PostgreSQL server URL (throwaway database unless --reuse)")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: use the named database as it is "
                                                             "(built first when it has no products)")
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=420)
    parser.add_argument("--repeat", type=int, default=2, help="passes over each class")
    parser.add_argument("--tree", choices=CLASSES, help="print pyinstrument's call tree for this class")
    args = parser.parse_args(argv)
    os.environ.setdefault("OCOP_TODAY", "2026-11-23")
    workdir = Path(tempfile.mkdtemp(prefix="ocop-profile-search-"))
    url, drop, fresh = args.database_url or f"sqlite:///{workdir / 'profile.sqlite3'}", None, True
    if url.startswith("sqlite:///"):
        fresh = not Path(url[len("sqlite:///"):]).exists()
    elif args.reuse:
        import psycopg
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            has = conn.execute("SELECT to_regclass('search_document') IS NOT NULL").fetchone()[0]
            fresh = not has or not conn.execute("SELECT count(*) FROM search_document").fetchone()[0]
    else:
        url, drop = _postgres(url)
    os.environ.update({"OCOP_DATABASE_URL": url, "OCOP_INSTANCE_PATH": str(workdir / "instance"),
                       "OCOP_SEARCH_BACKEND": "database", "OCOP_BROKER_URL": "", "OCOP_ELASTICSEARCH_URL": "",
                       "OCOP_SEARCH_CACHE": "0"})
    try:
        if fresh:
            build(url, args.docs)
        profile(args.repeat, args.tree, args.queries)
        return 0
    finally:
        if drop is not None:
            drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
