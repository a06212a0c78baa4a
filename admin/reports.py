"""Admin: index of available reports (core and plugins)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from core.schemas import BaseSchema, OutputSchema
from core.accounts.security import current_user, require_roles
from core import reports

blp = Blueprint("admin_reports", __name__, url_prefix="/admin/v1", description="Reports")


class ReportSchema(OutputSchema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    description = fields.String(allow_none=True)


class ReportListSchema(OutputSchema):
    results = fields.List(fields.Nested(ReportSchema))
    total = fields.Integer()
    next = fields.String(allow_none=True)


class NoArgsSchema(BaseSchema):
    """No query parameters (unknown ones are refused)."""


@blp.route("/reports")
class Reports(MethodView):
    @require_roles("admin", "organiser", "certifier", "producer", "operator")
    @blp.arguments(NoArgsSchema, location="query")
    @blp.response(200, ReportListSchema)
    def get(self, _args):
        """Reports the caller may open: the core's and those offered by plugins (``reports`` hook)."""
        found = reports.available(current_user())
        return {"results": found, "total": len(found), "next": None}
