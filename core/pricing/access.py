"""Who may see and change promotions and vouchers, and whose products an offer may cover.

Owners: admin (the platform), an organiser (its province's producers), a
producer (its own products). Producers also see the opt-in campaigns they may
join. Everything else is refused with 403.
"""
from __future__ import annotations

from sqlalchemy import and_, false, or_, true

from core.accounts.models import User
from core.catalogue.access import require_verified_producer_user
from core.catalogue.models import Producer
from core.db import db
from core.errors import Forbidden, invalid
from core.pricing.models import Promotion

MANAGERS = ("admin", "organiser", "producer")


def owner_of(user: User) -> dict:
    """The owner columns of an offer ``user`` creates."""
    if user.role == "admin":
        return {"owner_kind": "admin", "province_code": None, "producer_id": None}
    if user.role == "organiser" and user.province_code:
        return {"owner_kind": "organiser", "province_code": user.province_code, "producer_id": None}
    if user.role == "producer" and user.producer_id:
        require_verified_producer_user(user, "tạo khuyến mại", "it cannot create offers")
        producer = db.session.get(Producer, user.producer_id)
        return {"owner_kind": "producer", "province_code": producer.province_code, "producer_id": producer.id}
    raise out_of_scope()


def can_manage(user: User, offer) -> bool:
    """admin: every offer; organiser: its province's organiser offers; producer: its own offers."""
    if user.role == "admin":
        return True
    if user.role == "organiser":
        return offer.owner_kind == "organiser" and offer.province_code == user.province_code
    if user.role == "producer":
        return offer.owner_kind == "producer" and offer.producer_id == user.producer_id
    return False


def can_view(user: User, offer) -> bool:
    """Managers, the organiser of the owner's province, and producers who may be asked to join a campaign
    (published opt-in campaigns of the platform or of their province; joining checks the scope too)."""
    if can_manage(user, offer):
        return True
    if user.role == "organiser":
        return offer.province_code == user.province_code
    if user.role == "producer" and isinstance(offer, Promotion) and user.producer_id:
        province = db.session.get(Producer, user.producer_id).province_code
        return bool(offer.requires_opt_in and offer.status != "draft" and (
            offer.owner_kind == "admin" or (offer.owner_kind == "organiser" and offer.province_code == province)))
    return False


def visible_clause(user: User, model):
    """SQL condition: the offers of ``model`` that ``user`` may see (mirrors :func:`can_view`)."""
    if user.role == "admin":
        return true()
    if user.role == "organiser":
        return model.province_code == user.province_code
    if user.role == "producer" and user.producer_id:
        own = and_(model.owner_kind == "producer", model.producer_id == user.producer_id)
        if model is not Promotion:
            return own
        producer = db.session.get(Producer, user.producer_id)
        campaigns = and_(Promotion.requires_opt_in.is_(True), Promotion.status != "draft",
                         or_(Promotion.owner_kind == "admin",
                             and_(Promotion.owner_kind == "organiser",
                                  Promotion.province_code == producer.province_code)))
        return or_(own, campaigns)
    return false()


def invited(promotion: Promotion, producer: Producer) -> bool:
    """Whether ``producer``'s products can be covered by ``promotion`` (reach, and a ``producers`` scope)."""
    if promotion.owner_kind == "organiser" and producer.province_code != promotion.province_code:
        return False
    if promotion.owner_kind == "producer" and producer.id != promotion.producer_id:
        return False
    listed = (promotion.scope or {}).get("producers")
    return not listed or producer.id in listed


def require_manage(user: User, offer) -> None:
    """403 unless ``user`` manages ``offer`` (a producer user: only once its producer is verified)."""
    require_verified_producer_user(user, "quản lý khuyến mại", "it cannot manage offers")
    if not can_manage(user, offer):
        raise out_of_scope({"id": offer.id})


def require_view(user: User, offer) -> None:
    if not can_view(user, offer):
        raise out_of_scope({"id": offer.id})


def acting_producer(user: User, producer_id: int | None) -> Producer:
    """The producer an opt-in answer is given for: a producer user's own, or the one an admin names."""
    if user.role == "producer":
        if producer_id not in (None, user.producer_id):
            raise out_of_scope({"producer_id": producer_id})
        producer_id = user.producer_id
    elif user.role != "admin":
        raise Forbidden(details={"allowed_roles": ["admin", "producer"]})
    if producer_id is None:
        raise invalid("producer_id", "thiếu mã chủ thể", "producer_id is required")
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise invalid("producer_id", "không tìm thấy chủ thể", "unknown producer", code="promotion.unknown_scope")
    return producer


def require_reach(owner: dict, producer: Producer) -> None:
    """Refuse (403) covering a producer outside the owner's reach (another province, another producer)."""
    if owner["owner_kind"] == "organiser" and producer.province_code != owner["province_code"]:
        raise out_of_scope({"producer_id": producer.id, "province_code": producer.province_code})
    if owner["owner_kind"] == "producer" and producer.id != owner["producer_id"]:
        raise out_of_scope({"producer_id": producer.id})


def out_of_scope(details: dict | None = None) -> Forbidden:
    return Forbidden("pricing.out_of_scope", "Khuyến mãi hoặc chủ thể này nằm ngoài phạm vi của bạn.",
                     "This offer or producer is outside your scope.", details)
