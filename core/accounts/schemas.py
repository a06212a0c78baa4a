"""Input and output schemas of accounts: login and tokens, user administration."""
from __future__ import annotations

from marshmallow import fields, validate

from core.errors import Message
from core.accounts.models import ROLES
from core.clock import local
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated

USERNAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,79}$",
                           error=Message("3–80 ký tự: chữ cái, chữ số, '.', '_', '@', '-'",
                                         "3–80 characters: letters, digits, '.', '_', '@', '-'"))


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


class ApiTokenQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.OneOf(("session", "api")))


class ApiTokenOutSchema(OutputSchema):
    """A token as its owner lists it: never the secret."""
    id = fields.Integer()
    kind = fields.String()
    name = fields.String(allow_none=True)
    created_at = fields.Function(lambda t: local(t.created_at), metadata={"type": "string", "format": "date-time"})
    expires_at = fields.Function(lambda t: local(t.expires_at), allow_none=True, metadata={"type": "string", "format": "date-time"})
    last_used_at = fields.Function(lambda t: local(t.last_used_at), allow_none=True, metadata={"type": "string", "format": "date-time"})
    revoked_at = fields.Function(lambda t: local(t.revoked_at), allow_none=True, metadata={"type": "string", "format": "date-time"})


ApiTokenPageSchema = paginated(ApiTokenOutSchema, "ApiTokenPage")


class MeSchema(OutputSchema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    full_name = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)
    producer_id = fields.Integer(allow_none=True)


class UserInSchema(BaseSchema):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, load_only=True, validate=validate.Length(8, 200))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    full_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    email = fields.Email(allow_none=True)
    province_code = fields.String(allow_none=True, validate=validate.Length(1, 20),
                                  metadata={"description": "organiser/certifier (required), operator (optional)"})
    producer_id = fields.Integer(allow_none=True, metadata={"description": "producer users (required)"})
    active = fields.Boolean()


class UserPatchSchema(BaseSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    full_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    email = fields.Email(allow_none=True)
    province_code = fields.String(allow_none=True, validate=validate.Length(1, 20))
    producer_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    password = fields.String(load_only=True, validate=validate.Length(8, 200),
                             metadata={"description": "password reset: revokes the user's tokens"})


class UserOutSchema(OutputSchema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    full_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)
    producer_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    locked_until = fields.Function(lambda u: local(u.locked_until), allow_none=True)
    created_at = fields.Function(lambda u: local(u.created_at))


class UserQuerySchema(PageArgsSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    province_code = fields.String(validate=validate.Length(1, 20))
    producer_id = fields.Integer()
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(1, 100), metadata={"description": "username or full name contains"})


UserPageSchema = paginated(UserOutSchema, "AdminUserPage")
