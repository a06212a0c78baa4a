"""Admin: stored notifications (expiry warnings and the like; emailed when SMTP is configured)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.notifications.schemas import NotificationPageSchema, NotificationQuerySchema
from core.accounts.security import current_user, require_roles
from core.notifications import delivery as notifications

blp = Blueprint("admin_notifications", __name__, url_prefix="/admin/v1", description="Notifications")


@blp.route("/notifications")
class Notifications(MethodView):
    @require_roles("admin", "organiser", "producer")
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """Notifications in the caller's scope (admin: all; organiser: its province's producers; producer: own)."""
        return notifications.list_for(current_user(), args)
