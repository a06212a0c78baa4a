"""Core payments for a plugin's payable debt (a fair's booth fee): exactly one of order / payable, a bank
transfer with its reference and VietQR code paid by a statement line once, desk payments, "mark paid",
the ``payable_paid`` hook after commit, and — on PostgreSQL — concurrent recordings giving one payment."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.db import commit, db, utcnow
from core.errors import DomainError
from core.payments import payables, vietqr
from core.payments.models import Payment, PaymentEvent
from core.sales.order_payments import handle_gateway_event
from core.payments.gateways import GatewayEvent
from plugins.bank_transfer.config import DEMO_ACCOUNT_ENV
from plugins.bank_transfer.models import BankTransaction, RefundDue
from plugins.fairs import events, fees
from plugins.fairs.models import FairFeeLine
from plugins.fairs.tests.fixtures import build, error, user

STATEMENTS = "/admin/v1/payments/bank-transfer/statements"


def statement(*rows) -> bytes:
    lines = ["Ngày giao dịch;Số tham chiếu;Số tiền ghi có;Nội dung"] + [";".join(map(str, r)) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def import_lines(client, login, *rows) -> dict:
    response = client.post(STATEMENTS, data=statement(*rows), headers={**login("admin"), "Content-Type": "text/csv"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def own_fee(client, login, fair, username="cs.htx-binh-loi") -> dict:
    return client.get(f"{fair.url}/fees", headers=login(username)).get_json()["results"][0]


def payments_of(fee_id: int) -> list[Payment]:
    db.session.expire_all()
    return payables.payments_of(fees.PAYABLE_KIND, fee_id)


# --- the schema -----------------------------------------------------------------------------------------
def test_a_payment_names_exactly_one_of_an_order_or_a_payable(app, demo):
    now = utcnow()
    for extra in ({}, {"order_id": None, "payable_kind": "fair_fee"}, {"payable_id": 7}):
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():
                db.session.add(Payment(gateway="desk_cash", amount=1000, status="pending", created_at=now, **extra))
                db.session.flush()
    with db.session.begin_nested():
        db.session.add(Payment(gateway="desk_cash", amount=1000, status="succeeded", payable_kind="test_debt",
                               payable_id=7, created_at=now))
        db.session.flush()
    with pytest.raises(IntegrityError):  # one captured payment per payable
        with db.session.begin_nested():
            db.session.add(Payment(gateway="desk_card", amount=1000, status="succeeded", payable_kind="test_debt",
                                   payable_id=7, created_at=now))
            db.session.flush()
    db.session.rollback()


# --- bank transfer and the statement ---------------------------------------------------------------------
def test_a_fee_paid_by_bank_transfer_is_matched_by_a_statement_line_once(client, login, demo):
    fair = build("assigned")
    producer = login("cs.htx-binh-loi")
    fee = own_fee(client, login, fair)
    assert (fee["status"], fee["due"], fee["payment"], fee["transfer"]) == ("unpaid", 1_500_000, None, None)
    error(client.post(f"{fair.url}/fees/{fee['id']}/transfer", headers=login("cs.htx-binh-minh")), 403,
          "fair.out_of_scope")
    error(client.post(f"{fair.url}/fees/999999/transfer", headers=producer), 404)
    error(client.get(f"{fair.url}/fees/{fee['id']}/qr.svg", headers=producer), 404)
    started = client.post(f"{fair.url}/fees/{fee['id']}/transfer", headers=producer)
    assert started.status_code == 200, started.get_json()
    transfer = started.get_json()["transfer"]
    reference = transfer["transfer_reference"]
    assert started.get_json()["status"] == "unpaid" and reference.startswith("OCOP")
    parsed = vietqr.parse_payload(transfer["vietqr"])
    assert (parsed.account_no, parsed.amount, parsed.purpose) == (DEMO_ACCOUNT_ENV["OCOP_BANK_ACCOUNT_NO"],
                                                                  1_500_000, reference)
    # asking again gives the same transfer; the organiser's list shows it too
    again = client.post(f"{fair.url}/fees/{fee['id']}/transfer", headers=producer).get_json()["transfer"]
    assert again["id"] == transfer["id"]
    listed = {f["id"]: f for f in client.get(f"{fair.url}/fees", headers=login("sct.dongnai")).get_json()["results"]}
    assert listed[fee["id"]]["transfer"]["transfer_reference"] == reference
    svg = client.get(f"{fair.url}/fees/{fee['id']}/qr.svg", headers=producer)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data

    report = import_lines(client, login, ("23/11/2026", "FT26FEE001", "1.500.000", f"CK phi gian hang {reference}"))
    assert report["paid"] == 1, report
    paid = own_fee(client, login, fair)
    assert paid["status"] == "paid" and paid["transfer"] is None
    assert (paid["payment"]["gateway"], paid["payment"]["transfer_reference"]) == ("bank_transfer", reference)
    # the payable_paid hook wrote the fee line's paid columns after the statement's commit
    db.session.expire_all()
    line = db.session.get(FairFeeLine, fee["id"])
    assert (line.status, line.paid_method, line.paid_reference) == ("paid", "bank_transfer", reference)
    # the same line again changes nothing; another transfer of the same reference is money to give back
    assert import_lines(client, login, ("23/11/2026", "FT26FEE001", "1.500.000", reference))["already_processed"] == 1
    late = import_lines(client, login, ("24/11/2026", "FT26FEE002", "1.500.000", reference))
    assert late["refund_due"] == 1
    refund = db.session.execute(select(RefundDue).join(BankTransaction)
                                .where(BankTransaction.transaction_id == "FT26FEE002")).scalar_one()
    assert (refund.amount, refund.reason, refund.order_id) == (1_500_000, "already_paid", None)
    assert [p.status for p in payments_of(fee["id"])] == ["succeeded"]
    # paid once: neither a new transfer nor a desk payment
    error(client.post(f"{fair.url}/fees/{fee['id']}/transfer", headers=producer), 409, "fair.fee_not_due")
    error(client.post(f"{fair.url}/fees/{fee['id']}/pay", json={"method": "cash"}, headers=login("sct.dongnai")),
          409, "fair.fee_not_due")


def test_partial_transfers_add_up_before_the_fee_is_paid(client, login, demo):
    fair = build("assigned")
    fee = own_fee(client, login, fair)
    reference = client.post(f"{fair.url}/fees/{fee['id']}/transfer",
                            headers=login("cs.htx-binh-loi")).get_json()["transfer"]["transfer_reference"]
    assert import_lines(client, login, ("23/11/2026", "FT26P1", "1.000.000", reference))["partial"] == 1
    assert own_fee(client, login, fair)["status"] == "unpaid"
    assert import_lines(client, login, ("23/11/2026", "FT26P2", "700.000", reference))["overpaid"] == 1
    assert own_fee(client, login, fair)["status"] == "paid"
    excess = db.session.execute(select(RefundDue).join(BankTransaction)
                                .where(BankTransaction.transaction_id == "FT26P2")).scalar_one()
    assert (excess.amount, excess.reason) == (200_000, "overpayment")


def test_an_unmatched_transfer_is_matched_to_a_fee_by_an_admin_only(client, login, demo):
    fair = build("assigned")
    fee = own_fee(client, login, fair)
    transfer = client.post(f"{fair.url}/fees/{fee['id']}/transfer",
                           headers=login("cs.htx-binh-loi")).get_json()["transfer"]
    report = import_lines(client, login, ("23/11/2026", "FT26NOREF", "1.500.000", "phi gian hang Binh Loi"))
    assert report["unmatched"] == 1
    row = db.session.execute(select(BankTransaction).where(BankTransaction.transaction_id == "FT26NOREF")).scalar_one()
    url = f"{STATEMENTS.rsplit('/', 1)[0]}/transactions/{row.id}/assign"
    error(client.post(url, json={"payment_id": transfer["id"]}, headers=login("sct.dongnai")), 404)
    assert own_fee(client, login, fair)["status"] == "unpaid"
    matched = client.post(url, json={"payment_id": transfer["id"], "note": "khớp tay"}, headers=login("admin"))
    assert matched.status_code == 200, matched.get_json()
    assert matched.get_json()["status"] == "paid"
    assert own_fee(client, login, fair)["status"] == "paid"


# --- at the desk, and by hand -------------------------------------------------------------------------
def test_a_desk_payment_cancels_the_waiting_transfer_and_late_money_waits_for_a_person(client, login, demo):
    fair = build("assigned")
    organiser = login("sct.dongnai")
    fee = own_fee(client, login, fair)
    reference = client.post(f"{fair.url}/fees/{fee['id']}/transfer",
                            headers=login("cs.htx-binh-loi")).get_json()["transfer"]["transfer_reference"]
    error(client.post(f"{fair.url}/fees/{fee['id']}/pay", json={"method": "cheque"}, headers=organiser), 422)
    error(client.post(f"{fair.url}/fees/{fee['id']}/pay", json={"method": "card"}, headers=login("cs.htx-binh-loi")),
          403)
    paid = client.post(f"{fair.url}/fees/{fee['id']}/pay", json={"method": "card", "reference": "POS-778"},
                       headers=organiser)
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid"
    assert paid.get_json()["payment"]["gateway"] == "desk_card"
    assert sorted(p.status for p in payments_of(fee["id"])) == ["cancelled", "succeeded"]
    report = import_lines(client, login, ("25/11/2026", "FT26LATE", "1.500.000", reference))
    assert report["refund_due"] == 1, report


def test_mark_paid_captures_once_and_payable_paid_fires_after_commit(client, login, demo, app):
    fair = build("assigned")
    fee_id = own_fee(client, login, fair)["id"]
    event = events.get_event(fair.event_id)
    line = db.session.get(FairFeeLine, fee_id)
    payment = payables.start_bank_transfer(fees.payable(line, event))
    payables.mark_paid(payment, actor=user("sct.dongnai"))
    db.session.flush()
    assert line.paid_method is None  # the hook has not run: nothing is committed yet
    commit()
    db.session.expire_all()
    line = db.session.get(FairFeeLine, fee_id)
    assert (line.status, line.paid_method, line.paid_reference) == ("paid", "bank_transfer",
                                                                   payment.transfer_reference)
    with pytest.raises(DomainError) as refused:
        payables.mark_paid(payment)
    assert (refused.value.code, refused.value.status) == ("payment.payable_paid", 409)
    db.session.rollback()
    # a gateway event for a payable goes through the core's one entry point, once
    assert handle_gateway_event("bank_transfer", GatewayEvent("evt-1", payment.external_id, "succeeded",
                                                              payment.amount)) is False
    with pytest.raises(DomainError) as again:
        payables.record_desk_payment(fees.payable(line, event), "cash")
    assert again.value.code == "payment.payable_paid"
    with pytest.raises(DomainError) as bad:
        payables.record_desk_payment(payables.Payable("test_debt", 1, 5000), "cheque")
    assert bad.value.status == 422


# --- PostgreSQL: two people record the same fee at once ----------------------------------------------------
def _race(app, work, n: int = 2) -> list:
    barrier = threading.Barrier(n)

    def attempt(i):
        with app.app_context():
            try:
                try:
                    barrier.wait(timeout=30)
                except threading.BrokenBarrierError:
                    pass
                try:
                    work(i)
                    commit()
                    return "paid"
                except Exception as exc:
                    db.session.rollback()
                    return getattr(exc, "code", repr(exc))
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(attempt, range(n)))


@pytest.mark.postgres
def test_concurrent_mark_paid_gives_one_payment(postgres_url, app, client, login, demo):
    fair = build("assigned")
    fee_id = own_fee(client, login, fair)["id"]
    client.post(f"{fair.url}/fees/{fee_id}/transfer", headers=login("cs.htx-binh-loi"))
    organiser_id, event_id = user("sct.dongnai").id, fair.event_id
    db.session.commit()

    def organiser_marks(_i):
        fees.pay_fee(db.session.get(User, organiser_id), events.get_event(event_id), fee_id,
                     {"method": "bank_transfer", "reference": "FT-SEEN"})
    assert sorted(_race(app, organiser_marks)) == ["fair.fee_not_due", "paid"]
    payment = next(p for p in payments_of(fee_id) if p.status == "succeeded")
    assert [p.status for p in payments_of(fee_id)] == ["succeeded"]
    assert db.session.execute(select(func.count()).select_from(PaymentEvent)
                              .where(PaymentEvent.payment_id == payment.id)).scalar_one() == 1


@pytest.mark.postgres
def test_concurrent_core_recordings_of_one_payable_give_one_payment(postgres_url, app, demo):
    db.session.add(Payment(gateway="bank_transfer", amount=90_000, status="pending", payable_kind="test_debt",
                           payable_id=42, external_id="OCOP-T42", created_at=utcnow()))
    db.session.commit()
    payment_id = db.session.execute(select(Payment.id).where(Payment.payable_kind == "test_debt")).scalar_one()

    def mark(_i):
        payables.mark_paid(db.session.get(Payment, payment_id))
    assert sorted(_race(app, mark)) == ["paid", "payment.payable_paid"]

    def desk(i):  # no lock of the plugin's row: the partial unique index alone keeps one captured payment
        payables.record_desk_payment(payables.Payable("test_debt", 43, 50_000), ("cash", "card")[i])
    assert sorted(_race(app, desk)) == ["paid", "payment.payable_paid"]
    db.session.expire_all()
    assert [p.status for p in payables.payments_of("test_debt", 43)] == ["succeeded"]
    assert [p.status for p in payables.payments_of("test_debt", 42)] == ["succeeded"]
