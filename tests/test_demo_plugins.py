"""``ocop seed demo`` loads each plugin's demo through the ``seed_demo_data`` hook (what ``dev.py serve`` shows)."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from core.celery_app import init_celery
from core.cli import build_cli
from core.db import db
from plugins.fairs.models import FairAssignment, FairBooth, FairEvent
from plugins.livestream.models import LivestreamSession
from plugins.marketplace_feeds.models import Marketplace, MarketplaceProducer
from core.catalogue.models import Producer


def _seed(app, database_url, instance_path):
    root, pm = build_cli(app.extensions["ocop_plugins"])
    try:
        return CliRunner().invoke(root, ["seed", "demo"], obj={"pm": pm},
                                  env={"OCOP_DATABASE_URL": database_url, "OCOP_INSTANCE_PATH": str(instance_path),
                                       "OCOP_TODAY": "2026-11-23", "OCOP_DEMO": "1"})
    finally:
        init_celery(app)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_seed_demo_loads_every_plugins_demo_once(app, database_url, instance_path):
    first = _seed(app, database_url, instance_path)
    assert first.exit_code == 0, first.output
    assert "fairs:" in first.output and "livestream:" in first.output and "marketplace_feeds:" in first.output
    db.session.remove()
    assert _count(FairEvent) == 1 and _count(FairBooth) >= 12
    assert _count(LivestreamSession) == 1
    assert _count(Marketplace) >= 3
    again = _seed(app, database_url, instance_path)
    assert again.exit_code == 0, again.output
    assert "already present" in again.output and again.output.count('"skipped": true') == 3
    db.session.remove()
    assert (_count(FairEvent), _count(LivestreamSession)) == (1, 1)



def test_the_demo_fair_counts_as_booth_rounds_on_the_province_dashboard(app, database_url, instance_path, login):
    result = _seed(app, database_url, instance_path)
    assert result.exit_code == 0, result.output
    db.session.remove()
    client = app.test_client()
    data = client.get("/admin/v1/reports/province-dashboard?year=2026", headers=login("sct.dongnai")).get_json()
    figures = {f["code"]: f for f in data["plugin_figures"]}
    rounds = figures["fair_rounds"]
    assigned = _count(FairAssignment)
    assert assigned >= 1 and rounds["value"] == assigned  # the running demo fair opened on 2026-11-23
    assert rounds["target"] == 32 and rounds["rows"][0]["value"] == assigned
    other_year = client.get("/admin/v1/reports/province-dashboard?year=2025", headers=login("sct.dongnai")).get_json()
    assert {f["code"]: f["value"] for f in other_year["plugin_figures"]}.get("fair_rounds") == 0


def test_producers_on_marketplaces_appear_on_the_province_dashboard(app, database_url, instance_path, login):
    result = _seed(app, database_url, instance_path)
    assert result.exit_code == 0, result.output
    db.session.remove()
    present = db.session.execute(select(func.count(func.distinct(MarketplaceProducer.producer_id)))
                                 .join(Producer, Producer.id == MarketplaceProducer.producer_id)
                                 .where(MarketplaceProducer.status == "active", Producer.province_code == "75")
                                 ).scalar_one()
    data = app.test_client().get("/admin/v1/reports/province-dashboard", headers=login("sct.dongnai")).get_json()
    figure = {f["code"]: f for f in data["plugin_figures"]}["marketplace_producers"]
    assert present >= 1 and figure["value"] == present and figure["target"] == 94
    assert figure["rows"] and max(r["value"] for r in figure["rows"]) <= present


def test_fair_rounds_are_left_out_under_a_commune_filter(app, database_url, instance_path, login):
    assert _seed(app, database_url, instance_path).exit_code == 0
    db.session.remove()
    data = app.test_client().get("/admin/v1/reports/province-dashboard?unit=26188",
                                 headers=login("sct.dongnai")).get_json()
    codes = [f["code"] for f in data["plugin_figures"]]
    assert "fair_rounds" not in codes and "marketplace_producers" in codes
