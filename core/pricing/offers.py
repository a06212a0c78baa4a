"""What promotions and vouchers share: checking their terms, channels and scope, the lifecycle verbs, listing.

Services flush, never commit: the request or command owns the transaction.
Every change is audited; the entity name (``promotion`` / ``voucher``) prefixes
error codes and audit actions.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select

from core import clock
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue import groups
from core.catalogue.models import Producer, Product, Variant
from core.db import db
from core.errors import Conflict, invalid, Message, ValidationFailed
from core.geo.models import AdministrativeUnit
from core.pagination import paginate
from core.plugins import plugin_manager
from core.pricing import access
from core.pricing.models import MAX_VALUE, SCOPE_KEYS
from core.pricing.rules import lifecycle

#: what may still change while an offer is running (its terms are what shoppers already saw)
EDITABLE_WHILE_ACTIVE = {"name", "name_en", "description", "ends_at", "max_units_per_order",
                         "max_uses_per_customer", "max_total_units", "budget", "max_uses", "per_customer_limit"}
VI_NAMES = {"promotion": "khuyến mãi", "voucher": "mã giảm giá"}


# --- terms -------------------------------------------------------------------------------
def check_terms(entity: str, kind: str, value: int, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """A percentage is at most 100, a VND value at most MAX_VALUE; the window ends after it starts."""
    if kind == "percentage" and value > 100:
        raise invalid("value", "phần trăm giảm không được vượt quá 100", "a percentage cannot exceed 100",
                      code=f"{entity}.percentage_over_100")
    if value < 1 or value > MAX_VALUE:
        raise invalid("value", "giá trị giảm không hợp lệ", "value out of range", code=f"{entity}.invalid_value")
    if ends_at <= starts_at:
        raise invalid("ends_at", "thời điểm kết thúc phải sau thời điểm bắt đầu",
                      "the window must end after it starts", code=f"{entity}.window_invalid")


def require_future_end(entity: str, ends_at: dt.datetime) -> None:
    if ends_at <= clock.now():
        raise invalid("ends_at", "thời điểm kết thúc đã qua", "the window has already ended",
                      code=f"{entity}.window_past")


def check_channels(entity: str, channels: list[str]) -> list[str]:
    """Channel kinds registered by the core or a plugin, or ``kind:code`` of one channel; duplicates dropped."""
    kinds = plugin_manager().sales_channel_kinds
    unknown = [c for c in channels if c.split(":", 1)[0] not in kinds]
    if unknown:
        raise ValidationFailed({"channels": [Message(f"loại kênh bán không tồn tại: {c}", f"unknown channel kind: {c}") for c in unknown]},
                               code=f"{entity}.unknown_channel", message="Loại kênh bán không được hỗ trợ.",
                               message_en="Unknown sales channel kind.")
    return list(dict.fromkeys(channels))


def check_scope(entity: str, owner: dict, scope: dict) -> dict:
    """Known ids and codes only (422 ``<entity>.unknown_scope``), producers within the owner's reach (403)."""
    cleaned = {key: sorted(set(scope[key])) for key in SCOPE_KEYS if scope.get(key)}
    unknown: dict[str, list] = {}
    producer_ids: set[int] = set()
    for key, model in (("variants", Variant), ("products", Product)):
        if key in cleaned:
            stmt = select(model.id, Product.producer_id)
            stmt = stmt.join(Product, Product.id == Variant.product_id) if model is Variant else stmt
            found = dict(db.session.execute(stmt.where(model.id.in_(cleaned[key]))).all())
            unknown[key] = [i for i in cleaned[key] if i not in found]
            producer_ids |= set(found.values())
    if "producers" in cleaned:
        found = set(db.session.execute(select(Producer.id).where(Producer.id.in_(cleaned["producers"]))).scalars())
        unknown["producers"] = [i for i in cleaned["producers"] if i not in found]
        producer_ids |= found
    if "groups" in cleaned:
        unknown["groups"] = [c for c in cleaned["groups"] if groups.group(c) is None]
    if "product_sets" in cleaned:
        sets = {s["code"] for g in groups.groups() for s in g["sets"]}
        unknown["product_sets"] = [c for c in cleaned["product_sets"] if c not in sets]
    if "provinces" in cleaned:
        found = set(db.session.execute(select(AdministrativeUnit.code).where(
            AdministrativeUnit.code.in_(cleaned["provinces"]), AdministrativeUnit.level == "province",
            AdministrativeUnit.retired_on.is_(None))).scalars())
        unknown["provinces"] = [c for c in cleaned["provinces"] if c not in found]
    unknown = {key: values for key, values in unknown.items() if values}
    if unknown:
        raise ValidationFailed({"scope": {key: [Message(f"không tồn tại: {', '.join(map(str, values))}", f"unknown: {', '.join(map(str, values))}")]
                                          for key, values in unknown.items()}},
                               code=f"{entity}.unknown_scope", message="Phạm vi áp dụng có mã không tồn tại.",
                               message_en="The scope names unknown variants, products, producers or codes.")
    for producer in db.session.execute(select(Producer).where(Producer.id.in_(producer_ids))).scalars():
        access.require_reach(owner, producer)
    return cleaned


