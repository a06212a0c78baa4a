"""Bank transfer with VietQR: the code a shopper scans, reconciliation by statement and by webhook,
partial and over-payments, late money, the unmatched queue, receiving accounts and the till's code."""
from __future__ import annotations

import io
import json
import time

import openpyxl
import pytest
import zxingcpp
from PIL import Image

from core.payments import vietqr
from core.payments.money import format_vnd
from plugins.bank_transfer import casso
from plugins.bank_transfer.config import DEMO_ACCOUNT_ENV
from plugins.bank_transfer.gateway import find_references, reference_for
from support.checks import error_of, row_counts
from support.orders import order_id, place_order

BASE = "/admin/v1/payments/bank-transfer"
WEBHOOK = "/storefront/v1/payments/bank-transfer/webhooks/casso"
SECRET = "casso-checksum-key-for-tests"
# Casso's published webhook v2 sample (body, checksum key, X-Casso-Signature)
CASSO_SAMPLE = {"error": 0, "data": {
    "id": 0, "reference": "MA_GIAO_DICH_THU_NGHIEM", "description": "giao dich thu nghiem", "amount": 599000,
    "runningBalance": 25000000, "transactionDateTime": "2024-10-03 15:06:37", "accountNumber": "88888888",
    "bankName": "VPBank", "bankAbbreviation": "VPB", "virtualAccountNumber": "", "virtualAccountName": "",
    "counterAccountName": "NGUYEN VAN A", "counterAccountNumber": "8888888888", "counterAccountBankId": "970415",
    "counterAccountBankName": "VietinBank"}}
CASSO_KEY = "mgExMrjj4i7a1p8Cs6LmFbpCd8lbw4sSX4LZXPag7TKazeIogtR90tvWYTkwQbvs"
CASSO_SIGNATURE = ("t=1727948258788,v1=ed0a4bd2e826d5cb69988cdb141e6c1a080e21f3b57eb72cd78192220042b9e7dde0868fc"
                   "667faea8e224900fa7904e7c88dfa098032fb2d6b6996856e8b7ff3")


def bank_order(client, lines=(("BL-BDX-1", 2),)):
    order = place_order(client, list(lines), gateway="bank_transfer")
    payment = next(p for p in order["payments"] if p["gateway"] == "bank_transfer")
    return order, payment


