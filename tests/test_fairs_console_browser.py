"""The fairs' console pages in a real browser (Playwright driving Debian's Chromium): the organiser moves a
booth on the map editor (htmx redraws the SVG) and approves an application; screenshots into ``.artifacts/``."""
from __future__ import annotations

from sqlalchemy import select

from core.db import commit, db
from plugins.fairs import events
from plugins.fairs.models import FairApplication, FairBooth
from plugins.fairs.tests.fixtures import build, user
from support.browser import screenshot
from support.console import browser_log_in


def test_organiser_moves_a_booth_on_the_map_and_approves_an_application(live_server, page, demo):
    fair = build("applied")
    events.transition(user("sct.dongnai"), events.get_event(fair.event_id), "allocating")
    commit()
    browser_log_in(page, live_server, "sct.dongnai")
    page.goto(f"{live_server}/console/fairs")
    assert page.locator(".console-menu").get_by_text("Hội chợ, triển lãm").count() == 1
    page.goto(f"{live_server}/console/fairs/map?event={fair.event_id}")
    page.wait_for_selector("#booth-A01 rect")
    screenshot(page, "console-fairs-map")
    form = page.locator("#booth-form-A01")
    form.locator("input[name=y]").fill("12")
    form.locator("input[name=h]").fill("7")
    form.get_by_role("button").click()
    # htmx swaps the redrawn editor in place: the booth's rectangle now sits at y = 12 (× 10 px per unit)
    page.wait_for_selector("#booth-A01 rect[y='120'][height='70']")
    assert "/console/fairs/map" in page.url
    screenshot(page, "console-fairs-map-moved")
    db.session.expire_all()
    a01 = db.session.get(FairBooth, fair.booths["A01"])
    assert (a01.y, a01.h) == (12, 7)

    page.goto(f"{live_server}/console/fairs/applications?event={fair.event_id}")
    application_id = fair.applications["cs.htx-binh-loi"]
    row = page.locator(f"#application-{application_id}")
    row.get_by_role("button", name="Chấp thuận").click()
    page.wait_for_selector(f"#application-{application_id}[data-status='approved']")
    screenshot(page, "console-fairs-applications")
    db.session.expire_all()
    assert db.session.get(FairApplication, application_id).status == "approved"
    assert db.session.execute(select(FairApplication.status).where(
        FairApplication.id == fair.applications["cs.htx-binh-minh"])).scalar_one() == "submitted"
