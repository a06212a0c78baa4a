"""Counter sales are core orders: ``core.sales.counter`` and the sales-points POS on top of it.

A POS sale places a completed order on the point's channel (lines with the price snapshot and lots, counter
payments, a handed-over fulfilment per producer), the order hooks reach a pip-installed plugin after commit,
``client_ref`` replays return the first order (also concurrently), nothing is ever oversold, expired lots are
never sold; returns and voids refund through core ``Refund`` rows and put stock back with ``return``
movements; ``GET /admin/v1/orders?channel=…`` lists counter sales within the usual scope.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import ocop_hello.plugin as hello
import pytest
from sqlalchemy import func, select

from core.db import commit, db
from core.errors import DomainError
from core.inventory.models import StockMovement
from core.payments.models import Payment, Refund
from core.sales import counter
from core.sales.models import Fulfilment, Order, OrderEvent, SalesChannel
from core.accounts.models import User
from plugins.sales_points.models import PosSale, SalesPoint
from support.checks import error_of, row_counts
from support.orders import place_order
from support.sales_points import BASE, ledger_ok, on_hand, receive, sell, setup_points

ORDERS = "/admin/v1/orders"


@pytest.fixture
def sp(client, login, demo):
    """Point A holds pomelos in two lots (EARLY expires first), pomelo oil, and another producer's wine."""
    points = setup_points(client, login)
    r = receive(points, points.a, points.op_a, "BL-BDX-1", [
        {"sku": "BL-BDX-1", "quantity": 3, "lot_no": "LATE", "best_before": "2027-03-01"},
        {"sku": "BL-BDX-1", "quantity": 2, "lot_no": "EARLY", "best_before": "2026-12-05"},
        {"sku": "BL-TDB-10", "quantity": 4}])
    assert r.status_code == 201, r.get_json()
    r = receive(points, points.a, points.op_a, "SAHS-RNH-500", [
        {"sku": "SAHS-RNH-500", "quantity": 2, "lot_no": "W1", "best_before": "2030-01-01"}])
    assert r.status_code == 201, r.get_json()
    db.session.commit()
    return points


@pytest.fixture
def received():
    """The hook calls the hello test plugin (tests/plugin_dist) received during the test."""
    hello.RECEIVED.clear()
    yield hello.RECEIVED
    hello.RECEIVED.clear()


def _point(sp, point_id=None) -> SalesPoint:
    db.session.expire_all()
    return db.session.get(SalesPoint, point_id or sp.a)


def _user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def _order_of(sale_json) -> Order:
    db.session.expire_all()
    return db.session.get(Order, sale_json["order_id"])


def _record(sp, lines, payments=None, client_ref=None, username="op.a", point_id=None):
    """record_counter_sale at point A as op.a: ``lines`` = [(sku, quantity)]; committed."""
    point = _point(sp, point_id)
    lines = [counter.CounterLine(sp.variant(sku).id, qty) for sku, qty in lines]
    order, created = counter.record_counter_sale(point.sales_channel_id, point.stock_location_id, lines,
                                                 [counter.CounterPayment("cash")] if payments is None else payments,
                                                 _user(username),
                                                 client_ref=client_ref)
    number = order.number
    commit()
    return db.session.execute(select(Order).where(Order.number == number)).scalar_one(), created


