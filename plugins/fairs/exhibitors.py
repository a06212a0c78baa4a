"""What shoppers see of a published event: exhibitors, their products with stars, where a product is shown."""
from __future__ import annotations

from sqlalchemy import select

from core.catalogue import listing
from core.catalogue.models import Product
from core.db import db
from core.errors import NotFound
from plugins.fairs.models import FairAssignment, FairBooth, FairEvent


def _product_card(product: Product) -> dict:
    cert = product.current_certification()
    return {"id": product.id, "slug": product.slug, "name": product.name, "group": product.group_code,
            "stars": cert.stars if cert else None}


def exhibitors(event: FairEvent) -> list[dict]:
    """Each exhibitor: producer, booth code, the listed products it shows with their stars."""
    rows = db.session.execute(select(FairAssignment, FairBooth).join(FairBooth, FairBooth.id == FairAssignment.booth_id)
                              .where(FairAssignment.event_id == event.id).order_by(FairBooth.code,
                                                                                   FairAssignment.slot)).all()
    ids = {pid for assignment, _ in rows for pid in assignment.application.product_ids or []}
    products = {p.id: p for p in db.session.execute(select(Product).where(Product.id.in_(ids))).scalars()}
    out = []
    for assignment, booth in rows:
        shown = [products[pid] for pid in assignment.application.product_ids or [] if pid in products]
        out.append({"producer_id": assignment.producer_id, "producer_name": assignment.producer.name,
                    "booth_code": booth.code, "products": [_product_card(p) for p in shown if listing.is_listed(p)]})
    return out


def where_is(event: FairEvent, product_slug: str) -> dict:
    """Product slug → the booth codes where it is shown at the event (404 when it is not shown there)."""
    product = db.session.execute(select(Product).where(Product.slug == product_slug)).scalar_one_or_none()
    if product is None:
        raise NotFound("product", "sản phẩm")
    booths = [e["booth_code"] for e in exhibitors(event) if any(p["id"] == product.id for p in e["products"])]
    if not booths:
        raise NotFound("fair_exhibit", "gian trưng bày sản phẩm", {"product": product_slug})
    return {"product": _product_card(product), "booth_codes": booths}
