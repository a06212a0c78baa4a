"""Read models for the storefront: listed products, product detail, producer pages, groups."""
from __future__ import annotations

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core import clock
from core.db import db
from core.geo.models import AdministrativeUnit
from core.catalogue.models import Producer, Product
from core.pagination import paginate
from core.catalogue import groups, images, version as catalogue_cache
from core.catalogue.listing import listed_clause
from core.geo.resolver import UnitResolver
from core.geo.units import current_unit
from core.text import fold


def listed_filter():
    """SQL condition: the product is listed today (:func:`core.catalogue.listing.listed_clause`)."""
    return listed_clause(clock.today())


SORT_ORDER = {
    "newest": (Product.created_at.desc(), Product.id.desc()),
    "name": (Product.name.asc(), Product.id.asc()),
    "price_asc": (Product.price_min.asc(), Product.id.asc()),
    "price_desc": (Product.price_min.desc(), Product.id.desc()),
    "stars": (Product.listed_stars.desc(), Product.id.desc()),
}


def list_products(args: dict, decorate=None) -> dict:
    """A page of listed products filtered by group, stars, province, commune, producer and legal form.

    ``commune`` is a current commune code: producers registered in it, or in a retired commune merged into it.

    ``decorate(products)`` → ``{product_id: extra fields}`` lets a caller add
    what the catalogue does not know (sale prices from pricing) for the whole page at once.
    """
    stmt = select(Product).where(listed_filter()).options(
        selectinload(Product.producer).selectinload(Producer.province), selectinload(Product.images))
    needs_producer = any(args.get(k) for k in ("province", "commune", "producer", "legal_form"))
    if needs_producer:
        stmt = stmt.join(Producer, Producer.id == Product.producer_id)
    if args.get("group"):
        stmt = stmt.where(Product.group_code == browse_group(args["group"]))
    if args.get("stars"):
        stmt = stmt.where(Product.listed_stars == args["stars"])
    if args.get("province"):
        stmt = stmt.where(Producer.province_code == current_province_code(args["province"]))
    if args.get("commune"):
        stmt = stmt.where(Producer.commune_code.in_(commune_codes(args["commune"])))
    if args.get("producer"):
        stmt = stmt.where(Producer.slug == args["producer"])
    if args.get("legal_form"):
        stmt = stmt.where(Producer.legal_form == args["legal_form"])
    stmt = stmt.order_by(*SORT_ORDER[args.get("sort", "newest")])
    page = paginate(stmt, args["page"], args["limit"])
    extra = decorate(page["results"]) if decorate else {}
    page["results"] = [{**summary(p), **extra.get(p.id, {})} for p in page["results"]]
    return page


def current_province_code(code: str) -> str:
    """Today's province code for ``code``: a pre-2025 province (e.g. ``NDI``) maps to its successor (``37``)."""
    unit = db.session.get(AdministrativeUnit, code)
    if unit is not None and unit.level == "province" and unit.successor_code:
        return current_unit(unit).code
    return code


def commune_codes(code: str) -> list[str]:
    """A current commune's code and those of the retired communes merged into it (producers keep the code
    they registered with)."""
    return [code, *(u.code for u in UnitResolver().predecessors(code))]


def listed_by_commune(province_code: str) -> list[dict]:
    """The current communes of a province with listed products: ``[{code, name, count}]`` by name (read-only).

    Producers registered in a retired commune count for the commune it was merged into. Cached per process
    like the storefront lists (:mod:`core.catalogue.version`): counting scans the listed products (about
    50 ms on SQLite for 20,000), once per catalogue change and day.
    """
    return catalogue_cache.cached("listed_by_commune", {"province": province_code},
                                  lambda: _count_by_commune(province_code))


def communes_with_listed_products() -> list[str]:
    """Codes of every current commune with listed products (the sitemap's commune pages); cached the same way."""
    return catalogue_cache.cached("listed_communes", {}, lambda: [c["code"] for c in _count_by_commune(None)])


