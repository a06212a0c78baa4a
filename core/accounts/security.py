"""Bearer-token authentication and role checks for admin endpoints."""
from __future__ import annotations

import functools

from flask import has_request_context, request

from core.request_user import REQUEST_USER_KEY
from core.errors import Forbidden, Unauthorised
from core.accounts.authentication import user_for_token


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


_USER_KEY = REQUEST_USER_KEY


def current_user():
    """The authenticated user of this request, or None.

    Cached on the request (not on ``g``): ``g`` belongs to the app context,
    which several requests may share (tests, CLI-driven requests), and a
    cached user must never leak from one request into the next.
    """
    if not has_request_context():
        return None
    environ = request.environ
    if _USER_KEY not in environ:
        raw = bearer_token()
        environ[_USER_KEY] = user_for_token(raw) if raw else None
    return environ[_USER_KEY]


def not_authenticated() -> Unauthorised:
    """401 ``auth.required`` without a bearer token; ``auth.invalid_token`` for one that is unknown, expired,
    revoked or belongs to a deactivated user."""
    if bearer_token():
        return Unauthorised("auth.invalid_token", "Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi; "
                            "hãy đăng nhập lại.", "The access token is invalid, expired or revoked; log in again.")
    return Unauthorised()


def require_roles(*roles: str):
    """Allow only authenticated users with one of ``roles``; documents them in OpenAPI.

    Object-level checks (province, producer, sales point) happen in services.
    """
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                raise not_authenticated()
            if user.role not in roles:
                raise Forbidden(details={"allowed_roles": list(roles)})
            return view(*args, **kwargs)

        apidoc = dict(getattr(view, "_apidoc", {}) or {})
        manual = dict(apidoc.get("manual_doc", {}))
        manual["security"] = [{"bearerAuth": []}]
        note = f"Roles: {', '.join(roles)}."
        manual["description"] = (manual.get("description", "") + "\n\n" + note).strip()
        apidoc["manual_doc"] = manual
        wrapper._apidoc = apidoc
        wrapper.allowed_roles = roles
        return wrapper
    return decorator
