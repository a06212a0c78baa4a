"""Who may see or change which producers and products (object-level checks used by every catalogue service).

* ``admin``: every producer.
* ``organiser`` / ``certifier``: producers of their province (only organisers verify them).
* ``producer``: their own producer; its catalogue is read-only until the producer is verified.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.db import db
from core.errors import DomainError, Forbidden
from core.catalogue.models import Producer

if TYPE_CHECKING:  # accounts sits above the catalogue
    from core.accounts.models import User

PROVINCE_ROLES = ("organiser", "certifier")
VERIFIER_ROLES = ("admin", "organiser")


def can_manage_producer(user: User, producer: Producer) -> bool:
    """admin: all; organiser/certifier: producers of their province; producer users: their own producer."""
    if user.role == "admin":
        return True
    if user.role in PROVINCE_ROLES:
        return producer.province_code == user.province_code
    if user.role == "producer":
        return producer.id == user.producer_id
    return False


def require_producer_access(user: User, producer: Producer) -> None:
    """Raise 403 unless ``user`` may act for ``producer``."""
    if not can_manage_producer(user, producer):
        raise Forbidden("auth.out_of_scope", "Bạn không có quyền với chủ thể này.",
                        "This producer is outside your scope.", {"producer_id": producer.id})


def require_province(user: User, province_code: str | None) -> None:
    """Raise 403 when a province-scoped user touches another province."""
    if user.role == "admin":
        return
    if user.role in PROVINCE_ROLES and user.province_code == province_code:
        return
    raise Forbidden("auth.out_of_scope", "Tỉnh này nằm ngoài phạm vi của bạn.",
                    "This province is outside your scope.", {"province_code": province_code})


def not_verified(producer: Producer | None, what_vi: str, what_en: str) -> DomainError:
    """The 403 answered to a producer user whose producer the organiser has not verified (or has suspended)."""
    return DomainError("producer.not_verified",
                       f"Chủ thể chưa được Sở Công Thương xác minh nên chưa thể {what_vi}.",
                       f"The producer is not verified yet by the provincial organiser; {what_en}.",
                       {"producer_id": producer.id if producer else None,
                        "status": producer.status if producer else None}, status=403)


def require_verified_producer_user(user: User, what_vi: str = "thực hiện thao tác này",
                                   what_en: str = "it cannot do this") -> None:
    """A producer user acts only once its producer is verified (other roles pass)."""
    if user.role != "producer":
        return
    producer = db.session.get(Producer, user.producer_id) if user.producer_id else None
    if producer is None or producer.status != "verified":
        raise not_verified(producer, what_vi, what_en)


def require_catalogue_editor(user: User, producer: Producer) -> None:
    """Raise unless ``user`` may edit ``producer``'s catalogue: in scope, and a producer user's
    own producer must be verified (a self-registered producer stays read-only while pending)."""
    require_producer_access(user, producer)
    if user.role == "producer" and producer.status != "verified":
        raise not_verified(producer, "tạo hoặc sửa sản phẩm", "products cannot be created or edited")


def can_verify(user: User, producer: Producer) -> bool:
    """Its province's organiser, or admin."""
    return user.role == "admin" or (user.role == "organiser" and user.province_code == producer.province_code)


def require_verifier(user: User, producer: Producer) -> None:
    """Raise 403 unless ``user`` may verify, reject or suspend ``producer`` (its province's organiser, or admin)."""
    if user.role not in VERIFIER_ROLES:
        raise DomainError("auth.forbidden", "Chỉ Sở Công Thương xác minh chủ thể.",
                          "Only the organiser verifies producers.", status=403)
    require_province(user, producer.province_code)


def visible_producers_filter(user: User):
    """A WHERE clause restricting ``Producer`` rows to those ``user`` sees (None: no restriction)."""
    if user.role == "admin":
        return None
    if user.role in PROVINCE_ROLES:
        return Producer.province_code == user.province_code
    return Producer.id == (user.producer_id or -1)