# --- a sale is an order ------------------------------------------------------------------------------
def test_pos_sale_is_a_completed_core_order_on_the_points_channel(sp):
    r = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 3}, {"sku": "SAHS-RNH-500", "quantity": 1}],
             amount_tendered=1_000_000)
    assert r.status_code == 201, r.get_json()
    sale = r.get_json()
    order = _order_of(sale)
    point = _point(sp)
    channel = db.session.get(SalesChannel, point.sales_channel_id)
    assert sale["order_id"] == order.id and sale["sales_channel_id"] == channel.id == order.channel_id
    assert channel.code.startswith("sales_point:") and channel.kind == "sales_point"
    wine_price = sp.variant("SAHS-RNH-500").price
    assert order.status == "completed" and order.delivery_method == "counter"
    assert order.total == order.paid_amount == 3 * 65000 + wine_price == sale["total"]
    assert order.number.startswith("OCOP-2026-") and order.token and order.refunded_amount == 0
    assert order.paid_at and order.fulfilled_at and order.completed_at
    # lines carry the price snapshot and the lots they left from (first expiry first out)
    pomelo = next(line for line in order.lines if line.sku == "BL-BDX-1")
    assert (pomelo.unit_price, pomelo.quantity, pomelo.line_total) == (65000, 3, 195000)
    assert pomelo.product_name == "Bưởi da xanh Bình Lợi" and pomelo.location_id == point.stock_location_id
    assert [(a["lot_no"], a["quantity"]) for a in pomelo.allocations] == [("EARLY", 2), ("LATE", 1)]
    assert pomelo.fulfilled_quantity == 3 and pomelo.allocated_quantity == 0 and pomelo.returned_quantity == 0
    # one succeeded counter payment with the change
    [payment] = order.payments
    assert (payment.gateway, payment.status, payment.amount) == ("counter_cash", "succeeded", order.total)
    assert payment.client_data == {"tendered": 1_000_000, "change": 1_000_000 - order.total}
    assert sale["change_due"] == 1_000_000 - order.total
    # one handed-over fulfilment per producer
    fulfilments = db.session.execute(select(Fulfilment).where(Fulfilment.order_id == order.id)).scalars().all()
    assert sorted(f.producer_id for f in fulfilments) == sorted({sp.producer_id("BL-BDX-1"),
                                                                 sp.producer_id("SAHS-RNH-500")})
    assert {(f.carrier, f.status, f.tracking_no) for f in fulfilments} == {("counter", "handed_over", order.number)}
    kinds = [e.kind for e in db.session.execute(select(OrderEvent).where(OrderEvent.order_id == order.id)
                                                .order_by(OrderEvent.id)).scalars()]
    assert kinds == ["placed", "paid", "fulfilled", "completed"]
    fulfilled = db.session.execute(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                            OrderEvent.kind == "fulfilled")).scalar_one()
    assert sorted(f["fulfilment_id"] for f in fulfilled.data["fulfilments"]) == sorted(f.id for f in fulfilments)
    # stock left through the ledger under the order's reference
    movements = db.session.execute(select(StockMovement.kind, func.sum(StockMovement.quantity))
                                   .where(StockMovement.reference == f"order:{order.number}")
                                   .group_by(StockMovement.kind)).all()
    assert movements == [("sale", -4)]
    assert on_hand(sp, sp.a, "BL-BDX-1") == 2 and on_hand(sp, sp.a, "SAHS-RNH-500") == 1
    ledger_ok()
    # the till receipt keeps only its own fields
    till = db.session.get(PosSale, sale["id"])
    assert till.order_id == order.id and till.number == sale["number"] and till.sold_by_id == _user("op.a").id


def test_order_hooks_reach_a_pip_installed_plugin_after_commit(sp, app, received):
    if not app.extensions["ocop_plugins"].is_enabled("hello"):
        pytest.skip("the hello test plugin is disabled (OCOP_PLUGINS_DISABLED)")
    error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 9}]), 409, "stock.insufficient")
    assert [name for name, _ in received if name.startswith("order_")] == []  # a refused sale fires nothing
    sale = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 1}, {"sku": "SAHS-RNH-500", "quantity": 1}],
                method="card", payment_reference="VCB-0042").get_json()
    number = _order_of(sale).number
    calls = [(name, args) for name, args in received if name.startswith("order_")]
    assert calls[:2] == [("order_created", number), ("order_paid", (number, "counter_card", sale["total"]))]
    assert sorted(args for name, args in calls[2:]) == sorted(
        (number, sp.producer_id(sku)) for sku in ("BL-BDX-1", "SAHS-RNH-500"))
    assert {name for name, _ in calls[2:]} == {"order_fulfilled"}


