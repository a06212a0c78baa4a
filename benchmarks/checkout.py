#!/usr/bin/env python3
"""Checkout throughput on the real HTTP stack (gunicorn + PostgreSQL): orders/s, latency, oversold units.

    python benchmarks/checkout.py [--database-url postgresql://postgres@127.0.0.1:5432/ocop_bench_checkout]
                                  [--clients 50] [--stock 3000] [--extra 0.25] [--workers 4] [--threads 1]
                                  [--lines 1] [--sku BL-BDX-1]

The database is a THROWAWAY one: its schema is dropped and rebuilt (migrations, demo catalogue). The
hot variant (Bưởi da xanh Bình Lợi, ``BL-BDX-1``) gets ``--stock`` units; ``stock × (1 + extra)``
checkouts, each for one unit of it (``--lines 2`` adds a box of Cam Vũ Quang from another producer),
are prepared over HTTP with contact, a Vietnamese address and standard delivery (not timed). Then
``--clients`` concurrent keep-alive clients (spread over processes) POST
``/storefront/v1/checkouts/<token>/complete`` with an ``Idempotency-Key`` as fast as they can: every
completion places an order and allocates stock in one transaction, or answers 409
``stock.insufficient`` once the stock is gone. Notifications and search-index updates go to the Redis
broker when it is reachable (``--broker``), as in production; no worker drains them during the run.

Oversold units = units ordered beyond the stock + Σ max(0, allocated − on hand) + ledger mismatches;
it must be 0. Last line: ``orders=… rejected=… oversold_units=… orders_per_s=… p50_ms=… p95_ms=…
app_cpu_ms=… pg_cpu_ms=…`` (CPU per completion of the gunicorn workers and the PostgreSQL backends).
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._load import free_port, start_gunicorn  # noqa: E402

HOT_SKU, SECOND_SKU = "BL-BDX-1", "VQ-CAM-5KG"
ADDRESS = {"province_code": "75", "commune_code": "26188", "street": "12 Nguyễn Văn Trỗi"}


def ensure_database(url: str) -> None:
    """Create the benchmark database if it does not exist (connects to the ``postgres`` database)."""
    import psycopg
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    admin_url = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def build_database(database_url: str, instance: Path, stock: int, lines: int) -> None:
    """Drop and rebuild the schema, load the demo, set the hot variant's stock to ``stock``."""
    os.environ["OCOP_TODAY"] = "2026-11-23"
    from sqlalchemy import select
    from core import migrate
    from core.app import create_app
    from core.config import load_settings
    from core.db import commit, db
    from core.demo import seed_demo
    from core.inventory.models import Stock
    from core.accounts.models import User
    from core.catalogue.models import Variant
    from core.inventory import ledger

    app = create_app(load_settings({}, instance_path=instance, database_url=database_url,
                                   password_hash_method="scrypt:1024:8:1"))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        migrate.upgrade()
        seed_demo()
        admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
        wanted = {HOT_SKU: stock, SECOND_SKU: 10 * stock * (lines - 1)}
        for sku, target in wanted.items():
            variant = db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()
            row = db.session.execute(select(Stock).where(Stock.variant_id == variant.id)).scalar_one()
            if target != row.on_hand:
                ledger.adjust(row.location_id, variant, target - row.on_hand, actor=admin,
                                     reason="benchmark")
        commit()
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def start_server(port: int, env: dict, workers: int, threads: int, worker_class: str = "gthread",
                 worker_connections: int = 1000) -> subprocess.Popen:
    """gunicorn bound to 127.0.0.1:port (gthread workers with keep-alive, or sync workers: a connection per
    request, as behind a buffering proxy); waits until /healthz answers."""
    extra = ["-k", "gthread", "--threads", str(threads), "--keep-alive", "30",
             "--worker-connections", str(worker_connections)] if worker_class == "gthread" else ["-k", "sync"]
    return start_gunicorn("core.wsgi:app", port, env, workers=workers, cwd=ROOT,
                          extra_args=[*extra, "--backlog", "2048"])


