"""Checkout: the shopper's cart, contact, Vietnamese shipping address and delivery method.

Rules
    * Only listed products (active, unexpired 3+ star certification) and
      active variants can be added; quantities are 1…99 per line and a
      checkout holds at most :data:`MAX_LINES` lines.
    * The shipping address is ``province_code`` / ``district_code`` (optional,
      pre-2025 addresses only) / ``commune_code`` + ``street``. Current and
      retired (pre-2025) units are accepted; both are resolved to the
      current units, and the commune must lie in the chosen province (and
      in the district, when one is given).
    * Delivery: a home-delivery method quoted through the ``shipping_methods``
      hook, or ``pickup`` at an active stock location holding the goods.
    * Prices come from the price resolver (:mod:`core.pricing.resolver`) on the checkout's sales
      channel, now: each line shows its base price, its discounts (promotions, plugin rules,
      vouchers) and what it costs. Vouchers the shopper enters (``vouchers``) are checked by
      pricing the cart: a wrong, spent or inapplicable code answers 4xx and is not kept. A code
      that stops applying later (expired, used up) is shown as ``voucher_error`` and the cart is
      priced without it; placing the order prices strictly again.
    * Totals are integer VND: subtotal (resolved line totals) + shipping fee.

Placing the order is :func:`core.sales.placement.place_from_checkout`. Every function here flushes;
the request (or command, or task) commits.

Size: about 580 lines because the cart, its one-query load, its prices (resolver, vouchers) and its
delivery options are read together on every checkout request; splitting them would re-read the rows.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import weakref
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.orm import load_only

from core import clock
from core.db import UTCDateTime, db, utcnow
from core.errors import Conflict, DomainError, NotFound, invalid
from core.sales.addresses import normalise_phone, validate_address
from core.pricing import resolver
from core.pricing import version as pricing_version
from core.pricing.resolver import CartPrice, LinePrice
from core.pricing.rules import ChannelRef, channel_ref, customer_key, facts_of
from core.pricing.vouchers import code_key
from core.sales.models import Checkout, CheckoutLine, Order, SalesChannel
from core.catalogue.models import Producer, Product, Variant
from core.inventory.access import pickup_points_clause
from core.inventory.models import Stock, StockLocation
from core.sales import orders, shipping
from core.catalogue.browse import listed_filter
from core.inventory import ledger
from core.payments import gateways
from core.sales import channels

MAX_QUANTITY = 99
MAX_LINES = 50
MAX_VOUCHERS = 5
PHONE_RE = re.compile(r"^(?:\+84|0)(?:3|5|7|8|9|2\d)\d{8}$")


@dataclass
class Row:
    """One checkout line with its variant, product, producer and whether the product is listed today."""

    line: CheckoutLine
    variant: Variant
    product: Product
    producer: Producer
    listed: bool
    free: int | None = None  # largest free quantity at one active location, when read with the line
    price: LinePrice | None = None  # what the resolver answered for the line (set by :func:`price_rows`)


# --- lookups -------------------------------------------------------------------------
def new_token() -> str:
    """An unguessable token (192 bits)."""
    return secrets.token_urlsafe(24)


def get(token: str) -> Checkout:
    """The checkout behind ``token`` (404 ``checkout.not_found``)."""
    checkout = db.session.execute(select(Checkout).where(Checkout.token == token)).scalar_one_or_none() \
        if token else None
    if checkout is None:
        raise NotFound("checkout", "giỏ hàng")
    return checkout


def note_referral(checkout: Checkout, source: str, data: dict | None) -> None:
    """Note (or, with ``data`` None, forget) where the shopper came from, as ``source``'s claim. Flushes.

    Plugins note claims while the shopper shops (a livestream link, …) and read them back from the
    checkout when the order is placed (``order_attribution``), which loads the checkout anyway: a
    checkout without a claim costs the plugin no query.
    """
    referral = dict(checkout.referral or {})
    if data is None:
        referral.pop(source, None)
    else:
        referral[source] = data
    checkout.referral = referral or None
    db.session.flush()


def referral(checkout: Checkout, source: str) -> dict | None:
    """``source``'s claim on the checkout, None when it has none."""
    return (checkout.referral or {}).get(source)


