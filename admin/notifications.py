"""Admin: stored notifications (expiry warnings and the like; emailed when SMTP is configured)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.clock import local
from core.schemas import OutputSchema, PageArgsSchema, paginated
from core.accounts.security import current_user, require_roles
from core.notifications import delivery as notifications

blp = Blueprint("admin_notifications", __name__, url_prefix="/admin/v1", description="Notifications")


class NotificationQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.Length(1, 60))
    status = fields.String(validate=validate.OneOf(("pending", "stored", "sent", "failed")))
    producer_id = fields.Integer()


class NotificationSchema(OutputSchema):
    id = fields.Integer()
    kind = fields.String()
    producer_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    subject = fields.String()
    body = fields.String()
    data = fields.Raw(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    created_at = fields.Function(lambda n: local(n.created_at), metadata={"type": "string", "format": "date-time"})
    sent_at = fields.Function(lambda n: local(n.sent_at), allow_none=True,
                              metadata={"type": "string", "format": "date-time"})


NotificationPageSchema = paginated(NotificationSchema, "AdminNotificationPage")


@blp.route("/notifications")
class Notifications(MethodView):
    @require_roles("admin", "organiser", "producer")
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """Notifications in the caller's scope (admin: all; organiser: its province's producers; producer: own)."""
        return notifications.list_for(current_user(), args)
