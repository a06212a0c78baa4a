"""Admin API of the webhooks plugin under ``/admin/v1/webhooks`` (admins only)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.db import commit
from core.accounts.security import current_user, require_roles
from plugins.webhooks import schemas as s
from plugins.webhooks import services

blp = Blueprint("webhooks", __name__, url_prefix="/admin/v1/webhooks",
                description="Outbound webhooks: subscriptions, signed deliveries, replay (plugin)")


@blp.route("/event-types")
class EventTypes(MethodView):
    @require_roles("admin")
    @blp.response(200, s.EventTypeOutSchema(many=True))
    def get(self):
        """Event types a subscription may name (the core's and those plugins declared)."""
        return services.event_types()


@blp.route("/subscriptions")
class Subscriptions(MethodView):
    @require_roles("admin")
    @blp.arguments(s.SubscriptionQuerySchema, location="query")
    @blp.response(200, s.SubscriptionPageSchema)
    def get(self, args):
        """Subscriptions (filter by integrator, active)."""
        return services.list_subscriptions(args)

    @require_roles("admin")
    @blp.arguments(s.SubscriptionInSchema)
    @blp.response(201, s.SubscriptionWithSecretSchema)
    def post(self, data):
        """Subscribe an integrator's URL to event types; the answer shows the signing secret once."""
        sub = services.create_subscription(current_user(), data)
        commit()
        return sub


@blp.route("/subscriptions/<int:subscription_id>")
class Subscription(MethodView):
    @require_roles("admin")
    @blp.response(200, s.SubscriptionOutSchema)
    def get(self, subscription_id):
        """One subscription (the secret is not shown)."""
        return services.get_subscription(subscription_id)

    @require_roles("admin")
    @blp.arguments(s.SubscriptionPatchSchema)
    @blp.response(200, s.SubscriptionOutSchema)
    def patch(self, data, subscription_id):
        """Change URL, events, description or active (switching on again clears the failure count)."""
        sub = services.update_subscription(current_user(), subscription_id, data)
        commit()
        return sub

    @require_roles("admin")
    @blp.response(204)
    def delete(self, subscription_id):
        """Remove a subscription, its deliveries and their log."""
        services.delete_subscription(current_user(), subscription_id)
        commit()


@blp.route("/subscriptions/<int:subscription_id>/rotate-secret")
class RotateSecret(MethodView):
    @require_roles("admin")
    @blp.response(200, s.SubscriptionWithSecretSchema)
    def post(self, subscription_id):
        """A new signing secret (shown in this answer only)."""
        sub = services.rotate_secret(current_user(), subscription_id)
        commit()
        return sub


@blp.route("/subscriptions/<int:subscription_id>/ping")
class Ping(MethodView):
    @require_roles("admin")
    @blp.response(202, s.DeliveryOutSchema)
    def post(self, subscription_id):
        """Send a ``webhook.ping`` event to this subscription now."""
        delivery = services.ping(current_user(), subscription_id)
        commit()
        return services.get_delivery(delivery.id)


@blp.route("/deliveries")
class Deliveries(MethodView):
    @require_roles("admin")
    @blp.arguments(s.DeliveryQuerySchema, location="query")
    @blp.response(200, s.DeliveryPageSchema)
    def get(self, args):
        """The delivery log, newest first (filter by subscription, status, event type or id)."""
        return services.list_deliveries(args)


@blp.route("/deliveries/<int:delivery_id>")
class Delivery(MethodView):
    @require_roles("admin")
    @blp.response(200, s.DeliveryDetailSchema)
    def get(self, delivery_id):
        """One delivery with its payload and every attempt (status code, error, answer excerpt, time)."""
        return services.get_delivery(delivery_id)


@blp.route("/deliveries/<int:delivery_id>/replay")
class Replay(MethodView):
    @require_roles("admin")
    @blp.response(202, s.DeliveryOutSchema)
    def post(self, delivery_id):
        """Send the same message again (same ``webhook-id`` and body) as a new delivery."""
        delivery = services.replay(current_user(), delivery_id)
        commit()
        return services.get_delivery(delivery.id)
