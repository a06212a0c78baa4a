"""The fairs on the public site: a page of running and upcoming fairs, one page per fair, the home page section.

Added through ``register_site_pages`` and ``site_home_sections``; the views call the plugin's public
services (the ones ``/storefront/v1/fairs`` answers from), so pages and API show the same events.
"""
from __future__ import annotations

from pathlib import Path

from flask import request, url_for

from core import clock
from core.errors import invalid
from core.geo.resolver import UnitResolver
from plugins.fairs import events
from plugins.fairs.models import EVENT_KINDS

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 20
HOME_ITEMS = 4


def _place(event, provinces: UnitResolver) -> str:
    province = provinces.get(event.province_code)
    return event.venue_address + (f", {province.name}" if province and province.name not in event.venue_address else "")


def _is_on(event) -> bool:
    return event.status == "running" or event.starts_on <= clock.today()


def register(pages) -> None:
    """``/hoi-cho-trien-lam`` (in the site header) and ``/hoi-cho-trien-lam/<slug>``."""
    pages.add_template_folder(TEMPLATES)

    def fair_list():
        page = request.args.get("page", "1")
        if not page.isdigit() or not 1 <= int(page) <= 1000:  # as the site's other listings answer
            raise invalid("page", "trang phải là số từ 1 đến 1000", "page must be a number from 1 to 1000")
        found = events.public_events({"page": int(page), "limit": PAGE_SIZE})
        units = UnitResolver()
        units.get_many(e.province_code for e in found["results"])
        rows = [{"event": e, "kind": EVENT_KINDS[e.kind], "place": _place(e, units), "on": _is_on(e)}
                for e in found["results"]]
        return pages.render("fairs_site/list.html", fairs=rows, total=found["total"],
                            next_page=int(page) + 1 if found["next"] else None)

    def fair_detail(slug):
        detail = events.public_detail(slug)
        event = detail.event
        return pages.render("fairs_site/detail.html", event=event, kind=EVENT_KINDS[event.kind],
                            place=_place(event, UnitResolver()), exhibitors=detail.exhibitors, on=_is_on(event),
                            listed=event.status in events.LISTED and event.ends_on >= clock.today(),
                            map_url=url_for("fairs_public.PublicMap", slug=event.slug))

    pages.add("/hoi-cho-trien-lam", fair_list, name="fair_events", title="Hội chợ, triển lãm", title_en="Fairs",
              nav=True)
    pages.add("/hoi-cho-trien-lam/<slug>", fair_detail, name="fair_event", title="Hội chợ", title_en="Fair")


def home_section(lang: str) -> dict | None:
    """Running and upcoming published fairs for the home page (soonest first), or None when there are none."""
    found = events.public_events({"page": 1, "limit": HOME_ITEMS})
    if not found["results"]:
        return None
    units = UnitResolver()
    units.get_many(e.province_code for e in found["results"])
    en = lang == "en"
    items = []
    for e in found["results"]:
        kind = EVENT_KINDS[e.kind][1 if en else 0]
        state = ("On now" if en else "Đang diễn ra") if _is_on(e) else ("Coming" if en else "Sắp diễn ra")
        items.append({"title": e.name, "url": url_for("site.fair_event", slug=e.slug), "starts_on": e.starts_on,
                      "ends_on": e.ends_on, "place": _place(e, units), "note": f"{kind} · {state}"})
    return {"key": "fairs", "title": "Hội chợ, triển lãm OCOP", "title_en": "OCOP fairs and exhibitions",
            "items": items, "more_url": url_for("site.fair_events") if found["total"] > len(items) else None}
