"""Certification schemas: used by the admin API and the bulk import."""
from __future__ import annotations

from marshmallow import fields, validate

from core.catalogue.schemas import ML
from core.certification.models import CERTIFICATION_LEVELS
from core.schemas import BaseSchema, OutputSchema

# apispec would render a Decimal field's range as strings ("0.00"), which is invalid OpenAPI
SCORE_DOC = {"minimum": 0, "maximum": 100, "description": "score out of 100 (2 decimals)"}


class CertificationInSchema(BaseSchema):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(3, 5))
    score = fields.Decimal(required=True, places=2, as_string=False, validate=validate.Range(0, 100),
                           metadata=SCORE_DOC)
    level = fields.String(required=True, validate=validate.OneOf(CERTIFICATION_LEVELS))
    criteria_set = fields.String(validate=validate.OneOf(("1048", "148")))
    council = fields.String(validate=validate.Length(max=300))
    issuing_unit_code = fields.String(allow_none=True)
    decision_no = fields.String(required=True, validate=validate.Length(1, 80))
    issued_on = fields.Date(required=True)
    expires_on = fields.Date()


class WithdrawSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(3, 1000), metadata=ML)


class DowngradeSchema(BaseSchema):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(1, 4))
    score = fields.Decimal(places=2, as_string=False, validate=validate.Range(0, 100), metadata=SCORE_DOC)
    reason = fields.String(required=True, validate=validate.Length(3, 1000), metadata=ML)
    decision_no = fields.String(validate=validate.Length(1, 80))


class CertificationOutSchema(OutputSchema):
    id = fields.Integer()
    product_id = fields.Integer()
    stars = fields.Integer()
    score = fields.Float()
    level = fields.String()
    criteria_set = fields.String()
    council = fields.String(allow_none=True)
    issuing_unit_code = fields.String(allow_none=True)
    decision_no = fields.String(allow_none=True)
    issued_on = fields.Date()
    expires_on = fields.Date()
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True)
