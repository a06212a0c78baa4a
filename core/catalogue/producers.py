"""Producers (chủ thể OCOP): registration, verification, edits, tax-code validation."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from stdnum.vn import mst

from core.db import db, subscribe, utcnow
from core.errors import Conflict, NotFound, invalid
from core.geo.models import AdministrativeUnit
from core.catalogue.models import Producer
from core.catalogue.models import LEGAL_FORMS
from core.audit import trail as audit
from core.geo import units as geo
from core.catalogue import listing
from core.catalogue.access import (can_verify, require_producer_access, require_province, require_verifier,
                                   visible_producers_filter)
from core.text import slugify
from core.pagination import paginate
from core.text import fold

if TYPE_CHECKING:  # accounts sits above the catalogue
    from core.accounts.models import User

EDITABLE = ("name", "legal_form", "tax_code", "registration_no", "commune_code", "address",
            "contact_name", "phone", "email", "website")


def normalise_tax_code(value: str | None) -> str | None:
    """Validate a Vietnamese tax code (10 digits, or 10-3 for branches) by its check digit."""
    if value in (None, ""):
        return None
    if not mst.is_valid(value):
        raise invalid("tax_code", "mã số thuế không hợp lệ (sai chữ số kiểm tra)", "invalid tax code (check digit)")
    return mst.format(value)


def _unique_slug(name: str, producer_id: int | None = None) -> str:
    base = slugify(name)
    slug, n = base, 1
    while True:
        found = db.session.execute(select(Producer.id).where(Producer.slug == slug)).scalar_one_or_none()
        if found is None or found == producer_id:
            return slug
        n += 1
        slug = f"{base}-{n}"


def apply_fields(producer: Producer, data: dict) -> None:
    """Validate and set the editable fields of ``producer`` from ``data`` (no audit, no commit)."""
    if "legal_form" in data and data["legal_form"] not in LEGAL_FORMS:
        raise invalid("legal_form", "loại hình không hợp lệ", "unknown legal form")
    if "tax_code" in data:
        data["tax_code"] = normalise_tax_code(data["tax_code"])
        if data["tax_code"]:
            clash = db.session.execute(select(Producer.id).where(Producer.tax_code == data["tax_code"])).scalar_one_or_none()
            if clash is not None and clash != producer.id:
                raise Conflict("producer.tax_code_taken", "Mã số thuế đã được đăng ký.",
                               "Tax code already registered.", {"tax_code": data["tax_code"]})
    # an enterprise's registration number equals its tax code: check whichever side changes
    legal_form = data.get("legal_form", producer.legal_form)
    tax_code = data.get("tax_code", producer.tax_code)
    registration_no = data.get("registration_no", producer.registration_no)
    if legal_form == "enterprise" and registration_no and tax_code \
            and {"legal_form", "tax_code", "registration_no"} & set(data) \
            and mst.compact(tax_code)[:10] != mst.compact(registration_no)[:10]:
        raise invalid("registration_no", "số đăng ký doanh nghiệp phải trùng mã số thuế",
                      "an enterprise's registration number equals its tax code")
    if "commune_code" in data:
        commune = geo.require_commune(data["commune_code"])
        producer.province_code = geo.province_of(commune).code
    for key in EDITABLE:
        if key in data:
            setattr(producer, key, data[key])
    if "name" in data:
        producer.slug = _unique_slug(data["name"], producer.id)


def get_producer(producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound("producer", "chủ thể")
    return producer


def view_producer(user: User, producer_id: int) -> Producer:
    """A producer the user may see in the admin API (403 outside their scope)."""
    producer = get_producer(producer_id)
    require_producer_access(user, producer)
    return producer


def get_by_slug(slug: str) -> Producer:
    producer = db.session.execute(select(Producer).where(Producer.slug == slug)).scalar_one_or_none()
    if producer is None:
        raise NotFound("producer", "chủ thể")
    return producer


def create_producer(user: User | None, data: dict, status: str = "verified") -> Producer:
    """Create a producer (admin/organiser of its province)."""
    producer = Producer(status=status)
    apply_fields(producer, dict(data))
    if user is not None:
        require_province(user, producer.province_code)
        if status == "verified":
            producer.verified_at, producer.verified_by_id = utcnow(), user.id
    db.session.add(producer)
    db.session.flush()
    audit.record("producer.created", producer, actor=user, province_code=producer.province_code)
    return producer


#: what the organiser verified: changing one sends a verified producer back to verification
IDENTITY_FIELDS = ("name", "tax_code", "legal_form")


def update_producer(user: User, producer: Producer, data: dict) -> Producer:
    """Edit a producer within the caller's scope (moving it to another province needs that province too).

    A change of identity (:data:`IDENTITY_FIELDS`) by anyone but its verifier sends a verified
    producer back to ``pending`` (its products leave the storefront until the organiser verifies again).
    """
    require_producer_access(user, producer)
    before = audit.snapshot(producer)
    old_province = producer.province_code
    identity = {name: getattr(producer, name) for name in IDENTITY_FIELDS}
    apply_fields(producer, dict(data))
    if producer.province_code != old_province:
        require_province(user, producer.province_code)
    changed = sorted(name for name in IDENTITY_FIELDS if getattr(producer, name) != identity[name])
    audit.record("producer.updated", producer, before=before, actor=user, province_code=producer.province_code)
    if changed and producer.status == "verified" and not can_verify(user, producer):
        _back_to_verification(user, producer, changed)
    return producer


def _back_to_verification(user: User, producer: Producer, changed: list[str]) -> None:
    before = audit.snapshot(producer)
    producer.status, producer.verified_at, producer.verified_by_id = "pending", None, None
    audit.record("producer.pending", producer, before=before, actor=user, province_code=producer.province_code,
                 after={**audit.snapshot(producer), "reason": "identity changed: " + ", ".join(changed)})
    for product in producer.products:
        listing.refresh(product, reason="deactivated")


def set_status(user: User, producer: Producer, status: str, reason: str | None = None) -> Producer:
    """Verify, reject or suspend a producer (organiser of its province or admin); relists/delists its products."""
    require_verifier(user, producer)
    if status not in ("verified", "rejected", "suspended"):
        raise invalid("status", "trạng thái không hợp lệ", "invalid status")
    before = audit.snapshot(producer)
    producer.status = status
    if status == "verified":
        producer.verified_at, producer.verified_by_id = utcnow(), user.id
    audit.record(f"producer.{status}", producer, before=before, actor=user,
                 province_code=producer.province_code, after={**audit.snapshot(producer), "reason": reason})
    for product in producer.products:
        listing.refresh(product, reason="deactivated")
    return producer


def list_producers(user: User, args: dict) -> dict:
    """Producers visible to ``user`` (all, own province, or own producer), filtered and paginated."""
    stmt = select(Producer)
    scope = visible_producers_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    if args.get("province"):
        stmt = stmt.where(Producer.province_code == args["province"])
    if args.get("status"):
        stmt = stmt.where(Producer.status == args["status"])
    if args.get("legal_form"):
        stmt = stmt.where(Producer.legal_form == args["legal_form"])
    if args.get("q"):
        stmt = stmt.where(Producer.slug.contains(slugify(fold(args["q"])), autoescape=True))
    return paginate(stmt.order_by(Producer.id), args["page"], args["limit"])


def follow_unit_changes(actor=None) -> int:
    """Recompute producers' denormalised ``province_code`` after units changed; audited. Caller commits.

    Subscribed to ``geo.units_changed``: a retired or re-parented commune moves
    its producers to the successor's province.
    """
    communes = db.session.execute(select(Producer.commune_code).distinct()).scalars().all()
    province_by_commune = {code: geo.province_of(db.session.get(AdministrativeUnit, code)).code for code in communes}
    changed = 0
    for producer in db.session.execute(select(Producer)).scalars():
        wanted = province_by_commune.get(producer.commune_code)
        if wanted and wanted != producer.province_code:
            audit.record("producer.province_changed", producer, actor=actor, province_code=wanted,
                         before={"province_code": producer.province_code}, after={"province_code": wanted})
            producer.province_code = wanted
            changed += 1
    return changed


subscribe("geo.units_changed", follow_unit_changes)