def _count_by_commune(province_code: str | None) -> list[dict]:
    stmt = (select(Producer.commune_code, func.count()).select_from(Product)
            .join(Producer, Producer.id == Product.producer_id).where(listed_filter()))
    if province_code is not None:
        stmt = stmt.where(Producer.province_code == province_code)
    rows = db.session.execute(stmt.group_by(Producer.commune_code)).all()
    units = UnitResolver()
    units.get_many(code for code, _ in rows)
    counts: dict[str, dict] = {}
    for code, count in rows:
        commune = units.current(units.get(code))
        if commune is None or commune.level != "commune":
            continue
        entry = counts.setdefault(commune.code, {"code": commune.code, "name": commune.name, "count": 0})
        entry["count"] += count
    return sorted(counts.values(), key=lambda c: (fold(c["name"]), c["code"]))


def browse_group(code: str) -> str:
    """The Decision 148 group to browse for ``code``; an older 1048 group code maps to its 148 group."""
    group_code, _ = groups.resolve(code, None)  # 422 for an unknown group
    return group_code


def badge(cert) -> dict:
    """A certification as shown to shoppers (stars, level, decision, dates, issuing unit)."""
    return {"stars": cert.stars, "score": float(cert.score), "level": cert.level, "criteria_set": cert.criteria_set,
            "decision_no": cert.decision_no, "issued_on": cert.issued_on, "expires_on": cert.expires_on,
            "issuing_unit": unit_ref(cert.issuing_unit), "status": cert.status}


def image_url(image) -> str | None:
    if image.url:
        return image.url
    return url_for("media", key=image.storage_key, _external=False) if image.storage_key else None


def unit_ref(unit: AdministrativeUnit | None) -> dict | None:
    return {"code": unit.code, "name": unit.name} if unit else None


def summary(product: Product) -> dict:
    producer = product.producer
    return {
        "slug": product.slug, "name": product.name,
        "producer": {"slug": producer.slug, "name": producer.name, "legal_form": producer.legal_form,
                     "province": unit_ref(producer.province)},
        "group": groups.label(product.group_code), "stars": product.listed_stars,
        "price_min": product.price_min, "price_max": product.price_max,
        "image": image_url(product.images[0]) if product.images else None,
    }


def detail(product: Product) -> dict:
    cert = product.current_certification()
    data = summary(product)
    data.update({
        "product_set": product.product_set_code, "description": product.description, "story": product.story,
        "origin_commune": unit_ref(product.origin_commune),
        "certification": badge(cert),
        # every certificate the product has held, oldest first (renewals, expiries, downgrades)
        "certification_history": [badge(c) for c in sorted(product.certifications,
                                                             key=lambda c: (c.issued_on, c.id))],
        "variants": [v for v in product.variants if v.active],
        # ``responsive``: src, srcset and size for the site's <img> (the JSON answers url and alt)
        "images": [{"url": image_url(i), "alt": i.alt, "responsive": images.responsive(i, url=image_url(i))}
                   for i in product.images],
    })
    return data


def producer_page(producer: Producer, decorate=None) -> dict:
    """A producer's page; ``decorate(products)`` → ``{product_id: extra fields}`` as in :func:`list_products`."""
    products = db.session.execute(select(Product).where(Product.producer_id == producer.id, listed_filter())
                                  .order_by(Product.name)).scalars().all()
    extra = decorate(products) if decorate and products else {}
    return {"slug": producer.slug, "name": producer.name, "legal_form": producer.legal_form,
            "province": unit_ref(producer.province), "commune": unit_ref(current_unit(producer.commune)),
            "website": producer.website,
            "products": [{**summary(p), **_offer_fields(extra.get(p.id))} for p in products]}


def _offer_fields(offer: dict | None) -> dict:
    if offer is None:
        return {}
    return {k: v for k, v in offer.items() if k != "variant_prices"}


def group_tree() -> list[dict]:
    counts = dict(db.session.execute(select(Product.group_code, func.count()).where(listed_filter())
                                     .group_by(Product.group_code)).all())
    legacy = groups.legacy_groups()
    return [{"code": g["code"], "name": g["vi"], "name_en": g["en"],
             "product_sets": [{"code": s["code"], "name": s["vi"], "name_en": s["en"]} for s in g["sets"]],
             "legacy_1048": [{"code": lg["code"], "name": lg["vi"], "name_en": lg["en"]}
                             for lg in legacy if lg["maps_to"] == g["code"]],
             "listed_products": counts.get(g["code"], 0)} for g in groups.groups()]