# --- idempotency -------------------------------------------------------------------------------------
def test_client_ref_replay_returns_the_first_order(sp):
    first, created = _record(sp, [("BL-TDB-10", 1)], client_ref="till-7:0001")
    again, created_again = _record(sp, [("BL-TDB-10", 1)], client_ref="till-7:0001")
    assert created and not created_again and again.id == first.id
    assert on_hand(sp, sp.a, "BL-TDB-10") == 3
    # the same key on another channel is another sale
    receive(sp, sp.b, sp.op_b, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 1}])
    db.session.commit()
    other, created_other = _record(sp, [("BL-TDB-10", 1)], client_ref="till-7:0001", username="op.b", point_id=sp.b)
    assert created_other and other.id != first.id
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 2
    # the POS replays through the core order too
    r1 = sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}], client_ref="till-1:0009")
    r2 = sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}], client_ref="till-1:0009")
    assert (r1.status_code, r2.status_code) == (201, 200) and r1.get_json()["id"] == r2.get_json()["id"]
    assert r2.get_json()["client_ref"] == "till-1:0009" and r2.get_json()["order_id"] == r1.get_json()["order_id"]


def test_concurrent_replays_of_one_client_ref_record_one_order(postgres_url, app, sp):
    """Two attempts of one till sale race (a retry while the first is in flight): one order, stock taken once."""
    point = _point(sp)
    channel_id, location_id = point.sales_channel_id, point.stock_location_id
    variant_id, user_id = sp.variant("BL-TDB-10").id, _user("op.a").id
    db.session.commit()
    barrier = threading.Barrier(2)

    def attempt():
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                order, created = counter.record_counter_sale(
                    channel_id, location_id, [counter.CounterLine(variant_id, 2)], [counter.CounterPayment("cash")],
                    db.session.get(User, user_id), client_ref="till-1:race")
                number = order.number
                commit()
                return number, created
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result() for f in [pool.submit(attempt) for _ in range(2)]]
    assert results[0][0] == results[1][0] and sorted(created for _, created in results) == [False, True]
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 1
    assert on_hand(sp, sp.a, "BL-TDB-10") == 2
    ledger_ok()


# --- stock -----------------------------------------------------------------------------------------
def test_oversell_is_refused_with_409_and_writes_nothing(sp):
    before = row_counts()
    # the good first line is undone with the refused second one (lines are sold in variant id order)
    err = error_of(sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}, {"sku": "BL-BDX-1", "quantity": 6}]),
                   409, "stock.insufficient")
    assert err["details"]["requested"] == 6 and err["details"]["available"] == 5
    with pytest.raises(DomainError) as refused:
        _record(sp, [("SAHS-RNH-500", 3)])
    assert refused.value.code == "stock.insufficient" and refused.value.status == 409
    db.session.rollback()
    assert row_counts() == before
    assert on_hand(sp, sp.a, "BL-TDB-10") == 4 and on_hand(sp, sp.a, "SAHS-RNH-500") == 2


def test_expired_lots_are_never_sold(sp, monkeypatch):
    monkeypatch.setenv("OCOP_TODAY", "2026-12-10")  # EARLY (best before 2026-12-05) has expired
    with pytest.raises(DomainError) as refused:
        _record(sp, [("BL-BDX-1", 4)])
    assert refused.value.code == "stock.insufficient" and refused.value.details["available"] == 3
    db.session.rollback()
    order, _ = _record(sp, [("BL-BDX-1", 3)])
    assert [(a["lot_no"], a["quantity"]) for a in order.lines[0].allocations] == [("LATE", 3)]
    assert order.number.startswith("OCOP-2026-")
    ledger_ok()


