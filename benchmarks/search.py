#!/usr/bin/env python3
"""Search benchmark: build the index for a synthetic national catalogue, then time the storefront search endpoint.

    python benchmarks/search.py                                   # SQLite (temporary file), 20,000 products
    python benchmarks/search.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python benchmarks/search.py --docs 5000 --cache               # also with the per-process answer cache on

Steps: migrate an empty database (a PostgreSQL URL names the *server*: a
throwaway database ``ocop_bench_<hex>`` is created on it and dropped at the
end); generate ``--docs`` products with ``core.search.sample`` (fixed seed);
time ``ocop search reindex`` (build_s); serve the app with gunicorn on
127.0.0.1; send a mix of ``--queries`` distinct searches (default 420, drawn
from the generator's own vocabulary: common and rare words, with and without
diacritics, typos, filters only, paging, sorts — :func:`query_mix`) through
``GET /storefront/v1/search``. Every query is sent once per round, so no cache
can carry a round: one client for p50/p95 (per query class too), then
``--clients`` concurrent processes dealing each round between them for
queries/s. Each request opens a new connection (a raw socket with ``Connection:
close``, light on the two cores the load shares with the server; ``--http-client``
uses ``http.client``, the load generator before session 5; its CPU per request is
printed too). Besides wall-clock figures
the server's process CPU per query is printed (user + system time of the
gunicorn workers and, on PostgreSQL, of the benchmark database's server
processes): steadier than throughput on a shared machine.

The headline line is with the answer cache off (``OCOP_SEARCH_CACHE=0``):
``backend=… docs=… queries=… build_s=… p50_ms=… p95_ms=… qps=… cpu_ms=…``.
``--cache`` adds a second line measured with the cache on (production
default), ``cached_*``: the same mix repeating round after round, which is
the cache's best case.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import platform
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode
from core import migrate
from core.app import create_app
from core.db import db
from core.search import sample
from core.search import service
from core.search.sample import generate_catalogue
from core.text import fold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLASSES = ("common", "rare", "diacritics", "typo", "filters", "paging", "sort")
#: words that match a large share of the catalogue ("ruou" alone matches about a quarter of it)
COMMON = ["ruou", "banh", "tra", "mat ong", "gao", "nuoc", "tinh dau", "buoi", "che", "cam", "keo", "mut",
          "ca phe", "den", "htx", "cong ty", "dac san", "huu co", "truyen thong", "san pham", "ruou nep", "nuoc mam",
          "cao", "tieu", "hoa", "xoai", "nong nghiep", "ho kinh doanh", "co so", "ruou men la"]
GROUPS = ["food", "beverages", "medicinal_herbs", "handicrafts", "ornamentals", "tourism"]
LEGAL_FORMS = ["cooperative", "enterprise", "household_business", "cooperative_group"]
SORT_NAMES = ["price_asc", "price_desc", "stars", "newest"]
PRICES = [(None, 100000), (100000, 200000), (200000, 500000), (50000, 150000), (500000, None), (300000, 1000000)]


def _vocabulary() -> dict:
    """Product kinds, qualifiers, producer words and places of ``core.search.sample`` (what the catalogue says)."""
    places = sample._places()
    communes = places["communes"]
    return {
        "kinds": [k[0] for k in sample.KINDS],
        "qualifiers": [q for q in sample.QUALIFIERS if q],
        "brands": sample.BRANDS,
        "family": sample.FAMILY,
        "places": sorted({c["old_commune"] for c in communes} | {c["old_district"] for c in communes}
                         | {c["old_province"] for c in communes}
                         | {n.replace("Thành phố ", "") for n in places["provinces"].values()}),
        "provinces": sorted(places["provinces"]),
    }


def _typo(rng: random.Random, word: str) -> str:
    """One edit (drop, double, swap, replace a letter — never the first) in a word of four letters or more."""
    for _ in range(20):
        i = rng.randrange(1, len(word))
        op = rng.choice(("drop", "double", "swap", "replace"))
        if op == "drop":
            out = word[:i] + word[i + 1:]
        elif op == "double":
            out = word[:i] + word[i] + word[i:]
        elif op == "swap" and i < len(word) - 1:
            out = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        else:
            out = word[:i] + rng.choice("aeiounmhtgc") + word[i + 1:]
        if out != word:
            return out
    return word + word[-1]


def query_mix(n: int = 420, seed: int = 15) -> list[tuple[str, str]]:
    """``n`` distinct (class, query string) pairs, about the same number per class, in a fixed shuffled order."""
    rng = random.Random(seed)
    v = _vocabulary()
    per_class = -(-n // len(CLASSES))
    seen: set[str] = set()
    out: list[tuple[str, str]] = []

    def kind(folded=True):
        words = rng.choice(v["kinds"]).split()
        text = " ".join(words[:rng.choice((1, 2, 2, 3))])
        return fold(text) if folded else text.lower()

    def place(folded=True):
        text = rng.choice(v["places"])
        return fold(text) if folded else text

    def make(cls: str) -> dict:
        if cls == "common":
            args = {"q": rng.choice(COMMON)}
            if rng.random() < 0.5:
                args["q"] += " " + fold(rng.choice(v["qualifiers"]))
            return args
        if cls == "rare":
            return {"q": rng.choice([lambda: f"{kind()} {place()}", lambda: place(),
                                     lambda: fold(f"{rng.choice(v['brands'])} {place()}"),
                                     lambda: fold(f"{rng.choice(v['family'])} {kind()}")])()}
        if cls == "diacritics":
            return {"q": rng.choice([lambda: kind(False), lambda: f"{kind(False)} {place(False)}",
                                     lambda: place(False), lambda: f"{kind(False)} {rng.choice(v['qualifiers'])}"])()}
        if cls == "typo":
            words = (kind() if rng.random() < 0.7 else f"{kind()} {place()}").split()
            long = [i for i, w in enumerate(words) if len(w) >= 4]
            if not long:
                words.append(_typo(rng, rng.choice(["buoi", "ruou", "banh", "tinh", "nuoc"])))
            else:
                i = rng.choice(long)
                words[i] = _typo(rng, words[i])
            return {"q": " ".join(words)}
        if cls == "filters":
            args: dict = {}
            for key, values in (("group", GROUPS), ("stars", [3, 4, 5]), ("province", v["provinces"]),
                                ("legal_form", LEGAL_FORMS), ("in_stock", ["true", "false"])):
                if rng.random() < 0.3:
                    args[key] = rng.choice(values)
            if rng.random() < 0.2:
                low, high = rng.choice(PRICES)
                args.update({k: x for k, x in (("min_price", low), ("max_price", high)) if x is not None})
            if rng.random() < 0.6:
                args["sort"] = rng.choice(SORT_NAMES)
            return args
        if cls == "paging":
            args = {"q": rng.choice(COMMON + [kind() for _ in range(10)]), "page": rng.randrange(2, 6)}
            if rng.random() < 0.3:
                args["sort"] = rng.choice(SORT_NAMES)
            return args
        args = {"q": rng.choice([lambda: rng.choice(COMMON), lambda: kind(), lambda: kind(False)])(),
                "sort": rng.choice(SORT_NAMES)}
        if rng.random() < 0.3:
            args.update({"group": rng.choice(GROUPS)} if rng.random() < 0.5 else {"stars": rng.choice([3, 4])})
        return args

    for cls in CLASSES:
        made, tries = 0, 0
        while made < per_class and tries < per_class * 50:
            tries += 1
            qs = urlencode(make(cls))
            if qs in seen:
                continue
            seen.add(qs)
            out.append((cls, qs))
            made += 1
    out = out[:n]
    rng.shuffle(out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> float:
    """Seconds for one ``GET path`` on a new connection (``Connection: close``), read to the end.

    A raw socket, not ``http.client``: the 16 load processes share the two cores with the server, so the
    load generator is kept light (its own CPU per request is printed beside the server's)."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        head = conn.recv(65536)
        while conn.recv(65536):
            pass
    if head[9:12] != b"200":
        raise RuntimeError(f"{path} answered {head[9:12].decode(errors='replace') or 'nothing'}")
    return time.perf_counter() - start


def get_http_client(port: int, path: str) -> float:
    """:func:`get` through ``http.client`` (the load generator before session 5: ``--http-client``)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return time.perf_counter() - start


def _path(qs: str) -> str:
    return "/storefront/v1/search?" + qs


def _client(port: int, paths: list[str], index: int, clients: int, seconds: float, queue, send=None) -> None:
    """Send this client's share of every round (queries index, index + clients, …) until ``seconds`` pass."""
    send = send or get
    latencies, errors = [], 0
    mine = paths[index::clients]
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for path in mine:
            if time.perf_counter() >= end:
                break
            try:
                latencies.append(send(port, path))
            except (OSError, RuntimeError):
                errors += 1
    queue.put((latencies, errors))


def _cpu_seconds(pid: int) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / ticks


def server_processes(master_pid: int, database_url: str) -> list[int]:
    """The gunicorn master and workers, and (PostgreSQL) the server processes of the benchmark database."""
    pids = [master_pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == master_pid:
                    pids.append(int(entry))
            except OSError:
                continue
    if database_url.startswith("postgresql"):
        import psycopg
        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            pids += [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                                "AND pid <> pg_backend_pid()")]
    return pids


def server_cpu(pids: list[int]) -> tuple[float, float]:
    """(application, database) CPU seconds used so far by ``pids`` (the first ones are gunicorn's)."""
    app = [p for p in pids if p not in server_cpu.database]
    return sum(map(_cpu_seconds, app)), sum(map(_cpu_seconds, server_cpu.database))


server_cpu.database = set()


def concurrent_load(port: int, paths: list[str], clients: int, seconds: float, send=None) -> dict:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    procs = [ctx.Process(target=_client, args=(port, paths, n, clients, seconds, queue, send)) for n in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime
    latencies = sorted(x for lat, _ in results for x in lat)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"qps": len(latencies) / seconds, "p95_ms": q[94] * 1000, "errors": sum(e for _, e in results),
            "requests": len(latencies), "client_cpu_ms": client_cpu / max(1, len(latencies)) * 1000}


def _quantiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100) if len(values) > 1 else [values[0]] * 99
    return q[49] * 1000, q[94] * 1000


