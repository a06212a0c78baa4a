#!/usr/bin/env python3
"""A bare Flask app answering a fixed JSON payload (the baseline of benchmarks/catalogue.py), and, run as a
script, the kernel's per-request overhead: CPU per request of trivial GETs through the full app against it.

    python benchmarks/bare_app.py                   # in-process (Werkzeug test client), SQLite in a temp folder
    python benchmarks/bare_app.py --profile /storefront/v1/groups   # and cProfile's top functions for one path

Prints CPU µs per request (``time.process_time``) of ``GET /healthz`` on bare Flask and on the full app, of
``/storefront/v1/groups`` (a flask-smorest route with a response schema) and of a search with query arguments.
"""
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask, jsonify

app = Flask("bare")
app.json.ensure_ascii = False
app.json.sort_keys = False
_PAYLOAD_FILE = os.environ.get("BARE_PAYLOAD_FILE")
_PAYLOAD = json.loads(Path(_PAYLOAD_FILE).read_bytes()) if _PAYLOAD_FILE else {"results": []}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/bare")
def bare():
    return jsonify(_PAYLOAD)


def _cpu_per_request(client, path: str, n: int) -> float:
    for _ in range(50):
        client.get(path)
    c0 = time.process_time()
    for _ in range(n):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.data[:300])
    return (time.process_time() - c0) / n * 1e6


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per path")
    parser.add_argument("--profile", metavar="PATH", help="print cProfile's top 30 functions for PATH (full app)")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    workdir = Path(tempfile.mkdtemp(prefix="ocop-bare-"))
    os.environ.update({"OCOP_DATABASE_URL": f"sqlite:///{workdir / 'bare.sqlite3'}",
                       "OCOP_INSTANCE_PATH": str(workdir / "instance"), "OCOP_SEARCH_BACKEND": "database",
                       "OCOP_BROKER_URL": "", "OCOP_ELASTICSEARCH_URL": "", "OCOP_SEARCH_CACHE": "0"})
    from core import migrate
    from core.app import create_app
    full = create_app()
    with full.app_context():
        migrate.upgrade()
    bare_client, client = app.test_client(), full.test_client()
    print(f"bare Flask  GET /healthz                {_cpu_per_request(bare_client, '/healthz', args.n):7.0f} µs CPU")
    for path in ("/healthz", "/storefront/v1/groups", "/storefront/v1/search?q=tra&limit=20",
                 "/storefront/v1/search?group=food&sort=price_asc"):
        print(f"full app    GET {path:<36}{_cpu_per_request(client, path, args.n):7.0f} µs CPU", flush=True)
    if args.profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.n):
            client.get(args.profile)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BARE_SORT", "tottime")).print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
