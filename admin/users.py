"""Admin: user accounts (admin: everyone; organiser: producer and operator accounts of its province)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.clock import local
from core.accounts.models import ROLES
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, paginated
from core.accounts.security import current_user, require_roles
from core.accounts import users

blp = Blueprint("admin_users", __name__, url_prefix="/admin/v1", description="User accounts")
MANAGERS = ("admin", "organiser")
USERNAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,79}$",
                           error="3–80 characters: letters, digits, '.', '_', '@', '-'")


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


@blp.route("/users")
class Users(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """Accounts the caller manages."""
        return users.list_users(current_user(), args)

    @require_roles(*MANAGERS)
    @blp.arguments(UserInSchema)
    @blp.response(201, UserOutSchema)
    def post(self, data):
        """Create an account (organiser: producer users of its province's producers, operator users)."""
        return users.create_user(current_user(), data)


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, UserOutSchema)
    def get(self, user_id):
        """One account the caller manages."""
        return users.get_user(current_user(), user_id)

    @require_roles(*MANAGERS)
    @blp.arguments(UserPatchSchema)
    @blp.response(200, UserOutSchema)
    def patch(self, data, user_id):
        """Change role, scope, names, active flag, or reset the password (revokes the user's tokens)."""
        actor = current_user()
        return users.update_user(actor, users.get_user(actor, user_id), data)

    @require_roles(*MANAGERS)
    @blp.response(200, UserOutSchema)
    def delete(self, user_id):
        """Deactivate an account (kept for the audit trail; its tokens are revoked)."""
        actor = current_user()
        return users.deactivate_user(actor, users.get_user(actor, user_id))
