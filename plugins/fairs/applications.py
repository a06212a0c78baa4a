"""Exhibitor applications: a producer applies with listed OCOP products; the organiser approves, rejects or
waitlists; the producer may withdraw. Each decision is audited and notified to the producer. Flushes only.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue import listing
from core.catalogue.models import Producer, Product
from core.db import db, savepoint, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.notifications import delivery
from core.pagination import paginate
from plugins.fairs import access, allocation
from plugins.fairs.events import require_status
from plugins.fairs.models import EVENT_KINDS, FairApplication, FairEvent

#: decision → the statuses an application may be in to receive it
DECISIONS = {"approve": ("approved", ("submitted", "waitlisted")),
             "reject": ("rejected", ("submitted", "waitlisted", "approved")),
             "waitlist": ("waitlisted", ("submitted", "approved"))}
DECISION_TEXT = {"approved": ("được chấp thuận", "approved"), "rejected": ("bị từ chối", "rejected"),
                 "waitlisted": ("được đưa vào danh sách chờ", "waitlisted")}


def get_application(application_id: int) -> FairApplication:
    application = db.session.get(FairApplication, application_id)
    if application is None:
        raise NotFound("fair_application", "đơn đăng ký")
    return application


def view_application(user: User, application_id: int) -> FairApplication:
    """The producer's own application, or any of the organiser's event."""
    application = get_application(application_id)
    access.require_exhibitor_or_manager(user, application.event, application.producer_id)
    return application


def _producer_of(user: User, producer_id: int | None) -> Producer:
    if user.role == "producer":
        if producer_id not in (None, user.producer_id):
            raise access.out_of_scope(producer_id=producer_id)
        producer_id = user.producer_id
    if producer_id is None:
        raise invalid("producer_id", "thiếu mã chủ thể", "producer_id is required")
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound("producer", "chủ thể")
    return producer


def require_listed_products(producer: Producer, product_ids: list[int]) -> list[Product]:
    """The producer's own products, each listed as an OCOP product today; 422 ``fair.product_not_listed`` otherwise."""
    found = {p.id: p for p in db.session.execute(select(Product).where(Product.id.in_(product_ids))).scalars()}
    foreign = [pid for pid in product_ids if pid not in found or found[pid].producer_id != producer.id]
    if foreign:
        raise DomainError("fair.product_not_own", "Sản phẩm không thuộc chủ thể đăng ký.",
                          "These products are not the applicant's own.", {"product_ids": foreign}, status=422)
    unlisted = [pid for pid in product_ids if not listing.is_listed(found[pid])]
    if unlisted:
        raise DomainError("fair.product_not_listed",
                          "Chỉ sản phẩm OCOP đang được công nhận (từ 3 sao, còn hiệu lực) mới được trưng bày.",
                          "Only listed OCOP products (3 stars or more, certification in force) may be shown.",
                          {"product_ids": unlisted, "names": [found[pid].name for pid in unlisted]}, status=422)
    return [found[pid] for pid in product_ids]


def _check_window(event: FairEvent) -> None:
    require_status(event, "apply", "open")
    today = clock.today()
    if not event.applications_open_on <= today <= event.applications_close_on:
        raise DomainError("fair.applications_closed", "Ngoài thời hạn nhận đăng ký gian hàng.",
                          "Applications are not being taken now.",
                          {"open_on": event.applications_open_on.isoformat(),
                           "close_on": event.applications_close_on.isoformat()}, status=409)


def submit(user: User, event: FairEvent, data: dict) -> FairApplication:
    """A producer applies for a booth (one application per producer and event; a withdrawn one may be renewed)."""
    producer = _producer_of(user, data.get("producer_id"))
    if user.role != "producer":
        access.require_manage(user, event)
    _check_window(event)
    if producer.province_code != event.province_code and not event.open_to_other_provinces:
        raise DomainError("fair.province_only", "Sự kiện chỉ nhận chủ thể trong tỉnh.",
                          "This event takes exhibitors from its own province only.",
                          {"province_code": event.province_code}, status=422)
    product_ids = list(dict.fromkeys(data["product_ids"]))
    require_listed_products(producer, product_ids)
    if data.get("zone_code") and data["zone_code"] not in {zone.code for zone in event.zones}:
        raise invalid("zone_code", "không có khu này", "no such zone", code="fair.unknown_zone")
    fields = {"product_ids": product_ids, "booth_type": data.get("booth_type"), "zone_code": data.get("zone_code"),
              "needs": sorted(set(data.get("needs") or [])), "contact_name": data["contact_name"],
              "contact_phone": data["contact_phone"], "note": data.get("note")}
    existing = db.session.execute(select(FairApplication).where(
        FairApplication.event_id == event.id, FairApplication.producer_id == producer.id)).scalar_one_or_none()
    if existing is not None and existing.status != "withdrawn":
        raise _duplicate(existing)
    if existing is not None:
        application = existing
        for key, value in fields.items():
            setattr(application, key, value)
        application.status, application.decision_reason, application.decided_at = "submitted", None, None
    else:
        application = FairApplication(event_id=event.id, producer_id=producer.id, status="submitted", **fields)
        try:
            with savepoint():
                db.session.add(application)
                db.session.flush()
        except IntegrityError:  # the same producer applied concurrently
            raise _duplicate(None) from None
    db.session.flush()
    audit.record("fair.application_submitted", application, actor=user, province_code=event.province_code)
    return application


