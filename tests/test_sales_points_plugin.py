"""Sales points plugin: discovery, CLI, OpenAPI, migrations, disabling, and concurrent selling on PostgreSQL."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from core.db import commit, db
from support.checks import error_of
from support.sales_points import BASE, ledger_ok, on_hand, receive, setup_points


def test_plugins_list_shows_sales_points(app, monkeypatch, tmp_path):
    from core.cli import cli
    monkeypatch.setenv("OCOP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("OCOP_PLUGINS_DISABLED", raising=False)
    result = CliRunner().invoke(cli, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout) if r["name"] == "sales_points")
    assert row["enabled"] is True and row["module"] == "plugins.sales_points.plugin"
    assert row["distribution"] == "ocop-commerce"
    assert {"register_blueprints", "register_migrations", "register_sales_channel_kinds",
            "register_stock_location_kinds", "register_tasks", "register_cli", "reports"} <= set(row["hooks"])
    disabled = CliRunner().invoke(cli, ["plugins", "list", "--json"], env={"OCOP_PLUGINS_DISABLED": "sales_points"})
    row = next(r for r in json.loads(disabled.stdout) if r["name"] == "sales_points")
    assert row["enabled"] is False


def test_kinds_migrations_and_openapi(app, client):
    pm = app.extensions["ocop_plugins"]
    assert "sales_point" in pm.sales_channel_kinds and "sales_point" in pm.stock_location_kinds
    assert "sales_point_transit" in pm.stock_location_kinds
    tables = set(inspect(db.engine).get_table_names())
    assert {"sales_point", "sales_point_sale", "alembic_version_sales_points"} <= tables
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version_sales_points").scalar() == "sp003_bigint_money"
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/admin/v1/sales-points/{point_id}/sales" in paths
    assert "/storefront/v1/sales-points" in paths and "/storefront/v1/products/{slug}/sales-points" in paths
    assert paths["/admin/v1/sales-points/{point_id}/sales"]["post"]["security"] == [{"bearerAuth": []}]


def test_cli_alerts_command(app, client, login, demo, database_url, instance_path):
    sp = setup_points(client, login)
    receive(sp, sp.a, sp.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 1}])
    db.session.commit()
    from core.celery_app import init_celery
    from core.cli import build_cli
    root, pm = build_cli(app.extensions["ocop_plugins"])
    try:
        result = CliRunner().invoke(root, ["sales-points", "alerts"], obj={"pm": pm},
                                    env={"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path)})
    finally:
        init_celery(app)  # the command built its own app; give Celery back to the session's app
    assert result.exit_code == 0, result.output
    assert "Raised 1, resolved 0." in result.stdout


@pytest.fixture
def disabled_app(app, instance_path, database_url):
    """A second app on the same database with ``OCOP_PLUGINS_DISABLED=sales_points``."""
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    db.session.commit()
    yield create_app(make_settings(instance_path, database_url, plugins_disabled=["sales_points"]))
    init_celery(app)  # give Celery back to the session's app


def test_disabled_plugin_leaves_the_rest_working(disabled_app, client, login, demo):
    sp = setup_points(client, login)
    receive(sp, sp.a, sp.op_a, "BL-BDX-1", [{"sku": "BL-BDX-1", "quantity": 2, "lot_no": "L",
                                             "best_before": "2027-01-01"}])
    db.session.commit()
    other = disabled_app.test_client()
    error_of(other.get("/storefront/v1/sales-points"), 404, "route.not_found")
    error_of(other.get("/storefront/v1/products/buoi-da-xanh-binh-loi/sales-points"), 404, "route.not_found")
    token = other.post("/auth/token", json={"username": "admin", "password": "ocop-demo-2026"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    error_of(other.get(BASE, headers=headers), 404, "route.not_found")
    paths = other.get("/openapi.json").get_json()["paths"]
    assert not [p for p in paths if "sales-points" in p]
    rows = {r["name"]: r for r in other.get("/admin/v1/plugins", headers=headers).get_json()["results"]}
    assert rows["sales_points"]["enabled"] is False
    codes = {r["code"] for r in other.get("/admin/v1/reports", headers=headers).get_json()["results"]}
    assert not [c for c in codes if c.startswith("sales_points.")]
    # the core keeps working: catalogue, product detail, stock
    assert other.get("/storefront/v1/products").get_json()["total"] == 7
    assert other.get("/storefront/v1/products/buoi-da-xanh-binh-loi").status_code == 200
    assert other.get("/admin/v1/stock", headers=headers).status_code == 200
    pm = disabled_app.extensions["ocop_plugins"]
    assert "sales_point" not in pm.sales_channel_kinds
    with disabled_app.app_context():
        from core import migrate
        assert "sales_points" not in [name for name, _ in migrate.components()]
        assert "sales_points.stock_alerts" not in disabled_app.extensions["celery"].conf.beat_schedule.get(
            "sales-points-stock-alerts-daily", {}).get("task", "")
    # and the plugin, enabled again, still has its data
    assert client.get(f"{BASE}/{sp.a}/stock", headers=sp.op_a).get_json()["total"] == 1


# --- PostgreSQL: two tills, one last unit --------------------------------------------------------
def test_two_operators_selling_the_last_unit_never_oversell(postgres_url, app, client, login, demo):
    sp = setup_points(client, login)
    # a second operator at point A
    client.post(f"{BASE}/{sp.a}/operators", json={"username": "op.a2", "password": "op-pass-2026"},
                headers=sp.organiser)
    receive(sp, sp.a, sp.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 1}])
    from core.accounts.models import User
    from plugins.sales_points import pos, services
    user_ids = [db.session.execute(select(User.id).where(User.username == name)).scalar_one()
                for name in ("op.a", "op.a2")]
    db.session.commit()
    rounds = 5
    barrier = threading.Barrier(2)
    outcomes = []

    def till(user_id, n):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                point = services.get_point(sp.a)
                try:
                    barrier.wait(timeout=30)
                except threading.BrokenBarrierError:
                    pass
                try:
                    sale, _ = pos.create_sale(user, point, {"payment_method": "cash", "client_ref": f"{user_id}-{n}",
                                                            "lines": [{"sku": "BL-TDB-10", "quantity": 1}]})
                    number = sale.number
                    commit()  # the caller owns the transaction (here: the till's thread)
                    return ("sold", number)
                except Exception as exc:  # the loser must get a clean domain error
                    return ("refused", getattr(exc, "code", repr(exc)))
            finally:
                db.session.remove()

    for n in range(rounds):
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [f.result() for f in [pool.submit(till, uid, n) for uid in user_ids]]
        outcomes.append(results)
        assert sorted(r[0] for r in results) == ["refused", "sold"], results
        assert [r[1] for r in results if r[0] == "refused"] == ["stock.insufficient"]
        assert on_hand(sp, sp.a, "BL-TDB-10") == 0
        ledger_ok()
        if n < rounds - 1:
            receive(sp, sp.a, sp.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 1}])
            db.session.commit()
    from plugins.sales_points.models import PosSale
    db.session.expire_all()
    assert len(db.session.execute(select(PosSale)).scalars().all()) == rounds
