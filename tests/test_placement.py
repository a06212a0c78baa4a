"""Placing an order (core.sales.placement): the first payment, search work only when stock runs out, numbering."""
from __future__ import annotations

from sqlalchemy import func, select

from support.checks import error_of
from support.orders import checkout_for, ledger_ok, stock_of

COMPLETE = "/storefront/v1/checkouts/{token}/complete"


class _Unreachable:
    """A gateway plugin whose provider refuses every payment start."""

    from core.hookspecs import hookimpl

    @hookimpl
    def payment_gateways(self, settings):
        from core.errors import DomainError
        from core.payments.gateways import PaymentGateway

        class Down(PaymentGateway):
            code, name, name_en = "down", "Cổng lỗi", "Broken gateway"

            def start(self, order, payment):
                raise DomainError("payment.provider_unreachable", "Không kết nối được cổng thanh toán.",
                                  "The payment provider cannot be reached.", status=409)

        return [Down()]


def test_a_payment_that_cannot_start_keeps_the_order_and_says_why(app, client, demo):
    from core.db import db
    from core.payments.models import Payment
    from core.plugins import plugin_manager
    from core.sales.models import Order
    pm, plugin = plugin_manager(), _Unreachable()
    pm.register(plugin, name="test-unreachable-gateway")
    app.extensions.pop("ocop_payment_gateways", None)  # gateways are collected once per app
    try:
        checkout = checkout_for(client, [("BL-BDX-1", 2)], gateway="down")
        response = client.post(COMPLETE.format(token=checkout["token"]))
    finally:
        pm.unregister(plugin)
        pm.infos.pop("test-unreachable-gateway", None)
        app.extensions.pop("ocop_payment_gateways", None)
    assert response.status_code == 201
    order = response.get_json()
    assert order["payment_error"]["code"] == "payment.provider_unreachable"
    assert order["payment_error"]["message"] and order["payment_error"]["message_en"]
    assert order["payments"] == [] and order["status"] == "unconfirmed"
    db.session.rollback()
    assert db.session.execute(select(Order.number).where(Order.token == order["token"])).scalar_one() == order["number"]
    assert db.session.execute(select(func.count()).select_from(Payment)).scalar_one() == 0  # the savepoint undid it
    assert stock_of("BL-BDX-1")[1] == 2
    ledger_ok()


def test_the_first_payment_starts_with_the_checkouts_gateway(client, demo):
    checkout = checkout_for(client, [("BL-BDX-1", 1)], gateway="cod")
    order = client.post(COMPLETE.format(token=checkout["token"])).get_json()
    assert "payment_error" not in order or order["payment_error"] is None
    assert [(p["gateway"], p["amount"], p["status"]) for p in order["payments"]] == [("cod", order["total"], "pending")]
    assert order["payments"][0]["client_data"]["amount_to_collect"] == order["total"]
    assert client.get(f"/storefront/v1/orders/{order['token']}").get_json()["payments"] == order["payments"]


def _product_of(sku: str):
    from core.db import db
    from core.catalogue.models import Product, Variant
    db.session.rollback()
    return db.session.execute(select(Product).join(Variant, Variant.product_id == Product.id)
                              .where(Variant.sku == sku)).scalar_one()


def _stock_outbox_rows(product_id: int) -> int:
    from core.db import db
    from core.search.models import SearchOutbox
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(SearchOutbox).where(
        SearchOutbox.product_id == product_id, SearchOutbox.reason == "stock")).scalar_one()


def _in_stock_in_search(client, product) -> bool:
    hits = client.get("/storefront/v1/search", query_string={"limit": 100})
    return next(hit["in_stock"] for hit in hits.get_json()["results"] if hit["slug"] == product.slug)


def test_search_reindexes_a_product_only_when_an_order_empties_its_stock(client, demo):
    """The in-stock flag is all the index knows of stock: an order leaving stock behind gives it no work."""
    sku = "NTN-DEN-S"  # one variant, one location
    product = _product_of(sku)
    on_hand, allocated = stock_of(sku)
    assert 1 < on_hand - allocated <= 100 and _in_stock_in_search(client, product)
    before = _stock_outbox_rows(product.id)
    first = checkout_for(client, [(sku, 1)])
    assert client.post(COMPLETE.format(token=first["token"])).status_code == 201
    assert _stock_outbox_rows(product.id) == before
    last = checkout_for(client, [(sku, on_hand - allocated - 1)])
    assert client.post(COMPLETE.format(token=last["token"])).status_code == 201
    assert stock_of(sku) == (on_hand, on_hand)
    assert _stock_outbox_rows(product.id) == before + 1
    assert not _in_stock_in_search(client, _product_of(sku))


def test_an_order_number_survives_a_dropped_pooled_connection(app, client, demo, postgres_url):
    """PostgreSQL: numbers come from a pool of their own; a connection the server dropped is replaced once."""
    from sqlalchemy import text
    from core.db import autocommit_engine, db
    first = client.post(COMPLETE.format(token=checkout_for(client, [("BL-BDX-1", 1)])["token"])).get_json()
    with autocommit_engine().connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    response = client.post(COMPLETE.format(token=checkout_for(client, [("BL-BDX-1", 1)])["token"]))
    assert response.status_code == 201, response.get_json()
    assert int(response.get_json()["number"].rsplit("-", 1)[1]) == int(first["number"].rsplit("-", 1)[1]) + 1
    error_of(client.post(COMPLETE.format(token="no-such-checkout")), 404, "checkout.not_found")


def test_after_commit_hooks_read_the_placed_order_without_reading_it_again(app, client, demo):
    """The order, its lines and the stock rows stay loaded with their committed values for the after-commit
    hooks (no query); the session's next transaction reads them afresh, as after any commit."""
    from sqlalchemy import event, inspect

    from core.db import commit, db, on_commit
    from core.sales import placement
    from core.sales.models import Order
    token = checkout_for(client, [("VQ-CAM-5KG", 2)])["token"]
    seen = {}
    with app.test_request_context():
        view, created = placement.place_from_checkout(token, None)
        order = db.session.execute(select(Order).where(Order.number == view["number"])).scalar_one()

        def read():
            statements = []
            listener = lambda *args: statements.append(args[2])  # noqa: E731 - before_cursor_execute
            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                seen["order"] = (order.number, order.status, order.total, [(l.sku, l.quantity) for l in order.lines])
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            seen["statements"] = statements
        on_commit(read)
        commit()
        assert seen["statements"] == [] and seen["order"] == (view["number"], "unconfirmed", view["total"],
                                                              [("VQ-CAM-5KG", 2)])
        db.session.execute(select(1))  # a new transaction: the order is expired again
        assert "status" in inspect(order).expired_attributes
        assert order.status == "unconfirmed"
