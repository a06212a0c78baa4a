"""Visitors by day and gate, the register of B2B deals, and buyer–producer meeting slots at conferences.

Meetings sit on a grid of :data:`SLOT_MINUTES`-minute slots; the database refuses a second meeting
at the same table, or for the same producer or buyer, in one slot (unique indexes), so concurrent
bookings give exactly one (``fair.slot_taken``, 409). Flushes only.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue.models import Producer, Product
from core.db import db, savepoint
from core.errors import Conflict, DomainError, NotFound, invalid
from core.text import fold
from plugins.fairs import access
from plugins.fairs.events import require_status
from plugins.fairs.models import FairApplication, FairDeal, FairEvent, FairMeeting, FairVisitorCount

SLOT_MINUTES = 30
#: deal status → the statuses it may move to
DEAL_FLOW = {"signed": ("in_progress", "delivered", "lapsed"), "in_progress": ("delivered", "lapsed"),
             "delivered": (), "lapsed": ()}


def _in_event_days(event: FairEvent, day: dt.date, field: str) -> None:
    if not event.starts_on <= day <= event.ends_on:
        raise invalid(field, "ngày nằm ngoài thời gian diễn ra sự kiện", "the day is outside the event's dates",
                      code="fair.outside_dates")


# --- visitors ----------------------------------------------------------------------------------
def record_visitors(user: User, event: FairEvent, data: dict) -> FairVisitorCount:
    """Add visitors counted at a gate (a device's ``device_ref`` makes a repeated post count once)."""
    access.require_manage(user, event)
    require_status(event, "count_visitors", "running", "closed")
    _in_event_days(event, data["day"], "day")
    if data.get("device_ref"):
        found = db.session.execute(select(FairVisitorCount).where(
            FairVisitorCount.device_ref == data["device_ref"])).scalar_one_or_none()
        if found is not None:
            return found
    row = FairVisitorCount(event_id=event.id, day=data["day"], gate=data["gate"], visitors=data["visitors"],
                           source="device" if data.get("device_ref") else "typed", device_ref=data.get("device_ref"))
    try:
        with savepoint():  # the same device post arriving twice at once counts once
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return db.session.execute(select(FairVisitorCount).where(
            FairVisitorCount.device_ref == data["device_ref"])).scalar_one()
    return row


def visitors(user: User, event: FairEvent) -> dict:
    """Visitors per day and gate, and the total."""
    access.require_manage(user, event)
    return visitor_figures(event)


def visitor_figures(event: FairEvent) -> dict:
    rows = db.session.execute(select(FairVisitorCount.day, FairVisitorCount.gate, func.sum(FairVisitorCount.visitors))
                              .where(FairVisitorCount.event_id == event.id)
                              .group_by(FairVisitorCount.day, FairVisitorCount.gate)
                              .order_by(FairVisitorCount.day, FairVisitorCount.gate)).all()
    items = [{"day": day.isoformat(), "gate": gate, "visitors": int(n)} for day, gate, n in rows]
    return {"items": items, "total": sum(item["visitors"] for item in items)}


# --- deals ---------------------------------------------------------------------------------------
def _exhibitor(event: FairEvent, producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound("producer", "chủ thể")
    applied = db.session.execute(select(FairApplication.id).where(
        FairApplication.event_id == event.id, FairApplication.producer_id == producer_id,
        FairApplication.status == "approved")).first()
    if applied is None:
        raise DomainError("fair.not_exhibitor", "Chủ thể không tham gia sự kiện này.",
                          "The producer does not take part in this event.", {"producer_id": producer_id}, status=422)
    return producer


def record_deal(user: User, event: FairEvent, data: dict) -> FairDeal:
    """A contract or MoU signed at the event (by an exhibitor itself, or the organiser)."""
    producer_id = user.producer_id if user.role == "producer" else data.get("producer_id")
    if producer_id is None:
        raise invalid("producer_id", "thiếu mã chủ thể", "producer_id is required")
    access.require_exhibitor_or_manager(user, event, producer_id)
    require_status(event, "record_deal", "running", "closed", "reported")
    producer = _exhibitor(event, producer_id)
    product_ids = list(dict.fromkeys(data.get("product_ids") or []))
    own = set(db.session.execute(select(Product.id).where(Product.id.in_(product_ids),
                                                          Product.producer_id == producer.id)).scalars())
    if set(product_ids) - own:
        raise DomainError("fair.product_not_own", "Sản phẩm không thuộc chủ thể.", "These products are not the producer's.",
                          {"product_ids": sorted(set(product_ids) - own)}, status=422)
    signed_on = data.get("signed_on") or clock.today()
    if data.get("follow_up_on") and data["follow_up_on"] < signed_on:
        raise invalid("follow_up_on", "ngày theo dõi trước ngày ký", "follow-up is before signing",
                      code="fair.invalid_dates")
    deal = FairDeal(event_id=event.id, producer_id=producer.id, kind=data["kind"], buyer_name=data["buyer_name"],
                    product_ids=product_ids, value=data["value"], quantity=data.get("quantity"), status="signed",
                    signed_on=signed_on, follow_up_on=data.get("follow_up_on"))
    db.session.add(deal)
    db.session.flush()
    audit.record("fair.deal_recorded", deal, actor=user, province_code=event.province_code)
    return deal


def get_deal(user: User, deal_id: int) -> FairDeal:
    deal = db.session.get(FairDeal, deal_id)
    if deal is None:
        raise NotFound("fair_deal", "hợp đồng")
    access.require_exhibitor_or_manager(user, db.session.get(FairEvent, deal.event_id), deal.producer_id)
    return deal


def update_deal(user: User, deal_id: int, data: dict) -> FairDeal:
    """Move a deal along signed → in progress → delivered / lapsed; set its follow-up date."""
    deal = get_deal(user, deal_id)
    before = audit.snapshot(deal)
    if "status" in data and data["status"] != deal.status:
        if data["status"] not in DEAL_FLOW[deal.status]:
            raise DomainError("fair.invalid_transition", f"Không thể chuyển từ '{deal.status}' sang '{data['status']}'.",
                              f"Cannot move a deal from '{deal.status}' to '{data['status']}'.",
                              {"status": deal.status, "to": data["status"]}, status=409)
        deal.status = data["status"]
    if "follow_up_on" in data:
        if data["follow_up_on"] is not None and data["follow_up_on"] < deal.signed_on:
            raise invalid("follow_up_on", "ngày theo dõi trước ngày ký", "follow-up is before signing",
                          code="fair.invalid_dates")
        deal.follow_up_on = data["follow_up_on"]
    db.session.flush()
    audit.record("fair.deal_updated", deal, before=before, actor=user)
    return deal


def list_deals(user: User, event: FairEvent) -> list[FairDeal]:
    stmt = select(FairDeal).where(FairDeal.event_id == event.id).order_by(FairDeal.id)
    if not access.can_manage_event(user, event):
        if user.role != "producer":
            raise access.out_of_scope(event_id=event.id)
        stmt = stmt.where(FairDeal.producer_id == user.producer_id)
    return list(db.session.execute(stmt).scalars())


# --- meetings -------------------------------------------------------------------------------------
def book_meeting(user: User, event: FairEvent, data: dict) -> FairMeeting:
    """Book a buyer–producer meeting on a table in one slot; no table, producer or buyer is double-booked."""
    access.require_manage(user, event)
    if event.kind != "supply_demand":
        raise DomainError("fair.not_a_conference", "Chỉ hội nghị kết nối cung – cầu có lịch gặp.",
                          "Only supply–demand conferences schedule meetings.", {"kind": event.kind}, status=422)
    require_status(event, "book_meeting", "published", "running")
    starts_at = data["starts_at"].astimezone(dt.timezone.utc)
    local = starts_at.astimezone(clock.VN_TZ)
    if local.minute % SLOT_MINUTES or local.second or local.microsecond:
        raise invalid("starts_at", f"giờ gặp phải theo khung {SLOT_MINUTES} phút",
                      f"meetings start on {SLOT_MINUTES}-minute slots", code="fair.invalid_slot")
    _in_event_days(event, local.date(), "starts_at")
    producer = _exhibitor(event, data["producer_id"])
    meeting = FairMeeting(event_id=event.id, table_code=data["table_code"], starts_at=starts_at,
                          producer_id=producer.id, buyer_name=data["buyer_name"],
                          buyer_key=fold(data["buyer_name"]).strip()[:300])
    try:
        with savepoint():
            db.session.add(meeting)
            db.session.flush()
    except IntegrityError:
        raise Conflict("fair.slot_taken", "Bàn, chủ thể hoặc khách mua đã có lịch gặp vào giờ này.",
                       "The table, the producer or the buyer already has a meeting in this slot.",
                       {"table_code": data["table_code"], "starts_at": local.isoformat()}) from None
    audit.record("fair.meeting_booked", meeting, actor=user, province_code=event.province_code)
    return meeting


def list_meetings(user: User, event: FairEvent) -> list[FairMeeting]:
    stmt = select(FairMeeting).where(FairMeeting.event_id == event.id).order_by(FairMeeting.starts_at,
                                                                                  FairMeeting.table_code)
    if not access.can_manage_event(user, event):
        if user.role != "producer":
            raise access.out_of_scope(event_id=event.id)
        stmt = stmt.where(FairMeeting.producer_id == user.producer_id)
    return list(db.session.execute(stmt).scalars())
