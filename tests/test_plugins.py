"""Plugins: entry-point discovery, routes, migrations, after-commit hooks, kinds, validation, disabling.

Uses the tiny third-party distribution in ``tests/plugin_dist`` (``ocop-hello-plugin`` 0.3.1,
entry point ``hello``), installed like any ``pip install``-ed plugin.
"""
from __future__ import annotations

import datetime as dt
import json
import textwrap

import pluggy
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

import ocop_hello.plugin as hello
from core.db import commit, db, run_ready_callbacks
from core.hookspecs import hookimpl
from core.certification.models import Certification
from core.catalogue.models import Product, Variant
from core.accounts.models import User
from core.plugins import OcopPluginManager, build_plugin_manager
from core.certification import certifications
from core.catalogue import listing
from support.checks import error_of

HELLO_HOOKS = {"register_blueprints", "register_migrations", "register_cli", "register_tasks",
               "register_sales_channel_kinds", "register_stock_location_kinds", "search_document", "reports",
               "product_listed", "product_delisted", "certification_changed", "certification_expiring",
               "order_created", "order_paid", "order_fulfilled"}


@pytest.fixture
def received():
    """The hook calls the hello plugin received during the test (after the demo was loaded)."""
    hello.RECEIVED.clear()
    yield hello.RECEIVED
    hello.RECEIVED.clear()


def _product(name) -> Product:
    return db.session.execute(select(Product).where(Product.name == name)).scalar_one()


def _calls(received, name):
    return [args for hook, args in received if hook == name]


# --- discovery ----------------------------------------------------------------
def test_ocop_plugins_list_shows_hello(app, monkeypatch, tmp_path):
    from core.cli import cli
    monkeypatch.setenv("OCOP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("OCOP_PLUGINS_DISABLED", raising=False)
    result = CliRunner().invoke(cli, ["plugins", "list", "--json"])  # discovers entry points itself
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    row = rows["hello"]
    assert row["version"] == "0.3.1" and row["distribution"] == "ocop-hello-plugin"
    assert row["enabled"] is True and row["module"] == "ocop_hello.plugin"
    assert set(row["hooks"]) == HELLO_HOOKS
    table = CliRunner().invoke(cli, ["plugins", "list"])
    line = next(line for line in table.stdout.splitlines() if line.startswith("hello "))
    assert "0.3.1" in line and "enabled" in line and "product_listed" in line


def test_ocop_plugins_list_shows_a_disabled_plugin(monkeypatch, tmp_path):
    from core.cli import cli
    monkeypatch.setenv("OCOP_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(cli, ["plugins", "list", "--json"], env={"OCOP_PLUGINS_DISABLED": "hello"})
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout) if r["name"] == "hello")
    assert row["enabled"] is False and row["hooks"] == [] and row["version"] == "0.3.1"


def test_plugin_cli_command_is_registered(app):
    from core.cli import build_cli
    root, pm = build_cli(app.extensions["ocop_plugins"])
    result = CliRunner().invoke(root, ["hello"], obj={"pm": pm})
    assert result.exit_code == 0 and "xin chào" in result.stdout


