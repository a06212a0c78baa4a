"""Login throttling: atomic counters per account and per client address, growing delays, Retry-After,
the same answer for unknown users; Flask-Limiter on the expensive anonymous endpoints."""
from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select, update

from core.db import db, utcnow
from core.accounts.models import ApiToken, LoginThrottle

PASSWORD = "ocop-demo-2026"


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _attempt(client, username, password, address="198.51.100.7"):
    return client.post("/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _let_time_pass(key_prefix="account:"):
    """The delays have passed (as if their time had come)."""
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key.startswith(key_prefix))
                       .values(locked_until=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()


def _tokens():
    db.session.rollback()
    return db.session.execute(select(ApiToken.id)).scalars().all()


def test_parallel_wrong_passwords_are_checked_at_most_five_times_then_the_right_one_waits(app, demo, postgres_url):
    """30 parallel wrong passwords: five are checked (401), the rest wait (429 + Retry-After); then the
    right password waits too, and works once the delay has passed."""
    db.session.remove()
    barrier = threading.Barrier(30)
    results: list = [None] * 30

    def attempt(i):
        local = app.test_client()
        barrier.wait()
        response = _attempt(local, "admin", f"wrong-{i}", address=f"203.0.113.{i + 1}")
        results[i] = (response.status_code, response.headers.get("Retry-After"), response.get_json())

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = Counter(status for status, _, _ in results)
    assert statuses == {401: 5, 429: 25}, statuses
    for status, retry_after, body in results:
        if status == 429:
            assert body["error"]["code"] == "auth.locked" and int(retry_after) >= 1
            assert body["error"]["details"]["retry_after"] == int(retry_after)
    before = _tokens()
    right = _attempt(app.test_client(), "admin", PASSWORD, address="192.0.2.1")
    _error(right, 429, "auth.locked")
    assert int(right.headers["Retry-After"]) >= 1
    assert _tokens() == before
    _let_time_pass()
    assert _attempt(app.test_client(), "admin", PASSWORD, address="192.0.2.1").status_code == 201


def test_a_burst_with_the_right_password_clears_no_delay(client, demo):
    for i in range(5):
        _error(_attempt(client, "hoidong.dongnai", f"wrong-{i}"), 401, "auth.invalid_credentials")
    # the fifth failure started a delay: the right password does not clear it
    _error(_attempt(client, "hoidong.dongnai", PASSWORD), 429, "auth.locked")
    _error(_attempt(client, "hoidong.dongnai", PASSWORD), 429, "auth.locked")
    row = db.session.get(LoginThrottle, "account:hoidong.dongnai")
    assert row.failures == 5


def test_delays_grow_with_each_further_failure(client, demo):
    retry = []
    for i in range(5):
        _attempt(client, "sct.dongnai", f"wrong-{i}")
    for i in range(3):
        retry.append(_error(_attempt(client, "sct.dongnai", "wrong"), 429, "auth.locked")["details"]["retry_after"])
        _let_time_pass()
        _error(_attempt(client, "sct.dongnai", "wrong-again"), 401, "auth.invalid_credentials")
    last = _error(_attempt(client, "sct.dongnai", "wrong"), 429, "auth.locked")["details"]["retry_after"]
    assert retry[0] <= 30 and retry[1] > retry[0] and retry[2] > retry[1] and last > retry[2]
    assert last <= 15 * 60


def test_unknown_users_answer_exactly_like_known_ones(client, demo):
    known, unknown = [], []
    for i in range(6):
        known.append(_attempt(client, "admin", f"wrong-{i}", address="198.51.100.1"))
        unknown.append(_attempt(client, "nobody-here", f"wrong-{i}", address="198.51.100.2"))
    for a, b in zip(known, unknown):
        assert a.status_code == b.status_code
        body_a, body_b = a.get_json()["error"], b.get_json()["error"]
        assert body_a["code"] == body_b["code"]
    assert known[-1].status_code == 429 and unknown[-1].get_json()["error"]["code"] == "auth.locked"
    assert "Retry-After" in unknown[-1].headers


def test_one_address_trying_many_accounts_is_delayed(client, demo, app):
    settings = app.config["OCOP"]
    for i in range(settings.login_ip_max_failures):
        _error(_attempt(client, f"guess-{i}", "wrong-password", address="198.51.100.99"),
               401, "auth.invalid_credentials")
    _error(_attempt(client, "guess-x", "wrong-password", address="198.51.100.99"), 429, "auth.locked")
    # the owner of an account, from another address, is not held back
    assert _attempt(client, "admin", PASSWORD, address="198.51.100.100").status_code == 201


def test_success_restarts_the_account_counter(client, demo):
    for _ in range(4):
        _attempt(client, "admin", "nope-nope")
    assert _attempt(client, "admin", PASSWORD).status_code == 201
    for _ in range(4):
        _error(_attempt(client, "admin", "nope-nope"), 401)
    assert _attempt(client, "admin", PASSWORD).status_code == 201


@pytest.fixture
def rate_limits(app):
    from core.api import limiter
    settings = app.config["OCOP"]
    settings.rate_limits_enabled = True
    limiter.reset()
    try:
        yield limiter
    finally:
        settings.rate_limits_enabled = False
        limiter.reset()


def test_flask_limiter_holds_back_a_flood_of_logins(client, demo, rate_limits):
    statuses = [_attempt(client, f"user-{i}", "wrong-password", address="198.51.100.50").status_code
                for i in range(12)]
    assert statuses[:10] == [401] * 10
    response = _attempt(client, "admin", PASSWORD, address="198.51.100.50")
    _error(response, 429, "request.too_many")
    assert int(response.headers["Retry-After"]) >= 1


def test_flask_limiter_holds_back_public_registrations(client, demo, rate_limits):
    from core.catalogue.models import Producer
    before = db.session.execute(select(Producer.id)).scalars().all()
    answers = [client.post("/storefront/v1/producer-registrations", json={"name": ""},
                           environ_base={"REMOTE_ADDR": "198.51.100.60"}).status_code for _ in range(6)]
    assert answers[:5] == [422] * 5 and answers[5] == 429
    response = client.post("/storefront/v1/producer-registrations", json={},
                           environ_base={"REMOTE_ADDR": "198.51.100.60"})
    _error(response, 429, "request.too_many")
    assert db.session.execute(select(Producer.id)).scalars().all() == before


def test_flask_limiter_holds_back_checkout_creation_and_order_lookups(client, demo, rate_limits):
    from core.sales.models import Checkout
    address = {"REMOTE_ADDR": "198.51.100.70"}
    created = [client.post("/storefront/v1/checkouts", json={}, environ_base=address).status_code
               for _ in range(30)]
    assert set(created) == {201}
    count = len(db.session.execute(select(Checkout.id)).scalars().all())
    _error(client.post("/storefront/v1/checkouts", json={}, environ_base=address), 429, "request.too_many")
    db.session.rollback()
    assert len(db.session.execute(select(Checkout.id)).scalars().all()) == count
    looked = [client.get("/storefront/v1/orders/no-such-order-token", environ_base=address).status_code
              for _ in range(60)]
    assert 429 not in looked
    _error(client.get("/storefront/v1/orders/no-such-order-token", environ_base=address),
           429, "request.too_many")
