"""Every hook is documented, implemented by some plugin and exercised by some test (Datasette's pattern).

Adding a hook to ``core/hookspecs.py`` without a docstring, an implementation
(in ``plugins/`` or a test plugin under ``tests/``) and a test that mentions it
makes this file fail.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from core import hookspecs
from core.plugins import OcopPluginManager

ROOT = Path(__file__).resolve().parent.parent
THIS_FILE = Path(__file__).resolve()

#: Hooks whose implementations or tests are still being written by the engineers working on
#: orders, stock, payments, shipping and attribution. Each name here must still lack an
#: implementation or a test: once a plugin implements it and a test mentions it, this file
#: fails until the name is removed (the list only shrinks).
PENDING: set[str] = set()

HOOKSPECS = {name: func for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(func, "ocop_spec")}
STATE_CHANGE_HOOKS = {"product_listed", "product_delisted", "certification_changed", "certification_expiring",
                      "stock_changed", "order_created", "order_paid", "order_cancelled", "order_fulfilled",
                      "payable_paid"}


def _sources():
    for folder in (ROOT / "tests", ROOT / "plugins"):
        for path in sorted(folder.rglob("*.py")):
            if path.resolve() == THIS_FILE or "egg-info" in path.parts or ".venv" in path.parts:
                continue
            yield path, path.read_text(encoding="utf-8")


def implemented_hooks() -> dict[str, list[str]]:
    """Hook name → files defining ``def <hook>(`` in a module that uses ``hookimpl``."""
    found: dict[str, list[str]] = {}
    for path, source in _sources():
        if "hookimpl" not in source:
            continue
        for name in re.findall(r"^\s*def\s+(\w+)\s*\(", source, flags=re.MULTILINE):
            if name in HOOKSPECS:
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def hooks_mentioned_in_tests() -> dict[str, list[str]]:
    """Hook name → test files (``test_*.py``) that mention it."""
    found: dict[str, list[str]] = {}
    for path, source in _sources():
        if not path.name.startswith("test_"):
            continue
        for name in HOOKSPECS:
            if re.search(rf"\b{name}\b", source):
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def _uncovered() -> set[str]:
    implemented, tested = implemented_hooks(), hooks_mentioned_in_tests()
    return {name for name in HOOKSPECS if name not in implemented or name not in tested}


def test_hookspecs_are_found():
    assert len(HOOKSPECS) >= 15
    assert {"register_blueprints", "product_listed", "order_created"} <= set(HOOKSPECS)
    # the plugin manager knows exactly these hooks
    pm = OcopPluginManager()
    assert {name for name in dir(pm.hook) if not name.startswith("_")} >= set(HOOKSPECS)


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_hookspec_has_a_docstring(name):
    doc = inspect.getdoc(HOOKSPECS[name])
    assert doc and len(doc) >= 40, f"hookspec {name} needs a docstring saying when it is called and what it returns"
    if name in STATE_CHANGE_HOOKS:
        assert "after commit" in doc.lower(), f"{name}: state-change hooks say they run after commit"


def test_every_hook_is_implemented_and_tested():
    implemented, tested = implemented_hooks(), hooks_mentioned_in_tests()
    problems = []
    for name in sorted(set(HOOKSPECS) - PENDING):
        if name not in implemented:
            problems.append(f"{name}: no plugin or test plugin implements it (def {name}( with @hookimpl)")
        if name not in tested:
            problems.append(f"{name}: no test_*.py under tests/ or plugins/ mentions it")
    assert not problems, "hooks without an implementation or a test:\n" + "\n".join(problems)


def test_pending_list_only_shrinks():
    unknown = PENDING - set(HOOKSPECS)
    assert not unknown, f"PENDING names hooks that do not exist: {sorted(unknown)}"
    done = PENDING - _uncovered()
    assert not done, (f"{sorted(done)} are now implemented and tested: remove them from PENDING in "
                      f"{THIS_FILE.relative_to(ROOT)}")
