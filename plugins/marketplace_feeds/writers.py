"""Streamed feed writers: Google Merchant RSS 2.0 (``g:`` namespace) and TSV, Google local inventory TSV,
Meta catalog CSV, JSON. Each writes items one by one to a binary sink; nothing holds the whole document.

The RSS is escaped text written by hand (the ``g`` namespace declared once on ``<rss>``, so no item
redeclares one); it takes less than half the CPU of lxml's ``xmlfile``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Iterable, Iterator

from core import clock
from plugins.marketplace_feeds.items import FeedItem

G = "http://base.google.com/ns/1.0"
RSS_ELEMENTS = ("title", "link", "description")  # RSS 2.0's own item elements; every other attribute is g:
GOOGLE_COLUMNS = ("id", "item_group_id", "title", "description", "link", "image_link", "additional_image_link",
                  "availability", "price", "sale_price", "sale_price_effective_date", "brand", "gtin",
                  "identifier_exists", "condition", "google_product_category", "product_type", "shipping_weight",
                  "custom_label_0", "custom_label_1", "custom_label_2", "custom_label_3", "custom_label_4")
META_COLUMNS = ("id", "title", "description", "availability", "condition", "price", "link", "image_link", "brand",
                "sale_price", "sale_price_effective_date", "item_group_id", "google_product_category", "gtin",
                "quantity_to_sell_on_facebook", "custom_label_0", "custom_label_1", "custom_label_2",
                "custom_label_3", "custom_label_4")
LOCAL_COLUMNS = ("store_code", "id", "availability", "quantity", "price", "sale_price", "sale_price_effective_date")


def money(amount: int | None) -> str:
    return f"{amount} VND" if amount is not None else ""


def vn_time(moment: dt.datetime) -> str:
    return moment.astimezone(clock.VN_TZ).isoformat(timespec="minutes")


def effective_date(item) -> str:
    """``start/end`` in ISO 8601 with the +07:00 offset, when the item has a sale price."""
    if item.sale_price is None or not (item.sale_starts_at and item.sale_ends_at):
        return ""
    return f"{vn_time(item.sale_starts_at)}/{vn_time(item.sale_ends_at)}"


def google_fields(item: FeedItem) -> dict[str, str]:
    """The Google Merchant attributes of an item (empty strings are left out of the RSS)."""
    labels = item.custom_labels
    return {"id": item.id, "item_group_id": item.item_group_id, "title": item.title, "description": item.description,
            "link": item.link, "image_link": item.image_link or "",
            "additional_image_link": ",".join(item.additional_image_links),
            "availability": item.availability, "price": money(item.price), "sale_price": money(item.sale_price),
            "sale_price_effective_date": effective_date(item), "brand": item.brand, "gtin": item.gtin or "",
            "identifier_exists": "" if item.gtin else "no", "condition": "new",
            "google_product_category": item.google_product_category or "", "product_type": item.product_type,
            "shipping_weight": f"{item.weight_g} g" if item.weight_g and not item.is_service else "",
            "custom_label_0": labels[0], "custom_label_1": labels[1], "custom_label_2": labels[2],
            "custom_label_3": labels[3], "custom_label_4": labels[4]}


#: characters XML 1.0 does not allow in text (C0 controls but tab and line breaks, lone surrogates, U+FFFE/F)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: what :func:`xml_text` changes (most values hold none of it and are written as they are)
_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` as XML character data: ``&``, ``<``, ``>`` escaped, characters XML cannot hold dropped."""
    if _NOT_XML.search(value):
        value = _NOT_XML.sub("", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: ``(open, close)`` tags of the Google attributes: RSS's own elements bare, the others in the ``g`` namespace
_TAGS = {name: (f"<{name}>", f"</{name}>") if name in RSS_ELEMENTS else (f"<g:{name}>", f"</g:{name}>")
         for name in GOOGLE_COLUMNS}
_RSS_HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n<rss xmlns:g="{g}" version="2.0"><channel>'
             "<title>{title}</title><link>{link}</link><description>{description}</description>")
_FLUSH_ITEMS = 200  # items joined per write (about 200 KB): few calls into gzip and the hash


