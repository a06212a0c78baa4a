"""Users admin API: admin manages everyone; organisers manage producer/operator accounts of their province."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import db
from core.accounts.models import ApiToken, User
from core.audit.models import AuditEvent
from core.catalogue.models import Producer

PASSWORD = "ocop-demo-2026"


def _error(response, status, code=None):
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "message_en", "details"}
    if code:
        assert error["code"] == code, error
    return error


def _producer_id(slug_key):
    user = db.session.execute(select(User).where(User.username == f"cs.{slug_key}")).scalar_one()
    return user.producer_id


def _user_id(username):
    return db.session.execute(select(User.id).where(User.username == username)).scalar_one()


def test_admin_lists_creates_and_reads_any_user(client, demo, login):
    headers = login("admin")
    listed = client.get("/admin/v1/users?limit=100", headers=headers)
    assert listed.status_code == 200
    body = listed.get_json()
    names = {u["username"] for u in body["results"]}
    assert {"admin", "sct.dongnai", "hoidong.dongnai", "cs.vi-khe"} <= names
    assert body["total"] == len(body["results"]) and body["next"] is None
    assert all("password" not in u and "password_hash" not in u for u in body["results"])

    created = client.post("/admin/v1/users", headers=headers, json={
        "username": "sct.hatinh", "password": "mat-khau-123", "role": "organiser", "province_code": "42",
        "full_name": "Sở Công Thương Hà Tĩnh", "email": "sct@hatinh.gov.vn"})
    assert created.status_code == 201, created.get_json()
    user = created.get_json()
    assert user["role"] == "organiser" and user["province_code"] == "42" and user["active"] is True
    assert "password" not in user
    assert client.get(f"/admin/v1/users/{user['id']}", headers=headers).get_json()["username"] == "sct.hatinh"
    # the new organiser can log in
    login("sct.hatinh", "mat-khau-123")
    # audited without the password hash
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.created",
                                                        AuditEvent.entity_id == str(user["id"]))).scalar_one()
    assert event.province_code == "42" and event.entity_type == "user"
    assert "password_hash" not in event.after and event.after["username"] == "sct.hatinh"

    filtered = client.get("/admin/v1/users?role=organiser", headers=headers).get_json()
    assert {u["username"] for u in filtered["results"]} == {"sct.dongnai", "sct.hatinh"}
    by_province = client.get("/admin/v1/users?province_code=42", headers=headers).get_json()
    assert {u["username"] for u in by_province["results"]} == {"sct.hatinh", "cs.tht-cam-vu-quang"}
    search = client.get("/admin/v1/users?q=binh-loi", headers=headers).get_json()
    assert [u["username"] for u in search["results"]] == ["cs.htx-binh-loi"]


def test_organiser_manages_only_producer_and_operator_users_of_its_province(client, demo, login):
    headers = login("sct.dongnai")
    listed = client.get("/admin/v1/users?limit=100", headers=headers).get_json()
    names = {u["username"] for u in listed["results"]}
    assert "cs.htx-binh-loi" in names and "cs.son-an" in names
    assert not names & {"admin", "sct.dongnai", "hoidong.dongnai", "cs.vi-khe", "cs.tht-cam-vu-quang"}

    # a second account for a producer of Đồng Nai
    created = client.post("/admin/v1/users", headers=headers, json={
        "username": "ketoan.binhloi", "password": "mat-khau-123", "role": "producer",
        "producer_id": _producer_id("htx-binh-loi")})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["province_code"] is None  # the producer's province applies

    # an operator account: scoped to the organiser's province automatically
    operator = client.post("/admin/v1/users", headers=headers, json={
        "username": "nv.diemban1", "password": "mat-khau-123", "role": "operator"})
    assert operator.status_code == 201
    assert operator.get_json()["province_code"] == "75"
    assert client.get(f"/admin/v1/users/{operator.get_json()['id']}", headers=headers).status_code == 200

    # out of scope: other roles, other provinces' producers, other provinces' operators
    _error(client.post("/admin/v1/users", headers=headers, json={
        "username": "sct.khac", "password": "mat-khau-123", "role": "organiser", "province_code": "75"}),
        403, "auth.out_of_scope")
    _error(client.post("/admin/v1/users", headers=headers, json={
        "username": "cs.vikhe2", "password": "mat-khau-123", "role": "producer",
        "producer_id": _producer_id("vi-khe")}), 403, "auth.out_of_scope")
    _error(client.post("/admin/v1/users", headers=headers, json={
        "username": "nv.hatinh", "password": "mat-khau-123", "role": "operator", "province_code": "42"}),
        403, "auth.out_of_scope")
    _error(client.get(f"/admin/v1/users/{_user_id('cs.vi-khe')}", headers=headers), 403, "auth.out_of_scope")
    _error(client.get(f"/admin/v1/users/{_user_id('admin')}", headers=headers), 403, "auth.out_of_scope")
    _error(client.patch(f"/admin/v1/users/{_user_id('hoidong.dongnai')}", headers=headers,
                        json={"active": False}), 403, "auth.out_of_scope")
    # cannot promote a producer user it manages
    _error(client.patch(f"/admin/v1/users/{_user_id('cs.son-an')}", headers=headers,
                        json={"role": "organiser", "province_code": "75"}), 403, "auth.out_of_scope")
    # cannot move a producer user to another province's producer
    _error(client.patch(f"/admin/v1/users/{_user_id('cs.son-an')}", headers=headers,
                        json={"producer_id": _producer_id("vi-khe")}), 403, "auth.out_of_scope")
    assert db.session.execute(select(User.username).where(User.username.in_(
        ("sct.khac", "cs.vikhe2", "nv.hatinh")))).first() is None
    assert db.session.get(User, _user_id("cs.son-an")).role == "producer"


def test_patch_password_reset_revokes_tokens_and_is_audited(client, demo, login):
    admin = login("admin")
    victim = login("cs.son-an")
    user_id = _user_id("cs.son-an")
    response = client.patch(f"/admin/v1/users/{user_id}", headers=login("sct.dongnai"),
                            json={"password": "mat-khau-moi-2026", "full_name": "Sơn An"})
    assert response.status_code == 200 and response.get_json()["full_name"] == "Sơn An"
    _error(client.get("/admin/v1/me", headers=victim), 401, "auth.invalid_token")
    _error(client.post("/auth/token", json={"username": "cs.son-an", "password": PASSWORD}), 401)
    login("cs.son-an", "mat-khau-moi-2026")
    actions = db.session.execute(select(AuditEvent.action).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user_id))).scalars().all()
    assert set(actions) == {"user.updated", "user.password_reset"}
    events = db.session.execute(select(AuditEvent).where(AuditEvent.entity_type == "user",
                                                         AuditEvent.entity_id == str(user_id))).scalars().all()
    assert all("password" not in str(e.after) for e in events if e.after)
    assert all(e.province_code == "75" and e.actor_username == "sct.dongnai" for e in events)
    # admin changes role and scope: a producer user becomes a certifier of Hà Tĩnh
    changed = client.patch(f"/admin/v1/users/{user_id}", headers=admin,
                           json={"role": "certifier", "province_code": "42"})
    assert changed.status_code == 200
    assert changed.get_json()["producer_id"] is None and changed.get_json()["province_code"] == "42"


def test_deactivate_and_reactivate(client, demo, login):
    admin = login("admin")
    user_id = _user_id("hoidong.dongnai")
    victim = login("hoidong.dongnai")
    response = client.delete(f"/admin/v1/users/{user_id}", headers=admin)
    assert response.status_code == 200 and response.get_json()["active"] is False
    _error(client.get("/admin/v1/me", headers=victim), 401)
    assert db.session.execute(select(ApiToken).where(ApiToken.user_id == user_id,
                                                     ApiToken.revoked_at.is_(None))).first() is None
    inactive = client.get("/admin/v1/users?active=false", headers=admin).get_json()
    assert [u["username"] for u in inactive["results"]] == ["hoidong.dongnai"]
    assert client.patch(f"/admin/v1/users/{user_id}", headers=admin, json={"active": True}).status_code == 200
    login("hoidong.dongnai")
    actions = db.session.execute(select(AuditEvent.action).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user_id)).order_by(AuditEvent.id)).scalars().all()
    assert actions == ["user.deactivated", "user.reactivated"]


def test_admin_cannot_lock_itself_out(client, demo, login):
    headers = login("admin")
    me = _user_id("admin")
    _error(client.delete(f"/admin/v1/users/{me}", headers=headers), 409, "user.self_lockout")
    _error(client.patch(f"/admin/v1/users/{me}", headers=headers, json={"role": "organiser",
                                                                         "province_code": "75"}),
           409, "user.self_lockout")
    assert db.session.get(User, me).active is True


@pytest.mark.parametrize("payload, status, code, field", [
    ({"username": "x1", "password": "mat-khau-123", "role": "admin"}, 422, "validation.invalid", "username"),
    ({"username": "new.user", "password": "short", "role": "admin"}, 422, "validation.invalid", "password"),
    ({"username": "new.user", "password": "mat-khau-123", "role": "king"}, 422, "validation.invalid", "role"),
    ({"username": "new.user", "password": "mat-khau-123", "role": "admin", "extra": 1}, 422,
     "validation.invalid", "extra"),
    ({"username": "new.user", "password": "mat-khau-123", "role": "organiser"}, 422, "validation.invalid",
     "province_code"),
    ({"username": "new.user", "password": "mat-khau-123", "role": "organiser", "province_code": "DNA"}, 422,
     "validation.invalid", "province_code"),  # retired province
    ({"username": "new.user", "password": "mat-khau-123", "role": "producer"}, 422, "validation.invalid",
     "producer_id"),
    ({"username": "new.user", "password": "mat-khau-123", "role": "producer", "producer_id": 999999}, 422,
     "validation.invalid", "producer_id"),
    ({"username": "new.user", "password": "mat-khau-123", "role": "admin", "province_code": "75"}, 422,
     "validation.invalid", "province_code"),
    ({"username": "new\u200buser", "password": "mat-khau-123", "role": "admin"}, 422, "validation.invalid",
     "username"),
    ({"username": "sct.dongnai", "password": "mat-khau-123", "role": "admin"}, 409, "user.exists", None),
])
def test_create_user_bad_input(client, demo, login, payload, status, code, field):
    headers = login("admin")
    before = db.session.execute(select(User.id)).scalars().all()
    error = _error(client.post("/admin/v1/users", headers=headers, json=payload), status, code)
    if field:
        assert field in error["details"]
    assert db.session.execute(select(User.id)).scalars().all() == before


def test_patch_bad_input_and_missing_user(client, demo, login):
    headers = login("admin")
    user_id = _user_id("cs.son-an")
    assert "password" in _error(client.patch(f"/admin/v1/users/{user_id}", headers=headers,
                                             json={"password": "short"}), 422)["details"]
    assert "username" in _error(client.patch(f"/admin/v1/users/{user_id}", headers=headers,
                                             json={"username": "renamed"}), 422)["details"]
    _error(client.patch(f"/admin/v1/users/{user_id}", headers=headers, json={"role": "organiser"}),
           422, "validation.invalid")
    _error(client.get("/admin/v1/users/999999", headers=headers), 404, "user.not_found")
    _error(client.get("/admin/v1/users?limit=1000", headers=headers), 422, "validation.invalid")
    _error(client.get("/admin/v1/users?role=king", headers=headers), 422, "validation.invalid")
    assert db.session.get(User, user_id).role == "producer"


def test_users_api_needs_a_manager(client, demo, login):
    for method, url in (("get", "/admin/v1/users"), ("post", "/admin/v1/users"), ("get", "/admin/v1/users/1"),
                        ("patch", "/admin/v1/users/1"), ("delete", "/admin/v1/users/1")):
        _error(getattr(client, method)(url, json={} if method in ("post", "patch") else None), 401, "auth.required")
    for username in ("hoidong.dongnai", "cs.son-an"):
        headers = login(username)
        _error(client.get("/admin/v1/users", headers=headers), 403, "auth.forbidden")
        _error(client.post("/admin/v1/users", headers=headers, json={
            "username": "sneaky", "password": "mat-khau-123", "role": "admin"}), 403, "auth.forbidden")
        _error(client.delete(f"/admin/v1/users/{_user_id('admin')}", headers=headers), 403, "auth.forbidden")
    assert db.session.execute(select(User).where(User.username == "sneaky")).first() is None
    assert db.session.execute(select(Producer.id)).first()  # demo intact
