"""Promotions: campaigns across producers, channel prices (e.g. livestream-only), producer opt-in, preview.

Every change bumps the pricing version in the same transaction, so no cached
price outlives it. Services flush; the request or command commits.
"""
from __future__ import annotations

from sqlalchemy import func, select

from core import clock
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue.models import Producer, Product, Variant
from core.celery_app import enqueue
from core.db import db, on_commit
from core.errors import Conflict, NotFound, invalid
from core.catalogue.access import require_verified_producer_user
from core.pricing import access, offers, resolver, version
from core.pricing.models import Promotion, PromotionParticipant, PromotionUsage
from core.pricing.rules import applies_to, channel_ref, lifecycle, load_facts
from core.pagination import next_link, paginate

INVITE_TASK = "ocop.pricing.invite_producers"
PREVIEW_SCAN = 2000  # variants looked at to find a preview sample


def get_promotion(promotion_id: int) -> Promotion:
    promotion = db.session.get(Promotion, promotion_id)
    if promotion is None:
        raise NotFound("promotion", "khuyến mãi")
    return promotion


def view_promotion(user: User, promotion_id: int) -> Promotion:
    promotion = get_promotion(promotion_id)
    access.require_view(user, promotion)
    return promotion


def list_promotions(user: User, args: dict) -> dict:
    return offers.list_offers(user, Promotion, args)


def create_promotion(user: User, data: dict) -> Promotion:
    """A draft promotion owned by ``user`` (organiser campaigns always need producers' opt-in)."""
    data = dict(data)
    data["requires_opt_in"] = _opt_in_rule(user.role, data.get("requires_opt_in"))
    promotion = Promotion(units_used=0, discount_used=0)
    offers.create(user, promotion, data)
    version.bump()
    return promotion


def update_promotion(user: User, promotion: Promotion, data: dict) -> Promotion:
    """Edit a promotion (see :func:`core.pricing.offers.update`); limits never go below what was used."""
    data = dict(data)
    if "requires_opt_in" in data:
        data["requires_opt_in"] = _opt_in_rule(promotion.owner_kind, data["requires_opt_in"])
    for key, used in (("max_total_units", promotion.units_used), ("budget", promotion.discount_used)):
        if data.get(key) is not None and data[key] < used:
            raise invalid(key, "giới hạn thấp hơn mức đã dùng", "limit below what was already used",
                          code="promotion.limit_below_usage")
    offers.update(user, promotion, data)
    version.bump()
    return promotion


def activate_promotion(user: User, promotion: Promotion) -> Promotion:
    """Publish a draft: scheduled until its window opens, active inside it."""
    offers.activate(user, promotion)
    version.bump()
    return promotion


def invite_producers(user: User, promotion: Promotion) -> dict:
    """Ask (after commit, by a task) every producer a published opt-in campaign can cover and not yet answered."""
    access.require_manage(user, promotion)
    state = lifecycle(promotion, clock.now())
    if not promotion.requires_opt_in or state not in ("scheduled", "active"):
        raise Conflict("promotion.not_open", "Chương trình không mở để mời chủ thể tham gia.",
                       "The campaign does not take producers now.", {"lifecycle": state})
    producers = len(invitable_producers(promotion))
    audit.record("promotion.invited", promotion, actor=user, province_code=promotion.province_code,
                 after={"producers": producers})
    promotion_id = promotion.id
    on_commit(lambda: enqueue(INVITE_TASK, promotion_id))
    return {"promotion_id": promotion.id, "producers": producers}


def end_promotion(user: User, promotion: Promotion) -> Promotion:
    offers.end(user, promotion)
    version.bump()
    return promotion


def delete_promotion(user: User, promotion: Promotion) -> None:
    offers.delete(user, promotion)
    version.bump()


def _opt_in_rule(owner_role: str, wanted: bool | None) -> bool:
    """Organisers' campaigns always need opt-in, producers' own promotions never; admin chooses (default yes)."""
    if owner_role == "organiser":
        return True
    if owner_role == "producer":
        return False
    return True if wanted is None else bool(wanted)


# --- producer opt-in -------------------------------------------------------------------------
def opt_in(user: User, promotion: Promotion, producer_id: int | None = None) -> PromotionParticipant:
    """The producer accepts: its products join the campaign (while scheduled or active). Idempotent.
    A producer user's producer must be verified."""
    require_verified_producer_user(user, "tham gia chương trình khuyến mại", "it cannot join campaigns")
    producer = _participant_producer(user, promotion, producer_id)
    state = lifecycle(promotion, clock.now())
    if state not in ("scheduled", "active"):
        raise Conflict("promotion.not_open", "Chương trình không mở để tham gia.",
                       "The campaign is not open for joining.", {"lifecycle": state})
    participant = _participant(promotion, producer)
    if participant is not None and participant.status == "accepted":
        return participant
    before = audit.snapshot(participant)
    if participant is None:
        participant = PromotionParticipant(promotion_id=promotion.id, producer_id=producer.id)
        db.session.add(participant)
    participant.status, participant.accepted_at, participant.withdrawn_at = "accepted", clock.now(), None
    participant.actor_id = user.id
    db.session.flush()
    audit.record("promotion.opted_in", participant, before=before, actor=user, province_code=producer.province_code)
    version.bump()
    return participant