def statement(rows) -> bytes:
    lines = ["Ngày giao dịch;Số tham chiếu;Số tiền ghi có;Nội dung"] + [";".join(map(str, r)) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def dotted(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def post_statement(client, headers, data: bytes):
    return client.post(f"{BASE}/statements", data=data, headers={**headers, "Content-Type": "text/csv"})


def casso_post(client, data: dict, secret=SECRET, timestamp_ms=None):
    timestamp_ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    return client.post(WEBHOOK, data=json.dumps(data, ensure_ascii=False).encode(),
                       headers={"Content-Type": "application/json",
                                "X-Casso-Signature": casso.sign(data, secret, timestamp_ms)})


def casso_body(reference: str, amount: int, description: str) -> dict:
    return {"error": 0, "data": {"id": 91, "reference": reference, "description": description, "amount": amount,
                                 "transactionDateTime": "2026-11-23 10:15:00", "accountNumber": "1023456789",
                                 "bankName": "Vietcombank", "bankAbbreviation": "VCB"}}


def shopper_view(client, token):
    return client.get(f"/storefront/v1/orders/{token}").get_json()


@pytest.fixture
def webhook_secret(monkeypatch):
    monkeypatch.setenv("OCOP_BANK_WEBHOOK_SECRET", SECRET)


def test_demo_order_shows_a_vietqr_code_that_decodes_back_and_a_statement_line_pays_it_once(client, login, demo):
    order, payment = bank_order(client)
    data = payment["client_data"]
    assert data["amount"] == order["total"] and data["amount_text"] == format_vnd(order["total"])
    assert data["amount_text"] in data["instructions"] and data["reference"] == payment["transfer_reference"]
    png = client.get(data["qr_png_url"])
    assert png.status_code == 200 and png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [d.text for d in decoded] == [data["vietqr"]]
    parsed = vietqr.parse_payload(decoded[0].text)  # CRC checked
    assert (parsed.bank_bin, parsed.account_no) == (DEMO_ACCOUNT_ENV["OCOP_BANK_BIN"],
                                                     DEMO_ACCOUNT_ENV["OCOP_BANK_ACCOUNT_NO"])
    assert (parsed.amount, parsed.purpose, parsed.currency) == (order["total"], payment["transfer_reference"], "704")
    assert parsed.merchant_name == "HTX DICH VU OCOP DONG NAI" and parsed.merchant_city == "Dong Nai"
    svg = client.get(data["qr_svg_url"])
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    # the order status page carries the same code
    assert shopper_view(client, order["token"])["payments"][0]["client_data"]["vietqr"] == data["vietqr"]
    error_of(client.get("/storefront/v1/payments/bank-transfer/orders/nope/qr.png"), 404, "order.not_found")

    # the bank lower-cases the text, glues the reference to other words and a phone number
    admin = login("admin")
    text = f"MBVCB.3278907687.thanhtoan{payment['transfer_reference'].lower()}0912345678.CT tu NGUYEN VAN A"
    csv = statement([("23/11/2026", "FT26327001", dotted(order["total"]), text)])
    body = post_statement(client, admin, csv).get_json()
    assert (body["paid"], body["lines"][0]["outcome"], body["lines"][0]["reference"]) == (
        1, "paid", payment["transfer_reference"])
    view = shopper_view(client, order["token"])
    assert (view["status"], view["paid_amount"], view["payment_status"]) == ("paid", order["total"], "paid")
    # the QR is gone once nothing is pending
    error_of(client.get(data["qr_png_url"]), 404, "vietqr.not_found")
    before = row_counts()
    again = post_statement(client, admin, csv).get_json()
    assert (again["paid"], again["already_processed"]) == (0, 1)
    assert row_counts() == before and shopper_view(client, order["token"])["paid_amount"] == order["total"]


def test_casso_webhook_pays_once_and_bad_signatures_change_nothing(client, demo, webhook_secret):
    order, payment = bank_order(client)
    body = casso_body("FT26327999", order["total"], f"CT DEN:{payment['transfer_reference']} NGUYEN THI LAN")
    before = row_counts()
    for response in (
        client.post(WEBHOOK, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}),
        casso_post(client, body, secret="not-the-key"),
        casso_post(client, body, timestamp_ms=int(time.time() * 1000) - 3600_000),
        client.post(WEBHOOK, data=json.dumps({**body, "data": {**body["data"], "amount": 1}}).encode(),
                    headers={"Content-Type": "application/json",
                             "X-Casso-Signature": casso.sign(body, SECRET, int(time.time() * 1000))}),
        client.post(WEBHOOK, data=b"\xff not json", headers={"X-Casso-Signature": "t=1,v1=" + "0" * 128}),
    ):
        error_of(response, 400, "bank_transfer.bad_signature")
    assert row_counts() == before
    answer = casso_post(client, body)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["results"][0]["outcome"] == "paid"
    assert shopper_view(client, order["token"])["status"] == "paid"
    before = row_counts()
    replay = casso_post(client, body).get_json()
    assert replay["results"][0]["outcome"] == "already_processed" and row_counts() == before
    # the same transfer found later on a statement (same bank reference) is not counted again
    csv = statement([("23/11/2026", "FT26327999", order["total"], body["data"]["description"])])
    from plugins.bank_transfer import services
    assert services.import_statement(csv)["already_processed"] == 1 and row_counts() == before


def test_casso_published_sample_verifies(monkeypatch):
    raw = json.dumps(CASSO_SAMPLE).encode()
    assert casso.verify(raw, CASSO_SIGNATURE, CASSO_KEY, now=1727948258.788) == CASSO_SAMPLE
    assert casso.sign(CASSO_SAMPLE, CASSO_KEY, 1727948258788) == CASSO_SIGNATURE
    with pytest.raises(Exception) as stale:
        casso.verify(raw, CASSO_SIGNATURE, CASSO_KEY)  # years later: outside the tolerance
    assert stale.value.code == "bank_transfer.bad_signature"
    transfer = casso.transfers(CASSO_SAMPLE)[0]
    assert (transfer.transaction_id, transfer.amount, transfer.account_no) == ("MA_GIAO_DICH_THU_NGHIEM", 599000,
                                                                             "88888888")
    assert transfer.occurred_at.isoformat() == "2024-10-03T08:06:37+00:00"  # Vietnam time → UTC


def test_webhook_not_configured_is_503(client, demo, monkeypatch):
    monkeypatch.delenv("OCOP_BANK_WEBHOOK_SECRET", raising=False)
    error_of(casso_post(client, casso_body("X1", 1000, "x")), 503, "bank_transfer.webhook_not_configured")


def test_partial_transfers_then_overpayment_are_recorded_and_never_double_paid(client, login, demo, webhook_secret):
    order, payment = bank_order(client)
    total, ref = order["total"], payment["transfer_reference"]
    first = casso_post(client, casso_body("FT1", 100000, f"{ref} dot 1")).get_json()["results"][0]
    assert (first["outcome"], shopper_view(client, order["token"])["status"]) == ("partial", "unconfirmed")
    second = casso_post(client, casso_body("FT2", total - 100000 + 5000, f"{ref} dot 2")).get_json()["results"][0]
    assert (second["outcome"], second["refund_due"]) == ("overpaid", 5000)
    view = shopper_view(client, order["token"])
    assert (view["status"], view["paid_amount"]) == ("paid", total)
    third = casso_post(client, casso_body("FT3", 20000, f"{ref} lan nua")).get_json()["results"][0]
    assert (third["outcome"], third["refund_due"]) == ("refund_due", 20000)
    assert shopper_view(client, order["token"])["paid_amount"] == total  # never doubled

    admin = login("admin")
    oid = order_id(order["number"])
    listed = client.get(f"{BASE}/transactions?order_id={oid}", headers=admin).get_json()
    assert [(t["status"], t["applied_amount"]) for t in listed["results"]] == [
        ("refund_due", 0), ("overpaid", total - 100000), ("partial", 100000)]
    history = [e["kind"] for e in client.get(f"/admin/v1/orders/{oid}/events", headers=admin).get_json()]
    assert "bank_transfer_partial" in history and history.count("bank_transfer_refund_due") == 2
    due = client.get(f"{BASE}/refunds-due?status=open", headers=admin).get_json()
    assert sorted((r["amount"], r["reason"]) for r in due["results"]) == [(5000, "overpayment"),
                                                                         (20000, "already_paid")]
    first_due = due["results"][0]["id"]
    closed = client.post(f"{BASE}/refunds-due/{first_due}/close", headers=admin,
                         json={"status": "refunded", "note": "đã chuyển trả"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "refunded"
    error_of(client.post(f"{BASE}/refunds-due/{first_due}/close", headers=admin, json={"status": "refunded"}), 409,
             "bank_transfer.refund_closed")
    error_of(client.post(f"{BASE}/refunds-due/{first_due}/close", headers=admin, json={"status": "lost"}), 422)
    error_of(client.post(f"{BASE}/refunds-due/999999/close", headers=admin, json={"status": "refunded"}), 404)
    error_of(client.get(f"{BASE}/refunds-due", headers=login("sct.dongnai")), 403)
    error_of(client.get(f"{BASE}/refunds-due"), 401)


def test_late_money_on_a_cancelled_order_becomes_refund_due(client, login, demo):
    order, payment = bank_order(client)
    admin = login("admin")
    oid = order_id(order["number"])
    assert client.post(f"/admin/v1/orders/{oid}/cancel", headers=admin, json={}).status_code == 200
    csv = statement([("24/11/2026", "FT9", order["total"], payment["transfer_reference"])])
    body = post_statement(client, admin, csv).get_json()
    assert (body["refund_due"], body["lines"][0]["refund_due"]) == (1, order["total"])
    view = shopper_view(client, order["token"])
    assert (view["status"], view["paid_amount"]) == ("cancelled", 0)
    due = client.get(f"{BASE}/refunds-due", headers=admin).get_json()["results"]
    assert [(d["order_id"], d["amount"], d["reason"], d["status"]) for d in due] == [
        (oid, order["total"], "order_cancelled", "open")]


def test_unmatched_queue_assign_and_dismiss(client, login, demo):
    order, payment = bank_order(client)
    admin, producer = login("admin"), login("cs.htx-binh-loi")
    csv = (
        "Ngày giao dịch,Số tham chiếu,Số tiền ghi có,Nội dung,Loại tiền\n"
        f"23/11/2026,FTA,{order['total']},chuyen tien mua buoi,VND\n"
        f"23/11/2026,FTB,{order['total']},{payment['transfer_reference']},USD\n"
        "23/11/2026,FTC,50000,OCOP999999 khong ro,VND\n").encode()
    body = post_statement(client, admin, csv).get_json()
    assert body["unmatched"] == 3 and shopper_view(client, order["token"])["status"] == "unconfirmed"
    queue = client.get(f"{BASE}/transactions?status=unmatched", headers=admin).get_json()
    by_id = {t["transaction_id"]: t for t in queue["results"]}
    assert (by_id["FTA"]["reason"], by_id["FTB"]["reason"]) == ("no_reference", "currency")
    url = f"{BASE}/transactions/{by_id['FTA']['id']}"
    error_of(client.post(f"{url}/assign", headers=admin, json={}), 422)
    error_of(client.post(f"{url}/assign", headers=producer, json={"payment_id": payment["id"]}), 403)
    error_of(client.post(f"{url}/assign", json={"payment_id": payment["id"]}), 401)
    error_of(client.post(f"{url}/assign", headers=admin, json={"payment_id": 999999}), 404, "payment.not_found")
    error_of(client.post(f"{BASE}/transactions/{by_id['FTB']['id']}/assign", headers=admin,
                         json={"payment_id": payment["id"]}), 409, "bank_transfer.currency")
    assigned = client.post(f"{url}/assign", headers=admin, json={"payment_id": payment["id"], "note": "khách gọi"})
    assert assigned.status_code == 200 and assigned.get_json()["status"] == "paid"
    assert shopper_view(client, order["token"])["status"] == "paid"
    error_of(client.post(f"{url}/assign", headers=admin, json={"payment_id": payment["id"]}), 409,
             "bank_transfer.not_unmatched")
    other = f"{BASE}/transactions/{by_id['FTC']['id']}/dismiss"
    error_of(client.post(other, headers=admin, json={}), 422)
    dismissed = client.post(other, headers=admin, json={"note": "không phải của hệ thống"})
    assert dismissed.get_json()["status"] == "dismissed"
    error_of(client.get(f"{BASE}/transactions?status=nope", headers=admin), 422)
    error_of(client.get(f"{BASE}/transactions", headers=producer), 403)


def test_xlsx_export_with_a_title_block(client, login, demo):
    order, payment = bank_order(client)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM"])
    sheet.append(["SAO KÊ TÀI KHOẢN", None, "Số tài khoản: 1023456789"])
    sheet.append([])
    sheet.append(["STT", "Ngày giao dịch", "Số tham chiếu", "Số tiền ghi nợ", "Số tiền ghi có", "Số dư", "Mô tả"])
    sheet.append([1, "23/11/2026 10:15", "5213.2611.123", None, order["total"], 9000000,
                  f"IBFT {payment['transfer_reference']} Thanh toan"])
    sheet.append([2, "23/11/2026 11:00", "5213.2611.124", 30000, None, 8970000, "Phi SMS"])
    out = io.BytesIO()
    book.save(out)
    admin = login("admin")
    body = client.post(f"{BASE}/statements", data={"file": (io.BytesIO(out.getvalue()), "saoke.xlsx")},
                       headers=admin, content_type="multipart/form-data").get_json()
    assert (body["paid"], body["skipped"], body["lines"][0]["line"]) == (1, 1, 5)
    assert shopper_view(client, order["token"])["status"] == "paid"
    error_of(client.post(f"{BASE}/statements", data=b"PK\x03\x04broken", headers=admin), 422,
             "bank_transfer.bad_statement")


@pytest.mark.parametrize("text,expected", [
    ("OCOP001230", ["OCOP001230"]), ("ck ocop001230 thanh toan", ["OCOP001230"]),
    ("OCOP 001230", ["OCOP001230"]), ("OCOP-00123 0", ["OCOP001230"]),
    ("MBVCB.123.thanhtoanOCOP001230.CT", ["OCOP001230"]), ("OCOP0012300912345678", ["OCOP001230"]),
    ("OCOP001237", []), ("001230", []), ("", []),
])
def test_references_survive_what_banks_do_to_them(text, expected):
    assert reference_for(123) == "OCOP001230"
    assert find_references(text)[:1] == expected


def test_not_configured_bank_transfer_is_not_offered(app, client, demo, monkeypatch):
    for name in ("OCOP_BANK_BIN", "OCOP_BANK_ACCOUNT_NO", "OCOP_BANK_TRANSFER_BANK_BIN", "OCOP_BANK_TRANSFER_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    app.extensions.pop("ocop_payment_gateways", None)
    try:
        codes = [g["code"] for g in client.get("/storefront/v1/payment-gateways").get_json()]
        assert "bank_transfer" not in codes and "cod" in codes
        order = place_order(client, [("BL-BDX-1", 1)])
        error_of(client.post(f"/storefront/v1/orders/{order['token']}/payments", json={"gateway": "bank_transfer"}),
                 422, "payment.gateway_unavailable")
    finally:
        app.extensions.pop("ocop_payment_gateways", None)


def test_receiving_accounts_and_the_till_code(client, login, demo):
    from sqlalchemy import select
    from core.db import db
    from core.catalogue.models import Producer
    from core.sales.models import SalesChannel
    bank_order(client, [("BL-BDX-1", 1)])  # the online store's channel exists once an order is placed
    db.session.rollback()
    channel_id = db.session.execute(select(SalesChannel.id)).scalars().first()
    producer = db.session.execute(select(Producer).where(Producer.slug.like("%binh-loi%"))).scalars().first()
    admin, organiser, producer_user = login("admin"), login("sct.dongnai"), login("cs.htx-binh-loi")
    till = {"sales_channel_id": channel_id, "amount": 126000, "reference": "POS-DN01-000042 Bưởi"}
    code = client.post(f"{BASE}/till-qr", headers=organiser, json=till)
    assert code.status_code == 200, code.get_json()
    parsed = vietqr.parse_payload(code.get_json()["vietqr"])
    assert (parsed.account_no, parsed.amount, parsed.purpose) == (DEMO_ACCOUNT_ENV["OCOP_BANK_ACCOUNT_NO"], 126000,
                                                                 "POS-DN01-000042 Buoi")
    assert code.get_json()["amount_text"] == "126.000 ₫" and "<svg" in code.get_json()["svg"]

    account = {"owner_kind": "channel", "owner_id": channel_id, "bank_bin": "970415", "account_no": "0011001932418",
               "account_name": "Điểm bán OCOP Biên Hòa"}
    error_of(client.put(f"{BASE}/accounts", headers=producer_user, json=account), 403)
    error_of(client.put(f"{BASE}/accounts", json=account), 401)
    error_of(client.put(f"{BASE}/accounts", headers=admin, json={**account, "bank_bin": "12"}), 422)
    error_of(client.put(f"{BASE}/accounts", headers=admin, json={**account, "bank_bin": "999999"}), 409,
             "bank_transfer.unknown_bank")
    error_of(client.put(f"{BASE}/accounts", headers=admin, json={**account, "owner_id": 999999}), 404)
    saved = client.put(f"{BASE}/accounts", headers=admin, json=account).get_json()
    assert (saved["bank"], saved["account_name"]) == ("VietinBank", "DIEM BAN OCOP BIEN HOA")
    assert vietqr.parse_payload(client.post(f"{BASE}/till-qr", headers=admin, json=till)
                                .get_json()["vietqr"]).account_no == "0011001932418"
    error_of(client.post(f"{BASE}/till-qr", headers=producer_user, json=till), 403)
    error_of(client.post(f"{BASE}/till-qr", headers=admin, json={**till, "amount": 0}), 422)
    error_of(client.post(f"{BASE}/till-qr", headers=admin, json={**till, "reference": "###"}), 422,
             "bank_transfer.bad_reference")
    error_of(client.post(f"{BASE}/till-qr", headers=admin, json={**till, "sales_channel_id": 999999}), 404)

    # a producer's own account receives orders of that producer alone
    client.delete(f"{BASE}/accounts/{saved['id']}", headers=admin)
    mine = client.put(f"{BASE}/accounts", headers=admin, json={**account, "owner_kind": "producer",
                                                               "owner_id": producer.id, "account_no": "7777"})
    assert mine.status_code == 200
    _, payment = bank_order(client, [("BL-BDX-1", 1)])
    assert payment["client_data"]["account_no"] == "7777"
    assert [a["owner_kind"] for a in client.get(f"{BASE}/accounts", headers=admin).get_json()] == ["producer"]
    error_of(client.delete(f"{BASE}/accounts/999999", headers=admin), 404)
    banks = client.get(f"{BASE}/banks", headers=producer_user).get_json()
    assert {"bin": "970436", "code": "VCB", "short_name": "Vietcombank"}.items() <= banks[0].items()


def test_the_demo_configures_the_same_sample_account():
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("dev_script", Path(__file__).parents[1] / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    assert dev.DEMO_BANK_ACCOUNT == DEMO_ACCOUNT_ENV
    assert vietqr.bank_by_bin(DEMO_ACCOUNT_ENV["OCOP_BANK_BIN"])["short_name"] == "Vietcombank"
