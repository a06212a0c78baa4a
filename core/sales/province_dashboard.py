"""The province's OCOP dashboard: the figures the provincial plans report, for one province or all.

OCOP products by stars (per province and current commune, and per issuing unit), by product group,
the producer mix by legal form against the plans' targets, certificates expiring within 90 days and
GMV by sales channel and month. The console's dashboard and ``GET /admin/v1/reports/province-dashboard``
both read :func:`province_figures`; :func:`figures_workbook` is its XLSX export.
"""
from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

from openpyxl import Workbook
from sqlalchemy import func, select

from core import clock
from core.accounts.models import User
from core.catalogue import groups
from core.catalogue.models import LEGAL_FORMS, Producer, Product
from core.certification.models import Certification
from core.errors import Forbidden
from core.geo.models import AdministrativeUnit
from core.db import db
from core.sales.models import Order, OrderLine, SalesChannel

VIEWER_ROLES = ("admin", "organiser")
EXPIRY_WINDOW_DAYS = 90
#: orders that count as sold (GMV): placed and not cancelled or refunded
GMV_STATUSES = ("confirmed", "paid", "fulfilled", "completed")
LEGAL_FORM_NAMES = {"enterprise": ("Doanh nghiệp", "Enterprise"), "cooperative": ("Hợp tác xã", "Cooperative"),
                    "cooperative_group": ("Tổ hợp tác", "Cooperative group"),
                    "household_business": ("Hộ kinh doanh", "Household business")}
#: the provincial plans' producer-mix targets: share of OCOP producers of these legal forms (at least)
PRODUCER_MIX_TARGETS = (
    ("cooperatives", ("cooperative", "cooperative_group"), 0.40, "Hợp tác xã và tổ hợp tác", "Cooperatives and groups"),
    ("enterprises", ("enterprise",), 0.30, "Doanh nghiệp", "Enterprises"),
)
assert set(LEGAL_FORM_NAMES) == set(LEGAL_FORMS)


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


def province_figures(user: User, province_code: str | None = None, year: int | None = None,
                     today: dt.date | None = None) -> dict:
    """Every figure of the dashboard for the province ``user`` may see (:func:`dashboard_province`)."""
    province = dashboard_province(user, province_code)
    today = today or clock.today()
    year = year or today.year
    counts = _certified_counts(province, today)
    return {
        "province_code": province, "as_of": today.isoformat(), "year": year,
        **_products_by_stars(counts),
        "products_by_group": _products_by_group(counts),
        "producer_mix": _producer_mix(province),
        "expiring_certificates": _expiring(province, today),
        "gmv_by_channel_month": _gmv(province, year),
    }


def _valid_certifications(province: str | None, today: dt.date):
    stmt = (select(Certification, Product, Producer)
            .join(Product, Product.id == Certification.product_id)
            .join(Producer, Producer.id == Product.producer_id)
            .where(Certification.status == "active", Certification.expires_on > today))
    return stmt if province is None else stmt.where(Producer.province_code == province)


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
                                        .where(AdministrativeUnit.code.in_(set(frontier.values())))).all())
        following = {}
        for origin, code in frontier.items():
            if units.get(code):
                following[origin] = units[code]
            else:
                found[origin] = code
        frontier = following
    found.update(frontier)
    return found


def _certified_counts(province: str | None, today: dt.date) -> list[tuple]:
    """OCOP products with a valid certification, counted per (province, commune, issuing unit, group, stars):
    one scan for both the stars and the group tables."""
    stmt = _valid_certifications(province, today).with_only_columns(
        Producer.province_code, Producer.commune_code, Certification.issuing_unit_code, Product.group_code,
        Certification.stars, func.count(func.distinct(Product.id))).group_by(
        Producer.province_code, Producer.commune_code, Certification.issuing_unit_code, Product.group_code,
        Certification.stars)
    return db.session.execute(stmt).all()


