"""Fairs plugin: discovery, kinds, migrations, OpenAPI, the plugin switched off, the ``ocop fairs`` CLI, the demo."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from core.db import db
from core.inventory import ledger
from plugins.fairs import demo as fairs_demo
from plugins.fairs.models import FairAssignment, FairEvent, FairSettlement
from plugins.fairs.tests.fixtures import BASE, PUBLIC, build, error, event_body


def test_kinds_migrations_and_openapi(app, client):
    pm = app.extensions["ocop_plugins"]
    assert "fair_booth" in pm.sales_channel_kinds and "fair_booth" in pm.stock_location_kinds
    assert "fair_transit" in pm.stock_location_kinds
    tables = set(inspect(db.engine).get_table_names())
    assert {"fair_event", "fair_booth", "fair_assignment", "fair_sale", "alembic_version_fairs"} <= tables
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version_fairs").scalar() == "fr002"
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/admin/v1/fairs/{event_id}/assignments" in paths and "/storefront/v1/fairs/{slug}/map.svg" in paths
    assert paths["/admin/v1/fairs"]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in paths["/storefront/v1/fairs"]["get"]


@pytest.fixture
def disabled_app(app, instance_path, database_url):
    """A second app on the same database with ``OCOP_PLUGINS_DISABLED=fairs``."""
    from conftest import make_settings
    from core.app import create_app
    from core.celery_app import init_celery
    db.session.commit()
    yield create_app(make_settings(instance_path, database_url, plugins_disabled=["fairs"]))
    init_celery(app)  # give Celery back to the session's app


def test_disabled_plugin_has_no_fairs_routes_and_the_rest_works(disabled_app, client, login, demo):
    fair = build("running")
    other = disabled_app.test_client()
    error(other.get(PUBLIC), 404, "route.not_found")
    error(other.get(f"{PUBLIC}/{fair.slug}/map.svg"), 404, "route.not_found")
    token = other.post("/auth/token", json={"username": "admin", "password": "ocop-demo-2026"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    error(other.get(BASE, headers=headers), 404, "route.not_found")
    error(other.post(BASE, json=event_body(), headers=headers), 404, "route.not_found")
    assert not [p for p in other.get("/openapi.json").get_json()["paths"] if "fairs" in p]
    assert not [r for r in disabled_app.url_map.iter_rules() if "fairs" in r.rule]
    codes = {r["code"] for r in other.get("/admin/v1/reports", headers=headers).get_json()["results"]}
    assert not [c for c in codes if c.startswith("fairs.")]
    assert other.get("/storefront/v1/products").get_json()["total"] == 7
    assert other.get("/admin/v1/stock", headers=headers).status_code == 200
    assert "fair_booth" not in disabled_app.extensions["ocop_plugins"].sales_channel_kinds
    with disabled_app.app_context():
        from core import migrate
        assert "fairs" not in [name for name, _ in migrate.components()]
    assert client.get(PUBLIC).get_json()["total"] == 1  # enabled again: its data is still there


def _invoke(app, database_url, instance_path, *args):
    from core.celery_app import init_celery
    from core.cli import build_cli
    root, pm = build_cli(app.extensions["ocop_plugins"])
    try:
        return CliRunner().invoke(root, ["fairs", *args], obj={"pm": pm},
                                  env={"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path),
                                       "OCOP_TODAY": "2026-11-23"})
    finally:
        init_celery(app)


def test_cli_list_open_allocate_settle(app, client, login, demo, database_url, instance_path):
    draft = build("draft")
    db.session.commit()
    listed = _invoke(app, database_url, instance_path, "list")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout.splitlines()[0])["slug"] == draft.slug
    opened = _invoke(app, database_url, instance_path, "open", draft.slug, "--as", "sct.dongnai")
    assert opened.exit_code == 0, opened.output
    assert f"{draft.slug}: open" in opened.stdout
    again = _invoke(app, database_url, instance_path, "open", draft.slug)
    assert again.exit_code == 1 and "fair.invalid_transition" in again.output
    missing = _invoke(app, database_url, instance_path, "open", "no-such-fair")
    assert missing.exit_code == 1 and "fair_event.not_found" in missing.output
    fair = build("approved", name="Hội chợ CLI")
    db.session.commit()
    dry = _invoke(app, database_url, instance_path, "allocate", fair.slug, "--dry-run")
    assert dry.exit_code == 0 and len(json.loads(dry.stdout)["items"]) == 3
    allocated = _invoke(app, database_url, instance_path, "allocate", fair.slug)
    assert allocated.exit_code == 0, allocated.output
    assert "Assigned 3, unplaced 0." in allocated.stdout
    db.session.expire_all()
    assert len(db.session.execute(select(FairAssignment).where(FairAssignment.event_id == fair.event_id))
               .scalars().all()) == 3
    refused = _invoke(app, database_url, instance_path, "settle", fair.slug)
    assert refused.exit_code == 1 and "fair.wrong_status" in refused.output
    event = db.session.get(FairEvent, fair.event_id)
    event.status = "closed"
    db.session.commit()
    settled = _invoke(app, database_url, instance_path, "settle", fair.slug)
    assert settled.exit_code == 0, settled.output
    assert "Settled 3 exhibitors, 0 unbalanced." in settled.stdout
    db.session.expire_all()
    assert len(db.session.execute(select(FairSettlement)).scalars().all()) == 3


def test_demo_fair_is_running_with_booths_applications_and_sales(client, login, demo):
    result = fairs_demo.seed_demo_fair()
    db.session.commit()
    assert result["booths"] >= 12 and result["applications"] >= 5 and result["assignments"] == result["applications"]
    assert result["sales"] >= 3
    assert fairs_demo.seed_demo_fair()["skipped"] is True
    listed = client.get(PUBLIC).get_json()["results"]
    assert [e["slug"] for e in listed] == [fairs_demo.SLUG]
    detail = client.get(f"{PUBLIC}/{fairs_demo.SLUG}").get_json()
    assert len({b["zone_code"] for b in detail["map"]["booths"]}) == 3
    assert len(detail["exhibitors"]) == result["assignments"]
    svg = client.get(f"{PUBLIC}/{fairs_demo.SLUG}/map.svg")
    assert svg.status_code == 200 and b"P01" in svg.data
    report = client.get(f"{BASE}/{result['event_id']}/report", headers=login("sct.dongnai")).get_json()
    assert report["orders"] == result["sales"] and report["gmv"] > 0 and report["visitors"] == 1250
    assert ledger.verify_ledger() == []


def test_seed_demo_command(app, demo, database_url, instance_path):
    db.session.commit()
    first = _invoke(app, database_url, instance_path, "seed-demo")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["slug"] == fairs_demo.SLUG
    again = _invoke(app, database_url, instance_path, "seed-demo")
    assert json.loads(again.stdout)["skipped"] is True


def test_a_stock_location_a_fair_still_uses_cannot_be_deleted(app, client, login, demo, postgres_url):
    """PostgreSQL (SQLite does not enforce the foreign key here): the delete answers 409, nothing changes."""
    from support.checks import row_counts
    fair = build("draft")
    db.session.commit()
    location_id = db.session.get(FairEvent, fair.event_id).transit_location_id
    admin = login("admin")
    before = row_counts()
    answer = client.delete(f"/admin/v1/stock-locations/{location_id}", headers=admin)
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["error"]["code"] == "stock_location.in_use"
    assert row_counts() == before
