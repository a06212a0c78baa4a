#!/usr/bin/env python3
"""Two commands on a fresh machine (only Python 3.11 needed).

    python3 dev.py serve   install into .venv, migrate, load demo data, serve on http://127.0.0.1:5000
    python3 dev.py test    install into .venv (with test extras) and run the whole suite

``dev.py test --postgres URL`` runs the suite against a throwaway database
created on that PostgreSQL server (dropped afterwards). Extra arguments after
``--`` go to pytest.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("OCOP_VENV") or ROOT / ".venv")
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*cmd, **kwargs):
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def ensure_venv(extras: str) -> None:
    stamp = VENV / f".installed-{extras}"
    inputs = [ROOT / "setup.cfg", ROOT / "tests" / "plugin_dist" / "setup.cfg"]
    if stamp.exists() and all(stamp.stat().st_mtime >= p.stat().st_mtime for p in inputs if p.exists()):
        return
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip", "setuptools", "wheel")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extras}]")
    if extras == "dev":
        run(PY, "-m", "pip", "install", "--quiet", "-e", ROOT / "tests" / "plugin_dist")
    stamp.touch()


#: the demo's sample receiving account (same as plugins.bank_transfer.config.DEMO_ACCOUNT_ENV): bank-transfer
#: checkout then shows a VietQR code. Set OCOP_BANK_* yourself to use a real account.
DEMO_BANK_ACCOUNT = {"OCOP_BANK_BIN": "970436", "OCOP_BANK_ACCOUNT_NO": "1023456789",
                     "OCOP_BANK_ACCOUNT_NAME": "HTX DICH VU OCOP DONG NAI", "OCOP_BANK_CITY": "Dong Nai"}


def serve(args) -> int:
    ensure_venv("geo,server")
    if not os.environ.get("OCOP_BANK_ACCOUNT_NO"):
        os.environ.update(DEMO_BANK_ACCOUNT)
    ocop = BIN / "ocop"
    run(ocop, "db", "upgrade")
    run(ocop, "seed", "demo")
    print(f"\nocop-commerce demo: http://{args.host}:{args.port}/storefront/v1/products  "
          f"(docs: http://{args.host}:{args.port}/docs; demo admin: admin / ocop-demo-2026)\n", flush=True)
    os.execv(str(ocop), [str(ocop), "serve", "--host", args.host, "--port", str(args.port)])


def _postgres_database(base_url: str):
    """Create a throwaway database on ``base_url``; returns (url, drop)."""
    import importlib
    name = f"ocop_test_{uuid.uuid4().hex[:10]}"
    code = ("import psycopg,sys;c=psycopg.connect(sys.argv[1],autocommit=True);"
            "c.execute(f'{sys.argv[2]} DATABASE \"{sys.argv[3]}\"' + (' WITH (FORCE)' if sys.argv[2]=='DROP' else ''))")
    admin = base_url.replace("postgresql+psycopg://", "postgresql://")
    run(PY, "-c", code, admin, "CREATE", name)
    url = admin.rsplit("/", 1)[0] + "/" + name
    return url, lambda: run(PY, "-c", code, admin, "DROP", name)


def test(args) -> int:
    ensure_venv("dev")
    env = dict(os.environ)
    drop = None
    if args.postgres:
        env["OCOP_TEST_DATABASE_URL"], drop = _postgres_database(args.postgres)
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
    args = parser.parse_args()
    return serve(args) if args.command == "serve" else test(args)


if __name__ == "__main__":
    sys.exit(main())