def write_google_rss(items: Iterable[FeedItem], sink, *, title: str, link: str, description: str) -> None:
    """RSS 2.0 with the ``g`` namespace declared once on ``<rss>``: written as escaped text item by item (the
    lxml ``xmlfile`` writer took over twice the CPU; the feed test parses every item)."""
    sink.write(_RSS_HEAD.format(g=G, title=xml_text(title), link=xml_text(link),
                                description=xml_text(description)).encode("utf-8"))
    parts: list[str] = []
    pending, special, tags = 0, _SPECIAL.search, _TAGS
    extra_open, extra_close = _TAGS["additional_image_link"]
    for item in items:
        parts.append("<item>")
        for name, value in google_fields(item).items():
            if name == "additional_image_link":
                for extra in item.additional_image_links:
                    parts += (extra_open, xml_text(extra) if special(extra) else extra, extra_close)
            elif value:
                opening, closing = tags[name]
                parts += (opening, xml_text(value) if special(value) else value, closing)
        parts.append("</item>\n")
        pending += 1
        if pending == _FLUSH_ITEMS:
            sink.write("".join(parts).encode("utf-8"))
            parts.clear()
            pending = 0
    parts.append("</channel></rss>\n")
    sink.write("".join(parts).encode("utf-8"))


#: free-text columns, written on one line (tabs and line breaks become spaces); the others never hold any
TEXT_COLUMNS = frozenset(("title", "description", "brand", "product_type", "custom_label_3", "store_code"))


def _clean(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _write_table(rows: Iterator[dict], sink, columns, delimiter: str) -> None:
    """Rows as CSV/TSV, encoded and handed to ``sink`` every :data:`_FLUSH_ITEMS` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(columns)
    text_columns = [n for n, c in enumerate(columns) if c in TEXT_COLUMNS]
    for n, row in enumerate(rows, 1):
        values = [row.get(c, "") for c in columns]
        for i in text_columns:
            values[i] = _clean(values[i])
        writer.writerow(values)
        if n % _FLUSH_ITEMS == 0:
            sink.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    sink.write(buffer.getvalue().encode("utf-8"))


def write_google_tsv(items: Iterable[FeedItem], sink, **_) -> None:
    _write_table((google_fields(item) for item in items), sink, GOOGLE_COLUMNS, "\t")


def meta_fields(item: FeedItem) -> dict[str, str]:
    row = google_fields(item)
    row["availability"] = item.availability.replace("_", " ")
    row["quantity_to_sell_on_facebook"] = "" if item.quantity is None else str(item.quantity)
    return row


def write_meta_csv(items: Iterable[FeedItem], sink, **_) -> None:
    _write_table((meta_fields(item) for item in items), sink, META_COLUMNS, ",")


def json_fields(item: FeedItem) -> dict:
    return {"id": item.id, "item_group_id": item.item_group_id, "product_id": item.product_id,
            "variant_id": item.variant_id, "title": item.title, "description": item.description, "link": item.link,
            "image_links": ([item.image_link] if item.image_link else []) + item.additional_image_links,
            "price": item.price, "sale_price": item.sale_price,
            "sale_starts_at": vn_time(item.sale_starts_at) if item.sale_price and item.sale_starts_at else None,
            "sale_ends_at": vn_time(item.sale_ends_at) if item.sale_price and item.sale_ends_at else None,
            "currency": "VND", "availability": item.availability, "quantity": item.quantity, "brand": item.brand,
            "gtin": item.gtin, "is_service": item.is_service, "weight_g": item.weight_g,
            "google_product_category": item.google_product_category, "category": item.product_type,
            "ocop": {"stars": item.stars, "level": item.custom_labels[1], "expires": item.custom_labels[2]}}


def write_json(items: Iterable[FeedItem], sink, *, title: str, link: str, description: str) -> None:
    head = json.dumps({"title": title, "link": link, "description": description}, ensure_ascii=False)
    sink.write(head[:-1].encode("utf-8") + b', "items": [')
    for n, item in enumerate(items):
        sink.write((b",\n" if n else b"\n") + json.dumps(json_fields(item), ensure_ascii=False).encode("utf-8"))
    sink.write(b"\n]}\n")


def write_local_inventory(rows: Iterable[dict], sink, **_) -> None:
    """Rows already shaped ``{store_code, id, availability, quantity, price, sale_price, …}``."""
    _write_table(iter(rows), sink, LOCAL_COLUMNS, "\t")
