"""What a newcomer meets first: the demo's environment and units, bilingual messages, times, licences, dev.py."""
from __future__ import annotations

import ast
import datetime as dt
import importlib.metadata as metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from marshmallow import Schema, fields
from marshmallow import class_registry

from core.errors import Message, translation

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for top in ("core", "admin", "storefront_api", "plugins") for p in (ROOT / top).rglob("*.py")
           if "tests" not in p.relative_to(ROOT).parts and "migrations" not in p.parts]


def _dev():
    spec = importlib.util.spec_from_file_location("dev_for_tests", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the test plugin never reaches the demo ---------------------------------------------------------------
_LIST_PLUGINS = """
import json
from core.app import create_app
app = create_app()
names = sorted(row["name"] for row in app.extensions["ocop_plugins"].describe())
rules = sorted(r.rule for r in app.url_map.iter_rules())
print(json.dumps({"plugins": names, "hello_route": "/storefront/v1/hello" in rules}))
"""


def _demo_app_sees(env: dict, tmp_path) -> dict:
    env = {**env, "OCOP_INSTANCE_PATH": str(tmp_path / "instance")}
    env.pop("OCOP_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", _LIST_PLUGINS], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_test_style_install_leaves_the_demo_without_the_test_plugin(tmp_path):
    dev = _dev()
    target = dev.ensure_test_plugins(target=tmp_path / "test-plugins", python=Path(sys.executable))
    assert (target / "ocop_hello").is_dir()
    demo_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # what `dev.py serve` runs with
    demo = _demo_app_sees(demo_env, tmp_path)
    assert "hello" not in demo["plugins"] and not demo["hello_route"], demo
    assert "sales_points" in demo["plugins"]
    # the same app in a test run's environment does see it (so this test can fail)
    tests = _demo_app_sees(dev.test_environment(demo_env, target=target), tmp_path)
    assert "hello" in tests["plugins"] and tests["hello_route"], tests
    # and the venv itself holds no copy
    shown = subprocess.run([sys.executable, "-m", "pip", "show", "ocop-hello-plugin"], env=demo_env,
                           capture_output=True, text=True)
    assert shown.returncode != 0, shown.stdout


def test_dev_serve_marks_its_instance_as_a_demo_and_never_passes_the_test_plugins():
    source = (ROOT / "dev.py").read_text("utf-8")
    serve = source[source.index("def serve("):source.index("def _postgres_database")]
    assert 'os.environ["OCOP_DEMO"] = "1"' in serve and 'os.environ.pop("PYTHONPATH", None)' in serve
    assert '"geo", "load", "--if-empty"' in serve
    assert "plugin_dist" not in source[source.index("def ensure_venv("):source.index("def _newest_mtime")]


def test_dev_test_with_an_unreachable_postgres_prints_one_line(tmp_path):
    env = {**os.environ, "OCOP_VENV": sys.prefix}
    done = subprocess.run([sys.executable, str(ROOT / "dev.py"), "test", "--postgres",
                           "postgresql://postgres@127.0.0.1:9/postgres", "--", "--co", "-q"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, (done.stdout[-500:], done.stderr[-1500:])
    assert "Traceback" not in done.stderr and "CalledProcessError" not in done.stderr
    line = [l for l in done.stderr.splitlines() if l.startswith("dev.py test:")]
    assert len(line) == 1 and "127.0.0.1:9" in line[0] and "connect" in line[0].lower(), done.stderr


# --- licences -----------------------------------------------------------------------------------------------
def _dependencies(name: str) -> dict[str, metadata.Distribution]:
    from packaging.requirements import Requirement
    found, todo = {}, [name]
    while todo:
        current = todo.pop()
        key = re.sub(r"[-_.]+", "-", current).lower()
        if key in found:
            continue
        try:
            dist = metadata.distribution(current)
        except metadata.PackageNotFoundError:
            continue
        found[key] = dist
        for raw in dist.requires or []:
            requirement = Requirement(raw)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def _is_gpl(dist: metadata.Distribution) -> bool:
    text = " ".join([dist.metadata.get("License-Expression") or "", (dist.metadata.get("License") or "")[:200],
                     *(c for c in dist.metadata.get_all("Classifier") or [] if c.startswith("License"))])
    text = re.sub(r"LGPL[-\w.+]*|Lesser General Public License[^|]*", "", text)  # weak copyleft is fine
    return bool(re.search(r"\b(A?GPL|General Public License)", text))


def test_no_dependency_of_an_install_is_gpl():
    deps = _dependencies("ocop-commerce")
    assert {"flask", "swagger-ui-bundle", "sqlalchemy"} <= set(deps), sorted(deps)
    gpl = sorted(name for name, dist in deps.items() if _is_gpl(dist))
    assert gpl == [], f"GPL dependencies: {gpl}"
    assert "vietnam-provinces" not in deps and "unidecode" not in deps
    own = metadata.distribution("ocop-commerce")
    assert own.metadata["License"] == "MIT"
    assert not any("geo" == extra for extra in own.metadata.get_all("Provides-Extra") or [])


def test_the_gpl_check_can_fail():
    class Fake:
        def __init__(self, **meta):
            self.metadata = type("M", (), {"get": lambda s, k, d=None: meta.get(k, d),
                                           "get_all": lambda s, k: meta.get(k)})()
    assert _is_gpl(Fake(License="GPL-3.0-or-later"))
    assert _is_gpl(Fake(Classifier=["License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)"]))
    assert not _is_gpl(Fake(License="LGPL-3.0-only"))
    assert not _is_gpl(Fake(License="MIT"))


# --- the demo's administrative units --------------------------------------------------------------------------
def _cli(app, *args, env=None):
    from core.cli import cli
    return CliRunner().invoke(cli, list(args), obj={"app": app, "pm": app.extensions["ocop_plugins"]},
                              env=env or {}, catch_exceptions=False)


def test_the_serve_sequence_gives_34_provinces_and_the_demo(app, client, monkeypatch):
    """What `dev.py serve` runs on a first and a second start: geo load --if-empty, seed demo."""
    monkeypatch.setenv("OCOP_DEMO", "1")
    first = _cli(app, "geo", "load", "--if-empty")
    assert first.exit_code == 0 and "34 provinces, 3321 communes, 10794 pre-2025 units" in first.output
    seeded = _cli(app, "seed", "demo")
    assert seeded.exit_code == 0 and "Loaded 9 products" in seeded.output, seeded.output
    provinces = client.get("/storefront/v1/administrative-units?level=province&limit=100").get_json()
    assert provinces["total"] == 34
    assert client.get("/storefront/v1/administrative-units?parent=75&limit=1").get_json()["total"] > 90
    assert client.get("/storefront/v1/products").get_json()["total"] >= 7  # the demo catalogue is listed
    old = client.get("/storefront/v1/administrative-units?include_retired=true&q=old-26188").get_json()
    assert [u["successor_code"] for u in old["results"]] == ["26188"]
    again = _cli(app, "geo", "load", "--if-empty")
    assert "already loaded" in again.output
    second = _cli(app, "seed", "demo")
    assert "already present" in second.output and "0/9" not in second.output


def test_seed_demo_refuses_an_instance_not_marked_as_a_demo(app, monkeypatch):
    from core.accounts.models import User
    from core.db import db
    monkeypatch.delenv("OCOP_DEMO", raising=False)
    assert not (app.config["OCOP"].instance_path / "DEMO").exists()
    refused = CliRunner().invoke(__import__("core.cli", fromlist=["cli"]).cli, ["seed", "demo"],
                                 obj={"app": app, "pm": app.extensions["ocop_plugins"]})
    assert refused.exit_code != 0
    assert "không được đánh dấu là bản demo" in refused.output and "not marked as a demo" in refused.output
    assert db.session.query(User).count() == 0


def test_unit_codes_agree_with_the_demo_data_and_seed_plans():
    from core.demo import demo_data
    from core.geo import units
    official = {row["code"]: row for row in units.official_units()}
    assert sum(r["level"] == "province" for r in official.values()) == 34
    assert sum(r["level"] == "commune" for r in official.values()) == 3321
    for row in demo_data()["administrative_units"]:
        if row.get("retired_on"):
            assert row.get("successor") is None or row["successor"] in official or row["successor"].isalpha() \
                or "-" in row["successor"], row
            continue
        assert row["code"] in official, row
        assert official[row["code"]]["name"] == row["name"], (row, official[row["code"]])
        assert official[row["code"]].get("parent") == row.get("parent"), row
    for row in units.retired_units():
        assert row["successor"] in official or row["successor"] in {r["code"] for r in units.retired_units()}, row
    legacy = {row["code"]: row for row in units.legacy_units()}
    assert all(row["successor"] in official for row in legacy.values())
    # the retired demo units and the official pre-2025 list agree on where each went
    assert units.convert_old_address("Xã Bình Hòa, Huyện Vĩnh Cửu, Tỉnh Đồng Nai")["commune_code"] == "26188"
    assert units.convert_old_address("Xã Điền Xá, Huyện Nam Trực, Tỉnh Nam Định")["commune_code"] == "13972"
    assert legacy["old-36"]["successor"] == "37" and legacy["old-75"]["successor"] == "75"


# --- bilingual messages -----------------------------------------------------------------------------------------
def _walk_messages(details, where=""):
    if isinstance(details, dict) and set(details) == {"message", "message_en"}:
        yield where, details
    elif isinstance(details, dict):
        for key, value in details.items():
            yield from _walk_messages(value, f"{where}.{key}")
    elif isinstance(details, list):
        for n, value in enumerate(details):
            yield from _walk_messages(value, f"{where}[{n}]")
    else:
        raise AssertionError(f"{where}: {details!r} is not a {{message, message_en}} pair")


_VIETNAMESE = re.compile(r"[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]", re.I)
_BAD_REQUESTS = [
    ("post", "/admin/v1/products", {"name": "", "variants": [{"price": -1, "sku": "x" * 300}], "extra": 1}),
    ("post", "/admin/v1/administrative-units", {"code": "X 1", "name": "X", "level": "hamlet"}),
    ("get", "/storefront/v1/products?limit=1000&page=0&nope=1", None),
    ("get", "/storefront/v1/search?q=m%01t&min_price=9&max_price=1", None),
    ("get", "/admin/v1/audit?since=2026-02-01&until=2026-01-01", None),
    ("post", "/storefront/v1/checkouts", {"lines": [{"variant_id": "x", "quantity": 0}], "email": "no"}),
    ("post", "/admin/v1/users", {"username": "a", "role": "king", "password": 1}),
]


def test_every_validation_detail_comes_in_both_languages(client, demo, login):
    headers = login("admin")
    seen = 0
    for method, url, body in _BAD_REQUESTS:
        response = getattr(client, method)(url, json=body, headers=headers)
        assert response.status_code in (400, 404, 422), (url, response.status_code, response.get_json())
        error = response.get_json()["error"]
        assert error["message"] and error["message_en"] and error["message"] != error["message_en"], error
        if response.status_code != 422:
            continue
        for where, pair in _walk_messages(error["details"]):
            assert pair["message"] and pair["message_en"], (url, where, pair)
            assert pair["message"] != pair["message_en"], (url, where, pair)
            assert _VIETNAMESE.search(pair["message"]), (url, where, pair)
            seen += 1
    assert seen >= 12


def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def test_every_message_in_the_source_has_both_languages():
    """Static: DomainError-style calls carry Vietnamese and English; validation messages have a translation."""
    problems = []
    errors = ("DomainError", "Conflict", "Unauthorised", "Forbidden", "TooManyRequests", "invalid", "_rule_error")
    for path in SOURCES:
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in errors:
                pair = node.args[1:3]  # (code | field, vi, en)
                if len(pair) == 2 and all(isinstance(p, (ast.Constant, ast.JoinedStr)) for p in pair):
                    vi, en = (re.sub(r"\{[^}]*\}", "", ast.unparse(p)) for p in pair)  # text around {values}
                    if vi == en or not _VIETNAMESE.search(vi):
                        problems.append(f"{where}: {name} message not Vietnamese: {vi}")
                    if re.search(r"\b(province|district|variant|not found|required)\b", vi):
                        problems.append(f"{where}: English inside the Vietnamese message: {vi}")
            if name == "ValidationError" and node.args:
                text = _literal(node.args[0])
                if text is not None and translation(text) is None:
                    problems.append(f"{where}: ValidationError({text!r}) has no Vietnamese (use Message(vi, en))")
            if name == "NotFound" and len(node.args) < 2:
                problems.append(f"{where}: NotFound without its Vietnamese noun")
    assert problems == [], "\n".join(problems)


def test_marshmallow_messages_are_all_translated():
    from marshmallow import validate
    messages = set()
    for cls in vars(fields).values():
        if isinstance(cls, type) and issubclass(cls, fields.Field):
            messages.update(getattr(cls, "default_error_messages", {}).values())
    messages.update(Schema._default_error_messages.values())
    for cls in (validate.Regexp, validate.OneOf, validate.Equal, validate.NoneOf, validate.URL, validate.Email,
                validate.ContainsOnly, validate.ContainsNoneOf):
        messages.add(cls.default_message)
    values = {"choices": "a, b", "other": "x", "values": "a", "obj_type": "datetime", "awareness": "aware",
              "input": "x"}
    rendered = {m.format_map(values) for m in messages}
    rendered |= {"Length must be between 1 and 200.", "Shorter than minimum length 3.", "Longer than maximum length 9.",
                 "Must be greater than or equal to 1.", "Must be greater than or equal to 1 and less than or equal to 100.",
                 "Must be less than 5.", "Length must be 4."}
    missing = sorted(m for m in rendered if translation(m) is None)
    assert missing == [], missing
    assert translation(Message("giờ đóng cửa", "close")) == "giờ đóng cửa"


# --- times ---------------------------------------------------------------------------------------------------------
def _project_schemas():
    import core.app  # noqa: F401  (imports every domain, face and plugin schema)
    from core.plugins import build_plugin_manager
    build_plugin_manager([])
    seen = {}
    for name, classes in class_registry._registry.items():
        for cls in classes:
            if cls.__module__.split(".")[0] in ("core", "admin", "storefront_api", "plugins") and "." not in name:
                seen[f"{cls.__module__}.{cls.__name__}"] = cls
    return seen


def test_every_schema_datetime_field_answers_vietnam_time():
    moment = dt.datetime(2026, 11, 23, 2, 30, tzinfo=dt.timezone.utc)
    checked, wrong = 0, []
    for name, cls in sorted(_project_schemas().items()):
        try:
            schema = cls()
        except TypeError:
            continue
        for field_name, field in schema.fields.items():
            if not isinstance(field, fields.DateTime) or isinstance(field, fields.NaiveDateTime) or field.load_only:
                continue
            for value in (moment, moment.replace(tzinfo=None)):  # aware, and naive UTC as SQLite gives it back
                answered = field.serialize(field_name, {field_name: value})
                if answered != "2026-11-23T09:30:00+07:00":
                    wrong.append(f"{name}.{field_name}: {answered}")
            checked += 1
    assert checked >= 25, checked
    assert wrong == [], wrong


def test_stock_movements_answer_vietnam_time(client, demo, login):
    body = client.get("/admin/v1/stock/movements?limit=3", headers=login("admin")).get_json()
    assert body["results"]
    assert all(m["created_at"].endswith("+07:00") for m in body["results"]), body["results"]


# --- test harness -----------------------------------------------------------------------------------------------
def test_test_redis_address_comes_from_the_environment(monkeypatch):
    import support.services as services
    monkeypatch.setattr(services, "REDIS_URL", "redis://cache.test:6390")
    assert services.redis_address() == ("cache.test", 6390)
    assert services.redis_url(13) == "redis://cache.test:6390/13"


def test_localstripe_failure_says_what_went_wrong(monkeypatch):
    import support.localstripe_server as ls
    if importlib.util.find_spec("localstripe") is None:
        pytest.skip("localstripe not installed (its absence has its own message)")
    monkeypatch.setattr(ls, "_CHILD_SCRIPT", "import sys; sys.stderr.write('ModuleNotFoundError: aiohttp_x\\n'); "
                                             "sys.exit(3)")
    with pytest.raises(RuntimeError) as raised:
        ls.start_localstripe(timeout=10)
    message = str(raised.value)
    assert "aiohttp_x" in message and "exit code 3" in message and "see stderr above" not in message
