"""Console: promotion campaigns (core pricing). Organisers and admins list, create and activate campaigns,
see the producers' opt-ins and preview prices; producers see the campaigns open to them, join and withdraw.

The pricing services decide everything (who may see or manage a campaign, when joining or withdrawing is
allowed, opt-in rules); the create form goes through the API's ``PromotionInSchema``."""
from __future__ import annotations

from flask import redirect, request, url_for

from admin.console import forms
from admin.console.producer_views import _page_number
from admin.console.shell import error_text, render
from core import clock
from core.accounts.security import current_user
from core.catalogue import groups
from core.errors import DomainError
from core.plugins import plugin_manager
from core.pricing import promotions
from core.pricing.models import PROMOTION_KINDS
from core.pricing.rules import lifecycle
from core.pricing.schemas import PromotionInSchema

CAMPAIGN_ROLES = ("admin", "organiser")
PAGE_SIZE = 50
PREVIEW_SIZE = 20
KIND_NAMES = {"percentage": ("Giảm theo %", "Percentage off"), "amount": ("Giảm số tiền (VND/đơn vị)", "Amount off (VND per unit)"),
              "fixed_price": ("Giá cố định (VND)", "Fixed price (VND)")}
LIFECYCLE_NAMES = {"draft": ("Nháp", "Draft"), "scheduled": ("Sắp diễn ra", "Scheduled"),
                   "active": ("Đang diễn ra", "Running"), "ended": ("Đã kết thúc", "Ended")}
assert set(KIND_NAMES) == set(PROMOTION_KINDS)


def add_pages(pages) -> None:
    pages.add_page("/campaigns", campaign_list, endpoint="campaigns", roles=CAMPAIGN_ROLES,
                   menu=("Chương trình khuyến mại", "Campaigns"), order=55)
    pages.add_page("/campaigns/new", campaign_new, endpoint="campaign_new", roles=CAMPAIGN_ROLES,
                   methods=("GET", "POST"))
    pages.add_page("/campaigns/<int:promotion_id>", campaign_detail, endpoint="campaign", roles=CAMPAIGN_ROLES)
    pages.add_page("/campaigns/<int:promotion_id>/activate", campaign_activate, endpoint="campaign_activate",
                   roles=CAMPAIGN_ROLES, methods=("POST",))
    pages.add_page("/promotions", my_promotions, endpoint="my_promotions", roles=("producer",),
                   menu=("Khuyến mại", "Promotions"), order=35)
    pages.add_page("/promotions/<int:promotion_id>/join", promotion_join, endpoint="promotion_join",
                   roles=("producer",), methods=("POST",))
    pages.add_page("/promotions/<int:promotion_id>/withdraw", promotion_withdraw, endpoint="promotion_withdraw",
                   roles=("producer",), methods=("POST",))


def _context() -> dict:
    return {"kind_names": KIND_NAMES, "lifecycle_names": LIFECYCLE_NAMES}


# --- organisers and admins ------------------------------------------------------------------------
def campaign_list():
    user = current_user()
    page = promotions.list_promotions(user, {"page": _page_number(), "limit": PAGE_SIZE})
    now = clock.now()
    rows = [{"promotion": p, "lifecycle": lifecycle(p, now)} for p in page["results"]]
    return render("console/campaigns.html", rows=rows, total=page["total"], page=_page_number(),
                  has_next=bool(page["next"]), **_context())


def _campaign_form(status: int = 200, **context):
    return render("console/campaign_new.html", status, form=request.form, kinds=PROMOTION_KINDS,
                  channel_kinds=plugin_manager().sales_channel_kinds.all(), groups=groups.groups(),
                  **_context(), **context)


def _form_data(form) -> dict:
    scope = {"groups": form.getlist("scope_groups"),
             "stars": [int(s) for s in form.getlist("scope_stars") if s in ("3", "4", "5")]}
    return {"name": forms.text(form, "name"), "name_en": forms.text(form, "name_en"),
            "description": forms.text(form, "description"), "kind": forms.text(form, "kind"),
            "value": forms.vnd(form, "value"), "starts_at": forms.text(form, "starts_at"),
            "ends_at": forms.text(form, "ends_at"), "channels": form.getlist("channels"),
            "scope": {key: values for key, values in scope.items() if values},
            "budget": forms.vnd(form, "budget"), "max_units_per_order": forms.vnd(form, "max_units_per_order")}


def campaign_new():
    """A draft campaign (an organiser's always asks its province's producers to opt in)."""
    if request.method == "GET":
        return _campaign_form()
    user = current_user()
    try:
        promotion = promotions.create_promotion(user, forms.load(PromotionInSchema(), _form_data(request.form)))
    except DomainError as exc:  # nothing written
        return _campaign_form(exc.status, error=error_text(exc), field_errors=forms.field_errors(exc))
    return redirect(url_for("console.campaign", promotion_id=promotion.id, created=1))


def campaign_detail(promotion_id: int):
    """One campaign: its terms, the producers' answers, and sample prices with it."""
    user = current_user()
    promotion = promotions.view_promotion(user, promotion_id)
    participants = promotions.list_participants(user, promotion, {"page": 1, "limit": 200})
    preview = promotions.preview(user, promotion, {"limit": PREVIEW_SIZE})
    return render("console/campaign.html", p=promotion, lifecycle=lifecycle(promotion, clock.now()),
                  participants=participants["results"], participants_total=participants["total"],
                  preview=preview["results"], **_context())


def campaign_activate(promotion_id: int):
    promotion = promotions.get_promotion(promotion_id)
    promotions.activate_promotion(current_user(), promotion)
    return redirect(url_for("console.campaign", promotion_id=promotion.id, activated=1))


# --- producers ---------------------------------------------------------------------------------------
def my_promotions():
    """The opt-in campaigns a producer may join (platform-wide or of its province), with its answer to each."""
    user = current_user()
    page = promotions.list_promotions(user, {"page": _page_number(), "limit": PAGE_SIZE})
    now = clock.now()
    rows = []
    for p in page["results"]:
        if not p.requires_opt_in:  # the producer's own promotions (no opt-in) are not campaigns to join
            continue
        answer = promotions.list_participants(user, p, {"page": 1, "limit": 1})["results"]
        rows.append({"promotion": p, "lifecycle": lifecycle(p, now), "answer": answer[0].status if answer else None})
    return render("console/my_promotions.html", rows=rows, page=_page_number(), has_next=bool(page["next"]),
                  done=request.args.get("done"), **_context())


def _answer(verb, promotion_id: int):
    user = current_user()
    promotion = promotions.get_promotion(promotion_id)
    verb(user, promotion)  # a refusal (too late to withdraw, not invited…) is the console's error page
    return redirect(url_for("console.my_promotions", done=promotion.id))


def promotion_join(promotion_id: int):
    return _answer(promotions.opt_in, promotion_id)


def promotion_withdraw(promotion_id: int):
    return _answer(promotions.withdraw, promotion_id)