# --- the lifecycle verbs --------------------------------------------------------------------
def create(user: User, offer, data: dict) -> None:
    """Fill a new ``offer`` (Promotion or Voucher) from checked ``data`` for ``user`` as owner; add it as a draft."""
    entity = offer.__tablename__
    owner = access.owner_of(user)
    check_terms(entity, data["kind"], data["value"], data["starts_at"], data["ends_at"])
    require_future_end(entity, data["ends_at"])
    data["channels"] = check_channels(entity, data.get("channels") or [])
    data["scope"] = check_scope(entity, owner, data.get("scope") or {})
    for key, value in {**data, **owner}.items():
        setattr(offer, key, value)
    offer.status = "draft"
    offer.created_by_id = user.id
    db.session.add(offer)
    db.session.flush()
    audit.record(f"{entity}.created", offer, actor=user, province_code=offer.province_code)


def update(user: User, offer, data: dict) -> None:
    """Edit an offer: anything while draft or scheduled, names/end/limits while active, nothing once ended."""
    entity = offer.__tablename__
    access.require_manage(user, offer)
    state = lifecycle(offer, clock.now())
    if state == "ended":
        raise Conflict(f"{entity}.ended", f"{VI_NAMES[entity].capitalize()} đã kết thúc, không thể sửa.",
                       f"The {entity} has ended and cannot be changed.", {"id": offer.id})
    if state == "active":
        locked = sorted(set(data) - EDITABLE_WHILE_ACTIVE)
        if locked:
            raise Conflict(f"{entity}.locked", f"{VI_NAMES[entity].capitalize()} đang chạy: chỉ được sửa tên, "
                           "thời điểm kết thúc và giới hạn.",
                           f"The {entity} is running: only names, its end and its limits may change.",
                           {"fields": locked})
    before = audit.snapshot(offer)
    owner = {"owner_kind": offer.owner_kind, "province_code": offer.province_code, "producer_id": offer.producer_id}
    check_terms(entity, data.get("kind", offer.kind), data.get("value", offer.value),
                data.get("starts_at", offer.starts_at), data.get("ends_at", offer.ends_at))
    if "ends_at" in data and offer.status != "draft":
        require_future_end(entity, data["ends_at"])
    if "channels" in data:
        data["channels"] = check_channels(entity, data["channels"] or [])
    if "scope" in data:
        data["scope"] = check_scope(entity, owner, data["scope"] or {})
    for key, value in data.items():
        setattr(offer, key, value)
    db.session.flush()
    audit.record(f"{entity}.updated", offer, before=before, actor=user, province_code=offer.province_code)


def activate(user: User, offer) -> None:
    """draft → published: scheduled until its window opens, active inside it."""
    entity = offer.__tablename__
    access.require_manage(user, offer)
    if offer.status != "draft":
        raise Conflict(f"{entity}.not_draft", f"Chỉ kích hoạt được {VI_NAMES[entity]} ở trạng thái nháp.",
                       f"Only a draft {entity} can be activated.", {"id": offer.id})
    require_future_end(entity, offer.ends_at)
    before = audit.snapshot(offer)
    offer.status = "published"
    offer.activated_at = clock.now()
    db.session.flush()
    audit.record(f"{entity}.activated", offer, before=before, actor=user, province_code=offer.province_code)


def end(user: User, offer) -> None:
    """Stop a scheduled or active offer now (its prices return at once)."""
    entity = offer.__tablename__
    access.require_manage(user, offer)
    if lifecycle(offer, clock.now()) not in ("scheduled", "active"):
        raise Conflict(f"{entity}.not_running", f"{VI_NAMES[entity].capitalize()} không ở trạng thái đang chờ hoặc "
                       "đang chạy.", f"The {entity} is neither scheduled nor active.", {"id": offer.id})
    before = audit.snapshot(offer)
    offer.status = "stopped"
    offer.stopped_at = clock.now()
    db.session.flush()
    audit.record(f"{entity}.ended", offer, before=before, actor=user, province_code=offer.province_code)


def delete(user: User, offer) -> None:
    """Delete a draft (a published offer is ended instead, so orders keep their references)."""
    entity = offer.__tablename__
    access.require_manage(user, offer)
    if offer.status != "draft":
        raise Conflict(f"{entity}.not_draft", f"Chỉ xoá được {VI_NAMES[entity]} ở trạng thái nháp.",
                       f"Only a draft {entity} can be deleted; end it instead.", {"id": offer.id})
    audit.record(f"{entity}.deleted", offer, before=audit.snapshot(offer), actor=user,
                 province_code=offer.province_code, after={})
    db.session.delete(offer)
    db.session.flush()


# --- reading ---------------------------------------------------------------------------------
def lifecycle_clause(model, state: str, at: dt.datetime):
    """SQL condition for a computed lifecycle (mirrors :func:`core.pricing.rules.lifecycle`)."""
    published = model.status == "published"
    return {"draft": model.status == "draft",
            "scheduled": and_(published, model.starts_at > at),
            "active": and_(published, model.starts_at <= at, model.ends_at > at),
            "ended": or_(model.status == "stopped", and_(published, model.ends_at <= at))}[state]


def list_offers(user: User, model, args: dict) -> dict:
    """Offers ``user`` may see, newest first (filters: lifecycle, owner_kind, producer_id)."""
    stmt = select(model).where(access.visible_clause(user, model))
    if args.get("lifecycle"):
        stmt = stmt.where(lifecycle_clause(model, args["lifecycle"], clock.now()))
    if args.get("owner_kind"):
        stmt = stmt.where(model.owner_kind == args["owner_kind"])
    if args.get("producer_id"):
        stmt = stmt.where(model.producer_id == args["producer_id"])
    return paginate(stmt.order_by(model.id.desc()), args["page"], args["limit"])
