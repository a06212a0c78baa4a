"""Schemas of a bulk import: the upload form and the result (admin API; ``ocop import --json`` prints the same)."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import fields

from core.schemas import BaseSchema, OutputSchema


class ImportUploadSchema(BaseSchema):
    """The multipart form: ``file`` plus an optional ``dry_run`` field (parsed together, unknown fields refused)."""

    file = Upload(required=True)
    dry_run = fields.Boolean(load_default=False)


class ImportCountsSchema(OutputSchema):
    producers = fields.Integer()
    products = fields.Integer()
    variants = fields.Integer()
    certifications = fields.Integer()


class ImportMatchedSchema(OutputSchema):
    producers = fields.Integer()
    products = fields.Integer()


class ImportResultSchema(OutputSchema):
    created = fields.Nested(ImportCountsSchema, metadata={"description": "what was (dry run: would be) created"})
    matched = fields.Nested(ImportMatchedSchema, metadata={"description": "existing producers/products reused"})
    errors = fields.List(fields.Dict(), metadata={"description": "always empty on success"})
    rows = fields.Integer()
    dry_run = fields.Boolean()
