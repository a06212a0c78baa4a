"""Streamed feed writers: Google Merchant RSS 2.0 (``g:`` namespace) and TSV, Google local inventory TSV,
Meta catalog CSV, JSON. Each writes items one by one to a binary sink; nothing holds the whole document.

With lxml's ``xmlfile`` the ``g`` namespace map is declared once on ``<rss>`` and every element is written
with ``xf.element`` inside it, so no item redeclares a namespace (``ns0:``, ``ns1:`` …).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Iterable, Iterator

from lxml import etree

from core import clock
from plugins.marketplace_feeds.items import FeedItem

G = "http://base.google.com/ns/1.0"
NSMAP = {"g": G}
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
    return {"id": item.id, "item_group_id": item.item_group_id, "title": item.title, "description": item.description,
            "link": item.link, "image_link": item.image_link or "",
            "additional_image_link": ",".join(item.additional_image_links),
            "availability": item.availability, "price": money(item.price), "sale_price": money(item.sale_price),
            "sale_price_effective_date": effective_date(item), "brand": item.brand, "gtin": item.gtin or "",
            "identifier_exists": "" if item.gtin else "no", "condition": "new",
            "google_product_category": item.google_product_category or "", "product_type": item.product_type,
            "shipping_weight": f"{item.weight_g} g" if item.weight_g and not item.is_service else "",
            **{f"custom_label_{n}": label for n, label in enumerate(item.custom_labels)}}


def _leaf(xf, tag: str, text: str) -> None:
    with xf.element(tag):
        xf.write(text)


#: element tags of the Google attributes, built once (``{namespace}name`` inside the ``g`` map declared on <rss>)
_TAGS = {name: name if name in RSS_ELEMENTS else f"{{{G}}}{name}" for name in GOOGLE_COLUMNS}


def write_google_rss(items: Iterable[FeedItem], sink, *, title: str, link: str, description: str) -> None:
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("rss", {"version": "2.0"}, nsmap=NSMAP):
            with xf.element("channel"):
                _leaf(xf, "title", title)
                _leaf(xf, "link", link)
                _leaf(xf, "description", description)
                element, write, tags = xf.element, xf.write, _TAGS
                for item in items:  # libxml2 hands the output on in 4 KB chunks: no flush per item
                    with element("item"):
                        for name, value in google_fields(item).items():
                            if name == "additional_image_link":
                                for extra in item.additional_image_links:
                                    with element(tags[name]):
                                        write(extra)
                            elif value:
                                with element(tags[name]):
                                    write(value)


#: free-text columns, written on one line (tabs and line breaks become spaces); the others never hold any
TEXT_COLUMNS = frozenset(("title", "description", "brand", "product_type", "custom_label_3", "store_code"))


def _clean(value) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _write_table(rows: Iterator[dict], sink, columns, delimiter: str) -> None:
    text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
    writer = csv.writer(text, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(columns)
    text_columns = [c in TEXT_COLUMNS for c in columns]
    for row in rows:
        writer.writerow([_clean(row.get(c)) if is_text else row.get(c, "")
                         for c, is_text in zip(columns, text_columns)])
    text.flush()
    text.detach()


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
