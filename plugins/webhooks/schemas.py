"""Input and output schemas of the webhooks admin API."""
from __future__ import annotations

import json

from marshmallow import fields, validate

from core.clock import local
from core.schemas import BaseSchema, OutputSchema, PageArgsSchema, PartialMixin, paginated
from plugins.webhooks.models import DELIVERY_STATUSES

_EVENT = fields.String(validate=validate.Regexp(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$"))
_TIME = {"type": "string", "format": "date-time"}


class SubscriptionInSchema(BaseSchema):
    integrator = fields.String(required=True, validate=validate.Length(1, 120),
                               metadata={"description": "who receives it (an integrator's name)"})
    url = fields.String(required=True, validate=validate.Length(1, 2000),
                        metadata={"description": "http(s) endpoint without credentials"})
    events = fields.List(_EVENT, required=True, validate=validate.Length(1, 100),
                         metadata={"description": 'event types, or ["*"] for all'})
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    active = fields.Boolean()


class SubscriptionPatchSchema(PartialMixin, SubscriptionInSchema):
    pass


class SubscriptionQuerySchema(PageArgsSchema):
    integrator = fields.String(validate=validate.Length(1, 120))
    active = fields.Boolean()


class SubscriptionOutSchema(OutputSchema):
    id = fields.Integer()
    integrator = fields.String()
    description = fields.String(allow_none=True)
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    consecutive_failures = fields.Integer()
    disabled_reason = fields.String(allow_none=True)
    disabled_at = fields.Function(lambda s: local(s.disabled_at), allow_none=True, metadata=_TIME)
    secret_hint = fields.Function(lambda s: s.secret[:6] + "…" + s.secret[-4:],
                                  metadata={"description": "first and last characters of the signing secret"})
    created_at = fields.Function(lambda s: local(s.created_at), metadata=_TIME)
    updated_at = fields.Function(lambda s: local(s.updated_at), metadata=_TIME)


class SubscriptionWithSecretSchema(SubscriptionOutSchema):
    secret = fields.String(metadata={"description": "signing secret (whsec_…); shown on creation and rotation only"})


SubscriptionPageSchema = paginated(SubscriptionOutSchema, "WebhookSubscriptionPage")


class DeliveryQuerySchema(PageArgsSchema):
    subscription_id = fields.Integer(validate=validate.Range(min=1))
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    event_type = fields.String(validate=validate.Length(1, 80))
    event_id = fields.String(validate=validate.Length(1, 40))


class AttemptOutSchema(OutputSchema):
    number = fields.Integer()
    started_at = fields.Function(lambda a: local(a.started_at), metadata=_TIME)
    duration_ms = fields.Integer()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    response_excerpt = fields.String(allow_none=True)


class DeliveryOutSchema(OutputSchema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.Function(lambda d: local(d.next_attempt_at), allow_none=True, metadata=_TIME)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    replay_of_id = fields.Integer(allow_none=True)
    request_id = fields.String(allow_none=True)
    created_at = fields.Function(lambda d: local(d.created_at), metadata=_TIME)
    delivered_at = fields.Function(lambda d: local(d.delivered_at), allow_none=True, metadata=_TIME)


class DeliveryDetailSchema(DeliveryOutSchema):
    payload = fields.Function(lambda d: json.loads(d.body), metadata={"type": "object"})
    attempt_log = fields.List(fields.Nested(AttemptOutSchema))


DeliveryPageSchema = paginated(DeliveryOutSchema, "WebhookDeliveryPage")


class EventTypeOutSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