def require_open(checkout: Checkout) -> None:
    """Raise ``checkout.completed`` (409) unless the checkout is still open."""
    if checkout.status != "open":
        raise Conflict("checkout.completed", "Giỏ hàng đã được đặt thành đơn hàng.",
                       "This checkout has already been completed.", {"token": checkout.token})


def _listed_column():
    return (listed_filter() & (Product.status == "active")).label("listed")


def _variants(ids=(), skus=()) -> tuple[dict, dict]:
    """``(by_id, by_sku)`` of ``(variant, product, producer, listed)`` in one query."""
    ids, skus = [i for i in ids if i is not None], [s for s in skus if s is not None]
    if not ids and not skus:
        return {}, {}
    condition = Variant.id.in_(ids) if ids else None
    if skus:
        condition = Variant.sku.in_(skus) if condition is None else condition | Variant.sku.in_(skus)
    found = db.session.execute(
        select(Variant, Product, Producer, _listed_column()).join(Product, Product.id == Variant.product_id)
        .join(Producer, Producer.id == Product.producer_id).where(condition)).all()
    by_id = {v.id: (v, p, pr, bool(listed)) for v, p, pr, listed in found}
    by_sku = {v.sku: entry for entry in by_id.values() for v in (entry[0],)}
    return by_id, by_sku


def require_listed(entry, reference) -> tuple:
    """``entry`` (``(variant, product, producer, listed)``) when sellable: 404 unknown, 422 ``product.not_listed``."""
    if entry is None:
        raise NotFound("variant", "phiên bản sản phẩm", {"variant": reference})
    variant, _, _, listed = entry
    if not listed or not variant.active:
        raise DomainError("product.not_listed", "Sản phẩm này hiện không được bán trên sàn.",
                          "This product is not listed for sale.", {"variant_id": variant.id, "sku": variant.sku},
                          status=422)
    return entry


def listed_variant(variant_id: int | None = None, sku: str | None = None) -> tuple:
    """``(variant, product, producer, True)`` of an active variant of a listed product, by id or SKU.

    404 ``variant.not_found`` for unknown variants, 422 ``product.not_listed``
    for variants whose product is not listed (or is inactive).
    """
    by_id, by_sku = _variants([variant_id], [sku] if variant_id is None else [])
    entry = by_id.get(variant_id) if variant_id is not None else by_sku.get(sku)
    return require_listed(entry, variant_id if variant_id is not None else sku)