def _client_process(port: int, jobs: list, threads: int, kind: str, body: bytes, queue, start_at: float) -> None:
    """One load process: ``threads`` keep-alive clients working through ``jobs``."""
    results = []
    lock = threading.Lock()
    it = iter(jobs)

    def run():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                job = next(it, None)
            if job is None:
                break
            if kind == "create":
                method, path, payload, headers = "POST", "/storefront/v1/checkouts", body, {}
            else:
                method, path, payload, headers = "POST", f"/storefront/v1/checkouts/{job}/complete", b"", \
                    {"Idempotency-Key": f"bench-{job[:16]}"}
            headers = {**headers, "Content-Type": "application/json", "Connection": "keep-alive"}
            started = time.perf_counter()
            for attempt in range(3):
                try:
                    conn.request(method, path, body=payload, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    if attempt == 2:
                        raise
            elapsed = time.perf_counter() - started
            if kind == "create":
                item = (response.status, json.loads(data).get("token"), elapsed)
            else:
                code = json.loads(data).get("error", {}).get("code") if response.status >= 400 else None
                item = (response.status, code, elapsed)
            with lock:
                results.append(item)
        conn.close()

    while time.time() < start_at:
        time.sleep(0.001)
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(results)


def run_load(port: int, jobs: list, clients: int, kind: str, body: bytes = b"") -> tuple[list, float]:
    """Spread ``jobs`` over ``clients`` keep-alive clients in a few processes; return (results, seconds)."""
    processes = min(4, clients)
    per_proc = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    chunks = [jobs[i::processes] for i in range(processes)]
    queue = mp.Queue()
    start_at = time.time() + 0.5
    procs = [mp.Process(target=_client_process, args=(port, chunks[i], per_proc[i], kind, body, queue, start_at))
             for i in range(processes)]
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get()]
    for p in procs:
        p.join()
    return results, time.time() - start_at


def oversold(database_url: str, instance: Path, stock: int) -> dict:
    """Units ordered beyond the stock, allocations beyond on hand, ledger mismatches, order count."""
    from sqlalchemy import func, select
    from core.app import create_app
    from core.config import load_settings
    from core.db import db
    from core.sales.models import Order, OrderLine
    from core.inventory.models import Stock
    from core.inventory import ledger
    app = create_app(load_settings({}, instance_path=instance, database_url=database_url))
    with app.app_context():
        ordered = db.session.execute(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                                     .where(OrderLine.sku == HOT_SKU)).scalar_one()
        over_alloc = db.session.execute(select(func.coalesce(func.sum(
            func.greatest(Stock.allocated - Stock.on_hand, 0)), 0))).scalar_one()
        problems = ledger.verify_ledger()
        orders = db.session.execute(select(func.count()).select_from(Order)).scalar_one()
        numbers = db.session.execute(select(func.count(func.distinct(Order.number)))).scalar_one()
    return {"units_beyond_stock": max(0, int(ordered) - stock), "allocated_beyond_on_hand": int(over_alloc),
            "ledger_problems": len(problems), "orders_in_db": int(orders), "distinct_numbers": int(numbers)}


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children")
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found


