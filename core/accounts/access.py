"""Who may manage which user accounts (object-level checks used by :mod:`core.accounts.users`).

* ``admin``: every account.
* ``organiser``: ``producer`` users of producers in its province and ``operator``
  users scoped to its province (binding an operator to a sales point is the
  sales-points plugin's concern).
* everybody else: no account.
"""
from __future__ import annotations

from sqlalchemy import or_

from core.accounts.models import User
from core.catalogue.models import Producer
from core.db import db
from core.errors import Forbidden

ORGANISER_MANAGED_ROLES = ("producer", "operator")


def scope_province(user: User) -> str | None:
    """The province an account belongs to: its own province, or its producer's."""
    if user.role == "producer" and user.producer_id:
        producer = db.session.get(Producer, user.producer_id)
        return producer.province_code if producer else None
    return user.province_code


def can_manage_user(actor: User, target: User) -> bool:
    """admin: everyone; organiser: producer/operator users of its province; others: nobody."""
    if actor.role == "admin":
        return True
    if actor.role == "organiser":
        return target.role in ORGANISER_MANAGED_ROLES and scope_province(target) == actor.province_code
    return False


def out_of_scope(target_id=None) -> Forbidden:
    """The 403 answered when an actor touches an account outside its scope."""
    return Forbidden("auth.out_of_scope", "Tài khoản này nằm ngoài phạm vi quản lý của bạn.",
                     "This account is outside your scope.", {"user_id": target_id} if target_id else None)


def require_user_access(actor: User, target: User) -> None:
    """403 unless ``actor`` manages ``target``."""
    if not can_manage_user(actor, target):
        raise out_of_scope(target.id)


def managed_users_filter(actor: User):
    """A WHERE clause restricting ``User`` rows (outer-joined to ``Producer``) to those ``actor`` manages (None: all)."""
    if actor.role == "admin":
        return None
    if actor.role == "organiser":
        return or_((User.role == "producer") & (Producer.province_code == actor.province_code),
                   (User.role == "operator") & (User.province_code == actor.province_code))
    return User.id == -1


def operator_province(actor: User, province: str | None) -> str | None:
    """The province of an operator account the actor creates or edits: an organiser's own, whatever was asked."""
    if actor.role != "organiser":
        return province
    if province and province != actor.province_code:
        raise out_of_scope()
    return actor.province_code


def require_may_assign(actor: User, role: str, province: str | None, producer_id: int | None) -> None:
    """Refuse a resulting account (role and scope) the actor could not manage."""
    if actor.role == "admin":
        return
    if actor.role != "organiser" or role not in ORGANISER_MANAGED_ROLES:
        raise Forbidden("auth.out_of_scope", "Sở Công Thương chỉ tạo tài khoản chủ thể hoặc nhân viên điểm bán.",
                        "Organisers may only manage producer and operator accounts.", {"role": role})
    target_province = db.session.get(Producer, producer_id).province_code if role == "producer" else province
    if target_province != actor.province_code:
        raise out_of_scope()
