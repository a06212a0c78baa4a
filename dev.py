#!/usr/bin/env python3
"""Two commands on a fresh machine (Python 3.11 and a reachable package index needed).

    python3 dev.py serve   install into .venv, migrate, load demo data, serve on http://127.0.0.1:5000
    python3 dev.py test    install into .venv (with test extras) and run the whole suite
    python3 dev.py ocop …  run an ``ocop`` command from .venv (e.g. ``dev.py ocop import FILE``)

``dev.py test --postgres URL`` runs the suite against a throwaway database
created on that PostgreSQL server (dropped afterwards). Extra arguments after
``--`` go to pytest.

The test suite's third-party plugin (``tests/plugin_dist``) is installed into
``.venv/test-plugins``, which is put on ``PYTHONPATH`` for test runs only: the
demo (``serve``) and ``ocop`` never see it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import uuid
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("OCOP_VENV") or ROOT / ".venv")
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
#: where ``tests/plugin_dist`` is installed (``pip install --target``): on PYTHONPATH for ``dev.py test`` only
TEST_PLUGINS = VENV / "test-plugins"
TEST_PLUGIN_SOURCE = ROOT / "tests" / "plugin_dist"
TEST_PLUGIN_DIST = "ocop-hello-plugin"


def run(*cmd, **kwargs):
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def ensure_venv(extras: str) -> None:
    stamp = VENV / f".installed-{extras}"
    if stamp.exists() and stamp.stat().st_mtime >= (ROOT / "setup.cfg").stat().st_mtime:
        return
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip", "setuptools", "wheel")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extras}]")
    # older dev.py versions installed the test plugin into the venv itself, where the demo found it
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if subprocess.run([str(PY), "-m", "pip", "show", "--quiet", TEST_PLUGIN_DIST], env=clean_env,
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
        run(PY, "-m", "pip", "uninstall", "--quiet", "--yes", TEST_PLUGIN_DIST, env=clean_env)
    stamp.touch()


def _newest_mtime(folder: Path) -> float:
    return max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                and ".egg-info" not in str(p) and "build" not in p.relative_to(folder).parts), default=0.0)


def ensure_test_plugins(target: Path = TEST_PLUGINS, python: Path = PY) -> Path:
    """Install ``tests/plugin_dist`` into ``target`` (not into the venv); reinstalled when its files change."""
    stamp = target / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= _newest_mtime(TEST_PLUGIN_SOURCE):
        return target
    shutil.rmtree(target, ignore_errors=True)
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", target,
        TEST_PLUGIN_SOURCE)
    shutil.rmtree(TEST_PLUGIN_SOURCE / "build", ignore_errors=True)
    stamp.touch()
    return target


def test_environment(environ=os.environ, target: Path = TEST_PLUGINS) -> dict:
    """The environment of a test run: the test plugin's folder first on PYTHONPATH."""
    env = dict(environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), environ.get("PYTHONPATH")]))
    return env


#: the demo's sample receiving account (same as plugins.bank_transfer.config.DEMO_ACCOUNT_ENV): bank-transfer
#: checkout then shows a VietQR code. Set OCOP_BANK_* yourself to use a real account.
DEMO_BANK_ACCOUNT = {"OCOP_BANK_BIN": "970436", "OCOP_BANK_ACCOUNT_NO": "1023456789",
                     "OCOP_BANK_ACCOUNT_NAME": "HTX DICH VU OCOP DONG NAI", "OCOP_BANK_CITY": "Dong Nai"}


