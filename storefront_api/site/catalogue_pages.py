"""Catalogue pages: home, product (with JSON-LD and share tags), producer, search, group, province, sales points."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request, url_for
from marshmallow import ValidationError

from core import clock
from core.clock import VN_TZ
from core.catalogue import browse as catalogue_read, groups, landing, version as catalogue_cache
from core.errors import NotFound, DomainError
from core.geo import units as geo
from core.payments.money import format_vnd
from core.plugins import hooks
from core.pricing import campaigns, resolver, version as pricing_version
from core.sales import checkout, places
from core.search import service as search_service
from storefront_api.catalogue import CHANNEL, producer_detail, product_detail
from storefront_api.schemas import ProductQuerySchema
from storefront_api.search import SearchArgsSchema
from storefront_api.site.blueprint import absolute, bp, lang, public_url, render_page, t

PAGE_SIZE = 20  # as the JSON endpoints answer by default
_SEARCH_ARGS, _PRODUCT_QUERY = SearchArgsSchema(), ProductQuerySchema()  # built once: loading keeps no state


def _products(args: dict) -> dict:
    """A page of listed products with their sale prices now (as ``GET /storefront/v1/products`` answers),
    kept per process like that endpoint's answers: while the catalogue version, the day and the pricing state
    are unchanged (a national catalogue's listing count costs tens of milliseconds). Read-only for callers."""
    now = clock.now()
    key = {**args, "pricing": pricing_version.cache_key(now)}
    return catalogue_cache.cached("site_products", key, lambda: catalogue_read.list_products(
        args, decorate=lambda page: resolver.product_prices(page, CHANNEL, now)))


def _browse_args(**fixed) -> dict:
    try:
        args = _PRODUCT_QUERY.load({k: v for k, v in request.args.items() if k in ("page", "sort")})
    except ValidationError as exc:
        raise _invalid(exc)
    return {**args, "limit": PAGE_SIZE, **fixed}


def _invalid(exc: ValidationError) -> DomainError:
    return DomainError("validation.invalid", "Tham số không hợp lệ.", "Invalid parameters.",
                       {"fields": exc.messages}, status=422)


@bp.get("/")
def home():
    """Running campaigns, plugins' sections (current fairs), featured listed products (most stars first), and
    browsing by province and OCOP group."""
    featured = _products({"page": 1, "limit": 12, "sort": "stars"})
    facets = browse_facets()
    return render_page("site/home.html", featured=featured["results"], total=featured["total"],
                       provinces=facets["province"], groups=facets["group"], canonical=public_url("site.home"),
                       campaigns=[campaign_view(c) for c in campaigns.running_promotions(CHANNEL)],
                       sections=home_sections())


def campaign_view(campaign: dict) -> dict:
    """A running promotion as the home page shows it: its discount, and where its products are listed (a
    producer's, province's or group's page when one filter names them, else the search page with its filters)."""
    listing = campaign["listing"]
    if listing is None:
        href = None
    elif "producer" in listing:
        href = url_for("site.producer", slug=listing["producer"])
    elif list(listing) == ["province"]:
        href = url_for("site.province", code=listing["province"])
    elif list(listing) == ["group"]:
        href = url_for("site.group", code=listing["group"])
    else:
        href = url_for("site.search", **listing)
    value = campaign["value"]
    offer = {"percentage": (f"Giảm {value} %", f"{value} % off"),
             "amount": (f"Giảm {format_vnd(value)} mỗi sản phẩm", f"{format_vnd(value)} off each item"),
             "fixed_price": (f"Đồng giá {format_vnd(value)}", f"All at {format_vnd(value)}")}[campaign["kind"]]
    return {**campaign, "href": href, "offer": t(*offer)}


def home_sections() -> list[dict]:
    """What plugins add to the home page (``site_home_sections``): sections with at least one item."""
    found = hooks().site_home_sections(lang=lang())
    return [s for s in found if s and s.get("items")]


def browse_facets() -> dict:
    """Listed products counted by province and group (the search service's facets of an empty query);
    empty while search is unavailable, so the home page still answers."""
    try:
        return search_service.search({"q": "", "page": 1, "limit": 1, "sort": "relevance"})["facets"]
    except DomainError:
        return {"province": [], "group": []}


def _stock_states(data: dict) -> dict[str, dict]:
    """Per SKU: free quantity online (largest at one location, as checkout allocates) and in-person places."""
    ids = [v["variant_id"] for v in data["variants"]]
    free = checkout.available_quantities(ids)
    return {v["sku"]: {"free": free.get(v["variant_id"], 0), "is_service": v["is_service"]} for v in data["variants"]}


def product_json_ld(data: dict, stock: dict, url: str) -> dict:
    """schema.org Product with one Offer per variant at the price a shopper pays now (VND)."""
    offers = []
    for v in data["variants"]:
        state = stock[v["sku"]]
        offer = {"@type": "Offer", "sku": v["sku"], "name": v["name"], "url": url, "priceCurrency": "VND",
                 "price": v["sale_price"] if v.get("sale_price") is not None else v["price"],
                 "availability": "https://schema.org/InStock" if state["is_service"] or state["free"] > 0
                 else "https://schema.org/OutOfStock",
                 "seller": {"@type": "Organization", "name": data["producer"]["name"]}}
        if v.get("sale_price") is not None and v.get("sale_ends_at"):
            offer["priceValidUntil"] = v["sale_ends_at"].astimezone(VN_TZ).date().isoformat()
        if v.get("gtin"):
            offer["gtin"] = v["gtin"]
        offers.append(offer)
    ld = {"@context": "https://schema.org", "@type": "Product", "name": data["name"], "url": url,
          "brand": {"@type": "Brand", "name": data["producer"]["name"]},
          "category": data["group"]["name"], "offers": offers}
    if data.get("description"):
        ld["description"] = data["description"]
    images = [absolute(i["url"]) for i in data.get("images") or [] if i.get("url")]
    if images:
        ld["image"] = images
    return ld


@bp.get("/san-pham/<slug>")
def product(slug):
    """A listed product; a delisted one answers 410 Gone with similar listed products."""
    try:
        item, data = product_detail(slug)
    except NotFound:
        gone = landing.delisted_product(slug)
        if gone is None:
            raise
        return render_page("site/gone.html", 410, name=gone.name, similar=landing.similar_listed(gone))
    stock = _stock_states(data)
    # a public place is an active location, so only variants free somewhere can be held at one
    where = places.places_holding(v["variant_id"] for v in data["variants"] if stock[v["sku"]]["free"] > 0)
    url = public_url("site.product", slug=slug)
    image = absolute(data["images"][0]["url"]) if data.get("images") else None
    return render_page("site/product.html", p=data, stock=stock, places=where, canonical=url, og_image=image,
                       json_ld=product_json_ld(data, stock, url), added=request.args.get("added"))


@bp.get("/chu-the/<slug>")
def producer(slug):
    data = producer_detail(slug)
    return render_page("site/producer.html", producer=data, canonical=public_url("site.producer", slug=slug))


def _search_args() -> dict:
    raw = {k: v for k, v in request.args.items() if v != "" and k != "lang"}
    raw.setdefault("limit", str(PAGE_SIZE))
    try:
        return _SEARCH_ARGS.load(raw)
    except ValidationError as exc:
        raise _invalid(exc)


#: the search page's facet lists: (facet, title vi, title en, how an item is labelled)
FACETS = (("stars", "Hạng sao", "Stars", lambda it: f"{it['value']} ★"),
          ("group", "Nhóm sản phẩm", "Product group", lambda it: t(it["label"], it.get("label_en") or it["label"])),
          ("province", "Tỉnh", "Province", lambda it: it["label"]),
          ("legal_form", "Loại chủ thể", "Producer type", lambda it: t(it["label"], it.get("label_en") or it["label"])))


def facet_links(facets: dict, args: dict) -> list[dict]:
    """Each facet's items as links that add (or, when chosen, remove) the filter; paging restarts."""
    base = {k: v for k, v in request.args.items() if k not in ("cursor", "page")}
    path = request.path

    def link(changes: dict) -> str:
        query = {**base, **changes}
        query = {k: v for k, v in query.items() if v is not None}
        return path + ("?" + urlencode(query) if query else "")

    out = []
    for key, title, title_en, label in FACETS:
        chosen_value = str(args.get(key))
        items = [{"href": link({key: None if chosen else it["value"]}), "label": label(it), "count": it["count"],
                  "chosen": chosen} for it in facets.get(key) or () for chosen in (chosen_value == str(it["value"]),)]
        if items:
            out.append({"title": t(title, title_en), "links": items})
    if facets.get("in_stock"):
        chosen = bool(args.get("in_stock"))
        out.append({"title": t("Tình trạng", "Availability"), "links": [
            {"href": link({"in_stock": None if chosen else "true"}), "label": t("Còn hàng", "In stock"),
             "count": None, "chosen": chosen}]})
    if facets.get("price"):
        out.append({"title": t("Giá", "Price"), "links": [
            {"href": link({"min_price": it["min_price"], "max_price": it["max_price"]}), "count": it["count"],
             "chosen": False, "label": format_vnd(it["min_price"]) + (
                 f" – {format_vnd(it['max_price'])}" if it["max_price"] is not None else "+")}
            for it in facets["price"]]})
    return out


@bp.get("/tim-kiem")
def search():
    """Full-text search with facets, diacritics optional and typos tolerated (the storefront search service)."""
    args = _search_args()
    answer = search_service.search(args)
    return render_page("site/search.html", answer=answer, args=args, canonical=public_url("site.search"),
                       robots="noindex,follow", facet_lists=facet_links(answer["facets"], args))


@bp.get("/nhom/<code>")
def group(code):
    """Listed products of one OCOP product group (Decision 148; an older 1048 code maps to its group)."""
    if groups.group(code) is None:
        raise NotFound("group", "nhóm sản phẩm")
    page = _products(_browse_args(group=code))
    label = groups.label(code)
    return render_page("site/listing.html", page=page, title=t(label["name"], label["name_en"]),
                       canonical=public_url("site.group", code=code))


@bp.get("/tinh/<code>")
def province(code):
    """Listed products of producers in one (current) province; a pre-2025 code is answered with its successor."""
    unit = geo.current_unit(geo.get_unit(code))
    if unit.level != "province":
        raise NotFound("province", "tỉnh")
    page = _products(_browse_args(province=unit.code))
    return render_page("site/listing.html", page=page, title=unit.name,
                       places=places.public_places(unit.code), communes=catalogue_read.listed_by_commune(unit.code),
                       canonical=public_url("site.province", code=unit.code))


@bp.get("/xa/<code>")
def commune(code):
    """Listed products of producers in one current commune (or ward), naming the pre-2025 communes it was
    formed from; a retired commune's code is answered with the commune it was merged into."""
    asked = geo.get_unit(code)
    unit = geo.current_unit(asked)
    if unit.level != "commune":
        raise NotFound("commune", "xã/phường")
    page = _products(_browse_args(commune=unit.code))
    return render_page("site/listing.html", page=page, title=unit.name, commune=unit, asked=asked,
                       province=geo.province_of(unit), former=geo.former_units(unit),
                       canonical=public_url("site.commune", code=unit.code))


@bp.get("/diem-ban")
def sales_points():
    """Where to buy OCOP products in person (sales points, fair booths), by province."""
    code = request.args.get("tinh") or None
    if code is not None and len(code) > 20:
        raise NotFound("province", "tỉnh")
    provinces = geo.list_units({"level": "province", "page": 1, "limit": 100})["results"]
    return render_page("site/sales_points.html", places=places.public_places(code), provinces=provinces,
                       selected=code, canonical=public_url("site.sales_points"))
