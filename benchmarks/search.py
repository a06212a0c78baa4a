#!/usr/bin/env python3
"""Search benchmark: build the index for a synthetic national catalogue, then time the storefront search endpoint.

    python benchmarks/search.py                                   # SQLite (temporary file), 20,000 products
    python benchmarks/search.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/search.py --docs 5000 --cache               # with the per-process answer cache on

Steps: migrate an empty database (a PostgreSQL URL names the *server*: a
throwaway database ``ocop_bench_<hex>`` is created on it and dropped at the
end); generate ``--docs`` products with ``core.search.sample`` (fixed seed:
real OCOP product words, producers of every legal form, communes of all 34
provinces with their pre-2025 names); time ``ocop search reindex`` (build_s);
serve the app with gunicorn on 127.0.0.1; run a fixed query mix through
``GET /storefront/v1/search`` — one client for p50/p95, then ``--clients``
concurrent processes for queries per second. Each request opens a new
connection. The headline figures are with the answer cache off
(``OCOP_SEARCH_CACHE=0``): every request runs the full query, facets
included. ``--cache`` adds a second run with the cache on (production
default), reported as ``cached_*``. The last line is
``backend=… docs=… build_s=… p50_ms=… p95_ms=… qps=…``.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: a fixed mix: common and rare words, with and without diacritics, typos, filters, sorts, paging, browsing
QUERY_MIX = [
    "q=ruou", "q=buoi", "q=mat+ong", "q=nuoc+mam", "q=tra", "q=gao+st25", "q=banh+tet", "q=che+thai+nguyen",
    "q=bưởi+da+xanh", "q=mật+ong+rừng", "q=rượu+nếp+cái+hoa+vàng", "q=lụa+tơ+tằm",
    "q=buoii", "q=mat+ogn", "q=buoi+da+xnah", "q=nuoc+mma",
    "q=ha+tinh", "q=nam+dinh", "q=htx+nong+nghiep", "q=cong+ty+co+phan",
    "q=ruou&group=beverages&stars=4", "q=ca+phe&min_price=100000&max_price=300000", "q=den&in_stock=true",
    "q=che&sort=price_asc", "q=ruou&sort=stars", "q=banh&page=2", "q=tinh+dau&sort=newest",
    "province=75&sort=stars", "group=handicrafts&sort=price_desc", "sort=newest",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return time.perf_counter() - start


def _paths() -> list[str]:
    return ["/storefront/v1/search?" + quote(q, safe="=&+") for q in QUERY_MIX]


def _client(port: int, offset: int, seconds: float, queue) -> None:
    paths, latencies, errors, i = _paths(), [], 0, offset
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        try:
            latencies.append(get(port, paths[i % len(paths)]))
        except (OSError, RuntimeError):
            errors += 1
        i += 1
    queue.put((latencies, errors))


def concurrent_load(port: int, clients: int, seconds: float) -> dict:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(port, n * 7, seconds, queue)) for n in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for lat, _ in results for x in lat)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"qps": len(latencies) / seconds, "p95_ms": q[94] * 1000, "errors": sum(e for _, e in results)}


def measure(args, env: dict, cache: bool) -> dict:
    """Serve the app with gunicorn, time the mix with one client, then with ``args.clients`` clients."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b",
                               f"127.0.0.1:{port}", "--log-level", "warning", "core.wsgi:app"],
                              env={**os.environ, **env}, cwd=str(ROOT))
    try:
        deadline = time.time() + 60
        while True:
            try:
                get(port, "/healthz")
                break
            except (OSError, RuntimeError):
                if time.time() > deadline:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.2)
        paths = _paths()
        for _ in range(2 * args.workers):  # warm every worker (and, with the cache on, fill it)
            for path in paths:
                get(port, path)
        single = [get(port, path) for _ in range(args.rounds) for path in paths]
        q = statistics.quantiles(single, n=100)
        p50, p95 = q[49] * 1000, q[94] * 1000
        label = "answer cache on" if cache else "answer cache off"
        print(f"[{label}] one client: {len(single)} requests over {len(paths)} queries, "
              f"p50 {p50:.2f} ms, p95 {p95:.2f} ms", flush=True)
        load = concurrent_load(port, args.clients, args.seconds)
        print(f"[{label}] {args.clients} clients, {args.workers} gunicorn workers: {load['qps']:.0f} queries/s, "
              f"p95 {load['p95_ms']:.1f} ms, errors {load['errors']}", flush=True)
        return {"p50_ms": p50, "p95_ms": p95, "qps": load["qps"]}
    finally:
        server.terminate()
        server.wait(timeout=30)


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")) / 1024 / 1024
    except (OSError, StopIteration):
        mem = 0
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def _postgres(base_url: str):
    import psycopg
    admin = base_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"ocop_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return admin.rsplit("/", 1)[0] + "/" + name, drop


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLite URL of a new file, or a PostgreSQL server URL "
                                               "(default: a temporary SQLite file)")
    parser.add_argument("--docs", type=int, default=20000, help="products to generate (default 20000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for qps (default 16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the concurrent run")
    parser.add_argument("--rounds", type=int, default=10, help="passes over the query mix for p50/p95")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--cache", action="store_true",
                        help="also measure with the per-process answer cache on (cached_* figures)")
    args = parser.parse_args(argv)

    os.environ.setdefault("OCOP_TODAY", "2026-11-23")  # the synthetic certificates are dated around it
    workdir = Path(tempfile.mkdtemp(prefix="ocop-bench-search-"))
    drop = None
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if url.startswith(("postgresql", "postgres:")):
        url, drop = _postgres(url)
    elif url.startswith("sqlite:///") and Path(url[len("sqlite:///"):]).exists():
        parser.error(f"{url} exists: give a new file")
    env = {"OCOP_DATABASE_URL": url, "OCOP_INSTANCE_PATH": str(workdir / "instance"),
           "OCOP_SEARCH_BACKEND": "database", "OCOP_BROKER_URL": "", "OCOP_ELASTICSEARCH_URL": "",
           "OCOP_SEARCH_CACHE": "1" if args.cache else "0", "OCOP_TODAY": os.environ["OCOP_TODAY"]}
    os.environ.update(env)
    try:
        from core.app import create_app
        from core import migrate
        from core.db import db
        from core.search import service
        from core.search.sample import generate_catalogue
        app = create_app()
        with app.app_context():
            engine = db.engine.dialect.name
            version = db.session.execute(db.text("SELECT sqlite_version()" if engine == "sqlite"
                                                 else "SHOW server_version")).scalar()
            migrate.upgrade()
            t0 = time.perf_counter()
            generated = generate_catalogue(args.docs)
            gen_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            built = service.reindex()
            build_s = time.perf_counter() - t0
            db.session.remove()
        print(f"machine: {machine()}", flush=True)
        print(f"database: {engine} {version}; generated {generated['products']} products "
              f"({generated['listed']} listed) from {generated['producers']} producers in {gen_s:.1f} s", flush=True)
        print(f"index build (ocop search reindex): {built['indexed']} documents in {build_s:.2f} s", flush=True)

        figures = {}
        for cache in ([False, True] if args.cache else [False]):
            figures[cache] = measure(args, {**env, "OCOP_SEARCH_CACHE": "1" if cache else "0"}, cache)
        p50, p95, qps = (figures[False][k] for k in ("p50_ms", "p95_ms", "qps"))
        line = (f"backend=database-{engine} docs={args.docs} build_s={build_s:.2f} p50_ms={p50:.2f} "
                f"p95_ms={p95:.2f} qps={qps:.0f}")
        if args.cache:
            c = figures[True]
            line += f" cached_p50_ms={c['p50_ms']:.2f} cached_p95_ms={c['p95_ms']:.2f} cached_qps={c['qps']:.0f}"
        print(line)
        return 0
    finally:
        if drop is not None:
            drop()  # WITH (FORCE) closes this process' pooled connections too
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