def test_two_tills_selling_the_last_units_never_oversell(postgres_url, app, client, login, demo):
    """Two operators at one point sell the last 5 units, unit by unit and in pairs, at the same moment."""
    points = setup_points(client, login)
    client.post(f"{BASE}/{points.a}/operators", json={"username": "op.a2", "password": "op-pass-2026"},
                headers=points.organiser)
    receive(points, points.a, points.op_a, "BL-TDB-10", [{"sku": "BL-TDB-10", "quantity": 5}])
    point = _point(points)
    channel_id, location_id, variant_id = point.sales_channel_id, point.stock_location_id, \
        points.variant("BL-TDB-10").id
    user_ids = [_user(name).id for name in ("op.a", "op.a2")]
    db.session.commit()
    barrier = threading.Barrier(2)

    def till(user_id, quantities):
        sold, refused = [], []
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                for n, quantity in enumerate(quantities):
                    try:
                        order, _ = counter.record_counter_sale(
                            channel_id, location_id, [counter.CounterLine(variant_id, quantity)],
                            [counter.CounterPayment("card")], db.session.get(User, user_id),
                            client_ref=f"{user_id}-{n}")
                        number = order.number
                        commit()
                        sold.append((number, quantity))
                    except DomainError as exc:
                        db.session.rollback()
                        refused.append(exc.code)
            finally:
                db.session.remove()
        return sold, refused

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [f.result() for f in [pool.submit(till, uid, [1, 2, 1, 2, 1]) for uid in user_ids]]
    sold = [s for result in results for s in result[0]]
    refused = [code for result in results for code in result[1]]
    assert sum(q for _, q in sold) == 5
    assert set(refused) == {"stock.insufficient"} and len(sold) + len(refused) == 10
    assert len({number for number, _ in sold}) == len(sold)
    db.session.expire_all()
    assert on_hand(points, points.a, "BL-TDB-10") == 0
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == len(sold)
    ledger_ok()


# --- payments -------------------------------------------------------------------------------------
def test_split_payments_and_payment_refusals(sp):
    oil = sp.variant("BL-TDB-10")
    order, _ = _record(sp, [("BL-TDB-10", 2)], payments=[
        counter.CounterPayment("cash", amount=50000, tendered=100000),
        counter.CounterPayment("transfer", reference="FT26327000999")])
    assert [(p.gateway, p.amount, p.external_id) for p in order.payments] == [
        ("counter_cash", 50000, None), ("counter_transfer", 2 * oil.price - 50000, "FT26327000999")]
    assert order.payments[0].client_data == {"tendered": 100000, "change": 50000}
    assert order.paid_amount == order.total == 2 * oil.price and order.payment_gateway == "counter_cash"
    before = row_counts()
    refusals = [
        ([counter.CounterPayment("cash", amount=1000)], "counter_sale.payment_mismatch"),
        ([counter.CounterPayment("cash", tendered=1000)], "counter_sale.insufficient_payment"),
        ([counter.CounterPayment("card", tendered=10 ** 6)], "validation.invalid"),
        ([counter.CounterPayment("bitcoin")], "counter_sale.unknown_payment_method"),
        ([counter.CounterPayment("card", amount=0)], "validation.invalid"),
        ([], "validation.invalid"),
        ([counter.CounterPayment("card", reference="x" * 201)], "validation.invalid"),
    ]
    for payments, code in refusals:
        with pytest.raises(DomainError) as refused:
            _record(sp, [("BL-TDB-10", 1)], payments=payments)
        assert refused.value.code == code and 400 <= refused.value.status < 500
        db.session.rollback()
    assert row_counts() == before


