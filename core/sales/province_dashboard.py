"""The province's OCOP dashboard: the figures the provincial plans report, for one province (or all), one
administrative unit and one period, against the plans' targets (``core/data/plan_targets.json``).

Products by stars (per province and current commune, and per issuing unit) and by product group, the
producer mix by legal form, certificates expiring within 90 days, sales points and their sales, GMV by
channel and month, and the figures plugins add (fair rounds, producers on marketplaces) through the
``reports`` hook. Every figure is one aggregate query. The console's dashboard and
``GET /admin/v1/reports/province-dashboard`` both read :func:`province_figures`.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import distinct, func, literal, or_, select

from core import clock, reports
from core.accounts.models import User
from core.catalogue import groups
from core.catalogue.models import LEGAL_FORMS, Producer, Product
from core.certification.models import Certification
from core.db import db
from core.errors import Forbidden, invalid
from core.geo.models import AdministrativeUnit
from core.inventory.models import StockLocation
from core.sales.models import Order, OrderLine, SalesChannel

VIEWER_ROLES = ("admin", "organiser")
EXPIRY_WINDOW_DAYS = 90
EXPIRING_SHOWN = 500
#: orders that count as sold (GMV): placed and not cancelled or refunded
GMV_STATUSES = ("confirmed", "paid", "fulfilled", "completed")
#: the channel kind a sales point's counter sales are recorded under (registered by the sales-points plugin)
SALES_POINT_KIND = "sales_point"
LEGAL_FORM_NAMES = {"enterprise": ("Doanh nghiệp", "Enterprise"), "cooperative": ("Hợp tác xã", "Cooperative"),
                    "cooperative_group": ("Tổ hợp tác", "Cooperative group"),
                    "household_business": ("Hộ kinh doanh", "Household business")}
#: the provincial plans' producer-mix targets: share of OCOP producers of these legal forms (at least)
PRODUCER_MIX_TARGETS = (
    ("cooperatives", ("cooperative", "cooperative_group"), 0.40, "Hợp tác xã và tổ hợp tác", "Cooperatives and groups"),
    ("enterprises", ("enterprise",), 0.30, "Doanh nghiệp", "Enterprises"),
)
PLAN_TARGETS = Path(__file__).resolve().parent.parent / "data" / "plan_targets.json"
MAX_PERIOD_DAYS = 3 * 366
assert set(LEGAL_FORM_NAMES) == set(LEGAL_FORMS)


@dataclass(frozen=True)
class Scope:
    """What the figures cover: a province (None: all), a unit inside it (district or commune), a period."""

    province: str | None
    unit: str | None
    date_from: dt.date
    date_to: dt.date  # inclusive
    as_of: dt.date  # certificates valid on this day: the period's end, or today if earlier


def dashboard_province(user: User, province_code: str | None) -> str | None:
    """The province ``user`` sees: an organiser its own (asking for another is 403), an admin the one asked
    (None: every province); other roles have no dashboard."""
    if user.role == "admin":
        return province_code or None
    if user.role == "organiser":
        if province_code and province_code != user.province_code:
            raise Forbidden("auth.out_of_scope", "Tỉnh này nằm ngoài phạm vi của bạn.",
                            "This province is outside your scope.", {"province_code": province_code})
        return user.province_code
    raise Forbidden("auth.forbidden", "Chỉ Sở Công Thương và quản trị viên xem bảng số liệu tỉnh.",
                    "Only organisers and admins see the province dashboard.", {"allowed_roles": list(VIEWER_ROLES)})


def dashboard_scope(user: User, province_code: str | None = None, year: int | None = None,
                    unit_code: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None,
                    today: dt.date | None = None) -> Scope:
    """Check and complete the filters: the period defaults to ``year`` (this year); a unit must lie in the
    province (422 ``dashboard.unknown_unit``); a period ends after it starts and spans at most three years."""
    province = dashboard_province(user, province_code)
    today = today or clock.today()
    if date_from is None and date_to is None:
        year = year or today.year
        date_from, date_to = dt.date(year, 1, 1), dt.date(year, 12, 31)
    elif date_from is None:
        date_from = dt.date(date_to.year, 1, 1)
    elif date_to is None:
        date_to = dt.date(date_from.year, 12, 31)
    if date_to < date_from or (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise invalid("to", "khoảng thời gian không hợp lệ (đến sau từ, tối đa 3 năm)",
                      "invalid period (to after from, three years at most)", code="dashboard.invalid_period")
    unit = _check_unit(unit_code, province) if unit_code else None
    return Scope(province, unit, date_from, date_to, min(date_to, today))


def _check_unit(code: str, province: str | None) -> str:
    unit = db.session.get(AdministrativeUnit, code)
    inside = unit is not None and unit.level in ("district", "commune") and (
        province is None or province in (unit.parent_code, _province_of(unit)))
    if not inside:
        raise invalid("unit", "đơn vị hành chính không thuộc tỉnh", "the unit is not in the province",
                      code="dashboard.unknown_unit")
    return code


def _province_of(unit: AdministrativeUnit) -> str | None:
    parent = unit.parent
    while parent is not None and parent.level != "province":
        parent = parent.parent
    if parent is None:
        return None
    return parent.successor_code or parent.code


def province_figures(user: User, province_code: str | None = None, year: int | None = None,
                     today: dt.date | None = None, *, unit_code: str | None = None,
                     date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict:
    """Every figure of the dashboard within :func:`dashboard_scope` (what ``user`` may see, filtered)."""
    scope = dashboard_scope(user, province_code, year, unit_code, date_from, date_to, today)
    targets = plan_targets(scope.province)
    counts = _certified_counts(scope)
    plugin = reports.dashboard_figures(user, province_code=scope.province, unit_code=scope.unit,
                                       date_from=scope.date_from, date_to=scope.date_to)
    for figure in plugin:
        figure["target"] = targets.get(figure["code"]) if not scope.unit else None
    return {
        "province_code": scope.province, "province_name": _names({scope.province}).get(scope.province),
        "unit_code": scope.unit, "unit_name": _names({scope.unit}).get(scope.unit),
        "date_from": scope.date_from.isoformat(), "date_to": scope.date_to.isoformat(),
        "as_of": scope.as_of.isoformat(), "year": scope.date_from.year,
        "targets": {"source": targets.get("source"), "applies": bool(targets) and not scope.unit},
        **_products_by_stars(counts, targets if not scope.unit else {}),
        "products_by_group": _products_by_group(counts, targets.get("groups", {}) if not scope.unit else {}),
        "producer_mix": _producer_mix(scope),
        "expiring_certificates": _expiring(scope),
        "sales_points": _sales_points(scope, targets.get("sales_points") if not scope.unit else None),
        "gmv_by_channel_month": _gmv(scope),
        "plugin_figures": plugin,
    }


@cache
def _all_targets() -> dict:
    return json.loads(PLAN_TARGETS.read_text(encoding="utf-8"))["provinces"]


def plan_targets(province: str | None) -> dict:
    """The plan's targets of ``province`` (``{}`` when it has none, or for all provinces together)."""
    return dict(_all_targets().get(province, {})) if province else {}


