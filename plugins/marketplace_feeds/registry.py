"""The marketplace registry: marketplaces (each a core sales channel), product links, category mapping, opt-in.

Admins register marketplaces and rotate their secrets; producers (or their organiser, or an admin) opt a
producer in or out; organisers see who is present from their province. Services flush, never commit.
"""
from __future__ import annotations

import re
import secrets
import string
from urllib.parse import quote

from sqlalchemy import select

from core.audit import trail as audit
from core.catalogue.access import require_producer_access
from core.catalogue.models import Producer
from core.db import db, utcnow
from core.errors import Conflict, Forbidden, NotFound, invalid
from core.pagination import paginate
from core.sales import channels
from core.text import nfc
from plugins.marketplace_feeds.models import KINDS, MARKETPLACE_KIND, Marketplace, MarketplaceProducer

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
URL_FIELDS = {"base", "slug", "sku", "product_id", "variant_id", "marketplace"}
#: OCOP product groups → Google product taxonomy ids, used when the marketplace maps nothing more precise
DEFAULT_GOOGLE_CATEGORIES = {"food": "422", "beverages": "413", "medicinal_herbs": "491", "handicrafts": "696",
                             "ornamentals": "985"}
DEFAULT_URL_TEMPLATE = "{base}/san-pham/{slug}?sku={sku}&utm_source={marketplace}"


def channel_code(marketplace: Marketplace) -> str:
    """The core sales channel (and pricing channel) of a marketplace: ``marketplace:<code>``."""
    return marketplace.channel


def get_marketplace(marketplace_id: int) -> Marketplace:
    found = db.session.get(Marketplace, marketplace_id)
    if found is None:
        raise NotFound("marketplace", "sàn thương mại điện tử")
    return found


