"""Admin: producers (chủ thể OCOP)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.catalogue.schemas import (ProducerInSchema, ProducerOutSchema, ProducerPageSchema, ProducerPatchSchema,
                           ProducerQuerySchema, ProducerStatusSchema)
from core.accounts.security import current_user, require_roles
from core.catalogue import producers

blp = Blueprint("admin_producers", __name__, url_prefix="/admin/v1", description="Producers")


@blp.route("/producers")
class Producers(MethodView):
    @require_roles("admin", "organiser", "certifier", "producer")
    @blp.arguments(ProducerQuerySchema, location="query")
    @blp.response(200, ProducerPageSchema)
    def get(self, args):
        """Producers in the caller's scope."""
        return producers.list_producers(current_user(), args)

    @require_roles("admin", "organiser")
    @blp.arguments(ProducerInSchema)
    @blp.response(201, ProducerOutSchema)
    def post(self, data):
        """Create a verified producer (organiser: in their province only)."""
        return producers.create_producer(current_user(), data)


@blp.route("/producers/<int:producer_id>")
class ProducerItem(MethodView):
    @require_roles("admin", "organiser", "certifier", "producer")
    @blp.response(200, ProducerOutSchema)
    def get(self, producer_id):
        """One producer in the caller's scope."""
        return producers.view_producer(current_user(), producer_id)

    @require_roles("admin", "organiser", "producer")
    @blp.arguments(ProducerPatchSchema)
    @blp.response(200, ProducerOutSchema)
    def patch(self, data, producer_id):
        """Edit a producer (producer users: their own; organisers: their province)."""
        return producers.update_producer(current_user(), producers.get_producer(producer_id), data)


@blp.route("/producers/<int:producer_id>/status")
class ProducerStatus(MethodView):
    @require_roles("admin", "organiser")
    @blp.arguments(ProducerStatusSchema)
    @blp.response(200, ProducerOutSchema)
    def post(self, data, producer_id):
        """Verify, reject or suspend a producer (onboarding)."""
        return producers.set_status(current_user(), producers.get_producer(producer_id), data["status"],
                                    data.get("reason"))