def withdraw(user: User, promotion: Promotion, producer_id: int | None = None) -> PromotionParticipant:
    """The producer leaves the campaign; allowed only before it starts (409 after)."""
    producer = _participant_producer(user, promotion, producer_id)
    if lifecycle(promotion, clock.now()) != "scheduled":
        raise Conflict("promotion.withdraw_too_late", "Chỉ được rút khỏi chương trình trước khi chương trình bắt đầu.",
                       "A producer can withdraw only before the campaign starts.",
                       {"starts_at": promotion.starts_at.isoformat()})
    participant = _participant(promotion, producer)
    if participant is None or participant.status != "accepted":
        raise Conflict("promotion.not_participating", "Chủ thể chưa tham gia chương trình.",
                       "The producer has not joined this campaign.", {"producer_id": producer.id})
    before = audit.snapshot(participant)
    participant.status, participant.withdrawn_at, participant.actor_id = "withdrawn", clock.now(), user.id
    db.session.flush()
    audit.record("promotion.withdrawn", participant, before=before, actor=user,
                 province_code=producer.province_code)
    version.bump()
    return participant


def _participant_producer(user: User, promotion: Promotion, producer_id: int | None) -> Producer:
    producer = access.acting_producer(user, producer_id)
    if not promotion.requires_opt_in:
        raise Conflict("promotion.no_opt_in", "Khuyến mãi này không cần chủ thể đăng ký tham gia.",
                       "This promotion does not take opt-ins.", {"id": promotion.id})
    if promotion.status == "draft" or not access.invited(promotion, producer):
        raise access.out_of_scope({"id": promotion.id, "producer_id": producer.id})
    return producer


def _participant(promotion: Promotion, producer: Producer) -> PromotionParticipant | None:
    return db.session.execute(select(PromotionParticipant).where(
        PromotionParticipant.promotion_id == promotion.id,
        PromotionParticipant.producer_id == producer.id)).scalar_one_or_none()


def list_participants(user: User, promotion: Promotion, args: dict) -> dict:
    """Producers' answers; a producer sees only its own."""
    access.require_view(user, promotion)
    stmt = select(PromotionParticipant).where(PromotionParticipant.promotion_id == promotion.id)
    if user.role == "producer":
        stmt = stmt.where(PromotionParticipant.producer_id == user.producer_id)
    return paginate(stmt.order_by(PromotionParticipant.id), args["page"], args["limit"])


def invitable_producers(promotion: Promotion) -> list[Producer]:
    """Verified producers an opt-in campaign can cover and that have not answered yet."""
    stmt = select(Producer).where(Producer.status == "verified")
    if promotion.owner_kind == "organiser":
        stmt = stmt.where(Producer.province_code == promotion.province_code)
    if (promotion.scope or {}).get("producers"):
        stmt = stmt.where(Producer.id.in_(promotion.scope["producers"]))
    answered = select(PromotionParticipant.producer_id).where(PromotionParticipant.promotion_id == promotion.id)
    return list(db.session.execute(stmt.where(Producer.id.not_in(answered)).order_by(Producer.id)).scalars())


