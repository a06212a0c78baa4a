#!/usr/bin/env python3
"""Profile order placement in-process: CPU per completion and a pyinstrument report.

    python benchmarks/checkout_profile.py [--database-url postgresql://postgres@127.0.0.1:5432/ocop_prof_checkout]
                                          [--orders 300] [--broker redis://127.0.0.1:6379/13] [--html out.html]

The database is a THROWAWAY one (schema dropped, migrations and demo catalogue loaded, like
``benchmarks/checkout.py``). ``--orders`` checkouts are prepared over the Flask test client (not
measured), then completed one after the other through the same client (routing, service, commit,
after-commit hooks and broker publishes, serialisation): the process CPU of that loop divided by the
number of completions is printed as ``app_cpu_ms_per_completion`` (and the CPU per completion of the
quietest batch of 50, less disturbed by other processes on a shared machine). ``pyinstrument`` (PyPI) profiles
the loop in CPU time (waits on the database and broker do not count) when installed. Last line: ``completions=… app_cpu_ms_per_completion=… quietest_batch_cpu_ms=… wall_ms_per_completion=…``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.checkout import ADDRESS, HOT_SKU, broker_reachable, build_database, ensure_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/ocop_prof_checkout",
                        help="a THROWAWAY PostgreSQL database (its schema is dropped)")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13",
                        help="Celery broker for after-commit tasks ('' = in-process)")
    parser.add_argument("--html", help="write the pyinstrument report as HTML here")
    parser.add_argument("--session", help="save the pyinstrument session here (pyinstrument --load FILE)")
    parser.add_argument("--no-profile", action="store_true", help="measure CPU only (no profiler overhead)")
    parser.add_argument("--interval", type=float, default=0.001, help="profiler sampling interval, seconds")
    parser.add_argument("--sql", action="store_true", help="print the SQL statements of one completion, then stop")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="ocop-prof-checkout-")) / "instance"
    ensure_database(args.database_url)
    build_database(args.database_url, instance, args.orders * 2, 1)
    broker = args.broker if args.broker and broker_reachable(args.broker) else ""
    os.environ.update({"OCOP_DATABASE_URL": args.database_url, "OCOP_INSTANCE_PATH": str(instance),
                       "OCOP_TODAY": "2026-11-23", "OCOP_BROKER_URL": broker,
                       "OCOP_RATE_LIMITS": "off"})  # preparing the checkouts is not what is measured
    from core.app import create_app  # noqa: E402 - reads the environment set just above
    app = create_app()
    client = app.test_client()
    body = {"lines": [{"sku": HOT_SKU, "quantity": 1}], "full_name": "Nguyễn Thị Lan", "phone": "0912345678",
            "email": "lan@example.vn", "shipping_address": ADDRESS, "delivery_method": "standard"}
    tokens = []
    for _ in range(args.orders + 20):
        response = client.post("/storefront/v1/checkouts", json=body)
        assert response.status_code == 201, response.get_json()
        tokens.append(response.get_json()["token"])

    def complete(token):
        response = client.post(f"/storefront/v1/checkouts/{token}/complete", headers={"Idempotency-Key": token[:20]})
        assert response.status_code == 201, response.get_data(as_text=True)

    for token in tokens[:20]:  # warm-up: caches, compiled statements, broker connection
        complete(token)
    if args.sql:
        print_statements(app, lambda: complete(tokens[20]))
        return
    profiler = None
    if not args.no_profile:
        try:
            # optional dependency of this script only
            from pyinstrument import Profiler
            from pyinstrument.stack_sampler import get_stack_sampler
            get_stack_sampler().timer_func = time.thread_time  # sample CPU time, not waits on the database
            profiler = Profiler(interval=args.interval)
        except ImportError:
            print("pyinstrument not installed: CPU figures only")
    if profiler:
        profiler.start()
    cpu, wall = time.process_time(), time.perf_counter()
    batches = []  # CPU per completion of each batch of 50: the quietest batch is the least disturbed figure
    for start in range(20, len(tokens), 50):
        batch_cpu = time.process_time()
        for token in tokens[start:start + 50]:
            complete(token)
        batches.append((time.process_time() - batch_cpu) / len(tokens[start:start + 50]))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.html:
            Path(args.html).write_text(profiler.output_html())
        if args.session:
            profiler.last_session.save(args.session)
    n = args.orders
    print(json.dumps({"broker": "redis" if broker else "in-process", "profiled": bool(profiler)}))
    print(f"completions={n} app_cpu_ms_per_completion={cpu / n * 1000:.2f} "
          f"quietest_batch_cpu_ms={min(batches) * 1000:.2f} wall_ms_per_completion={wall / n * 1000:.2f}")


def print_statements(app, action) -> None:
    """Run ``action`` and print each SQL statement it sends (first line, 160 characters), numbered."""
    from sqlalchemy import event
    from core.db import db
    with app.app_context():
        engine = db.engine
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split())[:160])
    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    for i, statement in enumerate(statements, 1):
        print(f"{i:3} {statement}")
    print(f"statements={len(statements)}")


if __name__ == "__main__":
    main()