def serve(args) -> int:
    ensure_venv("server")
    if not os.environ.get("OCOP_BANK_ACCOUNT_NO"):
        os.environ.update(DEMO_BANK_ACCOUNT)
    os.environ["OCOP_DEMO"] = "1"  # marks this instance as a demo: `ocop seed demo` creates the demo users
    instance = Path(os.environ.get("OCOP_INSTANCE_PATH") or "instance").resolve()
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "DEMO").write_text("Demo instance (dev.py serve): `ocop seed demo` creates the demo users here.\n")
    os.environ.pop("PYTHONPATH", None)  # never the test plugin's folder
    ocop = BIN / "ocop"
    run(ocop, "db", "upgrade")
    run(ocop, "geo", "load", "--if-empty")  # the 2025 structure, first run only (about a minute, with a bar)
    run(ocop, "seed", "demo")
    print(f"\nocop-commerce demo: http://{args.host}:{args.port}/storefront/v1/products  "
          f"(docs: http://{args.host}:{args.port}/docs; demo admin: admin / ocop-demo-2026)\n", flush=True)
    os.execv(str(ocop), [str(ocop), "serve", "--host", args.host, "--port", str(args.port)])


class PostgresUnavailable(Exception):
    """The --postgres server could not be used; the message is psycopg's reason on one line."""


_PG_CODE = """
import sys, psycopg
try:
    conn = psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=10)
    conn.execute(f'{sys.argv[2]} DATABASE "{sys.argv[3]}"' + (' WITH (FORCE)' if sys.argv[2] == 'DROP' else ''))
except psycopg.Error as exc:
    print(' '.join(str(exc).split()), file=sys.stderr)
    sys.exit(3)
"""


def _postgres_database(base_url: str):
    """Create a throwaway database on ``base_url``; returns (url, drop). Raises PostgresUnavailable."""
    name = f"ocop_test_{uuid.uuid4().hex[:10]}"
    admin = base_url.replace("postgresql+psycopg://", "postgresql://")

    def statement(verb: str) -> None:
        done = subprocess.run([str(PY), "-c", _PG_CODE, admin, verb, name], stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            reason = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
            raise PostgresUnavailable(f"PostgreSQL at {base_url}: cannot {verb.lower()} a test database: {reason}")

    statement("CREATE")
    url = admin.rsplit("/", 1)[0] + "/" + name
    return url, lambda: statement("DROP")


def test(args) -> int:
    ensure_venv("dev")
    env = test_environment(target=ensure_test_plugins())
    drop = None
    if args.postgres:
        try:
            env["OCOP_TEST_DATABASE_URL"], drop = _postgres_database(args.postgres)
        except PostgresUnavailable as exc:
            print(f"dev.py test: {exc}", file=sys.stderr)
            return 2
    try:
        # Architecture first: dependencies point one way (contracts in setup.cfg, README "Dependencies").
        lint = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, env=env)
        if lint.returncode != 0:
            print("lint-imports: an architecture contract is broken (see above)", file=sys.stderr)
            return lint.returncode
        parallel = [] if any(a.startswith("-n") for a in args.pytest_args) else ["-n", "2"]
        cmd = [PY, "-m", "pytest", *parallel, *args.pytest_args]
        print("+", " ".join(map(str, cmd)), flush=True)
        return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env).returncode
    finally:
        if drop:
            drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="install, migrate, load demo data and serve")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=5000)
    p_test = sub.add_parser("test", help="install and run the whole test suite")
    p_test.add_argument("--postgres", metavar="URL", help="run against a throwaway database on this server")
    p_test.add_argument("pytest_args", nargs="*")
    p_ocop = sub.add_parser("ocop", help="run an ocop command from .venv (python3 dev.py ocop --help)",
                            add_help=False)
    p_ocop.add_argument("ocop_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command == "ocop":
        return ocop(args)
    return serve(args) if args.command == "serve" else test(args)


def ocop(args) -> int:
    """``python3 dev.py ocop import FILE`` = ``.venv/bin/ocop import FILE`` (installing .venv first)."""
    ensure_venv("server")
    os.environ.pop("PYTHONPATH", None)
    os.execv(str(BIN / "ocop"), [str(BIN / "ocop"), *args.ocop_args])


if __name__ == "__main__":
    sys.exit(main())
