"""The query planner's statistics: refreshed by ``ocop db analyze``, after the demo seed and daily from beat.

SQLite keeps none until ANALYZE runs (a province's listing page then scans every listed product);
PostgreSQL's autovacuum lags behind a bulk load.
"""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from core.celery_app import celery_app, init_celery
from core.cli import cli
from core.db import db


def _run(app, *args):
    result = CliRunner().invoke(cli, list(args), obj={"app": app, "pm": app.extensions["ocop_plugins"]},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _product_statistics(app) -> bool:
    """Whether the planner holds statistics for the ``product`` table."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            has_table = db.session.execute(text(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar_one()
            if not has_table:
                return False
            return db.session.execute(text(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'product'")).scalar_one() > 0
        return db.session.execute(text(
            "SELECT count(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'product'")
        ).scalar_one() > 0


def _drop_statistics(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
            db.session.execute(text("DROP TABLE IF EXISTS sqlite_stat4"))
            db.session.commit()


def test_db_analyze_command_gives_the_planner_statistics(app, demo):
    _drop_statistics(app)
    if app.extensions["sqlalchemy"].engines[None].dialect.name == "sqlite":
        assert not _product_statistics(app)
    assert "Statistics refreshed." in _run(app, "db", "analyze")
    assert _product_statistics(app)


def test_beat_refreshes_statistics_daily_and_the_task_runs(app, demo):
    schedule = init_celery(app).conf.beat_schedule["refresh-statistics-daily"]
    assert schedule["task"] == "ocop.db.refresh_statistics"
    assert schedule["schedule"].hour == {3} and schedule["schedule"].minute == {30}
    _drop_statistics(app)
    with app.app_context():
        celery_app.tasks["ocop.db.refresh_statistics"].apply(throw=True)
    assert _product_statistics(app)
