"""Users, password hashing (scrypt), bearer tokens and login throttling."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import db, separate_transaction, utcnow
from core.errors import Conflict, DomainError, NotFound, TooManyRequests, Unauthorised, invalid
from core.accounts.models import ApiToken, User
from core.accounts.models import PROVINCE_SCOPED_ROLES, ROLES

_DUMMY_HASH = generate_password_hash("timing-equaliser", method="scrypt")


def _settings():
    return current_app.config["OCOP"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_role_scope(role: str, province_code: str | None, producer_id: int | None) -> None:
    """Reject role/scope combinations that make no sense (e.g. an organiser without a province)."""
    if role not in ROLES:
        raise invalid("role", f"vai trò không hợp lệ, chọn một trong {', '.join(ROLES)}",
                      f"unknown role, one of {', '.join(ROLES)}")
    if role in PROVINCE_SCOPED_ROLES and not province_code:
        raise invalid("province_code", "vai trò này cần tỉnh phụ trách", "this role needs a province")
    if role == "producer" and not producer_id:
        raise invalid("producer_id", "tài khoản chủ thể cần gắn với một chủ thể", "a producer user needs a producer")


def create_user(username: str, password: str, role: str, *, full_name=None, email=None,
                province_code=None, producer_id=None) -> User:
    """Create a user (caller commits). Passwords are hashed with scrypt."""
    validate_role_scope(role, province_code, producer_id)
    if len(password) < 8:
        raise invalid("password", "mật khẩu cần ít nhất 8 ký tự", "password needs at least 8 characters")
    if db.session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict("user.exists", "Tên đăng nhập đã tồn tại.", "Username already taken.",
                       {"username": username})
    user = User(username=username, password_hash=generate_password_hash(password, method=_settings().password_hash_method),
                role=role, full_name=full_name, email=email, province_code=province_code,
                producer_id=producer_id, active=True, failed_logins=0)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < 8:
        raise invalid("password", "mật khẩu cần ít nhất 8 ký tự", "password needs at least 8 characters")
    user.password_hash = generate_password_hash(password, method=_settings().password_hash_method)


def issue_token(user: User, kind: str = "session", name: str | None = None,
                ttl_seconds: int | None = None) -> tuple[str, ApiToken]:
    """Create a bearer token; only its SHA-256 is stored. ``api`` tokens never expire unless ttl given."""
    raw = secrets.token_urlsafe(32)
    if kind == "session":
        ttl_seconds = ttl_seconds or _settings().token_ttl_seconds
    expires = utcnow() + dt.timedelta(seconds=ttl_seconds) if ttl_seconds else None
    token = ApiToken(user_id=user.id, token_hash=hash_token(raw), kind=kind, name=name, expires_at=expires)
    db.session.add(token)
    db.session.flush()
    return raw, token


def login(username: str, password: str) -> tuple[str, ApiToken]:
    """Check credentials with throttling; returns a fresh session token (flushed; the request commits).

    A failure is counted in a separate transaction, since the request answers
    401 and rolls back (:func:`_count_failure`).
    """
    settings = _settings()
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        raise TooManyRequests("auth.locked", "Tài khoản tạm khoá do đăng nhập sai nhiều lần, thử lại sau.",
                              "Too many failed logins; try again later.",
                              {"retry_after": int((user.locked_until - now).total_seconds())})
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise Unauthorised("auth.invalid_credentials", "Sai tên đăng nhập hoặc mật khẩu.",
                           "Wrong username or password.")
    if not check_password_hash(user.password_hash, password) or not user.active:
        _count_failure(user.id, now, settings)
        raise Unauthorised("auth.invalid_credentials", "Sai tên đăng nhập hoặc mật khẩu.",
                           "Wrong username or password.")
    user.failed_logins = 0
    user.locked_until = None
    raw, token = issue_token(user, "session")
    return raw, token


def _count_failure(user_id: int, now: dt.datetime, settings) -> None:
    """Count a failed login (and lock the account after too many) in a transaction of its own.

    The one write that must outlive its request: the 401 answer rolls the
    request back, and the counter must persist for throttling to work.
    """
    with separate_transaction() as session:
        user = session.get(User, user_id, with_for_update=True)
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + dt.timedelta(seconds=settings.login_lock_seconds)
            user.failed_logins = 0


def user_for_token(raw: str) -> User | None:
    """The active user owning a valid, unexpired, unrevoked token; None otherwise."""
    token = db.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).scalar_one_or_none()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    return user


def revoke_token(raw: str) -> None:
    """Revoke the given token (logout)."""
    token = db.session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).scalar_one_or_none()
    if token is None:
        raise NotFound("token", "mã truy cập")
    token.revoked_at = utcnow()


def revoke_token_id(user: User, token_id: int) -> None:
    """Revoke one of ``user``'s API tokens by id."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("token", "mã truy cập")
    token.revoked_at = utcnow()


def ensure_active(user: User) -> None:
    if not user.active:
        raise DomainError("user.inactive", "Tài khoản đã bị khoá.", "Account disabled.", status=403)
