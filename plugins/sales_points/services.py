"""Sales point registry: points, operator bindings, consignment agreements, product look-up.

Stock documents live in :mod:`plugins.sales_points.operations`, counter sales in
:mod:`plugins.sales_points.pos`, settlements in :mod:`plugins.sales_points.settlement`
and reports in :mod:`plugins.sales_points.reports`.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.text import contains_text
from core.db import db
from core.errors import Conflict, DomainError, NotFound, invalid
from core.catalogue.models import Producer, Variant
from core.accounts.models import User
from core.pagination import paginate
from core.accounts import authentication as accounts
from core.audit import trail as audit
from core.geo import units as geo
from core.inventory import locations
from core.sales import channels
from plugins.sales_points import access
from plugins.sales_points.models import ConsignmentAgreement, SalesPoint, SalesPointOperator

SALES_POINT_KIND = "sales_point"
TRANSIT_KIND = "sales_point_transit"
POINT_FIELDS = ("name", "location_kind", "address", "opening_hours", "contacts", "managing_organisation",
                "recognition_decision_no", "recognised_on", "status", "allow_unlisted", "commission_rate_bp",
                "low_stock_default", "near_expiry_days")


# --- points ------------------------------------------------------------------------
def get_point(point_id: int) -> SalesPoint:
    """A sales point by id (404 ``sales_point.not_found``)."""
    point = db.session.get(SalesPoint, point_id)
    if point is None:
        raise NotFound("sales_point", "điểm bán")
    return point


def view_point(user: User, point_id: int) -> SalesPoint:
    """A point the user may see (operators: theirs; organisers: their province; producers: any)."""
    point = get_point(point_id)
    if user.role != "producer":
        access.require_view(user, point)
    return point


def _current_commune(code: str):
    commune = geo.require_commune(code)
    if commune.is_retired:
        raise invalid("commune_code", "xã/phường này đã giải thể sau sáp nhập 2025, hãy dùng đơn vị hiện hành",
                      "this commune was retired in the 2025 reorganisation; use the current unit",
                      code="sales_point.commune_retired")
    return commune


def _clean_json(value: dict | None) -> dict | None:
    if not value:
        return None
    return {k: v for k, v in value.items() if v not in (None, [], "")} or None


def _next_code(province_code: str) -> str:
    n = db.session.execute(select(db.func.count(SalesPoint.id))
                           .where(SalesPoint.province_code == province_code)).scalar_one() + 1
    while True:
        code = f"SP-{province_code}-{n:03d}"
        if db.session.execute(select(SalesPoint.id).where(SalesPoint.code == code)).first() is None:
            return code
        n += 1


def create_point(user: User, data: dict) -> SalesPoint:
    """Register a sales point (organiser of its province, or admin). Does not commit.

    Creates the point's core stock location (kind ``sales_point``), its
    in-transit location (``sales_point_transit``) and its sales channel
    (kind ``sales_point``, code ``sales_point:<code>``) through the core
    stock service.
    """
    data = dict(data)
    commune = _current_commune(data["commune_code"])
    province = geo.province_of(commune)
    access.require_registry(user, province.code)
    code = data.get("code") or _next_code(province.code)
    if db.session.execute(select(SalesPoint.id).where(SalesPoint.code == code)).first():
        raise Conflict("sales_point.code_taken", "Mã điểm bán đã tồn tại.", "Sales point code already exists.",
                       {"code": code})
    # Everything is validated: the core creates the two locations, then the point is written.
    location = locations.create_location(user, {
        "kind": SALES_POINT_KIND, "name": data["name"], "province_code": province.code,
        "address": data["address"], "external_ref": f"sales_point:{code}"})
    transit = locations.create_location(user, {
        "kind": TRANSIT_KIND, "name": f"Hàng đang chuyển đến {data['name']}", "province_code": province.code,
        "external_ref": f"sales_point_transit:{code}"})
    channel = channels.get_or_create_channel(f"sales_point:{code}", kind=SALES_POINT_KIND, name=data["name"],
                                             location=location)
    point = SalesPoint(code=code, province_code=province.code, commune_code=commune.code,
                       stock_location_id=location.id, transit_location_id=transit.id,
                       sales_channel_id=channel.id, status=data.get("status", "active"),
                       allow_unlisted=data.get("allow_unlisted", False),
                       commission_rate_bp=data.get("commission_rate_bp", 0),
                       low_stock_default=data.get("low_stock_default", 3),
                       near_expiry_days=data.get("near_expiry_days", 30))
    _apply(point, data)
    try:
        with db.session.begin_nested():  # the same code registered concurrently: a clean 409
            db.session.add(point)
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict("sales_point.code_taken", "Mã điểm bán đã tồn tại.", "Sales point code already exists.",
                       {"code": code}) from exc
    audit.record("sales_point.created", point, actor=user, province_code=point.province_code)
    db.session.flush()
    return point


def _apply(point: SalesPoint, data: dict) -> None:
    for key in POINT_FIELDS:
        if key in data:
            value = data[key]
            if key in ("opening_hours", "contacts"):
                value = _clean_json(value)
            setattr(point, key, value)


def update_point(user: User, point: SalesPoint, data: dict) -> SalesPoint:
    """Edit a point in the caller's registry scope; moving it keeps it inside the organiser's province. Does not commit.

    A point that is ``closed`` or ``suspended`` cannot sell; its stock location
    is deactivated only when it is closed and empty.
    """
    access.require_registry(user, point.province_code)
    data = dict(data)
    before = audit.snapshot(point)
    if "commune_code" in data:
        commune = _current_commune(data["commune_code"])
        province = geo.province_of(commune)
        access.require_registry(user, province.code)
        point.commune_code, point.province_code = commune.code, province.code
    _apply(point, data)
    audit.record("sales_point.updated", point, before=before, actor=user, province_code=point.province_code)
    db.session.flush()
    return point


def list_points(user: User, args: dict) -> dict:
    """Points the user sees (admin/producer: all; organiser: province; operator: own), paginated."""
    stmt = select(SalesPoint)
    scope = access.visible_points_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    stmt = _filter_points(stmt, args)
    if args.get("status"):
        stmt = stmt.where(SalesPoint.status == args["status"])
    return paginate(stmt.order_by(SalesPoint.province_code, SalesPoint.code), args["page"], args["limit"])


def _filter_points(stmt, args: dict):
    if args.get("province"):
        stmt = stmt.where(SalesPoint.province_code == args["province"])
    if args.get("commune"):
        stmt = stmt.where(SalesPoint.commune_code == args["commune"])
    if args.get("kind"):
        stmt = stmt.where(SalesPoint.location_kind == args["kind"])
    if args.get("q"):
        stmt = stmt.where(or_(contains_text(SalesPoint.name, args["q"]), contains_text(SalesPoint.code, args["q"])))
    return stmt


def public_points(args: dict) -> dict:
    """Active points for shoppers, filtered by province/commune/kind, paginated."""
    stmt = _filter_points(select(SalesPoint).where(SalesPoint.status == "active"), args)
    return paginate(stmt.order_by(SalesPoint.province_code, SalesPoint.name), args["page"], args["limit"])


# --- operators ---------------------------------------------------------------------------
def list_operators(user: User, point: SalesPoint) -> dict:
    """Operators bound to ``point`` (registry managers and the point's own operators)."""
    access.require_view(user, point)
    rows = db.session.execute(select(SalesPointOperator).where(SalesPointOperator.sales_point_id == point.id)
                              .order_by(SalesPointOperator.id)).scalars().all()
    results = [{"user_id": b.user_id, "username": b.user.username, "full_name": b.user.full_name,
                "bound_at": b.created_at} for b in rows]
    return {"results": results, "total": len(results), "next": None}


def bind_operator(user: User, point: SalesPoint, data: dict) -> dict:
    """Bind an ``operator`` user to ``point``; with ``password`` the operator account is created. Does not commit."""
    access.require_registry(user, point.province_code)
    operator = db.session.execute(select(User).where(User.username == data["username"])).scalar_one_or_none()
    if operator is None:
        if not data.get("password"):
            raise NotFound("user", "tài khoản", {"username": data["username"]})
        operator = accounts.create_user(data["username"], data["password"], "operator",
                                        full_name=data.get("full_name"), email=data.get("email"))
    elif data.get("password"):
        raise Conflict("user.exists", "Tên đăng nhập đã tồn tại.", "Username already taken.",
                       {"username": data["username"]})
    if operator.role != "operator":
        raise DomainError("sales_point.not_an_operator", "Chỉ gắn được tài khoản có vai trò operator.",
                          "Only users with the operator role can be bound to a sales point.",
                          {"username": operator.username, "role": operator.role}, status=422)
    exists = db.session.execute(select(SalesPointOperator).where(
        SalesPointOperator.sales_point_id == point.id, SalesPointOperator.user_id == operator.id)).scalar_one_or_none()
    if exists is None:
        exists = SalesPointOperator(sales_point_id=point.id, user_id=operator.id)
        db.session.add(exists)
        db.session.flush()
        audit.record("sales_point.operator_bound", exists, actor=user, province_code=point.province_code,
                     after={"sales_point_id": point.id, "user_id": operator.id, "username": operator.username})
    db.session.flush()
    return {"user_id": operator.id, "username": operator.username, "full_name": operator.full_name,
            "bound_at": exists.created_at}


def unbind_operator(user: User, point: SalesPoint, user_id: int) -> None:
    """Remove an operator from ``point``. Does not commit."""
    access.require_registry(user, point.province_code)
    binding = db.session.execute(select(SalesPointOperator).where(
        SalesPointOperator.sales_point_id == point.id, SalesPointOperator.user_id == user_id)).scalar_one_or_none()
    if binding is None:
        raise NotFound("sales_point_operator", "người vận hành")
    audit.record("sales_point.operator_unbound", binding, actor=user, province_code=point.province_code,
                 before={"sales_point_id": point.id, "user_id": user_id}, after={})
    db.session.delete(binding)
    db.session.flush()


# --- consignment agreements ---------------------------------------------------------------------
def get_producer(producer_id: int) -> Producer:
    """A producer by id (404 ``producer.not_found``)."""
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound("producer", "chủ thể")
    return producer


def agreement_on(point: SalesPoint, producer_id: int, day: dt.date) -> ConsignmentAgreement | None:
    """The consignment agreement of ``producer_id`` at ``point`` in force on ``day``, if any."""
    return db.session.execute(select(ConsignmentAgreement).where(
        ConsignmentAgreement.sales_point_id == point.id, ConsignmentAgreement.producer_id == producer_id,
        ConsignmentAgreement.valid_from <= day,
        or_(ConsignmentAgreement.valid_to.is_(None), ConsignmentAgreement.valid_to >= day))
        .order_by(ConsignmentAgreement.valid_from.desc())).scalars().first()


def list_agreements(user: User, point: SalesPoint) -> dict:
    """Consignment agreements of a point (producers: only their own)."""
    producer_id = access.require_view_or_producer(user, point)
    stmt = select(ConsignmentAgreement).where(ConsignmentAgreement.sales_point_id == point.id)
    if producer_id is not None:
        stmt = stmt.where(ConsignmentAgreement.producer_id == producer_id)
    rows = db.session.execute(stmt.order_by(ConsignmentAgreement.valid_from, ConsignmentAgreement.id)).scalars().all()
    return {"results": rows, "total": len(rows), "next": None}


def _overlaps(point_id: int, producer_id: int, start: dt.date, end: dt.date | None, exclude_id=None) -> bool:
    far = dt.date.max
    for other in db.session.execute(select(ConsignmentAgreement).where(
            ConsignmentAgreement.sales_point_id == point_id,
            ConsignmentAgreement.producer_id == producer_id)).scalars():
        if other.id == exclude_id:
            continue
        if start <= (other.valid_to or far) and other.valid_from <= (end or far):
            return True
    return False


def create_agreement(user: User, point: SalesPoint, data: dict) -> ConsignmentAgreement:
    """Record a consignment agreement (registry managers or the point's operators). Does not commit.

    Agreements of one producer at one point may not overlap in time.
    """
    if not access.can_manage_registry(user, point.province_code):
        access.require_operate(user, point)
    producer = get_producer(data["producer_id"])
    if _overlaps(point.id, producer.id, data["valid_from"], data.get("valid_to")):
        raise Conflict("sales_point.agreement_overlap", "Đã có hợp đồng ký gửi trùng thời gian với chủ thể này.",
                       "An agreement with this producer already covers part of that period.",
                       {"producer_id": producer.id})
    agreement = ConsignmentAgreement(sales_point_id=point.id, producer_id=producer.id,
                                     commission_rate_bp=data.get("commission_rate_bp"),
                                     valid_from=data["valid_from"], valid_to=data.get("valid_to"),
                                     note=data.get("note"), status="active", created_by_id=user.id)
    db.session.add(agreement)
    db.session.flush()
    audit.record("sales_point.agreement_created", agreement, actor=user, province_code=point.province_code)
    db.session.flush()
    return agreement


def end_agreement(user: User, agreement_id: int, valid_to: dt.date) -> ConsignmentAgreement:
    """End an agreement on ``valid_to`` (not before it started). Does not commit."""
    agreement = db.session.get(ConsignmentAgreement, agreement_id)
    if agreement is None:
        raise NotFound("consignment_agreement", "hợp đồng ký gửi")
    point = agreement.sales_point
    if not access.can_manage_registry(user, point.province_code):
        access.require_operate(user, point)
    if valid_to < agreement.valid_from:
        raise invalid("valid_to", "ngày kết thúc trước ngày bắt đầu", "valid_to is before valid_from")
    before = audit.snapshot(agreement)
    agreement.valid_to = valid_to
    agreement.status = "ended" if valid_to <= clock.today() else "active"
    audit.record("sales_point.agreement_ended", agreement, before=before, actor=user,
                 province_code=point.province_code)
    db.session.flush()
    return agreement


# --- product look-up --------------------------------------------------------------------------
def find_variant(ref: dict, field: str = "code") -> Variant:
    """The variant named by one of ``variant_id``/``sku``/``gtin``/``code`` (a scan: GTIN first, then SKU).

    Unknown references raise ``sales_point.unknown_code`` (404) with the value given.
    """
    variant = None
    if ref.get("variant_id") is not None:
        variant = db.session.get(Variant, ref["variant_id"])
        value = ref["variant_id"]
    elif ref.get("sku"):
        value = ref["sku"]
        variant = db.session.execute(select(Variant).where(Variant.sku == value)).scalar_one_or_none()
    else:
        value = (ref.get("gtin") or ref.get("code") or "").strip()
        compact = value.replace(" ", "").replace("-", "")
        if compact.isdigit():
            candidates = {compact, compact.lstrip("0")} | {compact.zfill(n) for n in (8, 12, 13, 14) if len(compact) <= n}
            variant = db.session.execute(select(Variant).where(Variant.gtin.in_(candidates))).scalars().first()
        if variant is None and ref.get("code"):
            variant = db.session.execute(select(Variant).where(Variant.sku == value)).scalar_one_or_none()
    if variant is None:
        raise DomainError("sales_point.unknown_code", f"Không tìm thấy sản phẩm với mã {value}.",
                          f"No product with code {value}.", {"code": str(value), "field": field}, status=404)
    return variant

