#!/usr/bin/env python3
"""Server time of the public site's pages next to the JSON endpoints they mirror, in the same run.

    python benchmarks/site.py [--docs 20000] [--products 300] [--queries 210] [--database-url URL] [--profile]

Builds the search benchmarks' catalogue (``core.search.sample.generate_catalogue``, 20,000 products by
default; the database search backend, its index rebuilt), serves the app with gunicorn (one sync
worker) on 127.0.0.1 and sends, from one client, alternately for each item the site page and the JSON
endpoint: ``/san-pham/<slug>`` vs ``/storefront/v1/products/<slug>`` over ``--products`` listed slugs,
and ``/tim-kiem?q=…`` vs ``/storefront/v1/search?q=…`` over the search benchmark's query mix (answer
cache off, so every search runs). Each request opens a new connection.

Per request it records the client's wall time and the worker's CPU time (``/proc/<pid>/schedstat``,
nanoseconds, read before and after each request while the worker is idle), and prints p50/p95 of both
and the mean CPU, with the load average before and after. The target is a p95 of at most 20 ms for both
pages. ``--profile`` instead renders each page in-process under pyinstrument and prints the profile.
Last line: ``product_p95_ms=… product_json_p95_ms=… search_p95_ms=… … product_cpu_ms=… …``.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.search import _postgres, free_port, get, machine, query_mix  # noqa: E402
from core import migrate  # noqa: E402
from core.app import create_app  # noqa: E402
from core.catalogue import landing  # noqa: E402
from core.db import db  # noqa: E402
from core.search import service  # noqa: E402
from core.search.sample import generate_catalogue  # noqa: E402


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def worker_cpu_ns(pid: int) -> int:
    """CPU nanoseconds used so far by every thread of process ``pid``."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
        except OSError:
            continue
    return total


def timed(port: int, worker: int, path: str) -> tuple[float, float]:
    """(wall ms seen by the client, worker CPU ms) of one request."""
    c, w = worker_cpu_ns(worker), time.perf_counter()
    get(port, path)
    return (time.perf_counter() - w) * 1000, (worker_cpu_ns(worker) - c) / 1e6


def side_by_side(port: int, worker: int, pairs: list[tuple[str, str]], rounds: int) -> dict:
    """Each (site, json) pair in turn, ``rounds`` times after one warm-up pass over the first 20."""
    for site, api in pairs[:20]:
        get(port, site), get(port, api)
    out = {"site": ([], []), "json": ([], [])}
    for _ in range(rounds):
        for site, api in pairs:
            for kind, path in (("site", site), ("json", api)):
                wall, cpu = timed(port, worker, path)
                out[kind][0].append(wall)
                out[kind][1].append(cpu)
    return {kind: {"p50": quantile(w, .5), "p95": quantile(w, .95), "cpu": sum(c) / len(c),
                   "cpu_p95": quantile(c, .95), "n": len(w)} for kind, (w, c) in out.items()}


def serve(env: dict) -> tuple[subprocess.Popen, int, int]:
    """gunicorn with one sync worker on a free loopback port; (server, port, worker pid)."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "core.wsgi:app"], env={**os.environ, **env}, cwd=str(ROOT))
    deadline = time.time() + 90
    while True:
        try:
            get(port, "/healthz")
            break
        except (OSError, RuntimeError):
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return server, port, int(children[0])


def profile(app, pairs: list[tuple[str, str]]) -> None:
    """Each page and its JSON twin in-process under pyinstrument (a development aid, not the figures)."""
    from pyinstrument import Profiler  # optional: only this mode needs it

    client = app.test_client()
    for site, api in pairs[:10]:
        client.get(site), client.get(api)
    for column in (0, 1):
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for pair in pairs:
            assert client.get(pair[column]).status_code == 200
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLite URL of a new file, or a PostgreSQL server URL")
    parser.add_argument("--docs", type=int, default=20000, help="products to generate (default 20000)")
    parser.add_argument("--products", type=int, default=300, help="product slugs to request (default 300)")
    parser.add_argument("--queries", type=int, default=210, help="distinct search queries (default 210)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over each list (default 2)")
    parser.add_argument("--profile", action="store_true", help="profile in-process with pyinstrument instead")
    parser.add_argument("--workdir", help="keep the SQLite catalogue here and reuse it on the next run")
    args = parser.parse_args(argv)

    os.environ.setdefault("OCOP_TODAY", "2026-11-23")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ocop-bench-site-"))
    workdir.mkdir(parents=True, exist_ok=True)
    reuse = args.workdir and not args.database_url and (workdir / "bench.sqlite3").exists()
    drop = None
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if url.startswith(("postgresql", "postgres:")):
        url, drop = _postgres(url)
    env = {"OCOP_DATABASE_URL": url, "OCOP_INSTANCE_PATH": str(workdir / "instance"),
           "OCOP_SEARCH_BACKEND": "database", "OCOP_BROKER_URL": "", "OCOP_ELASTICSEARCH_URL": "",
           "OCOP_SEARCH_CACHE": "0", "OCOP_SECRET_KEY": "bench-site"}
    os.environ.update(env)
    try:
        app = create_app()
        with app.app_context():
            engine = db.engine.dialect.name
            migrate.upgrade()
            print(f"machine: {machine()}", flush=True)
            if not reuse:
                t0 = time.perf_counter()
                generated = generate_catalogue(args.docs)
                service.reindex()
                db.session.commit()
                print(f"database: {engine}; {generated['products']} products ({generated['listed']} listed) "
                      f"generated and indexed in {time.perf_counter() - t0:.1f} s", flush=True)
            total = landing.listed_product_count()
            rng = random.Random(19)
            slugs = [landing.listed_product_slugs(rng.randrange(total), 1)[0][0] for _ in range(args.products)]
            db.session.remove()
        queries = [qs for _, qs in query_mix(args.queries)]
        product_pairs = [(f"/san-pham/{s}", f"/storefront/v1/products/{s}") for s in slugs]
        search_pairs = [(f"/tim-kiem?{qs}", f"/storefront/v1/search?{qs}") for qs in queries]
        if args.profile:
            profile(app, product_pairs)
            profile(app, search_pairs)
            return 0
        server, port, worker = serve(env)
        try:
            before = load_average()
            products = side_by_side(port, worker, product_pairs, args.rounds)
            searches = side_by_side(port, worker, search_pairs, args.rounds)
            after = load_average()
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"gunicorn, 1 sync worker, one client, new connection per request; load average {before} before, "
              f"{after} after", flush=True)
        for name, figures in (("product", products), ("search", searches)):
            for kind in ("site", "json"):
                f = figures[kind]
                print(f"{name:8} {kind:5} n={f['n']:4} wall p50={f['p50']:6.2f} ms p95={f['p95']:6.2f} ms  "
                      f"worker CPU mean={f['cpu']:6.2f} ms p95={f['cpu_p95']:6.2f} ms", flush=True)
        print(f"backend=database-{engine} docs={args.docs} load=\"{before}\" "
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