def measure(args, env: dict, cache: bool, mix: list[tuple[str, str]]) -> dict:
    """Serve the app with gunicorn, time the mix with one client (per class too), then with ``args.clients``."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b",
                               f"127.0.0.1:{port}", "--log-level", "warning", "core.wsgi:app"],
                              env={**os.environ, **env}, cwd=str(ROOT))
    label = "answer cache on" if cache else "answer cache off"
    try:
        deadline = time.time() + 300  # a loaded shared machine imports the app slowly
        while True:
            try:
                get(port, "/healthz")
                break
            except (OSError, RuntimeError):
                if time.time() > deadline:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.2)
        # warm every worker with queries that are *not* in the measured mix (another seed)
        warm = [qs for _, qs in query_mix(60, seed=1015) if qs not in {m for _, m in mix}]
        for _ in range(2 * args.workers):
            for qs in warm:
                get(port, _path(qs))
        pids = server_processes(server.pid, env["OCOP_DATABASE_URL"])
        server_cpu.database = set(pids) - set(server_processes(server.pid, "sqlite:"))
        by_class: dict[str, list[str]] = {c: [qs for cls, qs in mix if cls == c] for c in CLASSES}
        latencies: dict[str, list[float]] = {c: [] for c in CLASSES}
        cpu: dict[str, float] = {c: 0.0 for c in CLASSES}
        db_cpu = 0.0
        for _ in range(args.rounds):
            for cls in CLASSES:  # one class at a time, so the server's CPU can be charged to it
                before = server_cpu(pids)
                latencies[cls] += [get(port, _path(qs)) for qs in by_class[cls]]
                after = server_cpu(pids)
                cpu[cls] += after[0] + after[1] - before[0] - before[1]
                db_cpu += after[1] - before[1]
        single = [x for c in CLASSES for x in latencies[c]]
        p50, p95 = _quantiles(single)
        cpu_ms = sum(cpu.values()) / len(single) * 1000
        print(f"[{label}] one client: {len(single)} requests over {len(mix)} distinct queries "
              f"({args.rounds} rounds), p50 {p50:.2f} ms, p95 {p95:.2f} ms, server CPU {cpu_ms:.2f} ms/query"
              + (f" (of which PostgreSQL {db_cpu / len(single) * 1000:.2f})" if server_cpu.database else ""),
              flush=True)
        classes = {}
        for cls in CLASSES:
            c50, c95 = _quantiles(latencies[cls])
            classes[cls] = (len(by_class[cls]), c50, c95, cpu[cls] / len(latencies[cls]) * 1000)
            print(f"[{label}]   {cls:<10} {len(by_class[cls]):>4} queries  p50 {c50:6.2f} ms  p95 {c95:6.2f} ms  "
                  f"CPU {classes[cls][3]:5.2f} ms/query", flush=True)
        paths = [_path(qs) for _, qs in mix]
        before = server_cpu(pids)
        load = concurrent_load(port, paths, args.clients, args.seconds,
                               get_http_client if args.http_client else get)
        after = server_cpu(pids)
        load_cpu = (after[0] + after[1] - before[0] - before[1]) / max(1, load["requests"]) * 1000
        print(f"[{label}] {args.clients} clients, {args.workers} gunicorn workers: {load['qps']:.0f} queries/s, "
              f"p95 {load['p95_ms']:.1f} ms, server CPU {load_cpu:.2f} ms/query, load generator CPU "
              f"{load['client_cpu_ms']:.2f} ms/query, errors {load['errors']}, load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        return {"p50_ms": p50, "p95_ms": p95, "qps": load["qps"], "cpu_ms": cpu_ms, "load_cpu_ms": load_cpu,
                "client_cpu_ms": load["client_cpu_ms"],
                "classes": classes}
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
    parser.add_argument("--queries", type=int, default=420, help="distinct queries in the mix (default 420)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for qps (default 16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the concurrent run")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the mix for p50/p95 (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--http-client", action="store_true",
                        help="load processes use http.client (heavier) instead of a raw socket, for comparison")
    parser.add_argument("--cache", action="store_true",
                        help="also measure with the per-process answer cache on (cached_* figures, second line)")
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
        app = create_app()
        with app.app_context():
            engine = db.engine.dialect.name
            version = db.session.execute(db.text("SELECT sqlite_version()" if engine == "sqlite"
                                                 else "SHOW server_version")).scalar()
            migrate.upgrade()
            t0 = time.perf_counter()
            generated = generate_catalogue(args.docs)
            gen_s = time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            built = service.reindex()
            build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
            mix = query_mix(args.queries)
            db.session.remove()
        print(f"machine: {machine()}", flush=True)
        print(f"database: {engine} {version}; generated {generated['products']} products "
              f"({generated['listed']} listed) from {generated['producers']} producers in {gen_s:.1f} s", flush=True)
        print(f"index build (ocop search reindex): {built['indexed']} documents in {build_s:.2f} s "
              f"({build_cpu_s:.2f} s CPU in this process)", flush=True)
        print(f"query mix: {len(mix)} distinct queries, "
              + ", ".join(f"{c} {sum(1 for k, _ in mix if k == c)}" for c in CLASSES), flush=True)

        figures = {}
        for cache in ([False, True] if args.cache else [False]):
            figures[cache] = measure(args, {**env, "OCOP_SEARCH_CACHE": "1" if cache else "0"}, cache, mix)
        f = figures[False]
        print(f"backend=database-{engine} docs={args.docs} queries={len(mix)} build_s={build_s:.2f} "
              f"build_cpu_s={build_cpu_s:.2f} "
              f"p50_ms={f['p50_ms']:.2f} p95_ms={f['p95_ms']:.2f} qps={f['qps']:.0f} cpu_ms={f['cpu_ms']:.2f} "
              f"load_cpu_ms={f['load_cpu_ms']:.2f} client_cpu_ms={f['client_cpu_ms']:.2f}")
        if args.cache:
            c = figures[True]
            print(f"backend=database-{engine} docs={args.docs} queries={len(mix)} cached_p50_ms={c['p50_ms']:.2f} "
                  f"cached_p95_ms={c['p95_ms']:.2f} cached_qps={c['qps']:.0f} cached_cpu_ms={c['cpu_ms']:.2f}")
        return 0
    finally:
        if drop is not None:
            drop()  # WITH (FORCE) closes this process' pooled connections too
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
