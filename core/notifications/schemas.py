"""Output and query schemas of stored notifications (admin API)."""
from __future__ import annotations

from marshmallow import fields, validate

from core.clock import local
from core.schemas import OutputSchema, PageArgsSchema, paginated


class NotificationQuerySchema(PageArgsSchema):
    kind = fields.String(validate=validate.Length(1, 60))
    status = fields.String(validate=validate.OneOf(("pending", "sending", "stored", "sent", "failed")))
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
