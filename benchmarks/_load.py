"""Shared helpers for benchmarks: free ports, gunicorn servers, a bounded multi-process HTTP load."""
from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app_spec: str, port: int, env: dict, workers: int = 2, extra_args=(),
                   cwd=None) -> subprocess.Popen:
    """Start gunicorn bound to 127.0.0.1:port and wait until /healthz answers."""
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), *extra_args, "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", app_spec]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=cwd)
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn did not start: {cmd}")


def _worker(port: int, path, seconds: float, queue, offset: int = 0) -> None:
    latencies = []
    errors = 0
    paths = [path] if isinstance(path, str) else list(path)
    n = offset
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        n += 1
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", paths[n % len(paths)])
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 200:
                errors += 1
                continue
        except OSError:
            errors += 1
            continue
        latencies.append(time.perf_counter() - start)
    queue.put((latencies, errors))


def load(port: int, path, clients: int = 4, seconds: float = 10.0) -> dict:
    """Run ``clients`` processes hitting ``path`` (or cycling through a list of paths) for ``seconds``;
    return rps and latency percentiles (ms)."""
    queue = mp.Queue()
    spread = 1 if isinstance(path, str) else max(1, len(path) // max(1, clients))
    procs = [mp.Process(target=_worker, args=(port, path, seconds, queue, i * spread)) for i in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(l for lat, _ in results for l in lat)
    errors = sum(e for _, e in results)
    if not latencies:
        return {"rps": 0.0, "p50_ms": 0.0, "p95_ms": 0.0, "errors": errors, "requests": 0}
    q = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / seconds, "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000,
            "errors": errors, "requests": len(latencies)}
