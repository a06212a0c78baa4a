"""Admin: OCOP certifications (council results), withdrawal and downgrade."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.certification.schemas import CertificationInSchema, CertificationOutSchema, DowngradeSchema, WithdrawSchema
from core.accounts.security import current_user, require_roles
from core.certification import certifications
from core.catalogue import products

blp = Blueprint("admin_certifications", __name__, url_prefix="/admin/v1", description="Certifications")
CERTIFIERS = ("admin", "certifier")


@blp.route("/products/<int:product_id>/certifications")
class ProductCertifications(MethodView):
    @require_roles("admin", "organiser", "certifier", "producer")
    @blp.response(200, CertificationOutSchema(many=True))
    def get(self, product_id):
        """Certification history of a product (newest last)."""
        history = products.view_product(current_user(), product_id).certifications
        return sorted(history, key=lambda c: (c.issued_on, c.id))  # a downgrade keeps the issue date

    @require_roles(*CERTIFIERS)
    @blp.arguments(CertificationInSchema)
    @blp.response(201, CertificationOutSchema)
    def post(self, data, product_id):
        """Record a council result; it supersedes the product's current certification."""
        return certifications.record_certification(current_user(), products.get_product(product_id), data)


@blp.route("/certifications/<int:cert_id>/withdraw")
class Withdraw(MethodView):
    @require_roles(*CERTIFIERS)
    @blp.arguments(WithdrawSchema)
    @blp.response(200, CertificationOutSchema)
    def post(self, data, cert_id):
        """Withdraw (rút) a certification with a reason; the product is delisted at once."""
        return certifications.withdraw(current_user(), certifications.get_certification(cert_id), data["reason"])


@blp.route("/certifications/<int:cert_id>/downgrade")
class Downgrade(MethodView):
    @require_roles(*CERTIFIERS)
    @blp.arguments(DowngradeSchema)
    @blp.response(200, CertificationOutSchema)
    def post(self, data, cert_id):
        """Lower the stars (giảm sao) with a reason; below 3 stars the product is delisted."""
        return certifications.downgrade(current_user(), certifications.get_certification(cert_id), data["stars"],
                                        data["reason"], data.get("score"), data.get("decision_no"))