def _duplicate(existing) -> Conflict:
    return Conflict("fair.already_applied", "Chủ thể đã đăng ký gian hàng cho sự kiện này.",
                    "The producer has already applied for this event.",
                    {"application_id": existing.id} if existing is not None else {})


def review(user: User, application: FairApplication, data: dict) -> FairApplication:
    """approve / reject (with a reason) / waitlist; notifies the producer. A booked exhibitor is unbooked first."""
    event = application.event
    access.require_manage(user, event)
    require_status(event, "review", "open", "allocating", "published")
    target, allowed_from = DECISIONS[data["decision"]]
    if application.status not in allowed_from:
        raise DomainError("fair.invalid_decision", f"Đơn đang ở trạng thái '{application.status}'.",
                          f"The application is '{application.status}'; it cannot be {target}.",
                          {"status": application.status, "decision": data["decision"]}, status=409)
    reason = (data.get("reason") or "").strip() or None
    if target == "rejected" and reason is None:
        raise invalid("reason", "từ chối cần nêu lý do", "a rejection needs a reason", code="fair.reason_required")
    if application.assignment is not None:
        allocation.release(user, application.assignment)
    before = audit.snapshot(application)
    application.status, application.decision_reason = target, reason
    application.decided_by_id, application.decided_at = user.id, utcnow()
    db.session.flush()
    audit.record("fair.application_reviewed", application, before=before, actor=user,
                 province_code=event.province_code)
    _notify(application)
    return application


def _notify(application: FairApplication) -> None:
    vi, en = DECISION_TEXT[application.status]
    event = application.event
    kind_vi, _ = EVENT_KINDS[event.kind]
    body = (f"Đơn đăng ký gian hàng tại {kind_vi.lower()} \"{event.name}\" ({event.starts_on:%d/%m/%Y}) đã {vi}."
            + (f" Lý do: {application.decision_reason}" if application.decision_reason else "")
            + f"\n\nYour booth application for \"{event.name}\" was {en}.")
    delivery.notify("fair.application_decided",
                    f"fair-application:{application.id}:{application.status}:{application.decided_at.isoformat()}",
                    f"Đơn đăng ký gian hàng {vi} / Booth application {en}", body,
                    producer_id=application.producer_id,
                    data={"event_id": event.id, "application_id": application.id, "status": application.status})


def withdraw(user: User, application: FairApplication) -> FairApplication:
    """The producer withdraws (before the fair runs); a booked booth is released and its fee line cancelled."""
    if not access.acts_for_producer(user, application.producer_id):
        raise access.out_of_scope(application_id=application.id)
    require_status(application.event, "withdraw", "open", "allocating", "published")
    if application.status not in ("submitted", "approved", "waitlisted"):
        raise DomainError("fair.invalid_decision", f"Đơn đang ở trạng thái '{application.status}'.",
                          f"The application is '{application.status}'; it cannot be withdrawn.",
                          {"status": application.status}, status=409)
    if application.assignment is not None:
        allocation.release(user, application.assignment)
    before = audit.snapshot(application)
    application.status = "withdrawn"
    db.session.flush()
    audit.record("fair.application_withdrawn", application, before=before, actor=user,
                 province_code=application.event.province_code)
    return application


def list_applications(user: User, event: FairEvent, args: dict) -> dict:
    """The event's applications (organiser/admin), or the producer's own."""
    stmt = select(FairApplication).where(FairApplication.event_id == event.id)
    if not access.can_manage_event(user, event):
        if user.role != "producer":
            raise access.out_of_scope(event_id=event.id)
        stmt = stmt.where(FairApplication.producer_id == user.producer_id)
    if args.get("status"):
        stmt = stmt.where(FairApplication.status == args["status"])
    return paginate(stmt.order_by(FairApplication.id), args["page"], args["limit"])


def producer_applications(user: User) -> list[FairApplication]:
    """The producer's applications across events, newest first (the console's "my fairs")."""
    if not access.acts_for_producer(user, user.producer_id):
        raise access.out_of_scope(producer_id=user.producer_id)
    return list(db.session.execute(select(FairApplication).where(FairApplication.producer_id == user.producer_id)
                                   .order_by(FairApplication.id.desc())).scalars())


def listed_products_of(user: User) -> list[Product]:
    """The producer's products listed today: what it may apply with (the console's apply form)."""
    if user.role != "producer" or user.producer_id is None:
        raise access.out_of_scope(producer_id=None)
    return [p for p in db.session.execute(select(Product).where(Product.producer_id == user.producer_id)
                                          .order_by(Product.name)).scalars() if listing.is_listed(p)]