def test_bad_lines_and_channels_are_refused(sp, login):
    point = _point(sp)
    user = _user("op.a")
    oil = sp.variant("BL-TDB-10")
    cash = [counter.CounterPayment("cash")]
    cases = [
        (point.sales_channel_id, point.stock_location_id, [], "validation.invalid"),
        (point.sales_channel_id, point.stock_location_id, [counter.CounterLine(oil.id, 0)], "validation.invalid"),
        (point.sales_channel_id, point.stock_location_id, [counter.CounterLine("1", 1)], "validation.invalid"),
        (point.sales_channel_id, point.stock_location_id, [counter.CounterLine(999999, 1)],
         "counter_sale.unknown_variant"),
        (point.sales_channel_id, point.stock_location_id, [counter.CounterLine(sp.variant("VK-TOUR-1N").id, 1)],
         "stock.not_stocked"),
        # point B's location does not belong to point A's channel
        (point.sales_channel_id, _point(sp, sp.b).stock_location_id, [counter.CounterLine(oil.id, 1)],
         "counter_sale.location_mismatch"),
        (999999, point.stock_location_id, [counter.CounterLine(oil.id, 1)], "sales_channel.not_found"),
    ]
    before = row_counts()
    for channel, location, lines, code in cases:
        with pytest.raises(DomainError) as refused:
            counter.record_counter_sale(channel, location, lines, cash, user)
        assert refused.value.code == code, (code, refused.value.code)
        db.session.rollback()
    with pytest.raises(DomainError) as refused:
        counter.record_counter_sale(point.sales_channel_id, point.stock_location_id, [counter.CounterLine(oil.id, 1)],
                                    cash, user, client_ref="x" * 121)
    assert refused.value.code == "validation.invalid"
    db.session.rollback()
    channel = db.session.get(SalesChannel, point.sales_channel_id)
    channel.active = False
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        _record(sp, [("BL-TDB-10", 1)])
    assert refused.value.code == "sales_channel.inactive" and refused.value.status == 409
    db.session.rollback()
    channel = db.session.get(SalesChannel, point.sales_channel_id)
    channel.active = True
    db.session.commit()
    assert row_counts() == before


# --- returns and voids ----------------------------------------------------------------------------------
def test_returns_refund_and_restock_through_the_core(sp):
    order, _ = _record(sp, [("BL-BDX-1", 4), ("BL-TDB-10", 1)], payments=[counter.CounterPayment("card")])
    pomelo = next(line for line in order.lines if line.sku == "BL-BDX-1")
    oil = next(line for line in order.lines if line.sku == "BL-TDB-10")
    op_a = _user("op.a")
    result = counter.return_counter_sale(order, [counter.ReturnLine(pomelo.id, 1), counter.ReturnLine(pomelo.id, 1)],
                                         op_a, "quả bị dập", refund_method="cash")
    commit()
    assert result.amount == 130000 and [(line.id, q, a) for line, q, a in result.lines] == [(pomelo.id, 2, 130000)]
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "completed" and order.refunded_amount == 130000
    assert order.payments[0].status == "partially_refunded" and order.payments[0].refunded_amount == 130000
    [refund] = db.session.execute(select(Refund).where(Refund.order_id == order.id)).scalars().all()
    assert (refund.amount, refund.reason, refund.actor_id, refund.external_id) == (130000, "quả bị dập", op_a.id, None)
    assert next(line for line in order.lines if line.sku == "BL-BDX-1").returned_quantity == 2
    # back into the lots they came from, latest expiry first: 2 LATE (EARLY 2 + LATE 2 were sold)
    returned = db.session.execute(select(StockMovement).where(StockMovement.reference == f"order:{order.number}",
                                                              StockMovement.kind == "return")).scalars().all()
    assert [(m.lot.lot_no, m.quantity) for m in returned] == [("LATE", 2)]
    events = [e for e in order.events if e.kind == "counter_return"]
    assert len(events) == 1 and events[0].data["amount"] == 130000 and events[0].data["refund_method"] == "cash"
    # more than sold (less earlier returns), a line of another order, bad quantities: refused, nothing written
    before = row_counts()
    other, _ = _record(sp, [("BL-TDB-10", 1)])
    before = row_counts()
    for lines, code in (([counter.ReturnLine(pomelo.id, 3)], "counter_sale.return_exceeds_sale"),
                        ([counter.ReturnLine(other.lines[0].id, 1)], "validation.invalid"),
                        ([counter.ReturnLine(pomelo.id, 0)], "validation.invalid"),
                        ([], "validation.invalid")):
        with pytest.raises(DomainError) as refused:
            counter.return_counter_sale(db.session.get(Order, order.id), lines, op_a, "lại")
        assert refused.value.code == code
        db.session.rollback()
    with pytest.raises(DomainError) as refused:
        counter.return_counter_sale(db.session.get(Order, order.id), [counter.ReturnLine(oil.id, 1)], op_a, "x",
                                    refund_method="voucher")
    assert refused.value.code == "counter_sale.unknown_payment_method"
    db.session.rollback()
    assert row_counts() == before
    # damaged goods: refunded, not restocked; everything returned → the order is refunded
    counter.return_counter_sale(db.session.get(Order, order.id), [counter.ReturnLine(pomelo.id, 2),
                                                                  counter.ReturnLine(oil.id, 1)], op_a, "chai vỡ",
                                restock=False)
    commit()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "refunded" and order.refunded_amount == order.paid_amount
    assert on_hand(sp, sp.a, "BL-BDX-1") == 3 and on_hand(sp, sp.a, "BL-TDB-10") == 2
    ledger_ok()


