"""Celery tasks of the pricing domain.

No task is needed for prices: a promotion's lifecycle is computed from its
window at read time, so sale prices start and stop on their own. The one task
here tells producers about an opt-in campaign they may join (asked for by
``POST /admin/v1/promotions/<id>/invitations``).
"""
from __future__ import annotations

from core import clock
from core.celery_app import celery_app
from core.notifications.delivery import notify
from core.pricing.promotions import INVITE_TASK, get_promotion, invitable_producers


@celery_app.task(name=INVITE_TASK, bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invite_producers(self, promotion_id: int) -> int:
    """Notify every producer an opt-in campaign can cover (once per producer); returns how many were told."""
    promotion = get_promotion(promotion_id)
    ends = clock.local(promotion.ends_at)
    starts = clock.local(promotion.starts_at)
    told = 0
    for producer in invitable_producers(promotion):
        notify("promotion.invitation", f"promotion:{promotion.id}:invite:{producer.id}",
               f"Mời tham gia chương trình {promotion.name}",
               f"{promotion.name} ({starts} – {ends}). Chủ thể đăng ký tham gia trong trang quản trị: "
               f"POST /admin/v1/promotions/{promotion.id}/opt-in.\n"
               f"Invitation to join {promotion.name_en}; opt in from the admin API.",
               producer_id=producer.id, email=producer.email,
               data={"promotion_id": promotion.id, "starts_at": starts, "ends_at": ends})
        told += 1
    return told
