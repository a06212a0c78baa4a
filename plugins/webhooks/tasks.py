"""Celery tasks of the webhooks plugin: one attempt per task; beat sweeps due retries."""
from __future__ import annotations

from core.celery_app import celery_app
from plugins.webhooks import services


@celery_app.task(name="webhooks.deliver", bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def deliver_webhook(self, delivery_id: int) -> str:
    """Attempt one delivery (a no-op unless it is due and unclaimed); failures are rescheduled in the row."""
    return services.deliver(delivery_id)


@celery_app.task(name="webhooks.retry_due", bind=True)
def retry_due(self) -> dict:
    """Beat (every 30 s): enqueue deliveries whose next attempt is due or whose claim expired."""
    return services.retry_due()
