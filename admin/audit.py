"""Admin: the audit trail (who changed what, when, before/after)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.audit.schemas import AuditPageSchema, AuditQuerySchema
from core.accounts.security import current_user, require_roles
from core.audit import trail as audit

blp = Blueprint("admin_audit", __name__, url_prefix="/admin/v1", description="Audit trail")


@blp.route("/audit")
class Audit(MethodView):
    @require_roles("admin", "organiser", "certifier")
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args):
        """Audit events, newest first (organiser/certifier: events of their province)."""
        return audit.list_events(current_user(), args)
