"""Users, password hashing (scrypt), bearer tokens and login throttling."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import secrets

from flask import current_app
from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import UTCDateTime, db, separate_transaction, utcnow
from core.pagination import paginate
from core.errors import Conflict, DomainError, NotFound, TooManyRequests, Unauthorised, invalid
from core.accounts.models import ApiToken, LoginThrottle, User
from core.accounts.models import PROVINCE_SCOPED_ROLES, ROLES


@functools.cache
def _dummy_hash() -> str:
    """The hash an unknown username's password is checked against (timing as for a real user). Made when the
    web app is built (:func:`prepare_login_timing`), not at import: a scrypt hash takes 32 MB for a moment,
    which was the peak RSS of processes that never check a password (Celery workers, feed builds)."""
    return generate_password_hash("timing-equaliser", method="scrypt")


def prepare_login_timing() -> None:
    """Make the unknown-user hash now, so that even a process's first login with an unknown username takes
    as long as one with a known username (the web app calls this once per process)."""
    _dummy_hash()


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
    """Create a bearer token; only its SHA-256 is stored. Session tokens expire after ``token_ttl_seconds``,
    ``api`` tokens after ``ttl_seconds`` or by default ``api_token_ttl_days``."""
    raw = secrets.token_urlsafe(32)
    if kind == "session":
        ttl_seconds = ttl_seconds or _settings().token_ttl_seconds
    else:
        ttl_seconds = ttl_seconds or _settings().api_token_ttl_days * 86400
    expires = utcnow() + dt.timedelta(seconds=ttl_seconds) if ttl_seconds else None
    token = ApiToken(user_id=user.id, token_hash=hash_token(raw), kind=kind, name=name, expires_at=expires)
    db.session.add(token)
    db.session.flush()
    return raw, token


def login(username: str, password: str, client_address: str | None = None) -> tuple[str, ApiToken]:
    """Check credentials with throttling; returns a fresh session token (flushed; the request commits).

    Each attempt first takes a slot on its account's and its client address's counters
    (:func:`_take_attempt`, one conditional UPDATE each, committed at once), so parallel attempts
    cannot all be checked: once a counter reaches its limit the key is delayed, the delay doubling
    with each further failure, and every attempt meanwhile answers 429 ``auth.locked`` with
    ``Retry-After``, whatever the password, and for unknown usernames alike.
    """
    settings = _settings()
    keys = _throttle_keys(username, client_address, settings)
    attempted_at = utcnow()
    _take_attempt(keys, attempted_at, settings)
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        raise _invalid_credentials()
    if not check_password_hash(user.password_hash, password) or not user.active:
        raise _invalid_credentials()
    _forget_attempt(keys, attempted_at)
    user.failed_logins = 0
    user.locked_until = None
    raw, token = issue_token(user, "session")
    return raw, token


def _invalid_credentials() -> Unauthorised:
    return Unauthorised("auth.invalid_credentials", "Sai tên đăng nhập hoặc mật khẩu.",
                        "Wrong username or password.")


def _throttle_keys(username: str, client_address: str | None, settings) -> list[tuple[str, int]]:
    """(key, free failures) pairs counted for one attempt: the account (known or not) and the address."""
    keys = [("account:" + username.strip().casefold()[:150], settings.login_max_failures)]
    if client_address:
        keys.append(("ip:" + client_address[:150], settings.login_ip_max_failures))
    return keys


def _locked_until(failures, free: int, now: dt.datetime, settings):
    """SQL: when a key with ``failures`` failures may try again: now within ``free`` failures, then after
    ``login_delay_seconds`` doubling with each further failure, up to ``login_lock_seconds``."""
    def at(seconds):
        return literal(now + dt.timedelta(seconds=seconds), UTCDateTime)
    whens, delay, step = [], settings.login_delay_seconds, 0
    while delay < settings.login_lock_seconds and step < 30:
        whens.append((failures == free + step, at(delay)))
        delay, step = delay * 2, step + 1
    return case((failures < free, at(0)), *whens, else_=at(settings.login_lock_seconds))


def _take_attempt(keys: list[tuple[str, int]], now: dt.datetime, settings) -> None:
    """Count this attempt on every key in a transaction of its own, or answer 429 if a key is delayed.

    The attempt is counted before the password is checked (a success gives it back): the counter
    must outlive the 401 answer's rollback, and a conditional ``UPDATE … WHERE locked_until <= now``
    is atomic on SQLite and PostgreSQL, so no two parallel attempts read the same count.
    """
    window_start = now - dt.timedelta(seconds=settings.login_failure_window_seconds)
    retry_after = 0
    with separate_transaction() as session:
        insert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(LoginThrottle)
        for key, free in keys:
            session.execute(insert.values(key=key, failures=0, updated_at=now)
                            .on_conflict_do_nothing(index_elements=["key"]))
            failures = case((LoginThrottle.updated_at < window_start, 1), else_=LoginThrottle.failures + 1)
            taken = session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key,
                       or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now))
                .values(failures=failures, updated_at=now,
                        locked_until=_locked_until(failures, free, now, settings))
                .execution_options(synchronize_session=False)).rowcount
            if not taken:
                locked_until = session.execute(select(LoginThrottle.locked_until)
                                               .where(LoginThrottle.key == key)).scalar_one()
                retry_after = max(retry_after, math.ceil((locked_until - now).total_seconds()))
        if retry_after:  # raised inside the block: a refused attempt counts on no key (rolled back)
            raise TooManyRequests("auth.locked", "Đăng nhập sai nhiều lần, vui lòng thử lại sau.",
                                  "Too many failed logins; try again later.", {"retry_after": max(retry_after, 1)})


def _forget_attempt(keys: list[tuple[str, int]], now: dt.datetime) -> None:
    """A successful login: the account's counter restarts, and the address's gives this attempt back.

    A delay that this very attempt started (no attempt since: ``updated_at`` is still its own) is
    lifted; one started by another attempt stays, so a right password in a burst clears nothing.
    """
    with separate_transaction() as session:
        for key, _free in keys:
            stmt = update(LoginThrottle).where(LoginThrottle.key == key)
            if key.startswith("account:"):
                stmt = stmt.where(or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now,
                                      LoginThrottle.updated_at == now)).values(failures=0, locked_until=None)
            else:
                stmt = stmt.where(LoginThrottle.failures > 0).values(failures=LoginThrottle.failures - 1)
            session.execute(stmt.execution_options(synchronize_session=False))


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
    _note_use(token)
    return user


#: ``last_used_at`` is written at most this often per token (not on every request)
LAST_USED_PRECISION = dt.timedelta(minutes=5)


def _note_use(token: ApiToken) -> None:
    """Keep ``last_used_at`` (to a few minutes) in a short transaction of its own: every answer, a refused
    one too, counts as a use, and a read-only request writes nothing else."""
    now = utcnow()
    if token.last_used_at is not None and token.last_used_at > now - LAST_USED_PRECISION:
        return
    with separate_transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.id == token.id,
                                               or_(ApiToken.last_used_at.is_(None),
                                                   ApiToken.last_used_at <= now - LAST_USED_PRECISION))
                        .values(last_used_at=now).execution_options(synchronize_session=False))
    token.last_used_at = now


def list_tokens(user: User, args: dict) -> dict:
    """The caller's own tokens (never their secret), newest first, paginated; revoked and expired ones included."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id)
    if args.get("kind"):
        stmt = stmt.where(ApiToken.kind == args["kind"])
    return paginate(stmt.order_by(ApiToken.id.desc()), args["page"], args["limit"])


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
