"""Who sees which notifications (object-level checks used by :mod:`core.notifications.delivery`).

* ``admin``: all.
* ``organiser``: those of producers in its province, and those addressed to itself.
* ``producer``: its producer's, and those addressed to itself.
* everybody else: those addressed to itself.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from core.accounts.models import User
from core.catalogue.models import Producer
from core.notifications.models import Notification


def visible_notifications_filter(user: User):
    """A WHERE clause restricting ``Notification`` rows to those ``user`` sees (None: no restriction)."""
    if user.role == "admin":
        return None
    if user.role == "organiser":
        in_province = select(Producer.id).where(Producer.province_code == user.province_code)
        return or_(Notification.producer_id.in_(in_province), Notification.user_id == user.id)
    if user.role == "producer":
        return or_(Notification.producer_id == (user.producer_id or -1), Notification.user_id == user.id)
    return Notification.user_id == user.id
