"""Query and output schemas of the audit trail (admin API)."""
from __future__ import annotations

import datetime as dt

from marshmallow import ValidationError, fields, validate, validates_schema

from core.errors import Message
from core.clock import VN_TZ, local
from core.schemas import OutputSchema, PageArgsSchema, paginated


class Moment(fields.Field):
    """ISO date or date-time; without an offset it is Vietnam time. A bare date as ``until`` includes that day."""

    def __init__(self, end_of_day: bool = False, **kwargs):
        kwargs.setdefault("metadata", {}).update({"type": "string", "format": "date-time",
                                                  "description": "ISO date or date-time (Vietnam time if no offset)"})
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid date or date-time.")
        try:
            if len(value) == 10:
                day = dt.date.fromisoformat(value)
                if self.end_of_day:
                    day += dt.timedelta(days=1)
                moment = dt.datetime.combine(day, dt.time(), VN_TZ)
            else:
                moment = dt.datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=VN_TZ)
        except ValueError as exc:
            raise ValidationError("Not a valid date or date-time.") from exc
        return moment.astimezone(dt.timezone.utc)


class AuditQuerySchema(PageArgsSchema):
    entity_type = fields.String(validate=validate.Length(1, 60))
    entity_id = fields.String(validate=validate.Length(1, 60))
    action = fields.String(validate=validate.Length(1, 60),
                           metadata={"description": "exact action, or a prefix ending in '.' (e.g. 'user.')"})
    actor = fields.String(validate=validate.Length(1, 80), metadata={"description": "actor username"})
    province_code = fields.String(validate=validate.Length(1, 20))
    since = Moment()
    until = Moment(end_of_day=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError({"until": [Message("phải sau thời điểm bắt đầu (since)", "must be after since")]})


class AuditEventSchema(OutputSchema):
    id = fields.Integer()
    at = fields.Function(lambda e: local(e.at), metadata={"type": "string", "format": "date-time"})
    actor_id = fields.Integer(allow_none=True)
    actor_username = fields.String(allow_none=True)
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    province_code = fields.String(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


AuditPageSchema = paginated(AuditEventSchema, "AdminAuditPage")
