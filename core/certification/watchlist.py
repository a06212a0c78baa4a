"""Certifications an organiser watches: expiring soon, expired, withdrawn — in the caller's scope."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager

from core import clock
from core.accounts.models import User
from core.catalogue.access import visible_producers_filter
from core.catalogue.models import Producer, Product
from core.certification.models import Certification
from core.db import db
from core.errors import invalid

#: certifications expiring within this many days are "expiring" (the producers' warning starts at 60)
EXPIRING_WITHIN_DAYS = 90
WATCH_STATES = ("expiring", "expired", "withdrawn")


def watched_certifications(user: User, state: str, today: dt.date | None = None, limit: int = 500) -> list:
    """Certifications of products ``user`` sees in ``state`` (one of :data:`WATCH_STATES`), most urgent first.

    ``expiring``: active, expiring within :data:`EXPIRING_WITHIN_DAYS`; ``expired``: expired by the daily job
    or past their date; ``withdrawn``: withdrawn by the council.
    """
    if state not in WATCH_STATES:
        raise invalid("state", f"trạng thái theo dõi là một trong {', '.join(WATCH_STATES)}",
                      f"state is one of {', '.join(WATCH_STATES)}")
    today = today or clock.today()
    stmt = (select(Certification).join(Product, Product.id == Certification.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .options(contains_eager(Certification.product).contains_eager(Product.producer)))
    scope = visible_producers_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    if state == "expiring":
        stmt = stmt.where(Certification.status == "active", Certification.expires_on > today,
                          Certification.expires_on <= today + dt.timedelta(days=EXPIRING_WITHIN_DAYS)) \
            .order_by(Certification.expires_on)
    elif state == "expired":
        stmt = stmt.where(or_(Certification.status == "expired",
                              (Certification.status == "active") & (Certification.expires_on <= today))) \
            .order_by(Certification.expires_on.desc())
    else:
        stmt = stmt.where(Certification.status == "withdrawn").order_by(Certification.status_changed_at.desc())
    return list(db.session.execute(stmt.order_by(Certification.id).limit(limit)).scalars())