def cpu_by_pid(pids) -> dict[int, float]:
    """User + system CPU seconds per pid (Linux /proc; processes gone or unreadable are left out)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return found


def cpu_since(before: dict[int, float], pids) -> float:
    """CPU seconds spent since ``before`` by ``pids`` (a pid absent from ``before`` started meanwhile: all of it)."""
    return sum(now - before.get(pid, 0.0) for pid, now in cpu_by_pid(pids).items())


def postgres_backends(database_url: str) -> list[int]:
    """Server pids of the connections to the benchmark database."""
    import psycopg
    from sqlalchemy.engine import make_url
    parsed = make_url(database_url)
    url = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
                                           "pg_backend_pid()", (parsed.database,)).fetchall()]


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else 0.0
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def broker_reachable(url: str) -> bool:
    try:
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except (OSError, ValueError, IndexError):
        return False


def main() -> None:
    global HOT_SKU
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/ocop_bench_checkout",
                        help="a THROWAWAY PostgreSQL database (its schema is dropped)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--stock", type=int, default=3000)
    parser.add_argument("--extra", type=float, default=0.25, help="checkouts beyond the stock, as a fraction")
    parser.add_argument("--lines", type=int, choices=(1, 2), default=1)
    parser.add_argument("--sku", default=HOT_SKU, help="the hot variant (BM-QHC-1KG: in the demo's Đồng Nai "
                                                       "campaign, so every order is discounted and reserves usage)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (1: no GIL contention)")
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread",
                        help="gunicorn worker class (sync: one request per connection)")
    parser.add_argument("--spread", action="store_true",
                        help="cap each gthread worker at ceil(clients / workers) + 1 keep-alive connections "
                             "(gunicorn --worker-connections), so the clients spread evenly over the workers")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12",
                        help="Celery broker for after-commit tasks ('' = in-process)")
    args = parser.parse_args()
    HOT_SKU = args.sku
    if not args.database_url.startswith("postgresql"):
        parser.error("the checkout benchmark runs against PostgreSQL")

    workdir = Path(tempfile.mkdtemp(prefix="ocop-bench-checkout-"))
    instance = workdir / "instance"
    ensure_database(args.database_url)
    started = time.perf_counter()
    build_database(args.database_url, instance, args.stock, args.lines)
    print(f"database ready in {time.perf_counter() - started:.1f}s: {HOT_SKU} stock {args.stock}")

    broker = args.broker if args.broker and broker_reachable(args.broker) else ""
    env = {"OCOP_DATABASE_URL": args.database_url, "OCOP_INSTANCE_PATH": str(instance), "OCOP_TODAY": "2026-11-23",
           "OCOP_BROKER_URL": broker, "PYTHONPATH": str(ROOT),
           "OCOP_RATE_LIMITS": "off"}  # thousands of checkouts from one address: not what is measured
    if broker:
        subprocess.run([sys.executable, "-c", f"import redis; redis.Redis.from_url({broker!r}).flushdb()"], check=False)
    port = free_port()
    server = start_server(port, env, args.workers, args.threads, args.worker_class,
                          -(-args.clients // args.workers) + 1 if args.spread else 1000)
    try:
        lines = [{"sku": HOT_SKU, "quantity": 1}] + ([{"sku": SECOND_SKU, "quantity": 1}] if args.lines == 2 else [])
        body = json.dumps({"lines": lines, "full_name": "Nguyễn Thị Lan", "phone": "0912345678",
                           "email": "lan@example.vn", "shipping_address": ADDRESS,
                           "delivery_method": "standard"}).encode()
        attempts = int(args.stock * (1 + args.extra))
        created, seconds = run_load(port, list(range(attempts)), args.clients, "create", body)
        tokens = [token for status, token, _ in created if status == 201]
        assert len(tokens) == attempts, f"only {len(tokens)} of {attempts} checkouts created"
        print(f"prepared {attempts} checkouts in {seconds:.1f}s ({attempts / seconds:.0f}/s over HTTP)")

        app_pids = _children(server.pid)
        pg_before = cpu_by_pid(postgres_backends(args.database_url))
        app_before = cpu_by_pid(app_pids)
        results, seconds = run_load(port, tokens, args.clients, "complete")
        app_cpu = cpu_since(app_before, app_pids)
        pg_pids = postgres_backends(args.database_url)  # connections opened during the run count too
        pg_cpu = cpu_since(pg_before, pg_pids)
    finally:
        server.terminate()
        server.wait()
        if broker:
            subprocess.run([sys.executable, "-c", f"import redis; redis.Redis.from_url({broker!r}).flushdb()"],
                           check=False)

    placed = [r for r in results if r[0] == 201]
    rejected = [r for r in results if r[0] == 409 and r[1] == "stock.insufficient"]
    other = [r for r in results if r not in placed and r not in rejected]
    latencies = [r[2] for r in results]
    placed_lat = [r[2] for r in placed]
    check = oversold(args.database_url, instance, args.stock)
    over = check["units_beyond_stock"] + check["allocated_beyond_on_hand"] + check["ledger_problems"]
    print(f"machine: {os.cpu_count()} CPU(s); gunicorn {args.workers}×{args.threads} gthread; "
          f"broker {'redis' if broker else 'in-process'}; clients {args.clients}; lines/order {args.lines}")
    print(f"completions: {len(results)} in {seconds:.1f}s — placed {len(placed)}, rejected {len(rejected)} "
          f"(stock.insufficient), other {len(other)}")
    print(f"all completions: p50 {percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms; "
          f"placed only: p50 {percentile(placed_lat, 50):.1f} ms, p95 {percentile(placed_lat, 95):.1f} ms")
    print(f"check: {json.dumps(check)}")
    n = max(len(results), 1)
    print(f"CPU per completion: gunicorn workers {app_cpu / n * 1000:.1f} ms, "
          f"PostgreSQL backends {pg_cpu / n * 1000:.1f} ms ({len(app_pids)} workers, {len(pg_pids)} backends)")
    if other:
        print(f"unexpected answers: {sorted({(s, c) for s, c, _ in other})}")
    print(f"orders={len(placed)} rejected={len(rejected)} oversold_units={over} "
          f"orders_per_s={len(placed) / seconds:.1f} p50_ms={percentile(latencies, 50):.1f} "
          f"p95_ms={percentile(latencies, 95):.1f} app_cpu_ms={app_cpu / n * 1000:.1f} pg_cpu_ms={pg_cpu / n * 1000:.1f}")


if __name__ == "__main__":
    main()
