"""Celery tasks of the sales domain."""
from __future__ import annotations

from core.celery_app import celery_app
from core.sales.orders import send_notifications


@celery_app.task(name="ocop.orders.notify", bind=True, autoretry_for=(OSError,),
                 retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=8)
def notify_order(self, order_id: int, kind: str, extra: dict | None = None) -> int:
    """Store (and deliver) an order's notifications: order_placed / order_paid / order_shipped / order_cancelled."""
    return send_notifications(order_id, kind, extra)
