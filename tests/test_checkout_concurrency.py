"""PostgreSQL: 100 concurrent checkout completions for a variant with 50 in stock never oversell."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from support.orders import checkout_for, ledger_ok, stock_of

SCARCE, PLENTY = "BL-TDB-50", "BL-BDX-1"


@pytest.fixture
def fifty_in_stock(app, demo, postgres_url):
    from core.db import commit, db
    from core.inventory.models import Stock
    from core.accounts.models import User
    from core.catalogue.models import Variant
    from core.inventory import ledger
    admin = db.session.execute(select(User).where(User.username == "admin")).scalar_one()
    variant = db.session.execute(select(Variant).where(Variant.sku == SCARCE)).scalar_one()
    row = db.session.execute(select(Stock).where(Stock.variant_id == variant.id)).scalar_one()
    ledger.adjust(row.location_id, variant, 50 - row.on_hand, actor=admin, reason="kiểm thử đồng thời")
    commit()
    assert stock_of(SCARCE) == (50, 0)


def test_100_concurrent_checkouts_for_50_units(app, client, fifty_in_stock):
    from core.db import db
    from core.sales.models import Order, OrderLine
    # the scarce variant listed second so the plentiful line is allocated first in half of the carts
    tokens = [checkout_for(client, [(PLENTY, 1), (SCARCE, 1)] if i % 2 else [(SCARCE, 1), (PLENTY, 1)])["token"]
              for i in range(100)]
    db.session.remove()
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[int, dict]] = [None] * len(tokens)  # type: ignore[list-item]

    def complete(i: int, token: str) -> None:
        local = app.test_client()
        barrier.wait()
        response = local.post(f"/storefront/v1/checkouts/{token}/complete",
                              headers={"Idempotency-Key": f"conc-{i}"})
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=complete, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 50, 409: 50}, statuses
    refused = [body for status, body in results if status == 409]
    assert {body["error"]["code"] for body in refused} == {"stock.insufficient"}
    assert all(set(body) == {"error"} and body["error"]["message_en"] for body in refused)

    db.session.rollback()
    assert stock_of(SCARCE) == (50, 50)
    assert stock_of(PLENTY)[1] == 50  # the refused carts left no allocation of their other line behind
    ledger_ok()
    numbers = sorted(db.session.execute(select(Order.number)).scalars())
    assert len(numbers) == 50 == len(set(numbers))
    assert all(n.startswith("OCOP-2026-") and len(n) == len("OCOP-2026-000001") for n in numbers)
    sold = db.session.execute(select(func.sum(OrderLine.quantity)).where(OrderLine.sku == SCARCE)).scalar_one()
    assert sold == 50

    # every placed order is repeatable with its key; refused carts stay open
    placed = [i for i, (status, _) in enumerate(results) if status == 201]
    again = app.test_client().post(f"/storefront/v1/checkouts/{tokens[placed[0]]}/complete",
                                   headers={"Idempotency-Key": f"conc-{placed[0]}"})
    assert again.status_code == 200 and again.get_json()["number"] == results[placed[0]][1]["number"]
    refused_i = next(i for i, (status, _) in enumerate(results) if status == 409)
    assert client.get(f"/storefront/v1/checkouts/{tokens[refused_i]}").get_json()["status"] == "open"


def test_concurrent_repeats_of_one_key_place_one_order(app, client, fifty_in_stock):
    from core.db import db
    from core.sales.models import Order
    token = checkout_for(client, [(SCARCE, 2)])["token"]
    db.session.remove()
    barrier = threading.Barrier(10)
    results = []
    lock = threading.Lock()

    def complete():
        local = app.test_client()
        barrier.wait()
        response = local.post(f"/storefront/v1/checkouts/{token}/complete", headers={"Idempotency-Key": "same"})
        with lock:
            results.append((response.status_code, response.get_json().get("number")))

    threads = [threading.Thread(target=complete) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in results) == [200] * 9 + [201]
    assert len({n for _, n in results}) == 1
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 1
    assert stock_of(SCARCE) == (50, 2)
    ledger_ok()
