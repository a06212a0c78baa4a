"""Migration sp002: POS sales recorded before counter sales were core orders get their orders, nothing is lost.

A fresh database (SQLite file, or a throwaway PostgreSQL database on the server under test) is built at the
previous revisions (core ``0005_merge``, sales points ``sp001``); a point sells, returns and voids the old way
(stock through the ledger, till rows written in the old schema with raw SQL); then ``migrate.upgrade()``.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from core import migrate
from core.db import commit, db
from core.inventory import ledger
from core.inventory.models import Stock, StockLot, StockMovement
from core.payments.models import Payment, Refund
from core.sales.models import Fulfilment, Order, OrderNumberCounter
from plugins.sales_points.models import PosReturnLine, PosSale, SalesPoint
from support.checks import error_of
from support.old_database import old_app, old_database_url, upgrade_to as _upgrade_to  # noqa: F401 (fixtures)

BASE = "/admin/v1/sales-points"
SOLD_AT = dt.datetime(2026, 11, 20, 3, 0, 0)  # 10:00 in Vietnam, stored as naive UTC
SOLD_ON = dt.date(2026, 11, 20)


def _variant(sku):
    from core.catalogue.models import Variant
    return db.session.execute(select(Variant).where(Variant.sku == sku)).scalar_one()


def _insert(sql: str, **params) -> int:
    stmt = sa.text(sql + " RETURNING id")
    if "lots" in params:
        stmt = stmt.bindparams(sa.bindparam("lots", type_=sa.JSON))
    return db.session.execute(stmt, params).scalar_one()


def _old_sale(point, admin, number, method, lines, *, tendered=None, change=None, reference=None, client_ref=None,
              status="completed", void_reason=None):
    """Sell ``lines`` = [(sku, quantity)] the way the old POS did: ledger ``sale`` movements, then the till rows."""
    total, rows = 0, []
    for sku, quantity in lines:
        variant = _variant(sku)
        movements = ledger.sell_now(point.stock_location_id, variant, quantity, reference=number, actor=admin,
                                    reason=f"{number}: bán tại quầy / counter sale")
        lots = [{"lot_no": m.lot.lot_no or None, "best_before": m.lot.best_before.isoformat() if m.lot.best_before
                 else None, "quantity": -m.quantity} for m in movements]
        rows.append((variant, quantity, lots))
        total += variant.price * quantity
    sale_id = _insert(
        "INSERT INTO sales_point_sale (number, sales_point_id, sales_channel_id, client_ref, status, payment_method,"
        " payment_reference, total, amount_tendered, change_due, sold_by_id, sold_at, sold_on, voided_at, voided_on,"
        " voided_by_id, void_reason) VALUES (:number, :point, :channel, :client_ref, :status, :method, :reference,"
        " :total, :tendered, :change, :by, :at, :on, :voided_at, :voided_on, :voided_by, :void_reason)",
        number=number, point=point.id, channel=point.sales_channel_id, client_ref=client_ref, status=status,
        method=method, reference=reference, total=total, tendered=tendered, change=change, by=admin.id, at=SOLD_AT,
        on=SOLD_ON, voided_at=SOLD_AT + dt.timedelta(minutes=5) if void_reason else None,
        voided_on=SOLD_ON if void_reason else None, voided_by=admin.id if void_reason else None,
        void_reason=void_reason)
    line_ids = {}
    for variant, quantity, lots in rows:
        product = variant.product
        line_ids[variant.sku] = _insert(
            "INSERT INTO sales_point_sale_line (sale_id, variant_id, product_id, producer_id, group_code, sku, gtin,"
            " name, unit_price, quantity, line_total, returned_quantity, lots) VALUES (:sale, :variant, :product,"
            " :producer, :group, :sku, :gtin, :name, :price, :quantity, :total, 0, :lots)",
            sale=sale_id, variant=variant.id, product=product.id, producer=product.producer_id,
            group=product.group_code, sku=variant.sku, gtin=variant.gtin, name=f"{product.name} – {variant.name}",
            price=variant.price, quantity=quantity, total=variant.price * quantity, lots=lots)
    if void_reason:
        for variant, _quantity, lots in rows:
            for lot in lots:
                ledger.receive(point.stock_location_id, variant, lot["quantity"], actor=admin, kind="return",
                               reason=f"{number}: huỷ hoá đơn / void: {void_reason}", reference=number,
                               lot_no=lot["lot_no"] or "", best_before=dt.date.fromisoformat(lot["best_before"])
                               if lot["best_before"] else None)
    return sale_id, line_ids, total


def _old_return(point, admin, sale_id, number, line_id, sku, quantity, lot_no, best_before):
    variant = _variant(sku)
    ledger.receive(point.stock_location_id, variant, quantity, actor=admin, kind="return", reference=number,
                   reason=f"{number}: khách trả hàng / customer return", lot_no=lot_no, best_before=best_before)
    return_id = _insert(
        "INSERT INTO sales_point_sale_return (number, sale_id, reason, restock, refund_amount, refund_method,"
        " created_by_id, created_at, returned_on) VALUES (:number, :sale, 'quả bị dập', :restock, :amount, 'cash',"
        " :by, :at, :on)", number=number, sale=sale_id, restock=True, amount=variant.price * quantity, by=admin.id,
        at=SOLD_AT + dt.timedelta(hours=2), on=SOLD_ON)
    _insert("INSERT INTO sales_point_sale_return_line (return_id, sale_line_id, quantity, amount) VALUES"
            " (:ret, :line, :quantity, :amount)", ret=return_id, line=line_id, quantity=quantity,
            amount=variant.price * quantity)
    db.session.execute(sa.text("UPDATE sales_point_sale_line SET returned_quantity = returned_quantity + :q"
                               " WHERE id = :id"), {"q": quantity, "id": line_id})


def _schema_diff() -> list:
    known = {t.name for t in db.metadata.sorted_tables}

    def include_object(obj, name, type_, reflected, compare_to):
        if type_ == "table" and reflected and compare_to is None:
            return name in known
        if type_ == "column" and reflected and compare_to is None and (obj.table.name, name) == ("search_document",
                                                                                                 "tsv"):
            return False
        if type_ == "index" and reflected and compare_to is None:
            return False
        return True

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        return compare_metadata(context, db.metadata)


def test_pos_sales_recorded_before_sp002_become_core_orders(old_app):
    from core.accounts.models import User
    from core.demo import seed_demo
    from plugins.sales_points import services
    client = old_app.test_client()
    with old_app.app_context():
        _upgrade_to("core", "0005_merge")
        _upgrade_to("sales_points", "sp001")
        seed_demo(campaign=False)  # the pricing tables come with a later core revision
        admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
        point = services.create_point(admin, {
            "name": "Điểm OCOP Bửu Long", "location_kind": "tourist_site_hotel_restaurant", "commune_code": "26188",
            "address": "Khu du lịch Bửu Long, Đồng Nai"})
        for sku, quantity, lot_no, best_before in (("BL-BDX-1", 3, "LATE", dt.date(2027, 3, 1)),
                                                   ("BL-BDX-1", 2, "EARLY", dt.date(2026, 12, 5)),
                                                   ("BL-TDB-10", 4, None, None)):
            ledger.receive(point.stock_location_id, _variant(sku), quantity, actor=admin, reason="nhập hàng",
                           reference="GRN-1", lot_no=lot_no, best_before=best_before)
        commit()
        point = db.session.get(SalesPoint, point.id)
        code, point_id, channel_id, location_id = point.code, point.id, point.sales_channel_id, point.stock_location_id
        s1, s1_lines, s1_total = _old_sale(point, admin, f"POS-{code}-000001", "cash",
                                           [("BL-BDX-1", 3), ("BL-TDB-10", 1)], tendered=300000, change=50000,
                                           client_ref="till1-0001")
        _old_return(point, admin, s1, f"RET-{code}-000001", s1_lines["BL-BDX-1"], "BL-BDX-1", 1, "LATE",
                    dt.date(2027, 3, 1))
        s2, _, s2_total = _old_sale(point, admin, f"POS-{code}-000002", "bank_transfer_qr", [("BL-TDB-10", 1)],
                                    reference="FT26324000777", status="voided", void_reason="bấm nhầm")
        s3, _, s3_total = _old_sale(point, admin, f"POS-{code}-000003", "card", [("BL-BDX-1", 1)])
        commit()
        movements_before = db.session.execute(select(func.count()).select_from(StockMovement)).scalar_one()
        db.session.remove()

        migrate.upgrade()

        assert db.session.execute(select(func.count()).select_from(StockMovement)).scalar_one() == movements_before
        assert ledger.verify_ledger() == []
        assert _schema_diff() == []
        sales = {s.id: s for s in db.session.execute(select(PosSale)).scalars()}
        orders = {s: db.session.get(Order, sales[s].order_id) for s in (s1, s2, s3)}
        assert [orders[s].number for s in (s1, s2, s3)] == [f"OCOP-2026-00000{n}" for n in (1, 2, 3)]
        assert db.session.get(OrderNumberCounter, 2026).value == 3
        for s, total in ((s1, s1_total), (s2, s2_total), (s3, s3_total)):
            order = orders[s]
            assert order.channel_id == channel_id and order.delivery_method == "counter"
            assert order.total == order.paid_amount == order.subtotal == total and order.shipping_fee == 0
            assert order.created_at == order.completed_at == SOLD_AT.replace(tzinfo=dt.timezone.utc)
        # S1: cash with change, one pomelo returned
        o1 = orders[s1]
        assert (o1.status, o1.client_ref, o1.refunded_amount) == ("completed", "till1-0001", 65000)
        pomelo = next(line for line in o1.lines if line.sku == "BL-BDX-1")
        assert (pomelo.product_name, pomelo.unit_price, pomelo.quantity, pomelo.returned_quantity,
                pomelo.fulfilled_quantity) == ("Bưởi da xanh Bình Lợi", 65000, 3, 1, 3)
        assert [(a["lot_no"], a["best_before"], a["quantity"]) for a in pomelo.allocations] == [
            ("EARLY", "2026-12-05", 2), ("LATE", "2027-03-01", 1)]
        assert all(a["lot_id"] and a["location_id"] == location_id for a in pomelo.allocations)
        o1_id, pomelo_id = o1.id, pomelo.id
        [p1] = o1.payments
        assert (p1.gateway, p1.status, p1.amount, p1.refunded_amount) == ("counter_cash", "partially_refunded",
                                                                          s1_total, 65000)
        assert p1.client_data == {"tendered": 300000, "change": 50000}
        assert [(r.amount, r.payment_id) for r in db.session.execute(
            select(Refund).where(Refund.order_id == o1.id)).scalars()] == [(65000, p1.id)]
        assert db.session.execute(select(func.count()).select_from(Fulfilment)
                                  .where(Fulfilment.order_id == o1.id)).scalar_one() == 1
        [return_line] = db.session.execute(select(PosReturnLine)).scalars().all()
        assert return_line.order_line_id == pomelo.id
        # S2: voided → refunded with its reason; S3: card
        o2 = orders[s2]
        assert (o2.status, o2.cancel_reason, o2.refunded_amount) == ("refunded", f"POS-{code}-000002: bấm nhầm",
                                                                     s2_total)
        assert [(p.gateway, p.status, p.external_id) for p in o2.payments] == [
            ("counter_transfer", "refunded", "FT26324000777")]
        assert [(p.gateway, p.status) for p in orders[s3].payments] == [("counter_card", "succeeded")]
        db.session.remove()

    # the till answers as before, now from the core order
    headers = {"Authorization": "Bearer " + client.post("/auth/token", json={
        "username": "admin", "password": "ocop-demo-2026"}).get_json()["token"]}
    body = client.get(f"{BASE}/sales/{s1}", headers=headers).get_json()
    assert (body["total"], body["payment_method"], body["amount_tendered"], body["change_due"], body["refunded"]) == \
        (s1_total, "cash", 300000, 50000, 65000)
    assert body["client_ref"] == "till1-0001" and body["status"] == "completed" and body["order_id"] == o1_id
    pomelo_view = next(line for line in body["lines"] if line["sku"] == "BL-BDX-1")
    assert pomelo_view["lots"] == [{"lot_no": "EARLY", "best_before": "2026-12-05", "quantity": 2},
                                   {"lot_no": "LATE", "best_before": "2027-03-01", "quantity": 1}]
    assert pomelo_view["returned_quantity"] == 1 and pomelo_view["id"] == pomelo_id
    assert body["returns"][0]["lines"] == [{"sale_line_id": pomelo_id, "quantity": 1, "amount": 65000}]
    assert body["receipt"]["total"] == s1_total and body["receipt"]["payment_method_name"] == "Tiền mặt / Cash"
    voided = client.get(f"{BASE}/sales/{s2}", headers=headers).get_json()
    assert (voided["status"], voided["payment_method"], voided["payment_reference"]) == (
        "voided", "bank_transfer_qr", "FT26324000777")
    # a later return of a backfilled sale restocks into its lot; a new sale continues the numbering
    r = client.post(f"{BASE}/sales/{s1}/returns", json={"reason": "khách đổi ý", "lines": [
        {"sale_line_id": pomelo_id, "quantity": 2}]}, headers=headers)
    assert r.status_code == 201, r.get_json()
    error_of(client.post(f"{BASE}/sales/{s1}/returns", json={"reason": "lần nữa", "lines": [
        {"sale_line_id": pomelo_id, "quantity": 1}]}, headers=headers), 422, "sales_point.return_exceeds_sale")
    client.post(f"{BASE}/{point_id}/operators", json={"username": "op.a", "password": "op-pass-2026"}, headers=headers)
    op_a = {"Authorization": "Bearer " + client.post("/auth/token", json={
        "username": "op.a", "password": "op-pass-2026"}).get_json()["token"]}
    new = client.post(f"{BASE}/{point_id}/sales", json={"payment_method": "cash", "client_ref": "till1-0001",
                                                        "lines": [{"sku": "BL-TDB-10", "quantity": 1}]}, headers=op_a)
    assert new.status_code == 200 and new.get_json()["id"] == s1  # the old till key still replays
    new = client.post(f"{BASE}/{point_id}/sales", json={"payment_method": "cash", "client_ref": "till1-0004",
                                                        "lines": [{"sku": "BL-TDB-10", "quantity": 1}]}, headers=op_a)
    assert new.status_code == 201, new.get_json()
    with old_app.app_context():
        assert db.session.get(Order, new.get_json()["order_id"]).number == "OCOP-2026-000004"
        # allocations [EARLY 2, LATE 1], one unit (LATE) came back before: these two go back to EARLY
        lots = dict(db.session.execute(select(StockLot.lot_no, StockLot.on_hand)
                                       .join(Stock, Stock.id == StockLot.stock_id)
                                       .where(Stock.location_id == location_id,
                                              Stock.variant_id == _variant("BL-BDX-1").id)).all())
        assert lots == {"EARLY": 2, "LATE": 2}
        assert ledger.verify_ledger() == []
        db.session.remove()  # no open transaction may hold locks while the schema changes (PostgreSQL)
        # downgrade: the till tables hold the sale again; upgrading again adds no orders
        migrate.downgrade("sales_points", "sp001")
        row = db.session.execute(sa.text("SELECT total, payment_method, amount_tendered, client_ref FROM"
                                         " sales_point_sale WHERE id = :id"), {"id": s1}).one()
        assert tuple(row) == (s1_total, "cash", 300000, "till1-0001")
        assert db.session.execute(sa.text("SELECT returned_quantity FROM sales_point_sale_line WHERE sale_id = :id"
                                          " AND sku = 'BL-BDX-1'"), {"id": s1}).scalar_one() == 3
        db.session.remove()
        migrate.upgrade()
        assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 4
        assert db.session.execute(select(func.count()).select_from(Payment)).scalar_one() == 4
        assert _schema_diff() == []
        db.session.remove()
