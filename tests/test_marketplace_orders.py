"""Marketplace order import: CSV/XLSX exports and the signed webhook → core orders on ``marketplace:<code>``,
once per marketplace order id, all or nothing per file, statuses mapped onto core transitions."""
from __future__ import annotations

import io
import json

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.db import db
from core.pricing.models import PromotionUsage
from core.sales.models import Order, SalesChannel
from plugins.marketplace_feeds.models import MarketplaceOrder, OrderImport
from plugins.marketplace_feeds.signing import sign
from support.checks import error_of, row_counts
from support.marketplace import BASE, seed_marketplaces
from support.orders import stock_of

HEADER = "order_id,status,sku,quantity,unit_price,buyer_name,phone,address,tracking_no"
#: Shopee's own export headers (Vietnamese), as the seller downloads them
SHOPEE_HEADER = ["Mã đơn hàng", "Trạng Thái Đơn Hàng", "SKU phân loại hàng", "Số lượng", "Giá ưu đãi",
                 "Tên Người nhận", "Số điện thoại", "Địa chỉ nhận hàng"]


@pytest.fixture
def markets(app, demo):
    return seed_marketplaces()["marketplaces"]


def _csv(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode("utf-8")


def _upload(client, headers, marketplace_id, data: bytes, name="orders.csv"):
    return client.post(f"{BASE}/{marketplace_id}/orders/import", headers=headers,
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _orders() -> int:
    db.session.rollback()
    return db.session.execute(select(func.count(Order.id))).scalar_one()


def _without_numbering(counts: dict) -> dict:
    """Row counts but the order-number counter: on PostgreSQL numbers are taken outside the transaction
    (``core.sales.orders.reserve_number``), so a refused file leaves a gap in the numbers, as checkout does."""
    return {k: v for k, v in counts.items() if k != "order_number_counter"}


def _order(external_id: str) -> Order:
    db.session.rollback()
    link = db.session.execute(select(MarketplaceOrder).where(MarketplaceOrder.external_id == external_id)).scalar_one()
    return db.session.get(Order, link.order_id)


NEW = ("SP-1001,Chờ xác nhận,BL-BDX-1,2,58500,Nguyễn Văn A,0912345678,Biên Hoà,",
       "SP-1001,Chờ xác nhận,BL-TDB-10,1,90000,Nguyễn Văn A,0912345678,Biên Hoà,",
       "SP-1002,Chờ lấy hàng,VQ-CAM-5KG,1,250000,Trần Thị B,0987654321,Long Khánh,")


def test_importing_the_same_export_twice_creates_each_order_once(client, login, markets):
    admin = login("admin")
    stock_before = stock_of("BL-BDX-1")
    before = _orders()
    first = _upload(client, admin, markets["shopee"], _csv(*NEW))
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["created"], body["updated"], body["duplicate"]) == (2, 0, 0)
    assert [r["outcome"] for r in body["rows"]] == ["created"] * 3 and body["rows"][0]["row"] == 2
    assert _orders() == before + 2
    order = _order("SP-1001")
    channel = db.session.get(SalesChannel, order.channel_id)
    assert (channel.kind, channel.code) == ("marketplace", "marketplace:shopee")
    assert order.status == "confirmed" and order.client_ref == "SP-1001" and order.total == 2 * 58500 + 90000
    assert order.attribution == {"source": "marketplace", "reference": "marketplace:shopee"}
    assert {l.sku: (l.quantity, l.unit_price) for l in order.lines} == {"BL-BDX-1": (2, 58500),
                                                                        "BL-TDB-10": (1, 90000)}
    assert stock_of("BL-BDX-1") == (stock_before[0], stock_before[1] + 2)  # allocated at the producer's warehouse
    again = _upload(client, admin, markets["shopee"], _csv(*NEW))
    assert again.status_code == 201
    assert (again.get_json()["created"], again.get_json()["duplicate"]) == (0, 2)
    assert _orders() == before + 2 and stock_of("BL-BDX-1") == (stock_before[0], stock_before[1] + 2)
    # the campaign's price (10% off Bình Lợi on marketplaces) was charged: its usage counts the order
    usage = db.session.execute(select(PromotionUsage)).scalars().all()
    assert [(u.order_ref, u.units) for u in usage] == [(f"order:{order.number}", 2)]
    report = client.get(f"{BASE}/reports/campaigns", headers=admin).get_json()["results"][0]
    assert report["orders"] == 1 and report["gmv"] == 2 * 58500


def test_status_updates_follow_the_core_transitions(client, login, markets):
    admin = login("admin")
    assert _upload(client, admin, markets["shopee"], _csv(*NEW)).status_code == 201
    on_hand, allocated = stock_of("BL-BDX-1")
    update = _csv("SP-1001,Đang giao,BL-BDX-1,2,58500,,,,GHN123",
                  "SP-1001,Đang giao,BL-TDB-10,1,90000,,,,GHN123",
                  "SP-1002,Đã hủy,VQ-CAM-5KG,1,250000,,,,")
    r = _upload(client, admin, markets["shopee"], update)
    assert r.status_code == 201 and r.get_json()["updated"] == 2, r.get_json()
    shipped, cancelled = _order("SP-1001"), _order("SP-1002")
    assert shipped.status == "fulfilled" and shipped.fulfilments[0].tracking_no == "GHN123"
    assert stock_of("BL-BDX-1") == (on_hand - 2, allocated - 2)
    assert cancelled.status == "cancelled" and all(l.allocated_quantity == 0 for l in cancelled.lines)
    delivered = _upload(client, admin, markets["shopee"], _csv("SP-1001,Hoàn thành,BL-BDX-1,2,58500,,,,"))
    assert delivered.get_json()["updated"] == 1 and _order("SP-1001").status == "completed"
    stale = _upload(client, admin, markets["shopee"], _csv(*NEW[:1]))  # an older export: nothing moves back
    assert stale.get_json()["duplicate"] == 1 and _order("SP-1001").status == "completed"
    returned = _upload(client, admin, markets["shopee"], _csv("SP-1001,Trả hàng/Hoàn tiền,BL-BDX-1,2,58500,,,,"))
    assert returned.get_json()["updated"] == 1 and _order("SP-1001").status == "refunded"
    before = row_counts()
    error = error_of(_upload(client, admin, markets["shopee"], _csv("SP-1002,Đang giao,VQ-CAM-5KG,1,250000,,,,")),
                     422, "marketplace_import.refused")
    assert "cannot go from cancelled" in error["details"]["rows"][0]["reason"]
    assert row_counts() == before


def test_a_file_with_one_bad_order_writes_nothing_and_reports_each_row(client, login, markets):
    admin = login("admin")
    before = row_counts()
    bad = _csv(*NEW, "SP-1003,Chờ xác nhận,NO-SUCH-SKU,1,1000,,,,", "SP-1004,Chờ xác nhận,BL-BDX-1,0,1000,,,,",
               "SP-1005,Bay mất,BL-BDX-1,1,1000,,,,", "SP-1006,Chờ xác nhận,BL-BDX-1,999999,1000,,,,")
    error = error_of(_upload(client, admin, markets["shopee"], bad), 422, "marketplace_import.refused")
    rows = {r["order_id"]: r for r in error["details"]["rows"]}
    assert rows["SP-1001"]["outcome"] == "created"  # would have been created, but nothing is written
    assert "unknown SKU NO-SUCH-SKU" in rows["SP-1003"]["reason"]
    assert "quantity" in rows["SP-1004"]["reason"] and "unknown status" in rows["SP-1005"]["reason"]
    assert rows["SP-1006"]["outcome"] == "refused" and "quantity" in rows["SP-1006"]["reason"]
    assert _without_numbering(row_counts()) == _without_numbering(before)


def test_malformed_files_are_refused_with_a_clear_4xx(client, login, markets):
    admin = login("admin")
    before = row_counts()
    error_of(_upload(client, admin, markets["shopee"], b"a,b,c\n1,2,3\n"), 422, "marketplace_import.missing_columns")
    error_of(_upload(client, admin, markets["shopee"], b""), 422, "marketplace_import.empty")
    error_of(_upload(client, admin, markets["shopee"], "Mã đơn hàng\n".encode("utf-16")), 422)
    error_of(_upload(client, admin, markets["shopee"], b"PK\x03\x04garbage", name="orders.xlsx"), 422,
             "marketplace_import.bad_file")
    error_of(_upload(client, admin, markets["shopee"], b"%PDF-1.4", name="orders.pdf"), 422,
             "marketplace_import.unsupported")
    error_of(client.post(f"{BASE}/{markets['shopee']}/orders/import", headers=admin, data={},
                         content_type="multipart/form-data"), 422, "marketplace_import.no_file")
    error_of(_upload(client, admin, 999999, _csv(*NEW)), 404)
    # a producer not present on Postmart cannot have its SKUs sold there
    error = error_of(_upload(client, admin, markets["postmart"], _csv(NEW[2])), 422)
    assert "does not sell on postmart" in error["details"]["rows"][0]["reason"]
    assert row_counts() == before


def test_import_refused_callers(client, login, markets):
    producer, certifier = login("cs.htx-binh-loi"), login("hoidong.dongnai")
    before = row_counts()
    error_of(_upload(client, {}, markets["shopee"], _csv(*NEW)), 401)
    error_of(_upload(client, producer, markets["shopee"], _csv(*NEW)), 403)
    error_of(_upload(client, certifier, markets["shopee"], _csv(*NEW)), 403)
    assert row_counts() == before


def test_an_xlsx_export_with_the_marketplace_headers(client, login, markets):
    book = Workbook()
    sheet = book.active
    sheet.append(SHOPEE_HEADER)
    sheet.append(["250101ABC", "Chờ xác nhận", "BL-BDX-HOP2", 1, 139000, "Lê C", "0901234567", "Trảng Bom"])
    sheet.append(["250101ABC", "Chờ xác nhận", "BL-BDX-1", 3, 58500, "Lê C", "0901234567", "Trảng Bom"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = _upload(client, login("sct.dongnai"), markets["shopee"], buffer.getvalue(), name="Order.all.xlsx")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["source"] == "xlsx" and r.get_json()["created"] == 1
    order = _order("250101ABC")
    assert order.total == 139000 + 3 * 58500 and order.full_name == "Lê C"
    assert db.session.execute(select(func.count(OrderImport.id))).scalar_one() == 1


# --- the webhook ----------------------------------------------------------------------------------
def _secret(client, login, marketplace_id) -> str:
    return client.get(f"{BASE}/{marketplace_id}", headers=login("admin")).get_json()["webhook_secret"]


def _push(client, code, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Marketplace-Signature"] = signature
    return client.post(f"/storefront/v1/marketplaces/{code}/orders/webhook", data=body, headers=headers)


WEBHOOK = {"orders": [{"order_id": "TT-577", "status": "AWAITING_SHIPMENT", "buyer_name": "Phạm D",
                       "phone": "0911222333", "lines": [{"sku": "BL-BDX-1", "quantity": 1, "unit_price": 58500}]}]}


def test_a_signed_webhook_creates_once_and_a_replay_creates_nothing(client, login, markets):
    secret = _secret(client, login, markets["google"])
    body = json.dumps(WEBHOOK).encode()
    before = _orders()
    first = _push(client, "google", body, sign(secret, body))
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["created"] == 1 and _orders() == before + 1
    replay = _push(client, "google", body, sign(secret, body))
    assert replay.status_code == 201 and replay.get_json()["duplicate"] == 1 and _orders() == before + 1
    shipped = json.dumps({**WEBHOOK["orders"][0], "status": "IN_TRANSIT", "tracking_no": "SPX9"}).encode()
    r = _push(client, "google", shipped, sign(secret, shipped))
    assert r.status_code == 201 and r.get_json()["updated"] == 1 and _order("TT-577").status == "fulfilled"


def test_a_bad_signature_or_body_writes_nothing(client, login, markets):
    secret = _secret(client, login, markets["google"])
    body = json.dumps(WEBHOOK).encode()
    before = row_counts()
    error_of(_push(client, "google", body, None), 401, "marketplace.bad_signature")
    error_of(_push(client, "google", body, "sha256=" + "0" * 64), 401, "marketplace.bad_signature")
    error_of(_push(client, "google", body, sign("another-secret", body)), 401, "marketplace.bad_signature")
    error_of(_push(client, "nowhere", body, sign(secret, body)), 401, "marketplace.bad_signature")
    for bad in (b"{not json", b"\xff\xfe", json.dumps({"orders": []}).encode(), json.dumps([1, 2]).encode(),
                json.dumps({"orders": ["x"]}).encode(), json.dumps({"order_id": "A", "status": "new"}).encode(),
                json.dumps({"orders": [{"order_id": "A", "status": "new", "lines": [{"sku": None}]}]}).encode()):
        error_of(_push(client, "google", bad, sign(secret, bad)), 422)
    assert row_counts() == before
    r = client.post(f"{BASE}/{markets['google']}/rotate", headers=login("admin"), json={"what": "webhook_secret"})
    assert r.status_code == 200
    error_of(_push(client, "google", body, sign(secret, body)), 401)  # the old secret no longer works
    assert _orders() == before["order"]