def _check_quantity(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise invalid("quantity", f"số lượng phải từ 1 đến {MAX_QUANTITY}",
                      f"quantity must be between 1 and {MAX_QUANTITY}", code="checkout.invalid_quantity")
    return quantity


def available_quantities(variant_ids) -> dict[int, int]:
    """Largest free quantity at one active location per variant (allocation never splits a line)."""
    variant_ids = list(variant_ids)
    if not variant_ids:
        return {}
    rows = db.session.execute(_FREE_PER_VARIANT, {"variant_ids": variant_ids}).all()
    return {variant_id: int(free or 0) for variant_id, free in rows}


# statements used on every checkout request are built once (building them showed up in the profile)
_FREE_PER_VARIANT = (
    select(Stock.variant_id, func.max(Stock.on_hand - Stock.allocated))
    .join(StockLocation, StockLocation.id == Stock.location_id)
    .where(Stock.variant_id.in_(bindparam("variant_ids", expanding=True)), StockLocation.active.is_(True))
    .group_by(Stock.variant_id))


def check_stock(wanted: dict[int, int], variants: dict[int, Variant], free: dict[int, int] | None = None) -> None:
    """Early, non-locking check so a shopper hears about missing stock when adding (allocation decides).

    ``free``: the free quantities already read (:attr:`Row.free`), else they are queried.
    """
    stocked = {vid: q for vid, q in wanted.items() if not variants[vid].is_service}
    free = available_quantities(stocked) if free is None else free
    for variant_id, quantity in stocked.items():
        if quantity > free.get(variant_id, 0):
            raise ledger.insufficient(variants[variant_id], quantity, free.get(variant_id, 0))


# --- lines and shipping context ---------------------------------------------------------------
def load(token: str) -> tuple[Checkout, list[Row]]:
    """The checkout behind ``token`` and its rows (with their free stock) in ONE query (404 ``checkout.not_found``)."""
    at = clock.now()
    found = db.session.execute(_checkout_with_rows(clock.today()), {"token": token, "pricing_at": at}).all() \
        if token else []
    if not found:
        raise NotFound("checkout", "giỏ hàng")
    rows = [Row(line, variant, product, producer, bool(listed), int(free or 0))
            for _, line, variant, product, producer, listed, free, *_ in found if line is not None]
    checkout, channel = found[0][0], found[0][7]
    pricing_version.remember_key(at, found[0][8:])  # read with the rows: pricing asks no more for it
    _PRICED_AT[checkout] = at
    if channel is not None:  # held while the checkout is: hooks asking for the order's channel read no row
        _CHANNELS[checkout] = channel_ref(channel)
        _CHANNEL_ROWS[checkout] = channel
    return checkout, rows


@functools.lru_cache(maxsize=2)
def _checkout_with_rows(today):
    """The statement behind :func:`load`, built once per day (the listing condition holds today's date).

    Only the catalogue columns a checkout uses are read (not descriptions and stories): each column
    read costs on every checkout request.
    """
    free = (select(func.max(Stock.on_hand - Stock.allocated)).join(StockLocation, StockLocation.id == Stock.location_id)
            .where(Stock.variant_id == CheckoutLine.variant_id, StockLocation.active.is_(True))
            .correlate(CheckoutLine).scalar_subquery())
    return (select(Checkout, CheckoutLine, Variant, Product, Producer, _listed_column(), free.label("free"),
                   SalesChannel, *pricing_version.key_columns(bindparam("pricing_at", type_=UTCDateTime)))
            .outerjoin(SalesChannel, SalesChannel.id == Checkout.channel_id)
            .outerjoin(CheckoutLine, CheckoutLine.checkout_id == Checkout.id)
            .outerjoin(Variant, Variant.id == CheckoutLine.variant_id)
            .outerjoin(Product, Product.id == Variant.product_id)
            .outerjoin(Producer, Producer.id == Product.producer_id)
            .where(Checkout.token == bindparam("token", type_=String)).order_by(CheckoutLine.id)
            .options(load_only(Variant.product_id, Variant.sku, Variant.name, Variant.weight_g, Variant.price,
                               Variant.is_service, Variant.active),
                     load_only(Product.producer_id, Product.name, Product.slug, Product.status, Product.is_listed,
                               Product.listed_until, Product.group_code, Product.product_set_code,
                               Product.listed_stars, Product.origin_commune_code),
                     load_only(Producer.name, Producer.slug, Producer.province_code)))


def _line_rows(checkout: Checkout) -> list[Row]:
    """The checkout's lines with variant, product, producer and listing state — one query."""
    if checkout.id is None:
        return []
    found = db.session.execute(
        select(CheckoutLine, Variant, Product, Producer, _listed_column())
        .join(Variant, Variant.id == CheckoutLine.variant_id).join(Product, Product.id == Variant.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(CheckoutLine.checkout_id == checkout.id).order_by(CheckoutLine.id)).all()
    return [Row(line, variant, product, producer, bool(listed)) for line, variant, product, producer, listed in found]


def shipping_address(checkout: Checkout, rows: list[Row]) -> dict | None:
    """The dict handed to ``shipping_methods`` (see :mod:`core.services.shipping`), None without an address."""
    if not checkout.commune_code:
        return None
    province, commune = orders.unit_info(checkout.province_code), orders.unit_info(checkout.commune_code)
    parcels: dict[int, dict] = {}
    weight, subtotal = 0, 0
    if any(row.price is None for row in rows):
        price_rows(checkout, rows, strict=False)
    for row in rows:
        if row.variant.is_service:
            continue
        grams = (row.variant.weight_g or shipping.DEFAULT_UNIT_WEIGHT_G) * row.line.quantity
        amount = row.price.line_total
        parcel = parcels.setdefault(row.producer.id, {"producer_id": row.producer.id,
                                                      "province_code": row.producer.province_code,
                                                      "weight_g": 0, "subtotal": 0})
        parcel["weight_g"] += grams
        parcel["subtotal"] += amount
        weight += grams
        subtotal += amount
    return {"province_code": province["province_code"] if province else checkout.province_code,
            "commune_code": commune["current_code"] if commune else checkout.commune_code,
            "district_code": checkout.district_code, "weight_g": weight, "subtotal": subtotal,
            "parcels": list(parcels.values())}


def pickup_location(location_id: int | None, rows: list[Row]) -> StockLocation:
    """The pickup point ``location_id`` if it can hand over every stocked line (422 otherwise)."""
    location = db.session.execute(select(StockLocation).where(StockLocation.id == location_id, pickup_points_clause())
                                  ).scalar_one_or_none() if location_id else None
    if location is None:
        raise invalid("pickup_location_id", "điểm nhận hàng không tồn tại hoặc đã ngừng",
                      "unknown or inactive pickup location", code="checkout.invalid_pickup_location")
    for row in rows:
        if location.kind == "producer_warehouse" and location.producer_id not in (None, row.product.producer_id) \
                and not row.variant.is_service:
            raise DomainError("checkout.pickup_not_possible",
                              "Điểm nhận hàng này không có hàng của mọi chủ thể trong giỏ.",
                              "This pickup location does not hold every producer's goods in the checkout.",
                              {"pickup_location_id": location.id, "sku": row.variant.sku}, status=422)
    return location


def pickup_locations(rows: list[Row]) -> list[StockLocation]:
    """Active locations where every stocked line is available in full right now."""
    wanted = [(r.variant.id, r.line.quantity) for r in rows if not r.variant.is_service]
    if not wanted:
        return []
    candidate_ids = None
    for variant_id, quantity in wanted:
        ids = set(db.session.execute(
            select(Stock.location_id).join(StockLocation, StockLocation.id == Stock.location_id)
            .where(Stock.variant_id == variant_id, pickup_points_clause(),
                   Stock.on_hand - Stock.allocated >= quantity)).scalars())
        candidate_ids = ids if candidate_ids is None else candidate_ids & ids
    if not candidate_ids:
        return []
    return list(db.session.execute(select(StockLocation).where(StockLocation.id.in_(candidate_ids))
                                   .order_by(StockLocation.id)).scalars())


def delivery_options(checkout: Checkout, rows: list[Row] | None = None) -> dict:
    """Home-delivery quotes (needs an address) and pickup locations for the checkout."""
    rows = _line_rows(checkout) if rows is None else rows
    address = shipping_address(checkout, rows)
    quotes = shipping.quotes(checkout, address) if address and rows else []
    return {"results": [q.as_dict() for q in quotes],
            "pickup_locations": [{"id": l.id, "name": l.name, "kind": l.kind, "province_code": l.province_code,
                                  "address": l.address} for l in pickup_locations(rows)]}


# --- prices ------------------------------------------------------------------------------
#: the channel each loaded checkout sells on (read with it by :func:`load`; weak: gone with the checkout)
_CHANNELS: "weakref.WeakKeyDictionary[Checkout, ChannelRef]" = weakref.WeakKeyDictionary()
#: the SalesChannel row read with each loaded checkout (the identity map holds rows only while referenced)
_CHANNEL_ROWS: "weakref.WeakKeyDictionary[Checkout, SalesChannel]" = weakref.WeakKeyDictionary()
#: the moment each loaded checkout is priced at (its pricing cache key was read with it)
_PRICED_AT: "weakref.WeakKeyDictionary[Checkout, dt.datetime]" = weakref.WeakKeyDictionary()
#: vouchers that no longer apply to a checkout, found while pricing it leniently (shown as ``voucher_error``)
_VOUCHER_ERRORS: "weakref.WeakKeyDictionary[Checkout, dict]" = weakref.WeakKeyDictionary()


def pricing_channel(checkout: Checkout) -> ChannelRef:
    """The sales channel the checkout's prices are resolved on (the online store when it has none)."""
    known = _CHANNELS.get(checkout)
    if known is not None:
        return known
    channel = db.session.get(SalesChannel, checkout.channel_id) if checkout.channel_id else None
    ref = channel_ref(channel)
    _CHANNELS[checkout] = ref
    return ref


def price_rows(checkout: Checkout, rows: list[Row], *, strict: bool = True, at=None) -> CartPrice:
    """Price the rows on the checkout's channel now (``at``), with its vouchers; sets :attr:`Row.price`.

    ``strict``: a voucher that does not apply raises its 4xx (the shopper just entered it, or the
    order is being placed). Otherwise the cart is priced without the vouchers and the refusal is
    kept for the view (``voucher_error``).
    """
    at = at or _PRICED_AT.get(checkout)
    pairs = [(r.variant.id, r.line.quantity) for r in rows]
    facts = {r.variant.id: facts_of(r.variant, r.product, r.producer) for r in rows}  # loaded with the rows
    customer = customer_key(phone=checkout.phone)
    channel = pricing_channel(checkout)
    _VOUCHER_ERRORS.pop(checkout, None)
    try:
        cart = resolver.price_lines(pairs, channel, at, customer, checkout.voucher_codes or (), facts)
    except DomainError as exc:
        if strict or not checkout.voucher_codes or not exc.code.startswith("voucher."):
            raise
        _VOUCHER_ERRORS[checkout] = exc.envelope()["error"]
        cart = resolver.price_lines(pairs, channel, at, customer, (), facts)
    for row, line in zip(rows, cart.lines):
        row.price = line
    return cart


def _set_vouchers(checkout: Checkout, codes) -> None:
    """Keep the codes the shopper entered (trimmed, one per code whatever its case); checked when priced."""
    kept, seen = [], set()
    for code in codes or ():
        key = code_key(code) if isinstance(code, str) else None
        if not key:
            raise invalid("vouchers", "mã giảm giá không hợp lệ", "invalid voucher code", code="voucher.invalid")
        if key not in seen:
            seen.add(key)
            kept.append(code.strip())
    if len(kept) > MAX_VOUCHERS:
        raise invalid("vouchers", f"tối đa {MAX_VOUCHERS} mã giảm giá", f"at most {MAX_VOUCHERS} voucher codes")
    checkout.voucher_codes = kept or None


def _recompute(checkout: Checkout, rows: list[Row], strict_vouchers: bool = False) -> None:
    """Subtotal from the resolved prices, the chosen delivery fee (dropped if no longer offered), total."""
    cart = price_rows(checkout, rows, strict=strict_vouchers)
    checkout.subtotal = cart.subtotal
    fee = 0
    if checkout.delivery_method and checkout.delivery_method != shipping.PICKUP:
        address = shipping_address(checkout, rows)
        quote = None
        if address and rows:
            quote = next((q for q in shipping.quotes(checkout, address) if q.code == checkout.delivery_method), None)
        if quote is None:
            checkout.delivery_method = checkout.delivery_name = None
        else:
            fee = quote.fee
            checkout.delivery_name = quote.name
    checkout.shipping_fee = fee
    checkout.total = checkout.subtotal + fee


# --- views -------------------------------------------------------------------------------
def view(checkout: Checkout, rows: list[Row] | None = None) -> dict:
    """The checkout as the storefront shows it."""
    rows = _line_rows(checkout) if rows is None else rows
    if any(r.price is None for r in rows):
        price_rows(checkout, rows, strict=False)
    lines = [{"id": r.line.id, "variant_id": r.variant.id, "sku": r.variant.sku, "product_name": r.product.name,
              "product_slug": r.product.slug, "variant_name": r.variant.name,
              "base_unit_price": r.price.base_unit_price, "unit_price": r.price.unit_price,
              "quantity": r.line.quantity, "discount_amount": r.price.discount_amount,
              "line_total": r.price.line_total, "discounts": r.price.snapshot(), "sale_ends_at": r.price.sale_ends_at,
              "is_service": r.variant.is_service,
              "producer": {"id": r.producer.id, "slug": r.producer.slug, "name": r.producer.name}} for r in rows]
    discounts: dict[str, dict] = {}
    for r in rows:  # the checkout's discount lines: one per promotion / rule / voucher, added up
        for d in r.price.discounts:
            entry = discounts.setdefault(d.reference, {"source": d.source, "id": d.id, "reference": d.reference,
                                                       "name": d.name, "name_en": d.name_en, "code": d.code,
                                                       "amount": 0})
            entry["amount"] += d.amount
    order_token = None
    if checkout.status == "completed":
        order_token = db.session.execute(select(Order.token).where(Order.checkout_id == checkout.id)).scalar()
    return {"token": checkout.token, "status": checkout.status,
            "contact": {"email": checkout.email, "phone": checkout.phone, "full_name": checkout.full_name},
            "shipping_address": orders.address_view(checkout), "note": checkout.note,
            "delivery": {"method": checkout.delivery_method, "name": checkout.delivery_name,
                         "fee": checkout.shipping_fee, "pickup_location_id": checkout.pickup_location_id},
            "payment_gateway": checkout.payment_gateway, "lines": lines,
            "vouchers": list(checkout.voucher_codes or []), "voucher_error": _VOUCHER_ERRORS.get(checkout),
            "discounts": list(discounts.values()),
            "base_subtotal": sum(r.price.base_total for r in rows),
            "discount_amount": sum(r.price.discount_amount for r in rows),
            "subtotal": checkout.subtotal, "shipping_fee": checkout.shipping_fee, "total": checkout.total,
            "currency": "VND", "order_token": order_token}


def _finish(checkout: Checkout, rows: list[Row], strict_vouchers: bool = False) -> dict:
    """Recompute totals, flush, build the view (``strict_vouchers``: the codes were just entered)."""
    _recompute(checkout, rows, strict_vouchers)
    db.session.flush()
    return view(checkout, rows)


# --- editing ------------------------------------------------------------------------------
def create(data: dict, channel: SalesChannel | str | None = None) -> dict:
    """Start a checkout on ``channel`` (a SalesChannel or its code; default the online store), optionally with
    lines and details. Its prices are resolved on that channel. Flushes."""
    if not isinstance(channel, SalesChannel):
        channel = channels.get_or_create_channel(channel or ledger.ONLINE_STORE)
    checkout = Checkout(token=new_token(), channel_id=channel.id, status="open", subtotal=0, shipping_fee=0,
                        total=0, created_at=utcnow(), updated_at=utcnow())
    items = data.get("lines") or []
    if len(items) > MAX_LINES:
        raise invalid("lines", f"tối đa {MAX_LINES} dòng hàng", f"at most {MAX_LINES} lines")
    by_id, by_sku = _variants([i.get("variant_id") for i in items], [i.get("sku") for i in items])
    merged: dict[int, int] = defaultdict(int)
    entries = {}
    for item in items:
        reference = item.get("variant_id") if item.get("variant_id") is not None else item.get("sku")
        entry = require_listed(by_id.get(reference) if item.get("variant_id") is not None
                                else by_sku.get(reference), reference)
        merged[entry[0].id] += _check_quantity(item["quantity"])
        entries[entry[0].id] = entry
    for quantity in merged.values():
        _check_quantity(quantity)
    check_stock(merged, {vid: e[0] for vid, e in entries.items()})
    rows = []
    for variant_id, quantity in merged.items():
        variant, product, producer, listed = entries[variant_id]
        line = CheckoutLine(variant_id=variant_id, quantity=quantity, created_at=utcnow())
        checkout.lines.append(line)
        rows.append(Row(line, variant, product, producer, listed))
    _CHANNELS[checkout] = channel_ref(channel)
    with db.session.no_autoflush:
        _apply_details(checkout, {k: v for k, v in data.items() if k != "lines"}, rows)
    db.session.add(checkout)
    return _finish(checkout, rows, strict_vouchers="vouchers" in data)


def _apply_details(checkout: Checkout, data: dict, rows: list[Row]) -> None:
    if "vouchers" in data:
        _set_vouchers(checkout, data["vouchers"])
    if "email" in data:
        checkout.email = (data["email"] or None) and data["email"].strip().lower()
    if "phone" in data:
        checkout.phone = normalise_phone(data["phone"])
    if "full_name" in data:
        checkout.full_name = (data["full_name"] or "").strip() or None
    if "note" in data:
        checkout.note = data["note"]
    if "shipping_address" in data:
        if data["shipping_address"] is None:
            checkout.province_code = checkout.district_code = checkout.commune_code = checkout.street = None
        else:
            address = validate_address(data["shipping_address"])
            checkout.province_code = address["province_code"]
            checkout.district_code = address["district_code"]
            checkout.commune_code = address["commune_code"]
            checkout.street = address["street"]
    if "payment_gateway" in data:
        if data["payment_gateway"]:
            gateways.get_gateway(data["payment_gateway"])
        checkout.payment_gateway = data["payment_gateway"] or None
    if "delivery_method" in data:
        code = data["delivery_method"]
        if not code:
            checkout.delivery_method = checkout.delivery_name = checkout.pickup_location_id = None
        elif code == shipping.PICKUP:
            location = pickup_location(data.get("pickup_location_id"), rows)
            checkout.delivery_method, checkout.pickup_location_id = shipping.PICKUP, location.id
            checkout.delivery_name = shipping.pickup_quote(location).name
        else:
            quote = shipping.choose(checkout, shipping_address(checkout, rows) if rows else None, code)
            checkout.delivery_method, checkout.delivery_name = quote.code, quote.name
            checkout.pickup_location_id = None
    elif "pickup_location_id" in data:
        raise invalid("pickup_location_id", "chỉ dùng với phương thức 'pickup'",
                      "only with delivery_method 'pickup'")


def update(token: str, data: dict) -> dict:
    """Change contact, shipping address, delivery method, payment gateway or note. Flushes."""
    checkout, rows = load(token)
    require_open(checkout)
    with db.session.no_autoflush:
        _apply_details(checkout, data, rows)
    checkout.updated_at = utcnow()
    return _finish(checkout, rows, strict_vouchers="vouchers" in data)


def add_line(token: str, data: dict) -> dict:
    """Add a listed variant (or raise the quantity of its line). Flushes."""
    checkout, rows = load(token)
    require_open(checkout)
    variant, product, producer, listed = listed_variant(data.get("variant_id"), data.get("sku"))
    quantity = _check_quantity(data["quantity"])
    row = next((r for r in rows if r.variant.id == variant.id), None)
    if row is None:
        if len(rows) >= MAX_LINES:
            raise Conflict("checkout.too_many_lines", f"Giỏ hàng tối đa {MAX_LINES} dòng.",
                           f"A checkout holds at most {MAX_LINES} lines.")
        check_stock({variant.id: quantity}, {variant.id: variant})
        line = CheckoutLine(checkout_id=checkout.id, variant_id=variant.id, quantity=quantity,
                            created_at=utcnow())
        db.session.add(line)
        rows.append(Row(line, variant, product, producer, listed))
    else:
        total = _check_quantity(row.line.quantity + quantity)
        check_stock({variant.id: total}, {variant.id: variant}, {variant.id: row.free})
        row.line.quantity = total
    checkout.updated_at = utcnow()
    db.session.flush()
    return _finish(checkout, rows)


def _row(rows: list[Row], line_id: int) -> Row:
    row = next((r for r in rows if r.line.id == line_id), None)
    if row is None:
        raise NotFound("checkout_line", "dòng hàng")
    return row


def update_line(token: str, line_id: int, data: dict) -> dict:
    """Set a line's quantity (1…99; remove a line with DELETE). Flushes."""
    checkout, rows = load(token)
    require_open(checkout)
    row = _row(rows, line_id)
    quantity = _check_quantity(data["quantity"])
    require_listed((row.variant, row.product, row.producer, row.listed), row.variant.id)
    check_stock({row.variant.id: quantity}, {row.variant.id: row.variant}, {row.variant.id: row.free})
    row.line.quantity = quantity
    checkout.updated_at = utcnow()
    return _finish(checkout, rows)


def remove_line(token: str, line_id: int) -> dict:
    """Remove a line. Flushes."""
    checkout, rows = load(token)
    require_open(checkout)
    row = _row(rows, line_id)
    db.session.delete(row.line)
    rows.remove(row)
    if checkout.delivery_method == shipping.PICKUP and not rows:
        checkout.delivery_method = checkout.delivery_name = checkout.pickup_location_id = None
    checkout.updated_at = utcnow()
    return _finish(checkout, rows)
