"""Admin: the province's OCOP dashboard figures as JSON (the console's dashboard reads the same service)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.accounts.security import current_user, require_roles
from core.sales.province_dashboard import VIEWER_ROLES, province_figures
from core.schemas import BaseSchema

blp = Blueprint("admin_province_reports", __name__, url_prefix="/admin/v1", description="Reports")


class ProvinceDashboardQuerySchema(BaseSchema):
    province = fields.String(validate=validate.Regexp(r"^\d{1,5}$"),
                             metadata={"description": "province code (admins; organisers always see their own)"})
    unit = fields.String(validate=validate.Regexp(r"^\d{1,10}$"),
                         metadata={"description": "a district or commune of the province: its producers only"})
    year = fields.Integer(validate=validate.Range(2000, 2100),
                          metadata={"description": "the period is this year (default: the current year)"})
    date_from = fields.Date(data_key="from", metadata={"description": "first day of the period (Vietnam dates)"})
    date_to = fields.Date(data_key="to", metadata={"description": "last day of the period, at most 3 years on"})


@blp.route("/reports/province-dashboard")
class ProvinceDashboard(MethodView):
    @require_roles(*VIEWER_ROLES)
    @blp.arguments(ProvinceDashboardQuerySchema, location="query")
    @blp.response(200)
    def get(self, args):
        """OCOP products by stars (per commune and issuing unit) and by product group against the plan's targets,
        producer mix by legal form against the plans' targets (≥ 40 % cooperatives, ≥ 30 % enterprises),
        certificates expiring within 90 days, sales points and their sales, GMV by channel and month, and the
        plugins' figures (fair rounds, producers on marketplaces) — the console dashboard's figures."""
        return province_figures(current_user(), args.get("province"), args.get("year"), unit_code=args.get("unit"),
                                date_from=args.get("date_from"), date_to=args.get("date_to"))
