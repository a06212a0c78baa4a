"""Admin: user accounts (admin: everyone; organiser: producer and operator accounts of its province)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts.schemas import UserInSchema, UserOutSchema, UserPageSchema, UserPatchSchema, UserQuerySchema
from core.accounts.security import current_user, require_roles
from core.accounts import users

blp = Blueprint("admin_users", __name__, url_prefix="/admin/v1", description="User accounts")
MANAGERS = ("admin", "organiser")


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
