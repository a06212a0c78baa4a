"""Google Merchant's rules for one feed item: what fails (the item is left out) and what is only a warning.

Limits: id ≤ 50, title ≤ 150, description ≤ 5,000, brand ≤ 70, custom labels ≤ 100 characters, links
http(s) ≤ 2,000; a price above 0; a sale price below the price; a valid GTIN or none
(``identifier_exists`` ``no``). Over-long titles, descriptions and brands are shortened at a word
boundary (a warning), never cut mid-word; everything else that fails refuses the item.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import ean

from plugins.marketplace_feeds.items import FeedItem

MAX_ID, MAX_TITLE, MAX_DESCRIPTION, MAX_BRAND, MAX_LABEL, MAX_URL = 50, 150, 5000, 70, 100, 2000
_URL = re.compile(r"https?://\S*\Z")
AVAILABILITY = ("in_stock", "out_of_stock", "preorder", "backorder")


@dataclass(frozen=True)
class Problem:
    item_id: str
    field: str
    rule: str
    severity: str  # error (item left out) / warning (item published, adjusted)
    message: str
    message_en: str

    def as_dict(self) -> dict:
        return {"item_id": self.item_id, "field": self.field, "rule": self.rule, "severity": self.severity,
                "message": self.message, "message_en": self.message_en}


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at the last space before it (ellipsis included)."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def _is_url(value: str | None) -> bool:
    return bool(value) and len(value) <= MAX_URL and _URL.match(value) is not None


_TEXT_LIMITS = (("title", MAX_TITLE), ("description", MAX_DESCRIPTION), ("brand", MAX_BRAND))
_NO_WEIGHT = ("shipping_weight", "shipping_weight.missing", "warning", "Hàng hoá chưa có khối lượng vận chuyển.",
              "The goods have no shipping weight.")


def check(item: FeedItem) -> list[Problem]:
    """The item's problems; adjusts over-long text fields in place (each such change is a warning)."""
    problems: list[Problem] = []
    item_id = item.id

    def error(field, rule, vi, en):
        problems.append(Problem(item_id, field, rule, "error", vi, en))

    if not item_id or len(item_id) > MAX_ID:
        error("id", "id.max_50", "Mã hàng (SKU) dài quá 50 ký tự.", "The id (SKU) is longer than 50 characters.")
    for field, limit in _TEXT_LIMITS:
        value = getattr(item, field)
        if not value:
            error(field, f"{field}.required", f"Thiếu {field}.", f"{field} is required.")
        elif len(value) > limit:
            setattr(item, field, shorten(value, limit))
            problems.append(Problem(item_id, field, f"{field}.max_{limit}", "warning",
                                    f"{field} được rút gọn còn {limit} ký tự.",
                                    f"{field} shortened to {limit} characters."))
    if not _is_url(item.link):
        error("link", "link.url", "Liên kết sản phẩm không hợp lệ.", "The product link is not a valid http(s) URL.")
    if not item.image_link:
        error("image_link", "image_link.required", "Sản phẩm chưa có ảnh (và sàn không có ảnh thay thế).",
              "The product has no image (and the marketplace has no fallback image).")
    elif not _is_url(item.image_link):
        error("image_link", "image_link.url", "Liên kết ảnh không hợp lệ.", "The image link is not a valid URL.")
    price, sale_price = item.price, item.sale_price
    if not isinstance(price, int) or price <= 0:
        error("price", "price.positive", "Giá phải lớn hơn 0.", "The price must be above 0.")
    elif sale_price is not None:
        if not 0 < sale_price < price:
            error("sale_price", "sale_price.below_price", "Giá khuyến mãi phải thấp hơn giá gốc.",
                  "The sale price must be below the price.")
        if item.sale_starts_at and item.sale_ends_at and item.sale_starts_at >= item.sale_ends_at:
            error("sale_price_effective_date", "sale_price_effective_date.order",
                  "Thời gian khuyến mãi không hợp lệ.", "The sale period ends before it starts.")
    if item.availability not in AVAILABILITY:
        error("availability", "availability.value", "Tình trạng hàng không hợp lệ.", "Unknown availability.")
    if item.gtin and not ean.is_valid(item.gtin):
        error("gtin", "gtin.check_digit", "Mã GTIN sai số kiểm tra.", "The GTIN's check digit is wrong.")
    for n, label in enumerate(item.custom_labels):
        if len(label) > MAX_LABEL:
            error(f"custom_label_{n}", "custom_label.max_100", "Nhãn tuỳ chỉnh dài quá 100 ký tự.",
                  "A custom label is longer than 100 characters.")
    if not item.is_service and not item.weight_g:
        problems.append(Problem(item_id, *_NO_WEIGHT))
    return problems


def refused(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)
