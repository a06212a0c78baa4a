"""Product cards and OCOP star badges, formatted in Python once per item (the listing pages show 12–20 cards;
a Jinja macro per card, price and badge cost more than the search itself on the search page)."""
from __future__ import annotations

from urllib.parse import quote

from flask import url_for
from markupsafe import Markup, escape

from core.catalogue import images
from core.payments.money import format_vnd
from storefront_api.site.blueprint import bp, lang, t

_SLUG_MARK = "__slug__"
_badges: dict[tuple[int, str], Markup] = {}


def stars_badge(n) -> Markup:
    """``OCOP ★★★★`` with its label in the shopper's language (built once per star count and language)."""
    key = (n if isinstance(n, int) else 0, lang())
    badge = _badges.get(key)
    if badge is None:
        n = key[0]
        badge = _badges[key] = Markup(
            '<span class="badge stars-{n}" aria-label="{label}">OCOP {stars}<span class="sr"> {short}</span></span>'
        ).format(n=n, label=t(f"OCOP {n} sao", f"OCOP {n} stars"), stars="★" * n, short=t(f"{n} sao", f"{n} stars"))
    return badge


def _price(p: dict) -> Markup:
    """The card's price (formatted amounts are digits, dots and ``₫``: nothing to escape)."""
    sale, low, high = p.get("sale_price_min"), p.get("price_min"), p.get("price_max")
    if sale is not None:
        return Markup(f'<span class="sale">{format_vnd(sale)}</span> <s>{format_vnd(low)}</s>')
    if low is None:
        return Markup("")
    since = t("từ ", "from ") if high and high != low else ""
    return Markup(f'<span class="price">{since}{format_vnd(low)}</span>')


#: a card's photo is about 200–330 px wide (a grid of 200 px minimum columns in a 1,100 px page; one or two
#: columns on a phone)
CARD_SIZES = "(max-width: 460px) calc(100vw - 48px), (max-width: 700px) 50vw, 240px"


def card_image(view: dict | None) -> Markup:
    """The card's ``<img>``: the thumbnail near 240 px, the other sizes in ``srcset`` (4:3 box when unknown)."""
    if view is None:
        return Markup('<span class="noimg" aria-hidden="true"></span>')
    width, height = view["width"] or 240, view["height"] or 180
    srcset = Markup(' srcset="{}" sizes="{}"').format(view["srcset"], CARD_SIZES) if view["srcset"] else ""
    return Markup('<img src="{src}"{srcset} alt="" loading="lazy" width="{w}" height="{h}">').format(
        src=view["src"], srcset=srcset, w=width, h=height)


def product_cards(items) -> list[dict]:
    """What a card shows, ready to print: link, name, photo, badge, producer line, price, out of stock."""
    prefix, suffix = url_for("site.product", slug=_SLUG_MARK).split(_SLUG_MARK)
    out_of_stock = Markup('<span class="out">{}</span>').format(t("Hết hàng", "Out of stock"))
    items = list(items)
    photos = images.responsive_by_url((p.get("image") for p in items), shown_width=240)
    cards = []
    for p in items:
        producer = p.get("producer") or {}
        province = producer.get("province")
        cards.append({
            "href": prefix + quote(p["slug"]) + suffix, "name": p["name"],
            "image": card_image(photos.get(p.get("image"))),
            "badge": stars_badge(p.get("stars")),
            "producer": escape(producer.get("name") or "") + (Markup(" · ") + province["name"] if province else ""),
            "price": _price(p), "out": out_of_stock if "in_stock" in p and not p["in_stock"] else "",
        })
    return cards


@bp.context_processor
def _card_helpers():
    return {"product_cards": product_cards, "stars_badge": stars_badge}
