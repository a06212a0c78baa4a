"""The architecture rules of the README ("Dependencies"), checked on the source tree.

``dev.py test`` runs ``lint-imports`` before pytest; these tests make sure the
contracts it checks stay in place and that the other written rules hold.
"""
from __future__ import annotations

import ast
import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "admin", "storefront_api", "plugins")
DOMAINS = ("imports", "search", "sales", "pricing", "payments", "inventory", "certification", "notifications",
           "accounts", "catalogue", "geo", "audit")


def _contracts() -> dict[str, configparser.SectionProxy]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    return {name.split(":", 2)[2]: cfg[name] for name in cfg.sections() if name.startswith("importlinter:contract:")}


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


def test_every_architecture_contract_is_declared():
    contracts = _contracts()
    assert contracts["no-cycles"]["type"] == "acyclic_siblings"
    assert set(_lines(contracts["no-cycles"]["ancestors"])) == set(PACKAGES)
    assert contracts["domain-layers"]["type"] == "layers"
    assert _lines(contracts["domain-layers"]["layers"]) == [f"core.{d}" for d in DOMAINS]
    kernel = contracts["kernel-uses-no-domain"]
    assert kernel["type"] == "forbidden"
    assert {f"core.{d}" for d in DOMAINS} | {"admin", "storefront_api", "plugins"} <= set(_lines(kernel["forbidden_modules"]))
    faces = contracts["domains-below-faces-and-plugins"]
    assert set(_lines(faces["source_modules"])) == {f"core.{d}" for d in DOMAINS}
    assert {"admin", "storefront_api", "plugins"} <= set(_lines(faces["forbidden_modules"]))
    assert contracts["faces-independent"]["type"] == "independence"
    assert set(_lines(contracts["faces-independent"]["modules"])) == {"admin", "storefront_api"}
    assert {"admin", "storefront_api"} <= set(_lines(contracts["plugins-below-faces"]["forbidden_modules"]))


def test_every_core_module_is_in_a_domain_or_the_kernel():
    """A new top-level core module must be named in the kernel contract (or live in a domain package)."""
    kernel = set(_lines(_contracts()["kernel-uses-no-domain"]["source_modules"]))
    composition_root = {"core.app", "core.cli", "core.wsgi", "core.celery_worker", "core.demo", "core.checks"}
    top = {f"core.{p.stem}" for p in (ROOT / "core").glob("*.py") if p.stem != "__init__"}
    assert top - kernel - composition_root == set()
    packages = {p.name for p in (ROOT / "core").iterdir() if (p / "__init__.py").exists()}
    assert packages - set(DOMAINS) - {"migrations"} == set()


def test_lint_imports_passes():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def _project_imports_inside_functions() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.If)):
                    continue
                for sub in ast.walk(node):
                    if isinstance(sub, ast.ImportFrom) and sub.level == 0 and sub.module \
                            and sub.module.split(".")[0] in PACKAGES:
                        found.append(f"{path.relative_to(ROOT)}:{sub.lineno}")
                    elif isinstance(sub, ast.Import) and any(a.name.split(".")[0] in PACKAGES for a in sub.names):
                        found.append(f"{path.relative_to(ROOT)}:{sub.lineno}")
    return sorted(set(found))


def test_at_most_ten_project_imports_inside_functions_or_blocks():
    inside = _project_imports_inside_functions()
    assert len(inside) <= 10, inside


def test_no_core_module_over_500_lines_without_a_reason():
    """A module over 500 lines says why in its docstring (a line starting with "Size:")."""
    long = []
    for path in (ROOT / "core").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 500:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if not re.search(r"^Size:", doc, flags=re.M):
                long.append(str(path.relative_to(ROOT)))
    assert long == []