# --- preview and report ------------------------------------------------------------------------
def preview(user: User, promotion: Promotion, args: dict) -> dict:
    """Prices of a sample of covered variants with this promotion as if active (and every producer in)."""
    access.require_view(user, promotion)
    at = args.get("at") or max(clock.now(), promotion.starts_at)
    channel = channel_ref(args.get("channel") or "online_store")
    stmt = select(Variant.id).join(Product, Product.id == Variant.product_id).where(
        Variant.active.is_(True), Product.status == "active")
    if promotion.owner_kind == "producer":
        stmt = stmt.where(Product.producer_id == promotion.producer_id)
    elif promotion.owner_kind == "organiser":
        stmt = stmt.where(Product.producer_id.in_(select(Producer.id).where(
            Producer.province_code == promotion.province_code)))
    candidates = list(db.session.execute(stmt.order_by(Variant.id).limit(PREVIEW_SCAN)).scalars())
    facts = load_facts(candidates, with_origin=bool((promotion.scope or {}).get("provinces")))
    sample = [i for i in candidates if applies_to(promotion, facts[i])][:args["limit"]]
    with_it, without = resolver.preview_prices(sample, promotion, channel, at)
    opted = set(db.session.execute(select(PromotionParticipant.producer_id).where(
        PromotionParticipant.promotion_id == promotion.id, PromotionParticipant.status == "accepted")).scalars())
    results = []
    for line in with_it.values():
        f = facts[line.variant_id]
        mine = sum(d.amount for d in line.discounts if d.reference == f"promotion:{promotion.id}")
        results.append({"variant_id": f.variant_id, "sku": f.sku, "product": f.product_name,
                        "variant": f.variant_name, "producer_id": f.producer_id, "producer": f.producer_name,
                        "base_price": line.base_unit_price, "price_without": without[line.variant_id].unit_price,
                        "price_with": line.unit_price, "promotion_discount": mine,
                        "opted_in": (not promotion.requires_opt_in) or f.producer_id in opted})
    return {"promotion_id": promotion.id, "channel": channel.code, "at": at, "results": results,
            "total": len(results), "next": None}


def report(user: User, promotion: Promotion) -> dict:
    """Discount cost and GMV of a promotion, in total and per producer (orders not cancelled)."""
    access.require_view(user, promotion)
    stmt = (select(PromotionUsage.producer_id, Producer.name, func.count(func.distinct(PromotionUsage.order_ref)),
                   func.coalesce(func.sum(PromotionUsage.units), 0),
                   func.coalesce(func.sum(PromotionUsage.discount_amount), 0),
                   func.coalesce(func.sum(PromotionUsage.gross_amount), 0))
            .join(Producer, Producer.id == PromotionUsage.producer_id)
            .where(PromotionUsage.promotion_id == promotion.id, PromotionUsage.released_at.is_(None))
            .group_by(PromotionUsage.producer_id, Producer.name).order_by(PromotionUsage.producer_id))
    if user.role == "producer":
        stmt = stmt.where(PromotionUsage.producer_id == user.producer_id)
    rows = [{"producer_id": r[0], "producer": r[1], "orders": int(r[2]), "units": int(r[3]),
             "discount": int(r[4]), "gmv": int(r[5])} for r in db.session.execute(stmt)]
    totals = {k: sum(r[k] for r in rows) for k in ("units", "discount", "gmv")}
    orders = db.session.execute(select(func.count(func.distinct(PromotionUsage.order_ref))).where(
        PromotionUsage.promotion_id == promotion.id, PromotionUsage.released_at.is_(None),
        *([PromotionUsage.producer_id == user.producer_id] if user.role == "producer" else []))).scalar_one()
    return {"promotion_id": promotion.id, "name": promotion.name, "lifecycle": lifecycle(promotion, clock.now()),
            "orders": int(orders), **totals, "budget": promotion.budget,
            "budget_left": None if promotion.budget is None else promotion.budget - promotion.discount_used,
            "producers": rows}


def summary_report(user: User, args: dict) -> dict:
    """Discount cost and GMV per promotion the caller may see (orders not cancelled), paginated."""
    visible = select(Promotion.id).where(access.visible_clause(user, Promotion))
    stmt = (select(Promotion.id, Promotion.name, Promotion.name_en,
                   func.count(func.distinct(PromotionUsage.order_ref)),
                   func.coalesce(func.sum(PromotionUsage.units), 0),
                   func.coalesce(func.sum(PromotionUsage.discount_amount), 0),
                   func.coalesce(func.sum(PromotionUsage.gross_amount), 0))
            .join(PromotionUsage, PromotionUsage.promotion_id == Promotion.id)
            .where(Promotion.id.in_(visible), PromotionUsage.released_at.is_(None)))
    if user.role == "producer":
        stmt = stmt.where(PromotionUsage.producer_id == user.producer_id)
    if args.get("since"):
        stmt = stmt.where(PromotionUsage.created_at >= args["since"])
    if args.get("until"):
        stmt = stmt.where(PromotionUsage.created_at < args["until"])
    grouped = stmt.group_by(Promotion.id, Promotion.name, Promotion.name_en)
    total = db.session.execute(select(func.count()).select_from(grouped.subquery())).scalar_one()
    rows = db.session.execute(grouped.order_by(Promotion.id.desc()).limit(args["limit"])
                              .offset((args["page"] - 1) * args["limit"])).all()
    results = [{"promotion_id": r[0], "name": r[1], "name_en": r[2], "orders": int(r[3]), "units": int(r[4]),
                "discount": int(r[5]), "gmv": int(r[6])} for r in rows]
    return {"results": results, "total": total, "next": next_link(args["page"], args["limit"], total)}