def _products_by_stars(counts: list[tuple]) -> dict:
    rows = [(p, c, issuer, stars, n) for p, c, issuer, _group, stars, n in counts]
    communes = _current_units({r[1] for r in rows})
    by_place: dict[tuple, dict] = defaultdict(lambda: {3: 0, 4: 0, 5: 0})
    by_issuer: dict[str | None, dict] = defaultdict(lambda: {3: 0, 4: 0, 5: 0})
    totals = {3: 0, 4: 0, 5: 0}
    for province_code, commune_code, issuer, stars, count in rows:
        place = by_place[(province_code, communes.get(commune_code, commune_code))]
        place[stars] = place.get(stars, 0) + count
        by_issuer[issuer][stars] = by_issuer[issuer].get(stars, 0) + count
        totals[stars] = totals.get(stars, 0) + count
    names = _names({p for p, _ in by_place} | {c for _, c in by_place} | set(by_issuer))
    places = [{"province_code": p, "province_name": names.get(p), "commune_code": c, "commune_name": names.get(c),
               "stars": {str(k): v for k, v in sorted(s.items())}, "products": sum(s.values())}
              for (p, c), s in sorted(by_place.items(), key=lambda item: (item[0][0] or "", names.get(item[0][1]) or ""))]
    issuers = [{"unit_code": u, "unit_name": names.get(u) if u else "Trung ương",
                "stars": {str(k): v for k, v in sorted(s.items())}, "products": sum(s.values())}
               for u, s in sorted(by_issuer.items(), key=lambda item: item[0] or "")]
    return {"products_by_stars": {"totals": {str(k): v for k, v in sorted(totals.items())},
                                  "total": sum(totals.values()), "by_commune": places, "by_issuing_unit": issuers}}


def _products_by_group(counts: list[tuple]) -> list[dict]:
    found: dict[str, dict] = defaultdict(lambda: {3: 0, 4: 0, 5: 0})
    for _p, _c, _issuer, group_code, stars, count in counts:
        found[group_code][stars] = found[group_code].get(stars, 0) + count
    out = []
    for group in groups.groups():
        stars = found.pop(group["code"], {3: 0, 4: 0, 5: 0})
        out.append({"group": group["code"], "name": group["vi"], "name_en": group["en"],
                    "stars": {str(k): v for k, v in sorted(stars.items())}, "products": sum(stars.values())})
    for code, stars in found.items():  # groups outside Decision 148 (should not happen)
        label = groups.label(code)
        out.append({"group": code, "name": label["name"], "name_en": label["name_en"],
                    "stars": {str(k): v for k, v in sorted(stars.items())}, "products": sum(stars.values())})
    return out


def _producer_mix(province: str | None) -> dict:
    stmt = select(Producer.legal_form, func.count(Producer.id)).where(Producer.status == "verified") \
        .group_by(Producer.legal_form)
    if province is not None:
        stmt = stmt.where(Producer.province_code == province)
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


def _expiring(province: str | None, today: dt.date) -> list[dict]:
    until = today + dt.timedelta(days=EXPIRY_WINDOW_DAYS)
    stmt = _valid_certifications(province, today).where(Certification.expires_on <= until) \
        .order_by(Certification.expires_on, Certification.id).limit(500)
    return [{"certification_id": cert.id, "product_id": product.id, "product_name": product.name,
             "producer_id": producer.id, "producer_name": producer.name, "stars": cert.stars,
             "decision_no": cert.decision_no, "expires_on": cert.expires_on.isoformat(),
             "days_left": (cert.expires_on - today).days}
            for cert, product, producer in db.session.execute(stmt).all()]


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, 1, 1, tzinfo=clock.VN_TZ).astimezone(dt.timezone.utc)
    end = dt.datetime(year + 1, 1, 1, tzinfo=clock.VN_TZ).astimezone(dt.timezone.utc)
    return start, end


