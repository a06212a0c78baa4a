"""Recording, superseding, withdrawing, downgrading and expiring OCOP certifications."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from core import clock
from core.db import db, on_commit, utcnow
from core.errors import DomainError, NotFound, invalid
from core.geo.models import AdministrativeUnit
from core.certification.models import Certification
from core.catalogue.models import Product
from core.accounts.models import User
from core.certification.models import CERTIFICATION_LEVELS
from core.audit import trail as audit
from core.catalogue import listing
from core.certification.rules import expiry_for, period_on, stars_for_score, warning_days
from core.certification.access import require_certification_access
from core.notifications.delivery import notify
from core.plugins import hooks


#: council levels as Vietnamese names them in messages
LEVEL_VI = {"district": "huyện", "province": "tỉnh", "central": "trung ương"}

def _rule_error(code: str, vi: str, en: str, **details) -> DomainError:
    return DomainError(code, vi, en, details, status=422)


def check_rules(stars: int, score, level: str, issued_on: dt.date, criteria_set: str | None) -> str:
    """Validate stars/score/level/date against the rules in force; return the criteria set.

    Stars follow the score band, except that a council whose ceiling is below
    the band grants its ceiling (and forwards the product upwards).
    """
    try:
        score = Decimal(str(score))
    except InvalidOperation:
        raise invalid("score", "điểm không hợp lệ", "invalid score")
    if not (0 <= score <= 100):
        raise invalid("score", "điểm phải từ 0 đến 100", "score must be between 0 and 100")
    if level not in CERTIFICATION_LEVELS:
        raise invalid("level", "cấp đánh giá không hợp lệ", "unknown level")
    if issued_on > clock.today():
        raise invalid("issued_on", "ngày cấp không được ở tương lai", "issue date cannot be in the future")
    period = period_on(issued_on)
    if period is None:
        raise _rule_error("certification.no_rules", "Không có bộ tiêu chí OCOP nào áp dụng cho ngày cấp này.",
                          "No OCOP criteria set applies on this issue date.", issued_on=issued_on.isoformat())
    if criteria_set and criteria_set != period.criteria_set:
        raise _rule_error("certification.criteria_mismatch",
                          f"Ngày cấp {issued_on:%d/%m/%Y} thuộc bộ tiêu chí {period.criteria_set}, không phải {criteria_set}.",
                          f"Issue date {issued_on} falls under criteria set {period.criteria_set}, not {criteria_set}.",
                          expected=period.criteria_set)
    allowed = period.levels.get(level)
    if not allowed:
        raise _rule_error("certification.level_not_allowed",
                          f"Cấp {LEVEL_VI.get(level, level)} không được công nhận sản phẩm OCOP theo {period.name}.",
                          f"The {level} level cannot certify OCOP products under {period.name_en}.",
                          level=level, period=period.code)
    if stars not in allowed:
        raise _rule_error("certification.stars_not_allowed_for_level",
                          f"Cấp {LEVEL_VI.get(level, level)} chỉ được công nhận {', '.join(map(str, allowed))} sao theo {period.name}.",
                          f"The {level} level may only grant {', '.join(map(str, allowed))} stars under {period.name_en}.",
                          level=level, allowed_stars=allowed, period=period.code)
    band = stars_for_score(score)
    expected = min(band, max(allowed)) if band > max(allowed) else band
    if stars != expected:
        raise _rule_error("certification.score_stars_mismatch",
                          f"Điểm {score} tương ứng {expected} sao, không phải {stars} sao.",
                          f"A score of {score} means {expected} stars, not {stars}.",
                          expected_stars=expected)
    return period.criteria_set


def record_certification(user: User, product: Product, data: dict) -> Certification:
    """Record a council result; supersedes the product's active certification."""
    require_certification_access(user, product, data["level"])
    criteria = check_rules(data["stars"], data["score"], data["level"], data["issued_on"], data.get("criteria_set"))
    if data.get("issuing_unit_code") and db.session.get(AdministrativeUnit, data["issuing_unit_code"]) is None:
        raise invalid("issuing_unit_code", "đơn vị hành chính không tồn tại", "unknown administrative unit")
    expires_on = data.get("expires_on") or expiry_for(data["issued_on"])
    if expires_on <= data["issued_on"]:
        raise invalid("expires_on", "ngày hết hạn phải sau ngày cấp", "expiry must be after the issue date")
    previous = product.current_certification()
    already_expired = expires_on <= clock.today()
    # an older certificate that has already run out is history being digitised, not a new result
    if previous is not None and not already_expired and data["issued_on"] < previous.issued_on:
        raise _rule_error("certification.older_than_current",
                          "Ngày cấp sớm hơn chứng nhận hiện hành.",
                          "Issue date is earlier than the current certification's.",
                          current_id=previous.id)
    cert = Certification(product=product, stars=data["stars"], score=Decimal(str(data["score"])),
                         level=data["level"], criteria_set=criteria, council=data.get("council"),
                         issuing_unit_code=data.get("issuing_unit_code"), decision_no=data.get("decision_no"),
                         issued_on=data["issued_on"], expires_on=expires_on, status="active",
                         created_by_id=user.id if user else None)
    if already_expired:
        cert.status = "expired"
        cert.status_changed_at = utcnow()
    db.session.add(cert)
    db.session.flush()
    if previous is not None and cert.status == "active":
        before = audit.snapshot(previous)
        previous.status = "superseded"
        previous.superseded_by_id = cert.id
        previous.status_changed_at = utcnow()
        audit.record("certification.superseded", previous, before=before, actor=user,
                     province_code=product.producer.province_code)
        _after_commit_changed(previous, "active")
    audit.record("certification.created", cert, actor=user, province_code=product.producer.province_code)
    _after_commit_changed(cert, None)
    listing.refresh(product, reason="superseded" if previous is not None and cert.status == "active" else "changed")
    return cert