# --- filters shared by the queries ------------------------------------------------------------------
def _unit_communes(unit: str):
    """Commune codes inside ``unit``: itself, its children (a district's communes), units merged into it."""
    return select(AdministrativeUnit.code).where(or_(
        AdministrativeUnit.code == unit, AdministrativeUnit.parent_code == unit,
        AdministrativeUnit.successor_code == unit))


def _where_producer(stmt, scope: Scope):
    if scope.province is not None:
        stmt = stmt.where(Producer.province_code == scope.province)
    if scope.unit is not None:
        stmt = stmt.where(Producer.commune_code.in_(_unit_communes(scope.unit)))
    return stmt


def _moment_bounds(scope: Scope) -> tuple[dt.datetime, dt.datetime]:
    """The period as UTC moments: from 00:00 Vietnam time of its first day to 00:00 after its last."""
    start = dt.datetime.combine(scope.date_from, dt.time(), tzinfo=clock.VN_TZ).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(scope.date_to + dt.timedelta(days=1), dt.time(), tzinfo=clock.VN_TZ)
    return start, end.astimezone(dt.timezone.utc)


def _names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(AdministrativeUnit.code, AdministrativeUnit.name)
                                   .where(AdministrativeUnit.code.in_(codes))).all())


def _current_units(codes) -> dict[str, str]:
    """``{code: code of the unit in force today}`` following successor links, one query per link walked."""
    found: dict[str, str] = {}
    frontier = {code: code for code in codes if code}
    for _ in range(8):  # a retired commune's successor is current in practice; bounded anyway
        if not frontier:
            break
        units = dict(db.session.execute(select(AdministrativeUnit.code, AdministrativeUnit.successor_code)
                                        .where(AdministrativeUnit.code.in_(set(frontier.values())),
                                               AdministrativeUnit.successor_code.is_not(None))).all())
        following = {}
        for origin, code in frontier.items():
            if units.get(code):
                following[origin] = units[code]
            else:
                found[origin] = code
        frontier = following
    found.update(frontier)
    return found


# --- certified products ---------------------------------------------------------------------------------
def _in_force_on(day: dt.date):
    """Not withdrawn nor superseded on ``day``: active or expired now, or changed to that status later."""
    after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=clock.VN_TZ).astimezone(dt.timezone.utc)
    return or_(Certification.status.in_(("active", "expired")), Certification.status_changed_at >= after)


