"""Admin: bulk import of producers and products (CSV/XLSX, all-or-nothing)."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError

from core.errors import ValidationFailed
from core.accounts.security import current_user, require_roles
from core.imports import formats as import_formats, catalogue_import as imports
from core.imports.access import IMPORT_ROLES
from core.imports.schemas import ImportResultSchema, ImportUploadSchema

blp = Blueprint("admin_imports", __name__, url_prefix="/admin/v1", description="Bulk import")


UPLOAD_DOC = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "CSV (UTF-8, with or without BOM; comma, semicolon or tab separated) or XLSX; "
                                "one row per variant (README: Bulk import)"},
        "dry_run": {"type": "boolean", "default": False,
                    "description": "validate every row and rehearse the writes; write nothing"}}}}}}


@blp.route("/imports")
class Imports(MethodView):
    @require_roles(*IMPORT_ROLES)
    @blp.response(200, ImportResultSchema)
    @blp.doc(requestBody=UPLOAD_DOC)
    @blp.alt_response(422, description="row errors: `error.details.rows` = [{row, column, code, message, "
                                        "message_en}]; nothing was written")
    def post(self):
        """Import producers, products, variants and certifications from a CSV/XLSX file (all-or-nothing).

        Organisers may only import producers of their own province; other rows are reported as errors.
        """
        try:  # form fields and files come in one multipart body, so they are parsed together here
            data = ImportUploadSchema().load({**request.form.to_dict(), **request.files.to_dict()})
        except ValidationError as exc:
            raise ValidationFailed(exc.messages)
        upload = data["file"]
        table = import_formats.read_table(upload.read(), upload.filename)
        return imports.run_import(current_user(), table, dry_run=data["dry_run"], source=upload.filename)