def _after_commit_changed(cert: Certification, previous_status: str | None) -> None:
    hook = hooks()
    on_commit(lambda: hook.certification_changed(certification=cert, previous_status=previous_status))


def get_certification(cert_id: int) -> Certification:
    cert = db.session.get(Certification, cert_id)
    if cert is None:
        raise NotFound("certification", "chứng nhận")
    return cert


def withdraw(user: User, cert: Certification, reason: str) -> Certification:
    """Withdraw (rút) an active certification with a reason; delists the product."""
    require_certification_access(user, cert.product, cert.level)
    if cert.status != "active":
        raise DomainError("certification.not_active", "Chỉ rút được chứng nhận đang hiệu lực.",
                          "Only an active certification can be withdrawn.", {"status": cert.status}, status=409)
    before = audit.snapshot(cert)
    cert.status = "withdrawn"
    cert.status_reason = reason
    cert.status_changed_at = utcnow()
    audit.record("certification.withdrawn", cert, before=before, actor=user,
                 province_code=cert.product.producer.province_code)
    _after_commit_changed(cert, "active")
    listing.refresh(cert.product, reason="withdrawn")
    return cert


def downgrade(user: User, cert: Certification, stars: int, reason: str, score=None,
              decision_no: str | None = None) -> Certification:
    """Lower the stars of an active certification (giảm sao): a new record supersedes it, history kept."""
    require_certification_access(user, cert.product, cert.level)
    if cert.status != "active":
        raise DomainError("certification.not_active", "Chỉ giảm sao được chứng nhận đang hiệu lực.",
                          "Only an active certification can be downgraded.", {"status": cert.status}, status=409)
    if not 1 <= stars < cert.stars:
        raise invalid("stars", "số sao mới phải thấp hơn số sao hiện tại", "new stars must be lower than the current stars")
    if score is not None and stars_for_score(score) != stars:
        raise DomainError("certification.score_stars_mismatch", f"Điểm {score} không tương ứng {stars} sao.",
                          f"A score of {score} does not mean {stars} stars.", status=422)
    new = Certification(product=cert.product, stars=stars, score=Decimal(str(score)) if score is not None else cert.score,
                        level=cert.level, criteria_set=cert.criteria_set, council=cert.council,
                        issuing_unit_code=cert.issuing_unit_code, decision_no=decision_no or cert.decision_no,
                        issued_on=cert.issued_on, expires_on=cert.expires_on, status="active",
                        status_reason=reason, created_by_id=user.id)
    db.session.add(new)
    db.session.flush()
    before = audit.snapshot(cert)
    cert.status = "superseded"
    cert.status_reason = reason
    cert.superseded_by_id = new.id
    cert.status_changed_at = utcnow()
    province = cert.product.producer.province_code
    audit.record("certification.downgraded", cert, before=before, actor=user, province_code=province)
    audit.record("certification.created", new, actor=user, province_code=province)
    _after_commit_changed(cert, "active")
    _after_commit_changed(new, None)
    listing.refresh(cert.product, reason="downgraded")
    return new


def expire_due(today: dt.date | None = None) -> list[Certification]:
    """Mark active certifications whose expiry date has come as expired and delist their products."""
    today = today or clock.today()
    due = db.session.execute(select(Certification).where(Certification.status == "active",
                                                         Certification.expires_on <= today)).scalars().all()
    for cert in due:
        before = audit.snapshot(cert)
        cert.status = "expired"
        cert.status_changed_at = utcnow()
        audit.record("certification.expired", cert, before=before, actor=None,
                     province_code=cert.product.producer.province_code)
        _after_commit_changed(cert, "active")
        listing.refresh(cert.product, reason="expired")
    return due


def warn_expiring(today: dt.date | None = None) -> list[Certification]:
    """Store a notification (once) for each active certification expiring within the warning window."""
    today = today or clock.today()
    horizon = today + dt.timedelta(days=warning_days())
    due = db.session.execute(select(Certification).where(
        Certification.status == "active", Certification.expires_on > today,
        Certification.expires_on <= horizon, Certification.expiry_warned_at.is_(None))).scalars().all()
    hook = hooks()
    for cert in due:
        product = cert.product
        days_left = (cert.expires_on - today).days
        notify("certification.expiring", f"certification-expiring:{cert.id}",
               subject=f"Chứng nhận OCOP sắp hết hạn / OCOP certificate expiring: {product.name}",
               body=(f"Chứng nhận OCOP {cert.stars} sao của sản phẩm \"{product.name}\" hết hạn ngày "
                     f"{cert.expires_on:%d/%m/%Y} (còn {days_left} ngày). Vui lòng đăng ký đánh giá lại.\n"
                     f"The {cert.stars}-star OCOP certificate of \"{product.name}\" expires on "
                     f"{cert.expires_on.isoformat()} ({days_left} days left). Please apply for re-evaluation."),
               producer_id=product.producer_id, email=product.producer.email,
               data={"certification_id": cert.id, "product_id": product.id, "expires_on": cert.expires_on.isoformat(),
                     "days_left": days_left})
        cert.expiry_warned_at = utcnow()
        on_commit(lambda c=cert, d=days_left: hook.certification_expiring(certification=c, days_left=d))
    return due


def run_daily_maintenance() -> dict:
    """Expire due certifications and send expiry warnings; returns counts."""
    expired = expire_due()
    warned = warn_expiring()
    return {"expired": len(expired), "warned": len(warned)}