def _valid_certifications(scope: Scope, *, whole_table: bool = False):
    """Certifications in force on the ``as_of`` day with their product and producer, in scope. ``whole_table``:
    the caller reads (nearly) every one, so the expiry index must not drive the scan (an index walk plus a
    row lookup each costs twice a plain scan on SQLite; PostgreSQL scans either way)."""
    expires_on = func.coalesce(Certification.expires_on, Certification.issued_on) if whole_table \
        else Certification.expires_on
    stmt = (select(Certification, Product, Producer)
            .join(Product, Product.id == Certification.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(Certification.issued_on <= scope.as_of, expires_on > scope.as_of, _in_force_on(scope.as_of)))
    return _where_producer(stmt, scope)


def _certified_counts(scope: Scope) -> list[tuple]:
    """OCOP products with a valid certification, counted per (province, commune, issuing unit, group, stars):
    one scan for both the stars and the group tables. Every province together: per province (no commune)."""
    commune = Producer.commune_code if scope.province is not None else literal(None, type_=Producer.commune_code.type)
    keys = (Producer.province_code, Certification.issuing_unit_code, Product.group_code, Certification.stars)
    stmt = _valid_certifications(scope, whole_table=True).with_only_columns(
        Producer.province_code, commune, Certification.issuing_unit_code, Product.group_code, Certification.stars,
        func.count(distinct(Product.id))).group_by(*keys, *((commune,) if scope.province is not None else ()))
    return db.session.execute(stmt).all()


def _stars(counts: dict) -> dict:
    return {str(k): counts.get(k, 0) for k in (3, 4, 5)}


def _products_by_stars(counts: list[tuple], targets: dict) -> dict:
    by_place: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    by_issuer: dict[str | None, dict] = defaultdict(lambda: defaultdict(int))
    totals: dict[int, int] = defaultdict(int)
    communes = _current_units({row[1] for row in counts})
    for province_code, commune_code, issuer, _group, stars, count in counts:
        by_place[(province_code, communes.get(commune_code, commune_code))][stars] += count
        by_issuer[issuer][stars] += count
        totals[stars] += count
    names = _names({p for p, _ in by_place} | {c for _, c in by_place} | set(by_issuer))
    places = [{"province_code": p, "province_name": names.get(p), "commune_code": c, "commune_name": names.get(c),
               "stars": _stars(s), "products": sum(s.values())}
              for (p, c), s in sorted(by_place.items(), key=lambda item: (item[0][0] or "", names.get(item[0][1]) or ""))]
    issuers = [{"unit_code": u, "unit_name": names.get(u) if u else "Trung ương",
                "stars": _stars(s), "products": sum(s.values())}
               for u, s in sorted(by_issuer.items(), key=lambda item: item[0] or "")]
    total = sum(totals.values())
    return {"products_by_stars": {"totals": _stars(totals), "total": total, "target": targets.get("products"),
                                  "target_stars": targets.get("stars"), "by_commune": places,
                                  "by_issuing_unit": issuers}}


def _products_by_group(counts: list[tuple], targets: dict) -> list[dict]:
    found: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for _p, _c, _issuer, group_code, stars, count in counts:
        found[group_code][stars] += count
    out = []
    for group in groups.groups():
        stars = found.pop(group["code"], {})
        out.append({"group": group["code"], "name": group["vi"], "name_en": group["en"], "stars": _stars(stars),
                    "products": sum(stars.values()), "target": targets.get(group["code"])})
    for code, stars in found.items():  # groups outside Decision 148 (should not happen)
        label = groups.label(code)
        out.append({"group": code, "name": label["name"], "name_en": label["name_en"], "stars": _stars(stars),
                    "products": sum(stars.values()), "target": None})
    return out


# --- producers --------------------------------------------------------------------------------------------
def _producer_mix(scope: Scope) -> dict:
    stmt = _where_producer(select(Producer.legal_form, func.count(Producer.id)).where(Producer.status == "verified")
                           .group_by(Producer.legal_form), scope)
    counts = dict(db.session.execute(stmt).all())
    total = sum(counts.values())
    share = (lambda n: round(n / total, 4) if total else 0.0)
    forms = [{"legal_form": form, "name": LEGAL_FORM_NAMES[form][0], "name_en": LEGAL_FORM_NAMES[form][1],
              "producers": counts.get(form, 0), "share": share(counts.get(form, 0))} for form in LEGAL_FORMS]
    targets = []
    for code, legal_forms, target, name, name_en in PRODUCER_MIX_TARGETS:
        n = sum(counts.get(form, 0) for form in legal_forms)
        targets.append({"code": code, "name": name, "name_en": name_en, "legal_forms": list(legal_forms),
                        "producers": n, "share": share(n), "target": target, "met": bool(total) and n / total >= target})
    return {"total": total, "forms": forms, "targets": targets}


def _expiring(scope: Scope) -> list[dict]:
    """Certificates valid on the ``as_of`` day that expire within the next 90 days (first 500)."""
    until = scope.as_of + dt.timedelta(days=EXPIRY_WINDOW_DAYS)
    stmt = _valid_certifications(scope).with_only_columns(
        Certification.id, Product.id, Product.name, Producer.id, Producer.name, Certification.stars,
        Certification.decision_no, Certification.expires_on).where(Certification.expires_on <= until) \
        .order_by(Certification.expires_on, Certification.id).limit(EXPIRING_SHOWN)
    return [{"certification_id": cid, "product_id": pid, "product_name": pname, "producer_id": prid,
             "producer_name": prname, "stars": stars, "decision_no": decision, "expires_on": expires.isoformat(),
             "days_left": (expires - scope.as_of).days}
            for cid, pid, pname, prid, prname, stars, decision, expires in db.session.execute(stmt).all()]


# --- sales --------------------------------------------------------------------------------------------------
def _vn_month(column):
    """``YYYY-MM`` of a stored (naive UTC) moment in Vietnam time (UTC+7, no daylight saving)."""
    if db.engine.dialect.name == "postgresql":
        return func.to_char(column + literal(dt.timedelta(hours=7)), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+7 hours")


def _sold_lines(scope: Scope, *columns):
    """``select(columns)`` over order lines sold in the period whose producer is in scope."""
    start, end = _moment_bounds(scope)
    stmt = (select(*columns).select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
            .where(Order.status.in_(GMV_STATUSES), Order.created_at >= start, Order.created_at < end))
    if scope.province is not None or scope.unit is not None:
        stmt = _where_producer(stmt.join(Producer, Producer.id == OrderLine.producer_id), scope)
    return stmt


def _months(scope: Scope) -> list[str]:
    months, day = [], scope.date_from.replace(day=1)
    while day <= scope.date_to:
        months.append(day.strftime("%Y-%m"))
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def _gmv(scope: Scope) -> dict:
    month = _vn_month(Order.created_at)
    channel_code = func.coalesce(SalesChannel.code, "online_store")
    stmt = _sold_lines(scope, month, SalesChannel.kind, channel_code, func.sum(OrderLine.line_total)) \
        .outerjoin(SalesChannel, SalesChannel.id == Order.channel_id).group_by(month, SalesChannel.kind, channel_code)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    kinds: dict[str, str] = {}
    for month_value, kind, code, amount in db.session.execute(stmt).all():
        kinds[code] = kind or "online_store"
        cells[(month_value, code)] += int(amount or 0)
    months = _months(scope)
    channels = sorted(kinds)
    rows = [{"month": m, "channel": c, "channel_kind": kinds[c], "gmv": cells.get((m, c), 0)}
            for m in months for c in channels]
    return {"months": months, "channels": [{"code": c, "kind": kinds[c]} for c in channels], "rows": rows,
            "total": sum(cells.values()), "currency": "VND"}


def _sales_points(scope: Scope, target: int | None) -> dict:
    """Sales points (active channels of the sales-point kind with a location in scope) and their sales in the
    period (counter sales of products in scope)."""
    points = select(SalesChannel.id, SalesChannel.code, SalesChannel.name, StockLocation.province_code,
                    StockLocation.address).join(StockLocation, StockLocation.id == SalesChannel.location_id) \
        .where(SalesChannel.kind == SALES_POINT_KIND, SalesChannel.active.is_(True))
    if scope.province is not None:
        points = points.where(StockLocation.province_code == scope.province)
    found = db.session.execute(points.order_by(SalesChannel.name)).all()
    sold = {}
    if found:
        stmt = _sold_lines(scope, Order.channel_id, func.count(distinct(Order.id)), func.sum(OrderLine.line_total)) \
            .where(Order.channel_id.in_([row[0] for row in found])).group_by(Order.channel_id)
        sold = {cid: (int(n), int(amount or 0)) for cid, n, amount in db.session.execute(stmt).all()}
    rows = [{"channel": code, "name": name, "province_code": province, "address": address,
             "orders": sold.get(cid, (0, 0))[0], "gmv": sold.get(cid, (0, 0))[1]}
            for cid, code, name, province, address in found]
    # a sales point's location knows its province, not its commune: with a unit chosen, the province's points
    # are listed and only the unit's producers' sales counted
    return {"points": len(rows), "target": target, "gmv": sum(r["gmv"] for r in rows), "rows": rows,
            "points_filtered_by_unit": False}
