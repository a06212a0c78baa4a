"""The organiser's sales-point registry in the console: the province's points with filters, a status change
through the API's service (audited, scoped), bad input and other roles refused, and the plugin switched off."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from support.console import console_as, console_login, post
from support.sales_points import PASSWORD as OP_PASSWORD, setup_points


@pytest.fixture
def sp(client, login, demo):
    return setup_points(client, login)


def text(response):
    return response.get_data(as_text=True)


def point_status(point_id):
    from core.db import db
    from plugins.sales_points.models import SalesPoint
    db.session.expire_all()
    return db.session.get(SalesPoint, point_id).status


def audit_count():
    from core.audit.models import AuditEvent
    from core.db import db
    return db.session.execute(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "sales_point.updated")).scalar_one()


def test_the_organiser_sees_the_province_registry_and_filters_it(app, sp):
    org = console_as(app, "sct.dongnai")
    page = org.get("/console/sales-points/registry")
    body = text(page)
    assert page.status_code == 200 and 'id="registry"' in body
    assert "Điểm OCOP Bửu Long" in body and "Điểm OCOP Trị An" in body
    assert "Danh bạ điểm bán OCOP" in text(org.get("/console/", follow_redirects=True))  # the menu entry
    narrowed = text(org.get("/console/sales-points/registry?kind=highway_stop"))
    assert "Điểm OCOP Trị An" in narrowed and "Điểm OCOP Bửu Long" not in narrowed
    searched = text(org.get("/console/sales-points/registry?q=Bửu Long"))
    assert "Điểm OCOP Bửu Long" in searched and "Điểm OCOP Trị An" not in searched
    bad = org.get("/console/sales-points/registry?status=asleep")
    assert bad.status_code == 422 and 'id="form-error"' in text(bad)


def test_a_status_change_goes_through_the_service_and_is_audited(app, sp):
    org = console_as(app, "sct.dongnai")
    before = audit_count()
    r = post(org, f"/console/sales-points/{sp.a}/status", {"status": "suspended"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/console/sales-points/registry")
    assert point_status(sp.a) == "suspended" and audit_count() == before + 1
    assert "Tạm dừng" in text(org.get("/console/sales-points/registry?status=suspended"))


def test_bad_status_and_other_callers_change_nothing(app, sp):
    from core.accounts.authentication import create_user
    from core.db import commit
    org = console_as(app, "sct.dongnai")
    before = audit_count()
    for value in ("", "asleep"):
        r = post(org, f"/console/sales-points/{sp.a}/status", {"status": value})
        assert r.status_code == 422 and 'id="form-error"' in text(r)
    create_user("sct.hatinh", "ocop-demo-2026", "organiser", province_code="42")
    commit()
    far = console_as(app, "sct.hatinh")
    assert "Điểm OCOP Bửu Long" not in text(far.get("/console/sales-points/registry"))
    assert post(far, f"/console/sales-points/{sp.a}/status", {"status": "closed"}).status_code == 403
    for username, password in (("op.a", OP_PASSWORD), ("cs.htx-binh-loi", "ocop-demo-2026")):
        other = console_as(app, username, password)
        assert other.get("/console/sales-points/registry").status_code == 403
        assert post(other, f"/console/sales-points/{sp.a}/status", {"status": "closed"}).status_code == 403
    assert point_status(sp.a) == "active" and audit_count() == before


def test_without_the_plugin_the_registry_is_gone(instance_path, database_url, app, sp):
    from conftest import make_settings
    from core.app import create_app
    other = create_app(make_settings(instance_path, database_url, plugins_disabled=["sales_points"]))
    client = other.test_client()
    assert console_login(client, "sct.dongnai", "ocop-demo-2026").status_code == 302
    assert client.get("/console/sales-points/registry").status_code == 404
    home = text(client.get("/console/", follow_redirects=True))
    assert "Danh bạ điểm bán OCOP" not in home and client.get("/console/dashboard").status_code == 200
