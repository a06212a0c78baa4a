"""Object-level permission checks shared by services (province, producer ownership)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import Forbidden
from core.catalogue.models import Producer

if TYPE_CHECKING:  # accounts sits above the catalogue
    from core.accounts.models import User


def can_manage_producer(user: User, producer: Producer) -> bool:
    """admin: all; organiser/certifier: producers of their province; producer users: their own producer."""
    if user.role == "admin":
        return True
    if user.role in ("organiser", "certifier"):
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
    if user.role in ("organiser", "certifier") and user.province_code == province_code:
        return
    raise Forbidden("auth.out_of_scope", "Tỉnh này nằm ngoài phạm vi của bạn.",
                    "This province is outside your scope.", {"province_code": province_code})
