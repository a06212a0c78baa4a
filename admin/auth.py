"""Tokens: log in, log out, long-lived API tokens, who am I."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.clock import local
from core.schemas import BaseSchema, OutputSchema
from core.accounts.security import bearer_token, current_user, require_roles
from core.accounts import authentication as accounts
from core.db import commit

blp = Blueprint("auth", __name__, url_prefix="", description="Authentication")
ALL_ROLES = ("admin", "organiser", "certifier", "producer", "operator")


class LoginSchema(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(1, 80))
    password = fields.String(required=True, validate=validate.Length(1, 200))


class TokenSchema(OutputSchema):
    token = fields.String()
    token_type = fields.String()
    expires_at = fields.String(allow_none=True)
    id = fields.Integer()


class ApiTokenCreateSchema(BaseSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    ttl_days = fields.Integer(validate=validate.Range(1, 3650))


class MeSchema(OutputSchema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    full_name = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)
    producer_id = fields.Integer(allow_none=True)


def _token_out(raw, token):
    return {"token": raw, "token_type": "Bearer", "expires_at": local(token.expires_at), "id": token.id}


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Exchange username and password for a bearer token (throttled after repeated failures)."""
        return _token_out(*accounts.login(data["username"], data["password"]))

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
    @blp.arguments(ApiTokenCreateSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Create a long-lived API token for an integration (shown once)."""
        ttl = data.get("ttl_days")
        raw, token = accounts.issue_token(current_user(), "api", data["name"], ttl * 86400 if ttl else None)
        commit()
        return _token_out(raw, token)


@blp.route("/admin/v1/api-tokens/<int:token_id>")
class ApiTokenItem(MethodView):
    @require_roles(*ALL_ROLES)
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of your API tokens."""
        accounts.revoke_token_id(current_user(), token_id)
