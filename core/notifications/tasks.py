"""Celery tasks of the notifications domain."""
from __future__ import annotations

from core.celery_app import celery_app
from core.notifications.delivery import deliver, requeue_pending

DELIVER = "ocop.notifications.deliver"


@celery_app.task(name=DELIVER, bind=True, autoretry_for=(OSError,),
                 retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=8)
def deliver_notification(self, notification_id: int) -> str:
    """Deliver (or store) one notification; safe to run twice (claimed under this task's id)."""
    return deliver(notification_id, claim=self.request.id)


@celery_app.task(name="ocop.notifications.requeue", bind=True)
def requeue_notifications(self) -> dict:
    """Beat (every minute): enqueue again the deliveries of notifications still pending after a while."""
    return requeue_pending()
