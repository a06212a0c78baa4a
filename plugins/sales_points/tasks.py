"""Celery tasks of the sales points plugin (idempotent, retried with backoff)."""
from __future__ import annotations

from core.celery_app import celery_app
from plugins.sales_points.operations import run_alerts


@celery_app.task(name="sales_points.stock_alerts", bind=True, autoretry_for=(OSError,),
                 retry_backoff=True, max_retries=5)
def stock_alerts(self) -> dict:
    """Daily: raise low-stock, near-expiry and expired-lot alerts at every active point; resolve cleared ones."""
    return run_alerts()
