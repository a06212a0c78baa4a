"""A session's showcase: products pinned under short codes, their variants' words, session prices, holds, pins."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.catalogue.models import Product
from core.db import db, utcnow
from core.errors import Conflict, NotFound, invalid
from plugins.livestream import holds, session_prices
from plugins.livestream.models import PinWindow, ShowcaseItem, ShowcaseVariant
from plugins.livestream.showcase import Showcase, code_key, compile_showcase

CODE_FORMAT = re.compile(r"^[A-Za-z]{1,3}0*\d{1,3}$")


def session_price(offered: ShowcaseVariant) -> int:
    """The price of a showcase variant in the session now (VND), as the core price resolver answers it on the
    session's channel (session prices, livestream-only promotions; see :mod:`plugins.livestream.session_prices`)."""
    return session_prices.unit_price(offered.item.session, offered.variant_id)


def get_item(session, item_id: int) -> ShowcaseItem:
    item = db.session.get(ShowcaseItem, item_id)
    if item is None or item.session_id != session.id:
        raise NotFound("livestream_showcase_item", "sản phẩm trong phiên")
    return item


def _not_ended(session) -> None:
    if session.status == "ended":
        raise Conflict("livestream.ended", "Phiên livestream đã kết thúc.", "The livestream session has ended.",
                       {"session_id": session.id})


def _check_code(session, code: str, item_id: int | None = None) -> str:
    if not CODE_FORMAT.match(code or ""):
        raise invalid("code", "mã gồm 1–3 chữ cái và 1–3 chữ số (vd. A1)", "1-3 letters then 1-3 digits (e.g. A1)")
    key = code_key(code)
    taken = db.session.execute(select(ShowcaseItem.id).where(ShowcaseItem.session_id == session.id,
                                                             ShowcaseItem.code_key == key)).scalar_one_or_none()
    if taken is not None and taken != item_id:
        raise Conflict("livestream.code_taken", "Mã này đã dùng trong phiên.", "This code is already used in the session.",
                       {"code": code})
    return key


def _offered(product: Product, variants: list[dict] | None) -> list[ShowcaseVariant]:
    by_id = {v.id: v for v in product.variants}
    if not variants:
        return [ShowcaseVariant(variant_id=v.id, variant=v, words=v.name, hold_quantity=0)
                for v in product.variants if v.active]
    out, seen = [], set()
    for n, entry in enumerate(variants):
        variant = by_id.get(entry["variant_id"])
        if variant is None or entry["variant_id"] in seen:
            raise invalid(f"variants.{n}.variant_id", "biến thể không thuộc sản phẩm hoặc bị lặp",
                          "the variant is not one of the product's or is repeated")
        seen.add(variant.id)
        out.append(ShowcaseVariant(variant_id=variant.id, variant=variant,
                                   words=(entry.get("words") or variant.name).strip(),
                                   session_price=entry.get("session_price"),
                                   hold_quantity=entry.get("hold_quantity") or 0))
    return out


def pin_product(user, session, data: dict) -> ShowcaseItem:
    """Add a host's product to the showcase under ``code`` (all its active variants unless listed). Flushes."""
    _not_ended(session)
    product = db.session.get(Product, data["product_id"])
    if product is None:
        raise NotFound("product", "sản phẩm", {"product_id": data["product_id"]})
    if product.producer_id not in {h.producer_id for h in session.hosts}:
        raise invalid("product_id", "sản phẩm không thuộc chủ thể dẫn phiên", "the product is not a host producer's")
    if db.session.execute(select(ShowcaseItem.id).where(ShowcaseItem.session_id == session.id,
                                                        ShowcaseItem.product_id == product.id)).first():
        raise Conflict("livestream.product_pinned", "Sản phẩm đã có trong phiên.", "The product is already in the showcase.",
                       {"product_id": product.id})
    key = _check_code(session, data["code"])
    item = ShowcaseItem(session_id=session.id, code=data["code"].strip().upper(), code_key=key, product=product,
                        position=len(session.items), variants=_offered(product, data.get("variants")))
    session.items.append(item)
    session_prices.forget(session)
    db.session.flush()
    for offered in item.variants:
        holds.top_up(session, offered, user)
    return item


def update_item(user, session, item: ShowcaseItem, data: dict) -> ShowcaseItem:
    """Change an item's code or its variants (words, session price, hold). Flushes."""
    _not_ended(session)
    session_prices.forget(session)
    if "code" in data:
        item.code_key = _check_code(session, data["code"], item.id)
        item.code = data["code"].strip().upper()
    if "variants" in data:
        before = {o.variant_id for o in item.variants}
        offered = _offered(item.product, data["variants"])
        item.variants = []
        db.session.flush()  # the old rows go first: a variant offered again keeps its (item, variant) key
        item.variants = offered
        db.session.flush()
        for variant_id in before - {o.variant_id for o in item.variants}:
            holds.release(session, variant_id, user)
        for offered in item.variants:
            holds.top_up(session, offered, user)
    db.session.flush()
    return item


def remove_item(user, session, item: ShowcaseItem) -> None:
    """Take a product off the showcase, releasing its holds. Flushes."""
    _not_ended(session)
    session_prices.forget(session)
    for offered in item.variants:
        holds.release(session, offered.variant_id, user)
    session.items.remove(item)
    db.session.flush()


def pin(user, session, item: ShowcaseItem) -> PinWindow:
    """Put ``item`` on screen now (the item on screen before leaves it). Flushes."""
    _not_ended(session)
    now = utcnow()
    for other in session.items:
        for window in other.pins:
            if window.ended_at is None and other.id != item.id:
                window.ended_at = now
    open_window = next((w for w in item.pins if w.ended_at is None), None)
    if open_window is None:
        open_window = PinWindow(started_at=now)
        item.pins.append(open_window)
    db.session.flush()
    return open_window


def unpin(user, session, item: ShowcaseItem) -> None:
    """Take ``item`` off screen. Flushes."""
    for window in item.pins:
        if window.ended_at is None:
            window.ended_at = utcnow()
    db.session.flush()


def compiled(session) -> Showcase:
    """The session's showcase as the comment parser reads it (codes, names, variants by their words)."""
    return compile_showcase([{"code": item.code, "name": item.product.name,
                              "variants": [{"sku": o.variant.sku, "name": o.words} for o in item.variants]}
                             for item in session.items])


def offered_by_sku(session) -> dict[str, tuple[ShowcaseItem, ShowcaseVariant]]:
    return {o.variant.sku: (item, o) for item in session.items for o in item.variants}


def item_by_code(session, code: str) -> ShowcaseItem | None:
    key = code_key(code)
    return next((item for item in session.items if item.code_key == key), None)


def variant_of(session, code: str, sku: str | None) -> tuple[ShowcaseItem, ShowcaseVariant] | None:
    """The showcase variant a draft line means; a line without a SKU means the item's only variant."""
    item = item_by_code(session, code)
    if item is None:
        return None
    if sku is None:
        return (item, item.variants[0]) if len(item.variants) == 1 else None
    offered = next((o for o in item.variants if o.variant.sku == sku), None)
    return (item, offered) if offered else None

