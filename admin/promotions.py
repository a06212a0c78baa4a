"""Admin: promotions (campaigns, channel prices, producer opt-in), vouchers, previews, reports and price quotes."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts.security import current_user, require_roles
from core.pricing import promotions, resolver, vouchers
from core.pricing.access import MANAGERS
from core.pricing.schemas import (InvitationSchema, OfferQuerySchema, OptInSchema, ParticipantOutSchema, ParticipantPageSchema,
                                  PreviewQuerySchema, PreviewSchema, PromotionFiguresPageSchema, PromotionInSchema,
                                  PromotionOutSchema, PromotionPageSchema, PromotionPatchSchema,
                                  PromotionReportSchema, QuoteInSchema, QuoteSchema, ReportQuerySchema,
                                  VoucherInSchema, VoucherOutSchema, VoucherPageSchema, VoucherPatchSchema,
                                  VoucherReportSchema)
from core.schemas import PageArgsSchema

blp = Blueprint("admin_promotions", __name__, url_prefix="/admin/v1",
                description="Promotions, vouchers and the price resolver")
OPT_IN = ("admin", "producer")
QUOTERS = ("admin", "organiser", "producer", "operator")


@blp.route("/promotions")
class Promotions(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(OfferQuerySchema, location="query")
    @blp.response(200, PromotionPageSchema)
    def get(self, args):
        """Promotions the caller owns or may see (producers also see the opt-in campaigns they may join)."""
        return promotions.list_promotions(current_user(), args)

    @require_roles(*MANAGERS)
    @blp.arguments(PromotionInSchema)
    @blp.response(201, PromotionOutSchema)
    def post(self, data):
        """Create a draft promotion owned by the caller (organiser: its province's producers; producer: its own)."""
        return promotions.create_promotion(current_user(), data)


@blp.route("/promotions/<int:promotion_id>")
class PromotionItem(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, PromotionOutSchema)
    def get(self, promotion_id):
        """One promotion with its computed lifecycle (draft, scheduled, active, ended)."""
        return promotions.view_promotion(current_user(), promotion_id)

    @require_roles(*MANAGERS)
    @blp.arguments(PromotionPatchSchema)
    @blp.response(200, PromotionOutSchema)
    def patch(self, data, promotion_id):
        """Edit (while active: names, end and limits only; once ended: nothing)."""
        return promotions.update_promotion(current_user(), promotions.get_promotion(promotion_id), data)

    @require_roles(*MANAGERS)
    @blp.response(204)
    def delete(self, promotion_id):
        """Delete a draft."""
        promotions.delete_promotion(current_user(), promotions.get_promotion(promotion_id))


@blp.route("/promotions/<int:promotion_id>/activate")
class PromotionActivation(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, PromotionOutSchema)
    def post(self, promotion_id):
        """Publish a draft: scheduled until its window opens; opt-in campaigns invite their producers."""
        return promotions.activate_promotion(current_user(), promotions.get_promotion(promotion_id))


@blp.route("/promotions/<int:promotion_id>/end")
class PromotionEnd(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, PromotionOutSchema)
    def post(self, promotion_id):
        """Stop a scheduled or active promotion now."""
        return promotions.end_promotion(current_user(), promotions.get_promotion(promotion_id))


@blp.route("/promotions/<int:promotion_id>/invitations")
class PromotionInvitations(MethodView):
    @require_roles("admin", "organiser")
    @blp.response(202, InvitationSchema)
    def post(self, promotion_id):
        """Notify the producers an opt-in campaign can cover and that have not answered (sent by a task)."""
        return promotions.invite_producers(current_user(), promotions.get_promotion(promotion_id))


@blp.route("/promotions/<int:promotion_id>/opt-in")
class PromotionOptIn(MethodView):
    @require_roles(*OPT_IN)
    @blp.arguments(OptInSchema)
    @blp.response(200, ParticipantOutSchema)
    def post(self, data, promotion_id):
        """A producer joins an opt-in campaign (admins name the producer)."""
        return promotions.opt_in(current_user(), promotions.get_promotion(promotion_id), data.get("producer_id"))


@blp.route("/promotions/<int:promotion_id>/withdraw")
class PromotionWithdraw(MethodView):
    @require_roles(*OPT_IN)
    @blp.arguments(OptInSchema)
    @blp.response(200, ParticipantOutSchema)
    def post(self, data, promotion_id):
        """A producer leaves a campaign before it starts."""
        return promotions.withdraw(current_user(), promotions.get_promotion(promotion_id), data.get("producer_id"))


@blp.route("/promotions/<int:promotion_id>/participants")
class PromotionParticipants(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ParticipantPageSchema)
    def get(self, args, promotion_id):
        """Producers' opt-in answers (a producer sees its own)."""
        return promotions.list_participants(current_user(), promotions.get_promotion(promotion_id), args)


@blp.route("/promotions/<int:promotion_id>/preview")
class PromotionPreview(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(PreviewQuerySchema, location="query")
    @blp.response(200, PreviewSchema)
    def get(self, args, promotion_id):
        """Resulting prices for a sample of covered variants, as if the promotion were active."""
        return promotions.preview(current_user(), promotions.get_promotion(promotion_id), args)


@blp.route("/promotions/<int:promotion_id>/report")
class PromotionReport(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, PromotionReportSchema)
    def get(self, promotion_id):
        """Discount cost and GMV of a promotion, per producer (cancelled orders excluded)."""
        return promotions.report(current_user(), promotions.get_promotion(promotion_id))


@blp.route("/promotions/report")
class PromotionsReport(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, PromotionFiguresPageSchema)
    def get(self, args):
        """Discount cost and GMV per promotion the caller may see (``since``/``until``: when the order was placed)."""
        return promotions.summary_report(current_user(), args)


@blp.route("/vouchers")
class Vouchers(MethodView):
    @require_roles(*MANAGERS)
    @blp.arguments(OfferQuerySchema, location="query")
    @blp.response(200, VoucherPageSchema)
    def get(self, args):
        """Vouchers the caller owns or may see."""
        return vouchers.list_vouchers(current_user(), args)

    @require_roles(*MANAGERS)
    @blp.arguments(VoucherInSchema)
    @blp.response(201, VoucherOutSchema)
    def post(self, data):
        """Create a draft voucher owned by the caller (the code is unique whatever its case)."""
        return vouchers.create_voucher(current_user(), data)


@blp.route("/vouchers/<int:voucher_id>")
class VoucherItem(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, VoucherOutSchema)
    def get(self, voucher_id):
        """One voucher."""
        return vouchers.view_voucher(current_user(), voucher_id)

    @require_roles(*MANAGERS)
    @blp.arguments(VoucherPatchSchema)
    @blp.response(200, VoucherOutSchema)
    def patch(self, data, voucher_id):
        """Edit (while active: names, end and limits only)."""
        return vouchers.update_voucher(current_user(), vouchers.get_voucher(voucher_id), data)

    @require_roles(*MANAGERS)
    @blp.response(204)
    def delete(self, voucher_id):
        """Delete a draft."""
        vouchers.delete_voucher(current_user(), vouchers.get_voucher(voucher_id))


@blp.route("/vouchers/<int:voucher_id>/activate")
class VoucherActivation(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, VoucherOutSchema)
    def post(self, voucher_id):
        """Publish a draft voucher."""
        return vouchers.activate_voucher(current_user(), vouchers.get_voucher(voucher_id))


@blp.route("/vouchers/<int:voucher_id>/end")
class VoucherEnd(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, VoucherOutSchema)
    def post(self, voucher_id):
        """Stop a scheduled or active voucher now."""
        return vouchers.end_voucher(current_user(), vouchers.get_voucher(voucher_id))


@blp.route("/vouchers/<int:voucher_id>/report")
class VoucherReport(MethodView):
    @require_roles(*MANAGERS)
    @blp.response(200, VoucherReportSchema)
    def get(self, voucher_id):
        """Uses, discount cost and GMV of a voucher (cancelled orders excluded)."""
        return vouchers.report(current_user(), vouchers.get_voucher(voucher_id))


@blp.route("/prices/quote")
class PriceQuote(MethodView):
    @require_roles(*QUOTERS)
    @blp.arguments(QuoteInSchema)
    @blp.response(200, QuoteSchema)
    def post(self, data):
        """Price lines on a channel now (or ``at``), with vouchers: what a till, feed or checkout would charge."""
        return resolver.quote(data)
