"""Celery tasks of the certification domain."""
from __future__ import annotations

from core.celery_app import celery_app
from core.certification.certifications import run_daily_maintenance


@celery_app.task(name="ocop.certifications.expire", bind=True, autoretry_for=(OSError,),
                 retry_backoff=True, max_retries=5)
def expire_certifications(self) -> dict:
    """Daily: expire certifications past their date, delist products, warn producers 60 days ahead."""
    return run_daily_maintenance()