def by_code(code: str) -> Marketplace:
    found = db.session.execute(select(Marketplace).where(Marketplace.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound("marketplace", "sàn thương mại điện tử")
    return found


def by_feed_token(token: str) -> Marketplace:
    """The active marketplace whose feed URL carries ``token`` (404 for a revoked or unknown token)."""
    found = None
    if token and len(token) <= 64:
        found = db.session.execute(select(Marketplace).where(Marketplace.feed_token == token)).scalar_one_or_none()
    if found is None or not found.active or not secrets.compare_digest(found.feed_token, token):
        raise NotFound("feed", "nguồn cấp dữ liệu")
    return found


def list_marketplaces(args: dict) -> dict:
    stmt = select(Marketplace)
    if args.get("kind"):
        stmt = stmt.where(Marketplace.kind == args["kind"])
    return paginate(stmt.order_by(Marketplace.id), args["page"], args["limit"])


def _check_template(template: str) -> str:
    template = nfc(template.strip())
    try:  # plain {name} placeholders only: no format spec or conversion ({slug:d} would fail at build time)
        names = {name if not spec and not conversion else "?"
                 for _, name, spec, conversion in string.Formatter().parse(template) if name is not None}
    except ValueError:
        names = {"?"}
    if names - URL_FIELDS or not (template.startswith(("http://", "https://", "{base}"))):
        raise invalid("product_url_template", "mẫu liên kết phải là URL http(s) và chỉ dùng "
                      + ", ".join(sorted(URL_FIELDS)), "the template must be an http(s) URL using only "
                      + ", ".join(f"{{{n}}}" for n in sorted(URL_FIELDS)), code="marketplace.bad_url_template")
    return template


def _check_categories(mapping: dict) -> dict:
    clean = {}
    for key, value in (mapping or {}).items():
        google = value.get("google")
        if google is not None and not str(google).isdigit():
            raise invalid(f"category_map.{key}.google", "mã danh mục Google phải là số",
                          "a Google product category id is a number", code="marketplace.bad_category")
        clean[key] = {"google": str(google) if google is not None else None,
                      "category": nfc(value["category"]) if value.get("category") else None}
    return clean


def create_marketplace(user, data: dict) -> Marketplace:
    """Register a marketplace and its sales channel ``marketplace:<code>`` (admin). Flushes."""
    code = data["code"]
    if not CODE.match(code):
        raise invalid("code", "mã gồm 3–40 chữ thường, số, gạch nối", "3–40 lowercase letters, digits, hyphens")
    if data["kind"] not in KINDS:
        raise invalid("kind", "loại sàn không được hỗ trợ", "unknown marketplace kind: " + ", ".join(KINDS))
    if db.session.execute(select(Marketplace.id).where(Marketplace.code == code)).first():
        raise Conflict("marketplace.code_taken", "Mã sàn đã tồn tại.", "This marketplace code exists.", {"code": code})
    marketplace = Marketplace(code=code, kind=data["kind"], name=nfc(data["name"].strip()),
                              product_url_template=_check_template(data.get("product_url_template")
                                                                   or DEFAULT_URL_TEMPLATE),
                              fallback_image_url=data.get("fallback_image_url"),
                              category_map=_check_categories(data.get("category_map")),
                              feed_token=secrets.token_urlsafe(32), webhook_secret=secrets.token_hex(32),
                              active=data.get("active", True), created_by_id=user.id, created_at=utcnow(),
                              updated_at=utcnow())
    db.session.add(marketplace)
    db.session.flush()
    channel = channels.get_or_create_channel(channel_code(marketplace), kind=MARKETPLACE_KIND,
                                             name=f"Sàn: {marketplace.name}"[:200])
    marketplace.sales_channel_id = channel.id
    audit.record("marketplace.created", marketplace, actor=user, entity_type="marketplace",
                 entity_id=marketplace.id, after={"code": code, "kind": marketplace.kind})
    db.session.flush()
    return marketplace


def update_marketplace(user, marketplace: Marketplace, data: dict) -> Marketplace:
    """Rename, re-link, re-map categories, set the fallback image, (de)activate (admin). Flushes."""
    if "product_url_template" in data:
        marketplace.product_url_template = _check_template(data["product_url_template"])
    if "category_map" in data:
        marketplace.category_map = _check_categories(data["category_map"])
    if "name" in data:
        marketplace.name = nfc(data["name"].strip())
    for key in ("fallback_image_url", "active"):
        if key in data:
            setattr(marketplace, key, data[key])
    marketplace.updated_at = utcnow()
    audit.record("marketplace.updated", marketplace, actor=user, entity_type="marketplace", entity_id=marketplace.id,
                 after={k: v for k, v in data.items() if k != "category_map"})
    db.session.flush()
    return marketplace


def rotate_secrets(user, marketplace: Marketplace, what: str) -> Marketplace:
    """A new feed token (the old feed URL stops working at once) or a new webhook secret (admin). Flushes."""
    if what == "feed_token":
        marketplace.feed_token = secrets.token_urlsafe(32)
    else:
        marketplace.webhook_secret = secrets.token_hex(32)
    marketplace.updated_at = utcnow()
    audit.record(f"marketplace.{what}_rotated", marketplace, actor=user, entity_type="marketplace",
                 entity_id=marketplace.id)
    db.session.flush()
    return marketplace


def product_link(marketplace: Marketplace, base: str, slug: str, sku: str, product_id: int, variant_id: int) -> str:
    """The link a marketplace item points at: the marketplace's template, the storefront's ``base`` URL,
    slug and SKU percent-encoded."""
    return links_for(marketplace, base)(slug, sku, product_id, variant_id)


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*\Z")  # what ``quote(…, safe="")`` leaves as it is


def _quoted(text: str) -> str:
    return text if _UNRESERVED.match(text) else quote(text, safe="")


def links_for(marketplace: Marketplace, base: str):
    """:func:`product_link` for one marketplace, as a function of ``(slug, sku, product_id, variant_id)``
    (the template read once: a feed calls it for every item)."""
    fill, code = marketplace.product_url_template.format, marketplace.code

    def link(slug: str, sku: str, product_id: int, variant_id: int) -> str:
        return fill(base=base, slug=_quoted(slug), sku=_quoted(sku), product_id=product_id, variant_id=variant_id,
                    marketplace=code)
    return link


def categories_for(marketplace: Marketplace, product) -> tuple[str | None, str | None]:
    """``(google product category id, the marketplace's own category)``: product set first, then the group."""
    mapping = marketplace.category_map or {}
    for key in (product.product_set_code, product.group_code):
        if key and key in mapping:
            entry = mapping[key]
            return entry.get("google") or DEFAULT_GOOGLE_CATEGORIES.get(product.group_code), entry.get("category")
    return DEFAULT_GOOGLE_CATEGORIES.get(product.group_code), None


# --- producer opt-in --------------------------------------------------------------------------
def _producer_for(user, producer_id: int | None) -> Producer:
    producer_id = producer_id or (user.producer_id if user.role == "producer" else None)
    if producer_id is None:
        raise invalid("producer_id", "cần chỉ rõ chủ thể", "producer_id is required")
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise NotFound("producer", "chủ thể", {"producer_id": producer_id})
    if user.role not in ("admin", "organiser", "producer"):
        raise Forbidden()
    require_producer_access(user, producer)
    return producer


def set_participation(user, marketplace: Marketplace, data: dict, status: str) -> MarketplaceProducer:
    """A producer joins (``active``) or leaves (``withdrawn``) a marketplace; its products follow. Flushes."""
    producer = _producer_for(user, data.get("producer_id"))
    if status == "active" and producer.status != "verified":
        raise Conflict("marketplace.producer_unverified", "Chủ thể chưa được xác minh.",
                       "The producer is not verified yet.", {"producer_id": producer.id})
    row = db.session.execute(select(MarketplaceProducer).where(
        MarketplaceProducer.marketplace_id == marketplace.id,
        MarketplaceProducer.producer_id == producer.id)).scalar_one_or_none()
    if row is None:
        if status == "withdrawn":
            raise NotFound("marketplace_producer", "chủ thể trên sàn", {"producer_id": producer.id})
        row = MarketplaceProducer(marketplace_id=marketplace.id, producer_id=producer.id, joined_at=utcnow())
        db.session.add(row)
    row.status, row.updated_at = status, utcnow()
    if "shop_url" in data:
        row.shop_url = data["shop_url"]
    marketplace.updated_at = utcnow()  # the feeds change with the set of producers
    audit.record(f"marketplace.producer_{'joined' if status == 'active' else 'withdrew'}", marketplace, actor=user,
                 entity_type="marketplace", entity_id=marketplace.id, after={"producer_id": producer.id})
    db.session.flush()
    return row


def list_participants(user, marketplace: Marketplace, args: dict) -> dict:
    """Producers present on the marketplace, within the caller's scope (organisers: their province)."""
    stmt = (select(MarketplaceProducer).join(Producer, Producer.id == MarketplaceProducer.producer_id)
            .where(MarketplaceProducer.marketplace_id == marketplace.id))
    if args.get("status"):
        stmt = stmt.where(MarketplaceProducer.status == args["status"])
    if user.role in ("organiser", "certifier"):
        stmt = stmt.where(Producer.province_code == user.province_code)
    elif user.role == "producer":
        stmt = stmt.where(Producer.id == (user.producer_id or -1))
    return paginate(stmt.order_by(MarketplaceProducer.id), args["page"], args["limit"])