def test_void_puts_everything_back_and_refunds(sp):
    order, _ = _record(sp, [("BL-BDX-1", 3)])
    assert on_hand(sp, sp.a, "BL-BDX-1") == 2
    result = counter.void_counter_sale(db.session.get(Order, order.id), _user("op.a"), "bấm nhầm")
    commit()
    assert result.amount == 195000
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.status == "refunded" and order.cancel_reason == "bấm nhầm" and order.refunded_amount == 195000
    assert order.lines[0].returned_quantity == 0  # a void is no customer return
    assert on_hand(sp, sp.a, "BL-BDX-1") == 5
    assert [e.kind for e in order.events][-3:] == ["refund", "refunded", "counter_sale_voided"]
    ledger_ok()
    for call in (lambda o: counter.void_counter_sale(o, None, "lần nữa"),
                 lambda o: counter.return_counter_sale(o, [counter.ReturnLine(o.lines[0].id, 1)], None, "x")):
        with pytest.raises(DomainError) as refused:
            call(db.session.get(Order, order.id))
        assert refused.value.code in ("counter_sale.not_completed", "counter_sale.return_exceeds_sale")
        assert refused.value.status in (409, 422)
        db.session.rollback()
    # a sale with a return can no longer be voided; an online order is no counter sale
    returned, _ = _record(sp, [("BL-TDB-10", 2)])
    counter.return_counter_sale(returned, [counter.ReturnLine(returned.lines[0].id, 1)], None, "đổi ý")
    commit()
    with pytest.raises(DomainError) as refused:
        counter.void_counter_sale(db.session.get(Order, returned.id), None, "huỷ")
    assert refused.value.code == "counter_sale.has_returns"
    db.session.rollback()


def test_online_orders_are_not_counter_sales(sp, client):
    online = place_order(client, [("VQ-CAM-5KG", 1)])
    order = db.session.execute(select(Order).where(Order.number == online["number"])).scalar_one()
    for call in (lambda: counter.void_counter_sale(order, None, "x"),
                 lambda: counter.return_counter_sale(order, [counter.ReturnLine(order.lines[0].id, 1)], None, "x")):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "counter_sale.not_counter_sale"
        db.session.rollback()


