"""Pure rules of the feeds (no database): validation limits, shortening, links, the RSS namespace, statuses."""
from __future__ import annotations

import csv
import datetime as dt
import io
from types import SimpleNamespace

from lxml import etree

from plugins.marketplace_feeds import validation, writers
from plugins.marketplace_feeds.items import FeedItem
from plugins.marketplace_feeds.order_files import status_of
from plugins.marketplace_feeds.registry import product_link

UTC = dt.timezone.utc


def _item(**changes) -> FeedItem:
    values = dict(id="BL-BDX-1", item_group_id="ocop-2", product_id=2, variant_id=3, title="Bưởi - Loại 1",
                  description="Bưởi da xanh.", link="https://ocop.example.vn/san-pham/buoi?sku=BL-BDX-1",
                  image_link="https://ocop.example.vn/a.jpg", additional_image_links=[], price=65000,
                  sale_price=58500, sale_starts_at=dt.datetime(2026, 11, 21, 17, tzinfo=UTC),
                  sale_ends_at=dt.datetime(2026, 11, 26, 17, tzinfo=UTC), availability="in_stock", quantity=4,
                  brand="HTX Bình Lợi", gtin="8930000000026", is_service=False, weight_g=1500,
                  google_product_category="422", product_type="food",
                  custom_labels=("OCOP 3 sao", "Cấp huyện", "2027-09", "Đồng Nai", "food"), stars=3)
    values.update(changes)
    return FeedItem(**values)


def test_a_good_item_has_no_problem_and_each_broken_rule_is_named():
    assert validation.check(_item()) == []
    cases = {"id.max_50": _item(id="X" * 51), "gtin.check_digit": _item(gtin="8930000000027"),
             "sale_price.below_price": _item(sale_price=65000), "price.positive": _item(price=0),
             "image_link.required": _item(image_link=None), "link.url": _item(link="https://x/a b"),
             "sale_price_effective_date.order": _item(sale_ends_at=dt.datetime(2026, 11, 1, tzinfo=UTC))}
    for rule, item in cases.items():
        problems = validation.check(item)
        assert validation.refused(problems) and rule in {p.rule for p in problems}, rule


def test_long_text_is_shortened_at_a_word_boundary_with_a_warning():
    item = _item(title="Bưởi da xanh " * 20)
    problems = validation.check(item)
    assert not validation.refused(problems) and [p.rule for p in problems] == ["title.max_150"]
    assert len(item.title) <= 150 and item.title.endswith("…") and item.title[-2] != " "
    assert validation.shorten("ngắn", 150) == "ngắn"


def test_the_rss_declares_the_namespace_once_and_prices_in_vnd():
    out = io.BytesIO()
    writers.write_google_rss([_item(), _item(id="B", gtin=None)], out, title="t", link="l", description="d")
    xml = out.getvalue()
    assert xml.count(b"xmlns:g=") == 1 and b"ns0" not in xml
    items = etree.fromstring(xml).find("channel").findall("item")
    g = "{http://base.google.com/ns/1.0}"
    assert items[0].findtext(f"{g}price") == "65000 VND" and items[0].findtext("title") == "Bưởi - Loại 1"
    assert items[0].findtext(f"{g}sale_price_effective_date") == "2026-11-22T00:00+07:00/2026-11-27T00:00+07:00"
    assert items[1].findtext(f"{g}identifier_exists") == "no" and items[1].find(f"{g}gtin") is None
    assert items[0].findtext(f"{g}shipping_weight") == "1500 g"


def test_links_encode_the_sku_and_statuses_fold_marketplace_words():
    market = SimpleNamespace(code="shopee", product_url_template="{base}/p/{slug}?sku={sku}&m={marketplace}")
    assert product_link(market, "https://o.vn", "buoi", "A B&C", 1, 2) == "https://o.vn/p/buoi?sku=A%20B%26C&m=shopee"
    assert [status_of(w) for w in ("Chờ xác nhận", "AWAITING_SHIPMENT", "Đang giao", "Hoàn thành", "Đã hủy",
                                   "Trả hàng/Hoàn tiền", "?")] == \
        ["new", "new", "shipped", "delivered", "cancelled", "returned", None]


def test_the_hand_written_rss_escapes_text_and_drops_what_xml_cannot_hold():
    title = 'Mứt "gừng" & <quế> loại 1\x07\x1f'
    out = io.BytesIO()
    writers.write_google_rss([_item(title=title, brand="A&B", additional_image_links=["https://x.vn/a.jpg?w=1&h=2"])],
                             out, title="Kênh <OCOP> & bạn", link="https://o.vn/?a=1&b=2", description="d")
    channel = etree.fromstring(out.getvalue()).find("channel")  # parses: escaped, no control character left
    assert channel.findtext("title") == "Kênh <OCOP> & bạn" and channel.findtext("link") == "https://o.vn/?a=1&b=2"
    item = channel.find("item")
    g = "{http://base.google.com/ns/1.0}"
    assert item.findtext("title") == 'Mứt "gừng" & <quế> loại 1'
    assert item.findtext(f"{g}brand") == "A&B"
    assert item.findtext(f"{g}additional_image_link") == "https://x.vn/a.jpg?w=1&h=2"
    assert writers.xml_text("a\ud800b\ufffe<") == "ab&lt;"


def test_csv_rows_stay_one_line_and_quote_what_needs_it():
    rows = [_item(title='Bưởi, "loại 1"', description="dòng 1\ndòng 2\tcột"), _item(id="B")]
    out = io.BytesIO()
    writers.write_meta_csv(rows, out)
    text = out.getvalue().decode("utf-8")
    assert text.count("\n") == 3  # the header and one line per item
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["title"] == 'Bưởi, "loại 1"' and parsed[0]["description"] == "dòng 1 dòng 2 cột"
    assert parsed[0]["price"] == "65000 VND" and parsed[0]["availability"] == "in stock" and parsed[1]["id"] == "B"
