"""User administration: creating and managing accounts, with every change audited.

Who may manage whom is decided in :mod:`core.accounts.access`; nobody demotes or
deactivates itself. Scope fields must fit the role: organiser/certifier need a
province, a producer user needs a producer, admins have neither.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from core.text import contains_text
from core.db import db, utcnow
from core.errors import Conflict, NotFound, invalid
from core.geo.models import AdministrativeUnit
from core.accounts.access import (managed_users_filter, operator_province, require_may_assign, require_user_access,
                                  scope_province)
from core.accounts.models import ApiToken, User
from core.catalogue.models import Producer
from core.accounts import authentication as accounts
from core.audit import trail as audit
from core.pagination import paginate

#: user columns safe to put in the audit trail (never the password hash)
AUDIT_FIELDS = ("id", "username", "role", "full_name", "email", "province_code", "producer_id", "active")


def user_snapshot(user: User) -> dict:
    """Audit-safe snapshot of a user (no password hash, no lock counters)."""
    return {key: getattr(user, key) for key in AUDIT_FIELDS}


def get_user(actor: User, user_id: int) -> User:
    """A user the actor may manage (404 when missing, 403 outside the actor's scope)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user", "tài khoản")
    require_user_access(actor, user)
    return user


def list_users(actor: User, args: dict) -> dict:
    """Users the actor may manage, filtered (role, province_code, producer_id, active, q) and paginated."""
    stmt = select(User).outerjoin(Producer, Producer.id == User.producer_id)
    scope = managed_users_filter(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if args.get("role"):
        stmt = stmt.where(User.role == args["role"])
    if args.get("province_code"):
        code = args["province_code"]
        stmt = stmt.where(or_(User.province_code == code, Producer.province_code == code))
    if args.get("producer_id"):
        stmt = stmt.where(User.producer_id == args["producer_id"])
    if "active" in args:
        stmt = stmt.where(User.active.is_(args["active"]))
    if args.get("q"):
        stmt = stmt.where(or_(contains_text(User.username, args["q"]), contains_text(User.full_name, args["q"])))
    return paginate(stmt.order_by(User.id), args["page"], args["limit"])


def _check_province(code: str) -> None:
    unit = db.session.get(AdministrativeUnit, code)
    if unit is None or unit.level != "province" or unit.is_retired:
        raise invalid("province_code", "mã tỉnh không tồn tại hoặc đã giải thể",
                      "unknown or retired province code")


def _check_producer(producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        raise invalid("producer_id", "chủ thể không tồn tại", "unknown producer")
    return producer


def _resolve_scope(actor: User, role: str, data: dict, current: User | None = None) -> tuple[str | None, int | None]:
    """Work out (province_code, producer_id) for ``role`` from the input and the current values.

    Values given explicitly that do not fit the role are refused; stale values
    left from a previous role are cleared.
    """
    given_province = "province_code" in data and data["province_code"] is not None
    given_producer = "producer_id" in data and data["producer_id"] is not None
    province = data["province_code"] if "province_code" in data else getattr(current, "province_code", None)
    producer_id = data["producer_id"] if "producer_id" in data else getattr(current, "producer_id", None)
    if role in ("admin", "producer"):
        if given_province:
            raise invalid("province_code", "vai trò này không gắn với tỉnh (tỉnh của chủ thể được dùng)",
                          "this role has no province of its own")
        province = None
    if role != "producer":
        if given_producer:
            raise invalid("producer_id", "chỉ tài khoản chủ thể mới gắn với chủ thể",
                          "only producer users belong to a producer")
        producer_id = None
    if role == "operator":
        province = operator_province(actor, province)
    accounts.validate_role_scope(role, province, producer_id)
    if province:
        _check_province(province)
    if producer_id:
        _check_producer(producer_id)
    return province, producer_id


def create_user(actor: User, data: dict) -> User:
    """Create an account within the actor's scope; audited."""
    role = data["role"]
    province, producer_id = _resolve_scope(actor, role, data)
    require_may_assign(actor, role, province, producer_id)
    user = accounts.create_user(data["username"], data["password"], role, full_name=data.get("full_name"),
                                email=data.get("email"), province_code=province, producer_id=producer_id)
    if data.get("active") is False:
        user.active = False
    audit.record("user.created", user, actor=actor, province_code=scope_province(user), after=user_snapshot(user))
    return user


def _revoke_all_tokens(user: User) -> None:
    now = utcnow()
    for token in db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id,
                                                           ApiToken.revoked_at.is_(None))).scalars():
        token.revoked_at = now


def update_user(actor: User, user: User, data: dict) -> User:
    """Change role, scope, names, active flag or password (reset) of a managed account; audited.

    A password reset or deactivation revokes the account's tokens; reactivation
    and password reset also lift a login lock.
    """
    require_user_access(actor, user)
    data = dict(data)
    if user.id == actor.id and (data.get("role", user.role) != user.role or data.get("active") is False):
        raise Conflict("user.self_lockout", "Không thể tự đổi vai trò hoặc tự khoá tài khoản của mình.",
                       "You cannot change your own role or deactivate yourself.")
    before = user_snapshot(user)
    before_province = scope_province(user)
    role = data.get("role", user.role)
    province, producer_id = _resolve_scope(actor, role, data, current=user)
    require_may_assign(actor, role, province, producer_id)
    password = data.pop("password", None)
    if password is not None:
        accounts.set_password(user, password)
    user.role, user.province_code, user.producer_id = role, province, producer_id
    for key in ("full_name", "email"):
        if key in data:
            setattr(user, key, data[key])
    was_active = user.active
    if "active" in data:
        user.active = data["active"]
    if password is not None or (user.active and not was_active):
        user.failed_logins, user.locked_until = 0, None
    if password is not None or not user.active:
        _revoke_all_tokens(user)
    after = user_snapshot(user)
    province_code = scope_province(user) or before_province
    if after != before:
        action = "user.updated"
        if set(k for k in after if after[k] != before[k]) == {"active"}:
            action = "user.reactivated" if user.active else "user.deactivated"
        audit.record(action, user, actor=actor, before=before, after=after, province_code=province_code)
    if password is not None:
        audit.record("user.password_reset", user, actor=actor, before=None, after={"id": user.id},
                     province_code=province_code)
    return user


def deactivate_user(actor: User, user: User) -> User:
    """Deactivate an account (kept for the audit trail) and revoke its tokens."""
    return update_user(actor, user, {"active": False})
