"""Booth allocation: manual assignment, the automatic proposal from priority rules kept as data, fee lines.

A booth is never double-booked: each assignment takes one of the booth's ``capacity`` slots and
``(booth_id, slot)`` is unique in the database, so of two concurrent assignments of the last slot
exactly one is written (the other gets ``fair.booth_taken``, 409). Each assignment gets its own
stock location of kind ``fair_booth`` and an invoice line with the event's subsidy. Flushes only.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.accounts.models import User
from core.audit import trail as audit
from core.catalogue.models import Product
from core.db import db, savepoint, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.geo import units as geo
from core.inventory import locations
from plugins.fairs import access, fees
from plugins.fairs.events import FAIR_BOOTH_KIND, has_stock_history, require_status
from plugins.fairs.models import (RULE_KINDS, FairApplication, FairAssignment, FairBooth, FairEvent, FairFeeLine,
                                  FairRule)

ALLOCATING = ("allocating", "published")
#: the rules an event starts with when the organiser has set none
DEFAULT_RULES = [{"kind": "stars", "weight": 10, "params": {}},
                 {"kind": "newly_certified", "weight": 15, "params": {"days": 365}},
                 {"kind": "first_time", "weight": 5, "params": {}},
                 {"kind": "group_mix", "weight": 0, "params": {"max_per_zone": 4}},
                 {"kind": "quota", "weight": 0, "params": {"level": "commune", "max": 3}}]


def _booth(event: FairEvent, booth_id: int) -> FairBooth:
    booth = db.session.get(FairBooth, booth_id)
    if booth is None or booth.event_id != event.id:
        raise NotFound("fair_booth", "gian hàng")
    return booth


def _application(event: FairEvent, application_id: int) -> FairApplication:
    application = db.session.get(FairApplication, application_id)
    if application is None or application.event_id != event.id:
        raise NotFound("fair_application", "đơn đăng ký")
    return application


def booth_taken(booth: FairBooth) -> Conflict:
    return Conflict("fair.booth_taken", f"Gian hàng {booth.code} đã có chủ thể.", f"Booth {booth.code} is taken.",
                    {"booth_code": booth.code, "capacity": booth.capacity})


def _taken_slots(booth_id: int) -> set[int]:
    return set(db.session.execute(select(FairAssignment.slot).where(FairAssignment.booth_id == booth_id)).scalars())


def assign(user: User, event: FairEvent, application_id: int, booth_id: int) -> FairAssignment:
    """Put an approved applicant on a free slot of a booth; creates its ``fair_booth`` location and fee line."""
    access.require_manage(user, event)
    require_status(event, "allocate", *ALLOCATING)
    application = _application(event, application_id)
    booth = _booth(event, booth_id)
    if application.status != "approved":
        raise DomainError("fair.not_approved", "Chỉ đơn đã được chấp thuận mới được xếp gian hàng.",
                          "Only approved applications get a booth.", {"status": application.status}, status=409)
    if application.assignment is not None:
        raise Conflict("fair.already_assigned", "Chủ thể đã được xếp gian hàng.", "The exhibitor already has a booth.",
                       {"booth_code": application.assignment.booth.code})
    assignment = None
    for _attempt in range(booth.capacity):  # a slot taken meanwhile: try the next free one
        free = [slot for slot in range(1, booth.capacity + 1) if slot not in _taken_slots(booth.id)]
        if not free:
            break
        assignment = _insert(user, event, application, booth, free[0])
        if assignment is not None:
            break
    if assignment is None:
        raise booth_taken(booth)
    fee = _fee_line(event, booth, assignment)
    db.session.flush()
    audit.record("fair.booth_assigned", assignment, actor=user, province_code=event.province_code,
                 after={"booth_code": booth.code, "slot": assignment.slot, "producer_id": assignment.producer_id,
                        "fee_due": fee.due})
    return assignment


def _insert(user: User, event: FairEvent, application: FairApplication, booth: FairBooth,
            slot: int) -> FairAssignment | None:
    """Write the assignment (and its location) in a savepoint; None when the slot was taken meanwhile."""
    try:
        with savepoint():
            location = locations.create_location(user, {
                "kind": FAIR_BOOTH_KIND, "name": f"Gian {booth.code} – {application.producer.name}"[:200],
                "province_code": event.province_code, "producer_id": application.producer_id,
                "address": event.venue_address, "external_ref": f"fair_booth:{event.slug}:{booth.code}:{slot}"[:120]})
            assignment = FairAssignment(event_id=event.id, booth_id=booth.id, slot=slot,
                                        application_id=application.id, producer_id=application.producer_id,
                                        stock_location_id=location.id, assigned_by_id=user.id)
            db.session.add(assignment)
            db.session.flush()
    except IntegrityError:
        db.session.expire(booth)
        db.session.expire(application)
        if db.session.execute(select(FairAssignment.id).where(
                FairAssignment.application_id == application.id)).first() is not None:
            raise Conflict("fair.already_assigned", "Chủ thể đã được xếp gian hàng.",
                           "The exhibitor already has a booth.", {}) from None
        return None
    return assignment


def fee_for(event: FairEvent, booth: FairBooth) -> tuple[int, int]:
    """``(amount, subsidy)`` in VND of one exhibitor's share of ``booth`` under the event's fee policy."""
    amount = booth.price // booth.capacity
    if event.fee_policy == "free":
        return amount, amount
    if event.fee_policy == "subsidised":
        return amount, amount * event.subsidy_share_bp // 10000
    return amount, 0


def _fee_line(event: FairEvent, booth: FairBooth, assignment: FairAssignment) -> FairFeeLine:
    amount, subsidy = fee_for(event, booth)
    fee = FairFeeLine(event_id=event.id, assignment_id=assignment.id, producer_id=assignment.producer_id,
                      booth_code=booth.code, amount=amount, subsidy=subsidy, due=amount - subsidy,
                      status="unpaid" if amount > subsidy else "waived")
    db.session.add(fee)
    assignment.fee = fee
    return fee


def release(user: User, assignment: FairAssignment) -> None:
    """Free the slot (withdrawal, reversal of a decision, the organiser's edit). Refused once goods are at the booth."""
    event = db.session.get(FairEvent, assignment.event_id)
    if has_stock_history(assignment):
        raise DomainError("fair.stock_at_booth", "Gian hàng đã có hàng, không thể huỷ xếp gian.",
                          "Goods have moved through this booth; it cannot be released.",
                          {"assignment_id": assignment.id}, status=409)
    fee = assignment.fee
    if fee is not None:
        if fees.is_paid(fee):
            raise DomainError("fair.fee_paid", "Phí gian hàng đã thanh toán, cần hoàn phí trước.",
                              "The booth fee is paid; refund it first.", {"fee_id": fee.id}, status=409)
        fee.status, fee.assignment_id = "cancelled", None
    assignment.stock_location.active = False
    audit.record("fair.booth_released", assignment, actor=user, province_code=event.province_code,
                 after={"booth_code": assignment.booth.code, "producer_id": assignment.producer_id})
    application = assignment.application
    db.session.delete(assignment)
    db.session.flush()
    db.session.expire(application, ["assignment"])


def unassign(user: User, event: FairEvent, assignment_id: int) -> None:
    """The organiser takes an exhibitor off a booth while allocating."""
    access.require_manage(user, event)
    require_status(event, "allocate", *ALLOCATING)
    assignment = get_assignment(assignment_id)
    if assignment.event_id != event.id:
        raise NotFound("fair_assignment", "xếp gian")
    release(user, assignment)


def get_assignment(assignment_id: int) -> FairAssignment:
    assignment = db.session.get(FairAssignment, assignment_id)
    if assignment is None:
        raise NotFound("fair_assignment", "xếp gian")
    return assignment


def list_assignments(user: User, event: FairEvent) -> list[FairAssignment]:
    """The event's assignments (organiser), or the producer's own."""
    stmt = select(FairAssignment).where(FairAssignment.event_id == event.id).order_by(FairAssignment.id)
    if not access.can_manage_event(user, event):
        if user.role != "producer":
            raise access.out_of_scope(event_id=event.id)
        stmt = stmt.where(FairAssignment.producer_id == user.producer_id)
    return list(db.session.execute(stmt).scalars())


# --- priority rules and the automatic proposal ---------------------------------------------------
def rules_of(event: FairEvent) -> list[dict]:
    rows = db.session.execute(select(FairRule).where(FairRule.event_id == event.id)
                              .order_by(FairRule.position)).scalars().all()
    if not rows:
        return [dict(rule) for rule in DEFAULT_RULES]
    return [{"kind": r.kind, "weight": r.weight, "params": r.params or {}} for r in rows]


def view_rules(user: User, event: FairEvent) -> list[dict]:
    """The rules, for the event's organiser."""
    access.require_manage(user, event)
    return rules_of(event)


def _check_rule(i: int, rule: dict) -> dict:
    kind, params = rule["kind"], dict(rule.get("params") or {})
    if kind not in RULE_KINDS:
        raise invalid(f"rules[{i}].kind", "loại quy tắc không hợp lệ", "unknown rule kind", code="fair.invalid_rule")

    def positive_int(key):
        value = params.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
            raise invalid(f"rules[{i}].params.{key}", "phải là số nguyên dương", "must be a positive integer",
                          code="fair.invalid_rule")
    if kind == "newly_certified":
        positive_int("days")
    elif kind == "group_mix":
        positive_int("max_per_zone")
    elif kind == "quota":
        positive_int("max")
        if params.get("level") not in ("district", "commune"):
            raise invalid(f"rules[{i}].params.level", "cấp phải là huyện cũ hoặc xã",
                          "level must be district or commune", code="fair.invalid_rule")
    return {"kind": kind, "weight": rule.get("weight", 0), "params": params}


def set_rules(user: User, event: FairEvent, rules: list[dict]) -> list[dict]:
    """Replace the event's priority rules (validated as a whole). Flushes."""
    access.require_manage(user, event)
    require_status(event, "set_rules", "draft", "open", "allocating")
    checked = [_check_rule(i, rule) for i, rule in enumerate(rules)]
    for row in db.session.execute(select(FairRule).where(FairRule.event_id == event.id)).scalars():
        db.session.delete(row)
    for position, rule in enumerate(checked):
        db.session.add(FairRule(event_id=event.id, position=position, **rule))
    db.session.flush()
    audit.record("fair.rules_set", event, actor=user, province_code=event.province_code, after={"rules": checked})
    return checked


def _facts(application: FairApplication) -> dict:
    found = {p.id: p for p in db.session.execute(select(Product).where(
        Product.id.in_(application.product_ids or []))).scalars()}
    products = [found[pid] for pid in application.product_ids or [] if pid in found]  # ties: the first listed wins
    certs = [c for c in (p.current_certification() for p in products) if c is not None]
    producer = application.producer
    lineage = {unit.level: unit.code for unit in geo.lineage(producer.commune)} if producer.commune else {}
    groups = Counter(p.group_code for p in products)
    earlier = db.session.execute(select(FairAssignment.id).where(
        FairAssignment.producer_id == producer.id, FairAssignment.event_id != application.event_id).limit(1)).first()
    return {"stars": max((c.stars for c in certs), default=0),
            "newest_certified": max((c.issued_on for c in certs), default=None),
            "group": groups.most_common(1)[0][0] if groups else None,
            "district": lineage.get("district"), "commune": producer.commune_code,
            "first_time": earlier is None}


def _score(rules: list[dict], facts: dict, today: dt.date) -> int:
    score = 0
    for rule in rules:
        kind, weight = rule["kind"], rule["weight"]
        if kind == "stars":
            score += weight * facts["stars"]
        elif kind == "newly_certified" and facts["newest_certified"] is not None:
            if (today - facts["newest_certified"]).days <= rule["params"]["days"]:
                score += weight
        elif kind == "first_time" and facts["first_time"]:
            score += weight
    return score


def propose(user: User, event: FairEvent) -> dict:
    """A proposal (nothing written): approved applicants without a booth, best score first, each on a free booth
    that respects the preferences, the product-group mix per zone and the quotas per former district or commune."""
    access.require_manage(user, event)
    require_status(event, "allocate", *ALLOCATING)
    rules = rules_of(event)
    today = clock.today()
    mix = next((r["params"]["max_per_zone"] for r in rules if r["kind"] == "group_mix"), None)
    quotas = [(r["params"]["level"], r["params"]["max"]) for r in rules if r["kind"] == "quota"]
    zones = {zone.id: zone for zone in event.zones}
    free = {booth.id: booth.capacity - len(booth.assignments) for booth in event.booths}
    per_zone_group: Counter = Counter()
    per_unit: Counter = Counter()
    for booth in event.booths:
        for a in booth.assignments:
            facts = _facts(a.application)
            per_zone_group[(booth.zone_id, facts["group"])] += 1
            for level, _ in quotas:
                per_unit[(level, facts[level])] += 1
    waiting = db.session.execute(select(FairApplication).where(
        FairApplication.event_id == event.id, FairApplication.status == "approved")).scalars().all()
    candidates = []
    for application in waiting:
        if application.assignment is None:
            facts = _facts(application)
            candidates.append((_score(rules, facts, today), application, facts))
    candidates.sort(key=lambda c: (-c[0], c[1].id))
    items, unplaced = [], []
    for score, application, facts in candidates:
        if any(per_unit[(level, facts[level])] >= limit for level, limit in quotas):
            unplaced.append({"application_id": application.id, "producer_name": application.producer.name,
                             "score": score, "reason": "quota"})
            continue
        options = [b for b in event.booths if free[b.id] > 0
                   and (mix is None or per_zone_group[(b.zone_id, facts["group"])] < mix)]
        if not options:
            unplaced.append({"application_id": application.id, "producer_name": application.producer.name,
                             "score": score, "reason": "no_free_booth"})
            continue
        options.sort(key=lambda b: (b.booth_type != (application.booth_type or b.booth_type),
                                    zones[b.zone_id].code != (application.zone_code or zones[b.zone_id].code),
                                    zones[b.zone_id].product_group not in (None, facts["group"]), b.code))
        booth = options[0]
        free[booth.id] -= 1
        per_zone_group[(booth.zone_id, facts["group"])] += 1
        for level, _ in quotas:
            per_unit[(level, facts[level])] += 1
        items.append({"application_id": application.id, "producer_name": application.producer.name,
                      "score": score, "booth_id": booth.id, "booth_code": booth.code})
    return {"rules": rules, "items": items, "unplaced": unplaced}


def accept(user: User, event: FairEvent, items: list[dict]) -> list[FairAssignment]:
    """Apply a proposal (as proposed or edited): every item is assigned, or none (the request rolls back)."""
    seen_apps = Counter(item["application_id"] for item in items)
    if any(n > 1 for n in seen_apps.values()):
        raise invalid("items", "một đơn xuất hiện nhiều lần", "an application appears more than once",
                      code="fair.duplicate_item")
    return [assign(user, event, item["application_id"], item["booth_id"]) for item in items]
