"""Migration lv003: checkouts tagged by a livestream link before ``checkout.referral`` keep their credit.

A database is built at core ``0012_image_sizes_unit_lookups`` and livestream ``lv002`` (the other plugins at
their heads); a started session and a
storefront checkout tagged with its link are written in that schema (raw SQL); after ``migrate.upgrade()`` the
checkout carries the claim and the order placed from it is credited to the session, with no tag query.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import select

from core import migrate
from core.db import UTCDateTime, commit, db
from core.sales.models import Checkout, Order
from support.old_database import old_app, old_database_url, upgrade_to  # noqa: F401 (fixtures)

STARTED = dt.datetime(2026, 11, 23, 12, 0, 0, tzinfo=dt.timezone.utc)  # 19:00 in Vietnam


def _insert(sql: str, **params) -> int:
    """Times bound as the models store them (the checkout's claim compares ``updated_at`` exactly)."""
    stmt = sa.text(sql + " RETURNING id").bindparams(sa.bindparam("at", type_=UTCDateTime))
    return db.session.execute(stmt, params).scalar_one()


def test_tags_made_before_lv003_are_noted_on_their_checkouts(old_app):
    from core.demo import seed_demo
    client = old_app.test_client()
    with old_app.app_context():
        upgrade_to("core", "0012_image_sizes_unit_lookups")
        upgrade_to("livestream", "lv002")
        for component, _versions in migrate.components():  # the other plugins as they are (their hooks run)
            if component not in ("core", "livestream"):
                upgrade_to(component, "head")
        seed_demo(campaign=False)
        commit()
        variant_id = db.session.execute(sa.text("SELECT id FROM variant WHERE sku = 'BL-TDB-10'")).scalar_one()
        session_id = _insert(
            "INSERT INTO livestream_session (platform, title, scheduled_at, started_at, status, tracking_code,"
            " webhook_secret) VALUES ('facebook', 'Phiên cũ', :at, :at, 'live', 'OLDLINK1', 'secret')", at=STARTED)
        tagged, untagged = (_insert(
            "INSERT INTO checkout (token, status, full_name, phone, delivery_method, province_code, commune_code,"
            " street, subtotal, shipping_fee, total, created_at, updated_at) VALUES (:token, 'open', 'Nguyễn Thị Lan',"
            " '0912345678', 'standard', '75', '26188', '12 Nguyễn Văn Trỗi', 0, 0, 0, :at, :at)",
            token=token, at=STARTED) for token in ("tagged-before-lv003", "untagged-before-lv003"))
        for checkout_id in (tagged, untagged):
            _insert("INSERT INTO checkout_line (checkout_id, variant_id, quantity, created_at) VALUES (:c, :v, 1, :at)",
                    c=checkout_id, v=variant_id, at=STARTED)
        _insert("INSERT INTO livestream_checkout_tag (checkout_id, session_id, tagged_at) VALUES (:c, :s, :at)",
                c=tagged, s=session_id, at=STARTED)
        commit()
        db.session.remove()

        migrate.upgrade()

        assert db.session.get(Checkout, tagged).referral == {"livestream": {"session_id": session_id}}
        assert db.session.get(Checkout, untagged).referral is None
        numbers = {}
        for token in ("tagged-before-lv003", "untagged-before-lv003"):
            placed = client.post(f"/storefront/v1/checkouts/{token}/complete")
            assert placed.status_code == 201, placed.get_json()
            numbers[token] = placed.get_json()["number"]
        credit = db.session.execute(select(Order.attribution).where(Order.number == numbers["tagged-before-lv003"]))
        assert credit.scalar_one() == {"source": "livestream", "reference": f"livestream:{session_id}",
                                       "session_id": session_id, "via": "tag"}
        assert db.session.execute(select(Order.attribution).where(
            Order.number == numbers["untagged-before-lv003"])).scalar_one() is None
