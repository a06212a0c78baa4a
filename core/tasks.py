"""Core Celery tasks. All are idempotent and retried with exponential backoff."""
from __future__ import annotations

from core.celery_app import celery_app


@celery_app.task(name="ocop.notifications.deliver", bind=True, autoretry_for=(OSError,),
                 retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=8)
def deliver_notification(self, notification_id: int) -> str:
    """Deliver (or store) one notification; safe to run twice."""
    from core.services.notifications import deliver
    return deliver(notification_id)


@celery_app.task(name="ocop.certifications.expire", bind=True, autoretry_for=(OSError,),
                 retry_backoff=True, max_retries=5)
def expire_certifications(self) -> dict:
    """Daily: expire certifications past their date, delist products, warn producers 60 days ahead."""
    from core.services.certifications import run_daily_maintenance
    return run_daily_maintenance()


@celery_app.task(name="ocop.orders.notify", bind=True, autoretry_for=(OSError,),
                 retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=8)
def notify_order(self, order_id: int, kind: str, extra: dict | None = None) -> int:
    """Store (and deliver) an order's notifications: order_placed / order_paid / order_shipped / order_cancelled."""
    from core.services.orders import send_notifications
    return send_notifications(order_id, kind, extra)


@celery_app.task(name="ocop.notifications.requeue", bind=True)
def requeue_notifications(self) -> dict:
    """Beat (every minute): enqueue again the deliveries of notifications still pending after a while."""
    from core.services.notifications import requeue_pending
    return requeue_pending()
