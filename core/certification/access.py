"""Who may record or change which certifications (object-level checks used by the certification services).

Certifiers and organisers act for producers of their province (see
:func:`core.catalogue.access.can_manage_producer`); a central-level result is
recorded by an administrator only.
"""
from __future__ import annotations

from core.accounts.models import User
from core.catalogue.access import require_producer_access
from core.catalogue.models import Product
from core.errors import DomainError


#: who records, changes or withdraws council results (the API and the bulk import alike)
CERTIFIER_ROLES = ("admin", "certifier")


def may_record_certifications(user: User) -> bool:
    """Certifiers (in their province) and administrators record results; organisers do not."""
    return user.role in CERTIFIER_ROLES


def may_record_level(user: User, level: str) -> bool:
    """Central-level results are recorded by an administrator; other levels by anyone in scope."""
    return level != "central" or user.role == "admin"


def require_certification_access(user: User, product: Product, level: str) -> None:
    """403 unless ``user`` may record or change a ``level`` certification of ``product``."""
    if not may_record_certifications(user):
        raise DomainError("auth.forbidden", "Chỉ hội đồng đánh giá (hoặc quản trị viên) ghi nhận kết quả chứng nhận.",
                          "Only certifiers (or an administrator) record certification results.", status=403)
    if not may_record_level(user, level):
        raise DomainError("auth.forbidden", "Kết quả cấp trung ương do quản trị viên ghi nhận.",
                          "Central-level results are recorded by an administrator.", status=403)
    require_producer_access(user, product.producer)
