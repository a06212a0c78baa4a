"""Authentication: login, throttling, logout/revocation, expiry, long-lived API tokens."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.db import db, utcnow
from core.accounts.models import ApiToken, LoginThrottle, User

PASSWORD = "ocop-demo-2026"


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_a_bearer_token(client, demo):
    response = client.post("/auth/token", json={"username": "sct.dongnai", "password": PASSWORD})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer" and len(body["token"]) >= 32
    assert body["expires_at"]  # session tokens expire
    me = client.get("/admin/v1/me", headers=_bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json() == {"id": me.get_json()["id"], "username": "sct.dongnai", "role": "organiser",
                             "full_name": "Sở Công Thương Đồng Nai", "province_code": "75", "producer_id": None}
    # only a hash of the token is stored
    stored = db.session.execute(select(ApiToken.token_hash)).scalars().all()
    assert body["token"] not in stored


def test_bad_password_and_unknown_user_are_the_same_401(client, demo):
    bad = _error(client.post("/auth/token", json={"username": "admin", "password": "wrong-password"}),
                 401, "auth.invalid_credentials")
    unknown = _error(client.post("/auth/token", json={"username": "nobody", "password": "wrong-password"}),
                     401, "auth.invalid_credentials")
    assert bad == unknown


@pytest.mark.parametrize("payload, field", [
    ({"username": "admin"}, "password"),
    ({"username": "admin", "password": PASSWORD, "remember": True}, "remember"),
    ({"username": "ad\u0000min", "password": PASSWORD}, "username"),
])
def test_login_bad_input_is_422(client, demo, payload, field):
    error = _error(client.post("/auth/token", json=payload), 422, "validation.invalid")
    assert field in error["details"]


def test_account_locks_after_five_failures(client, demo):
    for _ in range(4):
        _error(client.post("/auth/token", json={"username": "hoidong.dongnai", "password": "nope-nope"}),
               401, "auth.invalid_credentials")
    # the fifth failure locks the account
    _error(client.post("/auth/token", json={"username": "hoidong.dongnai", "password": "nope-nope"}),
           401, "auth.invalid_credentials")
    locked = _error(client.post("/auth/token", json={"username": "hoidong.dongnai", "password": PASSWORD}),
                    429, "auth.locked")
    assert locked["details"]["retry_after"] > 0
    # other accounts are not affected
    assert client.post("/auth/token", json={"username": "admin", "password": PASSWORD}).status_code == 201
    # once the lock has passed, the right password works again and resets the counter
    row = db.session.get(LoginThrottle, "account:hoidong.dongnai")
    row.locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert client.post("/auth/token", json={"username": "hoidong.dongnai", "password": PASSWORD}).status_code == 201
    db.session.refresh(row)
    assert row.failures == 0 and row.locked_until is None


def test_success_resets_the_failure_counter(client, demo):
    for _ in range(4):
        client.post("/auth/token", json={"username": "admin", "password": "nope-nope"})
    assert client.post("/auth/token", json={"username": "admin", "password": PASSWORD}).status_code == 201
    for _ in range(4):
        client.post("/auth/token", json={"username": "admin", "password": "nope-nope"})
    assert client.post("/auth/token", json={"username": "admin", "password": PASSWORD}).status_code == 201


def test_no_token_bad_token_and_garbage_header_are_401(client, demo):
    _error(client.get("/admin/v1/me"), 401, "auth.required")
    garbage = _error(client.get("/admin/v1/me", headers=_bearer("not-a-real-token")), 401, "auth.invalid_token")
    assert garbage["message"] != "Cần đăng nhập." and "token" in garbage["message_en"]
    _error(client.get("/admin/v1/me", headers={"Authorization": "Basic YWRtaW46eA=="}), 401, "auth.required")


def test_logout_revokes_the_token(client, demo, login):
    headers = login("admin")
    assert client.get("/admin/v1/me", headers=headers).status_code == 200
    assert client.delete("/auth/token", headers=headers).status_code == 204
    _error(client.get("/admin/v1/me", headers=headers), 401, "auth.invalid_token")
    _error(client.delete("/auth/token", headers=headers), 401)
    _error(client.delete("/auth/token"), 401, "auth.required")


def test_expired_token_is_401(client, demo, login):
    headers = login("sct.dongnai")
    token = db.session.execute(select(ApiToken).order_by(ApiToken.id.desc())).scalars().first()
    token.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    _error(client.get("/admin/v1/me", headers=headers), 401, "auth.invalid_token")


def test_token_of_a_deactivated_user_is_401(client, demo, login):
    headers = login("cs.tran-gia")
    user = db.session.execute(select(User).where(User.username == "cs.tran-gia")).scalar_one()
    user.active = False
    db.session.commit()
    _error(client.get("/admin/v1/me", headers=headers), 401)
    _error(client.post("/auth/token", json={"username": "cs.tran-gia", "password": PASSWORD}), 401)


def test_api_token_create_use_and_revoke(client, demo, login):
    headers = login("cs.htx-binh-loi")
    created = client.post("/admin/v1/api-tokens", json={"name": "Website sync"}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["expires_at"] is not None  # API tokens expire (after 90 days unless asked otherwise)
    api_headers = _bearer(body["token"])
    me = client.get("/admin/v1/me", headers=api_headers)
    assert me.status_code == 200 and me.get_json()["username"] == "cs.htx-binh-loi"
    stored = db.session.get(ApiToken, body["id"])
    assert stored.kind == "api" and stored.name == "Website sync"

    limited = client.post("/admin/v1/api-tokens", json={"name": "30 days", "ttl_days": 30}, headers=headers)
    assert limited.status_code == 201 and limited.get_json()["expires_at"] is not None

    # someone else cannot revoke it
    other = login("cs.son-an")
    _error(client.delete(f"/admin/v1/api-tokens/{body['id']}", headers=other), 404, "token.not_found")
    assert client.get("/admin/v1/me", headers=api_headers).status_code == 200
    # the owner can
    assert client.delete(f"/admin/v1/api-tokens/{body['id']}", headers=headers).status_code == 204
    _error(client.get("/admin/v1/me", headers=api_headers), 401, "auth.invalid_token")
    # the session token used to revoke it still works
    assert client.get("/admin/v1/me", headers=headers).status_code == 200


@pytest.mark.parametrize("payload, field", [
    ({}, "name"),
    ({"name": "x", "scope": "all"}, "scope"),
    ({"name": "x", "ttl_days": 0}, "ttl_days"),
    ({"name": "bad\u0007name"}, "name"),
])
def test_api_token_bad_input(client, demo, login, payload, field):
    headers = login("admin")
    before = db.session.execute(select(ApiToken.id)).scalars().all()
    error = _error(client.post("/admin/v1/api-tokens", json=payload, headers=headers), 422, "validation.invalid")
    assert field in error["details"]
    assert db.session.execute(select(ApiToken.id)).scalars().all() == before


def test_api_tokens_need_a_token(client, demo):
    _error(client.post("/admin/v1/api-tokens", json={"name": "x"}), 401, "auth.required")
    _error(client.delete("/admin/v1/api-tokens/1"), 401, "auth.required")