def _gmv(province: str | None, year: int) -> dict:
    start, end = _year_bounds(year)
    stmt = (select(Order.created_at, SalesChannel.kind, SalesChannel.code, func.sum(OrderLine.line_total))
            .join(Order, Order.id == OrderLine.order_id)
            .outerjoin(SalesChannel, SalesChannel.id == Order.channel_id)
            .where(Order.status.in_(GMV_STATUSES), Order.created_at >= start, Order.created_at < end)
            .group_by(Order.id, Order.created_at, SalesChannel.kind, SalesChannel.code))
    if province is not None:
        stmt = stmt.join(Producer, Producer.id == OrderLine.producer_id).where(Producer.province_code == province)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    kinds: dict[str, str] = {}
    for created_at, kind, code, amount in db.session.execute(stmt).all():
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=dt.timezone.utc)
        month = created_at.astimezone(clock.VN_TZ).strftime("%Y-%m")
        code = code or "online_store"
        kinds[code] = kind or "online_store"
        cells[(month, code)] += int(amount or 0)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    channels = sorted(kinds)
    rows = [{"month": m, "channel": c, "channel_kind": kinds[c], "gmv": cells.get((m, c), 0)}
            for m in months for c in channels]
    return {"months": months, "channels": [{"code": c, "kind": kinds[c]} for c in channels], "rows": rows,
            "total": sum(cells.values()), "currency": "VND"}


def figures_workbook(figures: dict) -> bytes:
    """The dashboard's figures as an XLSX workbook, one sheet per table (Vietnamese headers)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "San pham theo sao"
    sheet.append(["Tỉnh", "Xã/phường", "3 sao", "4 sao", "5 sao", "Tổng"])
    for row in figures["products_by_stars"]["by_commune"]:
        sheet.append([row["province_name"] or row["province_code"], row["commune_name"] or row["commune_code"],
                      row["stars"].get("3", 0), row["stars"].get("4", 0), row["stars"].get("5", 0), row["products"]])
    sheet = book.create_sheet("Don vi cap")
    sheet.append(["Đơn vị cấp chứng nhận", "3 sao", "4 sao", "5 sao", "Tổng"])
    for row in figures["products_by_stars"]["by_issuing_unit"]:
        sheet.append([row["unit_name"], row["stars"].get("3", 0), row["stars"].get("4", 0),
                      row["stars"].get("5", 0), row["products"]])
    sheet = book.create_sheet("Nhom san pham")
    sheet.append(["Nhóm sản phẩm", "3 sao", "4 sao", "5 sao", "Tổng"])
    for row in figures["products_by_group"]:
        sheet.append([row["name"], row["stars"].get("3", 0), row["stars"].get("4", 0), row["stars"].get("5", 0),
                      row["products"]])
    sheet = book.create_sheet("Loai hinh chu the")
    sheet.append(["Loại hình", "Số chủ thể", "Tỷ lệ"])
    for row in figures["producer_mix"]["forms"]:
        sheet.append([row["name"], row["producers"], row["share"]])
    sheet.append([])
    sheet.append(["Mục tiêu", "Số chủ thể", "Tỷ lệ", "Mục tiêu tối thiểu", "Đạt"])
    for row in figures["producer_mix"]["targets"]:
        sheet.append([row["name"], row["producers"], row["share"], row["target"], "Có" if row["met"] else "Không"])
    sheet = book.create_sheet("Sap het han")
    sheet.append(["Sản phẩm", "Chủ thể", "Sao", "Số quyết định", "Hết hạn", "Còn (ngày)"])
    for row in figures["expiring_certificates"]:
        sheet.append([row["product_name"], row["producer_name"], row["stars"], row["decision_no"],
                      row["expires_on"], row["days_left"]])
    sheet = book.create_sheet("Doanh thu")
    sheet.append(["Tháng", "Kênh bán", "Doanh thu (VND)"])
    for row in figures["gmv_by_channel_month"]["rows"]:
        sheet.append([row["month"], row["channel"], row["gmv"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