def test_pos_void_and_return_are_core_refunds(sp):
    sale = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 2}], method="bank_transfer_qr",
                payment_reference="FT1").get_json()
    r = sp.client.post(f"{BASE}/sales/{sale['id']}/void", json={"reason": "khách đổi ý"}, headers=sp.op_a)
    assert r.status_code == 200 and r.get_json()["status"] == "voided"
    order = _order_of(sale)
    assert order.status == "refunded" and order.refunded_amount == 130000
    assert [(p.gateway, p.status, p.external_id) for p in order.payments] == [("counter_transfer", "refunded", "FT1")]
    other = sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 2}], method="card").get_json()
    line = other["lines"][0]
    r = sp.client.post(f"{BASE}/sales/{other['id']}/returns", json={
        "reason": "chai vỡ", "restock": False, "lines": [{"sale_line_id": line["id"], "quantity": 1}]},
        headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["lines"] == [{"sale_line_id": line["id"], "quantity": 1, "amount": line["unit_price"]}]
    order = _order_of(other)
    assert order.refunded_amount == line["unit_price"] and order.status == "completed"
    assert order.lines[0].returned_quantity == 1
    body = sp.client.get(f"{BASE}/sales/{other['id']}", headers=sp.op_a).get_json()
    assert body["lines"][0]["returned_quantity"] == 1 and body["refunded"] == line["unit_price"]
    # the longest reason the till accepts still fits the core's records (receipt numbers are prefixed)
    long_reason = "hàng lỗi " * 55 + "x" * 5
    assert len(long_reason) == 500
    r = sp.client.post(f"{BASE}/sales/{other['id']}/returns", json={
        "reason": long_reason, "lines": [{"sale_line_id": line["id"], "quantity": 1}]}, headers=sp.op_a)
    assert r.status_code == 201, r.get_json()
    refunds = db.session.execute(select(Refund).join(Order, Order.id == Refund.order_id)
                                 .where(Order.id == other["order_id"]).order_by(Refund.id)).scalars().all()
    assert len(refunds[-1].reason) == 500 and refunds[-1].reason.startswith("RET-")
    assert _order_of(other).events[-1].message.endswith(long_reason)
    third = sell(sp, sp.a, sp.op_a, [{"sku": "BL-TDB-10", "quantity": 1}]).get_json()
    r = sp.client.post(f"{BASE}/sales/{third['id']}/void", json={"reason": long_reason}, headers=sp.op_a)
    assert r.status_code == 200, r.get_json()
    assert len(_order_of(third).cancel_reason) == 500
    with pytest.raises(DomainError) as refused:
        counter.return_counter_sale(_order_of(third), [], None, "  ")
    assert refused.value.code == "validation.invalid" and refused.value.details.get("reason")
    db.session.rollback()
    ledger_ok()


# --- admin orders: counter sales are listed with the other orders, in the usual scope -------------------
def test_admin_orders_list_counter_sales_by_channel(sp, client, login):
    sale = sell(sp, sp.a, sp.op_a, [{"sku": "BL-BDX-1", "quantity": 1}, {"sku": "SAHS-RNH-500", "quantity": 1}]
                ).get_json()
    online = place_order(client, [("BL-BDX-1", 1)])
    channel = db.session.get(SalesChannel, sale["sales_channel_id"])
    admin = login("admin")
    everything = client.get(ORDERS, headers=admin).get_json()
    assert {o["number"] for o in everything["results"]} == {_order_of(sale).number, online["number"]}
    for query in ({"channel": channel.code}, {"channel_id": channel.id}):
        body = client.get(ORDERS, query_string=query, headers=admin).get_json()
        assert [o["id"] for o in body["results"]] == [sale["order_id"]] and body["total"] == 1
        assert body["results"][0]["status"] == "completed" and body["results"][0]["payment_status"] == "paid"
    assert client.get(ORDERS, query_string={"channel": "online_store"}, headers=admin).get_json()["total"] == 1
    assert client.get(ORDERS, query_string={"channel": "sales_point:NOPE"}, headers=admin).get_json()["total"] == 0
    # Đồng Nai's organiser sees the sale (its producers are in the province); a producer sees its own line only
    organiser = client.get(ORDERS, query_string={"channel": channel.code}, headers=sp.organiser).get_json()
    assert [o["id"] for o in organiser["results"]] == [sale["order_id"]]
    producer = client.get(ORDERS, query_string={"channel_id": channel.id}, headers=login("cs.htx-binh-loi")).get_json()
    assert producer["total"] == 1 and [l["sku"] for l in producer["results"][0]["lines"]] == ["BL-BDX-1"]
    one = client.get(f"{ORDERS}/{sale['order_id']}", headers=admin).get_json()
    assert [p["gateway"] for p in one["payments"]] == ["counter_cash"]
    assert {f["carrier"] for f in one["fulfilments"]} == {"counter"}
    # bad input and refused callers
    error_of(client.get(ORDERS, query_string={"channel_id": "abc"}, headers=admin), 422)
    error_of(client.get(ORDERS, query_string={"channel": "x" * 81}, headers=admin), 422)
    error_of(client.get(ORDERS, query_string={"channel": channel.code}, headers=sp.op_a), 403)
    error_of(client.get(ORDERS, query_string={"channel": channel.code}), 401)
