"""``ocop seed demo`` loads each plugin's demo through the ``seed_demo_data`` hook (what ``dev.py serve`` shows)."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from core.celery_app import init_celery
from core.cli import build_cli
from core.db import db
from plugins.fairs.models import FairBooth, FairEvent
from plugins.livestream.models import LivestreamSession
from plugins.marketplace_feeds.models import Marketplace


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

