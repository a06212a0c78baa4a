"""Celery tasks of the vnpay plugin (idempotent)."""
from __future__ import annotations

from core.celery_app import celery_app
from plugins.vnpay.services import query_pending as run


@celery_app.task(name="vnpay.query_pending", bind=True, autoretry_for=(OSError,), retry_backoff=True,
                 max_retries=3)
def query_pending(self) -> dict:
    """Every 5 minutes: ``querydr`` the VNPay payments still pending after their window (a missed IPN)."""
    return run()