def test_admin_api_lists_plugins(client, demo, login):
    response = client.get("/admin/v1/plugins", headers=login("admin"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == len(body["results"]) and body["next"] is None
    row = next(r for r in body["results"] if r["name"] == "hello")
    assert row["version"] == "0.3.1" and row["enabled"] is True and set(row["hooks"]) == HELLO_HOOKS
    assert client.get("/admin/v1/plugins", headers=login("sct.dongnai")).status_code == 200
    error_of(client.get("/admin/v1/plugins", headers=login("cs.son-an")), 403, "auth.forbidden")
    error_of(client.get("/admin/v1/plugins"), 401, "auth.required")


# --- route, table, migrations, tasks --------------------------------------------
def test_plugin_route_and_table(client):
    assert client.get("/storefront/v1/hello").get_json() == {"results": [], "total": 0, "next": None}
    assert client.post("/storefront/v1/hello").status_code == 201
    assert client.get("/storefront/v1/hello").get_json()["results"] == ["xin chào"]
    assert db.session.execute(text("SELECT count(*) FROM hello_greeting")).scalar_one() == 1


def test_plugin_migrated_with_its_own_version_table(app):
    tables = set(inspect(db.engine).get_table_names())
    assert {"hello_greeting", "alembic_version_hello", "alembic_version"} <= tables
    assert db.session.execute(text("SELECT version_num FROM alembic_version_hello")).scalar_one() == "h001"
    core_versions = set(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert "h001" not in core_versions
    from core import migrate
    assert ("hello", hello.register_migrations()[1]) in migrate.components()
    assert migrate.upgrade() == [name for name, _ in migrate.components()]  # idempotent


def test_plugin_task_and_beat_schedule(app, received):
    from core.celery_app import init_celery
    celery = init_celery(app)  # the schedule is global to the Celery app: rebuild it for this Flask app
    assert celery.conf.beat_schedule["hello-every-hour"]["task"] == "hello.ping"
    assert "ocop.certifications.expire" in celery.tasks and "hello.ping" in celery.tasks
    assert celery.tasks["hello.ping"].delay().get() == "pong"
    assert received == [("task", "ping")]


def test_provider_hooks_answer_through_the_manager(app, demo):
    pm = app.extensions["ocop_plugins"]
    pomelo = _product("Bưởi da xanh Bình Lợi")
    extras = pm.hook.search_document(product=pomelo, document={"slug": pomelo.slug})
    assert {"hello": True} in extras
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    reports = [r for result in pm.hook.reports(user=admin) for r in result]
    assert {"code": "hello", "name": "Báo cáo chào", "name_en": "Hello report",
            "url": "/storefront/v1/hello"} in reports


# --- state-change hooks ----------------------------------------------------------
def _certify(client, headers, product, **overrides):
    body = {"stars": 3, "score": 60, "level": "province", "issued_on": "2026-02-02", "decision_no": "12/QĐ-UBND",
            **overrides}
    response = client.post(f"/admin/v1/products/{product.id}/certifications", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_listing_withdrawal_and_certification_hooks(client, demo, login, received):
    headers = login("hoidong.dongnai")
    banh_tet = _product("Bánh tét đặc sản Trần Gia")
    cert = _certify(client, headers, banh_tet)
    assert _calls(received, "product_listed") == [banh_tet.slug]
    assert _calls(received, "certification_changed") == [(cert["id"], None)]
    assert _calls(received, "product_delisted") == []
    received.clear()

    response = client.post(f"/admin/v1/certifications/{cert['id']}/withdraw", headers=headers,
                           json={"reason": "Hậu kiểm không đạt"})
    assert response.status_code == 200
    assert _calls(received, "product_delisted") == [(banh_tet.slug, "withdrawn")]
    assert _calls(received, "certification_changed") == [(cert["id"], "active")]
    assert _calls(received, "product_listed") == []


def test_supersede_and_downgrade_hooks(client, demo, login, received):
    headers = login("hoidong.dongnai")
    pomelo = _product("Bưởi da xanh Bình Lợi")
    old_id = pomelo.current_certification().id
    new = _certify(client, headers, pomelo, stars=4, score=80)
    # a renewal keeps the product listed: no listed/delisted noise, two certification changes
    assert _calls(received, "product_listed") == [] and _calls(received, "product_delisted") == []
    assert sorted(_calls(received, "certification_changed"), key=str) == sorted(
        [(old_id, "active"), (new["id"], None)], key=str)
    received.clear()
    response = client.post(f"/admin/v1/certifications/{new['id']}/downgrade", headers=headers,
                           json={"stars": 2, "reason": "Giảm sao sau kiểm tra"})
    assert response.status_code == 200
    assert _calls(received, "product_delisted") == [(pomelo.slug, "downgraded")]


def test_expiry_and_warning_hooks(app, demo, received, monkeypatch):
    lamp = _product("Đèn gỗ trang trí nội thất Trị An")
    cert_id = lamp.current_certification().id
    certifications.run_daily_maintenance()
    commit()  # the daily task commits; the hooks run after it
    assert _calls(received, "certification_expiring") == [(cert_id, 53)]
    received.clear()
    monkeypatch.setenv("OCOP_TODAY", "2027-01-15")
    certifications.run_daily_maintenance()
    commit()
    assert _calls(received, "product_delisted") == [(lamp.slug, "expired")]
    assert (cert_id, "active") in _calls(received, "certification_changed")


class CommittedStateObserver:
    """A plugin that checks, from another connection, that what it is told about is already committed."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def product_listed(self, product):
        with db.engine.connect() as other:
            listed = other.execute(select(Product.is_listed).where(Product.id == product.id)).scalar_one()
        self.seen.append(("product_listed", product.slug, bool(listed)))

    @hookimpl
    def certification_changed(self, certification, previous_status):
        with db.engine.connect() as other:
            status = other.execute(select(Certification.status)
                                   .where(Certification.id == certification.id)).scalar_one_or_none()
        self.seen.append(("certification_changed", certification.id, status))


def test_hooks_fire_only_after_commit(client, demo, login, app):
    pm = app.extensions["ocop_plugins"]
    observer = CommittedStateObserver()
    pm.register(observer, name="observer")
    try:
        banh_tet = _product("Bánh tét đặc sản Trần Gia")
        cert = _certify(client, login("hoidong.dongnai"), banh_tet)
    finally:
        pm.unregister(observer)
    assert observer.seen == [("certification_changed", cert["id"], "active"),
                             ("product_listed", banh_tet.slug, True)]


class BrokenPlugin:
    @hookimpl
    def product_listed(self, product):
        raise RuntimeError("plugin bug")


def test_a_failing_hook_does_not_undo_or_fail_a_committed_change(client, demo, login, app, received, caplog):
    pm = app.extensions["ocop_plugins"]
    pm.register(BrokenPlugin(), name="broken")
    try:
        banh_tet = _product("Bánh tét đặc sản Trần Gia")
        _certify(client, login("hoidong.dongnai"), banh_tet)  # 201, not 500: the change is durable
    finally:
        pm.unregister(name="broken")
    assert "plugin bug" in caplog.text
    assert _calls(received, "certification_changed")  # other callbacks still ran
    assert client.get(f"/storefront/v1/products/{banh_tet.slug}").status_code == 200


def test_a_rolled_back_change_fires_nothing(app, demo, received):
    banh_tet = _product("Bánh tét đặc sản Trần Gia")
    db.session.add(Certification(product=banh_tet, stars=3, score=60, level="province", criteria_set="148",
                                 issued_on=dt.date(2026, 2, 2), expires_on=dt.date(2029, 2, 2), status="active"))
    db.session.flush()
    assert listing.refresh(banh_tet) is True  # would be listed: product_listed is queued …
    assert received == []  # … not called before commit
    db.session.rollback()
    commit()  # a later, unrelated commit must not run the dropped callbacks
    run_ready_callbacks()
    assert received == []
    db.session.expire_all()
    assert banh_tet.is_listed is False and banh_tet.certifications == []


def test_a_failed_transaction_fires_nothing(app, demo, received):
    """A real database failure in the middle of a withdrawal: the queued hooks are dropped with it."""
    oil = _product("Tinh dầu bưởi Bình Lợi")
    cert = oil.current_certification()
    user = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    assert cert.product.producer.province_code == "75" and oil.variants  # loaded before the clash below
    # a second variant with an existing SKU: the next flush (inside withdraw) violates the unique constraint
    db.session.add(Variant(product=oil, sku="BL-TDB-10", name="trùng SKU", price=1000))
    with pytest.raises(IntegrityError):
        certifications.withdraw(user, cert, "Thử lỗi cơ sở dữ liệu")
    db.session.rollback()
    commit()
    assert received == []
    db.session.expire_all()
    assert cert.status == "active" and oil.is_listed is True


# --- kinds registries ------------------------------------------------------------
def test_kind_registries_include_plugin_kinds(app):
    pm = app.extensions["ocop_plugins"]
    assert "online_store" in pm.sales_channel_kinds and "hello_kiosk" in pm.sales_channel_kinds
    assert "producer_warehouse" in pm.stock_location_kinds and "hello_shelf" in pm.stock_location_kinds
    kiosk = next(k for k in pm.sales_channel_kinds.all() if k["code"] == "hello_kiosk")
    assert kiosk == {"code": "hello_kiosk", "name": "Ki-ốt chào", "name_en": "Hello kiosk"}


class LatePlugin:
    @hookimpl
    def register_sales_channel_kinds(self, registry):
        registry.add("late_market", "Chợ phiên", "Late market")

    @hookimpl
    def register_stock_location_kinds(self, registry):
        registry.add("late_van", "Xe bán hàng", "Sales van")


def test_historic_replay_for_plugins_registered_later():
    pm = build_plugin_manager([])
    assert "late_market" not in pm.sales_channel_kinds
    pm.register(LatePlugin(), name="late")
    assert "late_market" in pm.sales_channel_kinds and "late_van" in pm.stock_location_kinds
    assert "hello_kiosk" in pm.sales_channel_kinds
    late = next(row for row in pm.describe() if row["name"] == "late")
    assert late["enabled"] and late["module"] == __name__ and set(late["hooks"]) == {
        "register_sales_channel_kinds", "register_stock_location_kinds"}
    # unregistering removes an ad-hoc plugin from the listing; an entry point stays listed, disabled
    pm.unregister(name="late")
    assert "late" not in {row["name"] for row in pm.describe()}
    pm.unregister(name="hello")
    hello_row = next(row for row in pm.describe() if row["name"] == "hello")
    assert hello_row["enabled"] is False and hello_row["hooks"] == [] and hello_row["version"] == "0.3.1"
    pm.register(hello, name="hello")
    assert next(row for row in pm.describe() if row["name"] == "hello")["enabled"] is True


# --- validation ------------------------------------------------------------------
class TypoPlugin:
    @hookimpl
    def product_listted(self, product):  # misspelt hook name
        pass


def test_unknown_hook_fails_start():
    pm = OcopPluginManager()
    pm.register(TypoPlugin(), name="typo")
    with pytest.raises(pluggy.PluginValidationError, match="product_listted"):
        pm.start()


def test_wrong_hook_arguments_fail_registration():
    class WrongArgs:
        @hookimpl
        def product_delisted(self, product, reason, when):
            pass

    with pytest.raises(pluggy.PluginValidationError):
        OcopPluginManager().register(WrongArgs(), name="wrong")


@pytest.fixture
def bad_distribution(tmp_path, monkeypatch):
    """A pip-installed distribution whose plugin implements a hook that does not exist."""
    (tmp_path / "ocop_typo_plugin.py").write_text(textwrap.dedent('''
        from core.hookspecs import hookimpl

        @hookimpl
        def order_shipped(order):
            pass
    '''))
    info = tmp_path / "ocop_typo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ocop-typo-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ocop.plugins]\ntypo = ocop_typo_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    import sys
    sys.modules.pop("ocop_typo_plugin", None)


def test_installed_plugin_with_unknown_hook_fails_loudly(bad_distribution, settings):
    with pytest.raises(pluggy.PluginValidationError, match="order_shipped"):
        build_plugin_manager([])
    from core.app import create_app
    with pytest.raises(pluggy.PluginValidationError):
        create_app(settings)
    # switching the broken plugin off lets the app start
    assert "typo" in build_plugin_manager(["typo"]).infos


# --- disabled --------------------------------------------------------------------
@pytest.fixture
def disabled_app(app, instance_path, database_url):
    """A second app on the same database with ``OCOP_PLUGINS_DISABLED=hello``."""
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    db.session.commit()
    yield create_app(make_settings(instance_path, database_url, plugins_disabled=["hello"]))
    init_celery(app)  # give Celery back to the session's app


def test_disabled_plugin(disabled_app, client, demo, received):
    db.session.commit()
    other = disabled_app.test_client()
    error_of(other.get("/storefront/v1/hello"), 404, "route.not_found")
    assert client.get("/storefront/v1/hello").status_code == 200  # still there in the enabled app
    assert "/storefront/v1/hello" not in other.get("/openapi.json").get_json()["paths"]

    token = other.post("/auth/token", json={"username": "admin", "password": "ocop-demo-2026"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    rows = {r["name"]: r for r in other.get("/admin/v1/plugins", headers=headers).get_json()["results"]}
    assert rows["hello"]["enabled"] is False and rows["hello"]["hooks"] == []
    pm = disabled_app.extensions["ocop_plugins"]
    assert "hello_kiosk" not in pm.sales_channel_kinds and "online_store" in pm.sales_channel_kinds

    # the rest works, and the disabled plugin hears nothing
    assert other.get("/storefront/v1/products").get_json()["total"] == 7
    with disabled_app.app_context():
        banh_tet_id = db.session.execute(select(Product.id).where(Product.slug == "banh-tet-dac-san-tran-gia")
                                         ).scalar_one()
    response = other.post(f"/admin/v1/products/{banh_tet_id}/certifications", headers=headers,
                          json={"stars": 3, "score": 60, "level": "province", "issued_on": "2026-02-02",
                                "decision_no": "12/QĐ-UBND"})
    assert response.status_code == 201, response.get_json()
    assert other.get("/storefront/v1/products").get_json()["total"] == 8
    assert received == []
    with disabled_app.app_context():
        from core import migrate
        names = [name for name, _ in migrate.components()]
        assert names[0] == "core" and "hello" not in names  # other built-in plugins may ship migrations


def test_plugins_disabled_setting_comes_from_the_environment(tmp_path):
    from core.config import load_settings
    settings = load_settings({"OCOP_PLUGINS_DISABLED": " hello, fairs ,"}, instance_path=tmp_path)
    assert settings.plugins_disabled == ["hello", "fairs"]
    assert load_settings({}, instance_path=tmp_path).plugins_disabled == []
