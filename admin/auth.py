"""Tokens: log in, log out, long-lived API tokens, who am I."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from core.api import LOGIN_RATE, rate_limit
from core.clock import local
from core.accounts.schemas import (ApiTokenCreateSchema, ApiTokenPageSchema, ApiTokenQuerySchema, LoginSchema,
                                   MeSchema, TokenSchema)
from core.accounts.security import bearer_token, current_user, require_roles
from core.accounts import authentication as accounts

blp = Blueprint("auth", __name__, url_prefix="", description="Authentication")
ALL_ROLES = ("admin", "organiser", "certifier", "producer", "operator")


def _token_out(raw, token):
    return {"token": raw, "token_type": "Bearer", "expires_at": local(token.expires_at), "id": token.id}


@blp.route("/auth/token")
class Token(MethodView):
    @rate_limit(LOGIN_RATE)
    @blp.arguments(LoginSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Exchange username and password for a bearer token (throttled after repeated failures)."""
        return _token_out(*accounts.login(data["username"], data["password"], request.remote_addr))

    @require_roles(*ALL_ROLES)
    @blp.response(204)
    def delete(self):
        """Revoke the token used for this request (log out)."""
        accounts.revoke_token(bearer_token())


@blp.route("/admin/v1/me")
class Me(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(200, MeSchema)
    def get(self):
        """The authenticated user."""
        return current_user()


@blp.route("/admin/v1/api-tokens")
class ApiTokens(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.arguments(ApiTokenQuerySchema, location="query")
    @blp.response(200, ApiTokenPageSchema)
    def get(self, args):
        """Your tokens (sessions and API tokens; never their secret): expiry, last use, revocation."""
        return accounts.list_tokens(current_user(), args)

    @require_roles(*ALL_ROLES)
    @blp.arguments(ApiTokenCreateSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Create a long-lived API token for an integration (shown once); it expires after ``ttl_days``
        (default: 90 days)."""
        ttl = data.get("ttl_days")
        raw, token = accounts.issue_token(current_user(), "api", data["name"], ttl * 86400 if ttl else None)
        return _token_out(raw, token)


@blp.route("/admin/v1/api-tokens/<int:token_id>")
class ApiTokenItem(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of your API tokens."""
        accounts.revoke_token_id(current_user(), token_id)
