"""OCOP certification rules: levels by period, score bands, supersede/withdraw/downgrade, expiry and warnings."""
from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.db import commit, db
from core.certification.models import Certification
from core.notifications.models import Notification
from core.catalogue.models import Product
from core.accounts.authentication import create_user
from core.certification.rules import expiry_for
from support.checks import error_of, row_counts

LAMP = "Đèn gỗ trang trí nội thất Trị An"


def _product(name) -> Product:
    return db.session.execute(select(Product).where(Product.name == name)).scalar_one()


def _cert(stars=3, score=62.5, level="province", issued_on="2026-01-10", **extra):
    return {"stars": stars, "score": score, "level": level, "issued_on": issued_on,
            "decision_no": "1234/QĐ-UBND", "council": "Hội đồng OCOP tỉnh Đồng Nai", **extra}


@pytest.fixture
def certifier(login, demo):
    return login("hoidong.dongnai")


def _record(client, headers, name, body):
    return client.post(f"/admin/v1/products/{_product(name).id}/certifications", json=body, headers=headers)


# --- recording ----------------------------------------------------------------
def test_certifying_an_uncertified_product_lists_it_with_a_36_month_certificate(client, certifier):
    response = _record(client, certifier, "Bánh tét đặc sản Trần Gia", _cert(issuing_unit_code="75"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "active" and body["criteria_set"] == "148"
    assert body["issued_on"] == "2026-01-10" and body["expires_on"] == "2029-01-10"  # 36 months
    assert body["score"] == 62.5
    detail = client.get("/storefront/v1/products/banh-tet-dac-san-tran-gia")
    assert detail.status_code == 200
    badge = detail.get_json()["certification"]
    assert badge["stars"] == 3 and badge["level"] == "province" and badge["expires_on"] == "2029-01-10"
    assert badge["issuing_unit"] == {"code": "75", "name": "Đồng Nai"}
    assert client.get("/storefront/v1/products").get_json()["total"] == 8


def test_default_validity_is_36_months():
    assert expiry_for(dt.date(2024, 1, 15)) == dt.date(2027, 1, 15)
    assert expiry_for(dt.date(2024, 2, 29)) == dt.date(2027, 2, 28)


def test_explicit_expiry_is_kept(client, certifier):
    response = _record(client, certifier, "Bánh tét đặc sản Trần Gia", _cert(expires_on="2028-06-30"))
    assert response.status_code == 201 and response.get_json()["expires_on"] == "2028-06-30"


@pytest.mark.parametrize("body, code, details", [
    # a district council never granted 4 stars
    (_cert(stars=4, score=75, level="district", issued_on="2024-05-02"),
     "certification.stars_not_allowed_for_level", {"level": "district", "allowed_stars": [3]}),
    # district councils were abolished from 6 Jul 2025 (Decision 1489/QĐ-TTg)
    (_cert(stars=3, score=60, level="district", issued_on="2025-07-06"),
     "certification.level_not_allowed", {"level": "district", "period": "148-1489"}),
    (_cert(stars=3, score=60, level="district", issued_on="2026-03-01"),
     "certification.level_not_allowed", {"level": "district"}),
    # a score that contradicts the stars
    (_cert(stars=4, score=60), "certification.score_stars_mismatch", {"expected_stars": 3}),
    (_cert(stars=3, score=45), "certification.score_stars_mismatch", {"expected_stars": 2}),
    # a province council scoring 90+ grants its ceiling (4 stars) and forwards the product: not 3
    (_cert(stars=3, score=91), "certification.score_stars_mismatch", {"expected_stars": 4}),
    # under Decision 148 (2023-2025) a province council grants 4 stars only
    (_cert(stars=3, score=60, level="province", issued_on="2024-01-10"),
     "certification.stars_not_allowed_for_level", {"allowed_stars": [4]}),
    # 5 stars only at central level
    (_cert(stars=5, score=92), "certification.stars_not_allowed_for_level", {"allowed_stars": [3, 4]}),
    # the criteria set follows the issue date
    (_cert(criteria_set="1048"), "certification.criteria_mismatch", {"expected": "148"}),
    (_cert(issued_on="2018-06-01", level="province", stars=4, score=75), "certification.no_rules", {}),
])
def test_rule_violations_are_422_and_change_nothing(client, certifier, body, code, details):
    before = row_counts()
    error = error_of(_record(client, certifier, "Bánh tét đặc sản Trần Gia", body), 422, code)
    assert details.items() <= error["details"].items(), error
    assert error["message"] != error["message_en"]  # Vietnamese first, English alongside
    assert row_counts() == before


@pytest.mark.parametrize("body, field", [
    (_cert(issued_on="2026-12-01"), "issued_on"),  # in the future (today is pinned to 2026-11-23)
    (_cert(expires_on="2025-12-31"), "expires_on"),
    (_cert(stars=2, score=40), "stars"),
    (_cert(stars=3.0), "stars"),
    (_cert(score=101), "score"),
    (_cert(level="commune"), "level"),
    (_cert(council="Hội đồng\u0000"), "council"),
    (_cert(certificate_url="https://x.vn"), "certificate_url"),
    (_cert(issuing_unit_code="XX-NOPE"), "issuing_unit_code"),
    ({k: v for k, v in _cert().items() if k != "decision_no"}, "decision_no"),
])
def test_bad_certification_input_is_422_and_changes_nothing(client, certifier, body, field):
    before = row_counts()
    error = error_of(_record(client, certifier, "Bánh tét đặc sản Trần Gia", body), 422)
    assert field in error["details"], error
    assert row_counts() == before


def test_boundaries_of_the_rule_periods(client, certifier):
    # the last day district councils could certify, with the seed's forwarding rule:
    # 71.7 points at district level gives the district's ceiling (3 stars)
    response = _record(client, certifier, "Bánh tét đặc sản Trần Gia",
                       _cert(stars=3, score=71.7, level="district", issued_on="2025-07-05"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["expires_on"] == "2028-07-05"
    # from 6 Jul 2025 a province council may grant 3 stars again
    response = _record(client, certifier, "Bánh tét đặc sản Trần Gia",
                       _cert(stars=3, score=55, level="province", issued_on="2025-07-06"))
    assert response.status_code == 201, response.get_json()


def test_certifier_scope(client, demo, login):
    create_user("hoidong.hatinh", "ocop-demo-2026", "certifier", province_code="42")
    commit()
    before = row_counts()
    body = _cert()
    name = "Bánh tét đặc sản Trần Gia"
    error_of(_record(client, login("hoidong.hatinh"), name, body), 403, "auth.out_of_scope")
    error_of(_record(client, login("cs.tran-gia"), name, body), 403, "auth.forbidden")
    error_of(_record(client, login("sct.dongnai"), name, body), 403, "auth.forbidden")
    error_of(_record(client, {}, name, body), 401, "auth.required")
    central = _cert(stars=5, score=93, level="central")
    error_of(_record(client, login("hoidong.dongnai"), name, central), 403, "auth.forbidden")
    assert row_counts() == {**before, "api_token": before["api_token"] + 4}
    # the national administrator records central results
    assert _record(client, login("admin"), name, central).status_code == 201
    error_of(client.post("/admin/v1/products/999999/certifications", json=body, headers=login("admin")),
             404, "product.not_found")


# --- history ------------------------------------------------------------------
def test_huong_son_wine_history(client, demo, login):
    wine = _product("Rượu Nhung Hươu Hương Sơn")
    response = client.get(f"/admin/v1/products/{wine.id}/certifications", headers=login("cs.son-an"))
    assert response.status_code == 200
    history = [(c["level"], c["stars"], c["issued_on"], c["status"], c["score"]) for c in response.get_json()]
    assert history == [("district", 3, "2020-06-11", "expired", 71.7),
                       ("province", 4, "2024-06-20", "active", 74.5)]
    error_of(client.get(f"/admin/v1/products/{wine.id}/certifications", headers=login("cs.tran-gia")),
             403, "auth.out_of_scope")
    error_of(client.get(f"/admin/v1/products/{wine.id}/certifications"), 401, "auth.required")


def test_a_new_result_supersedes_and_keeps_history(client, certifier):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    old = pomelo.current_certification()
    response = _record(client, certifier, "Bưởi da xanh Bình Lợi",
                       _cert(stars=4, score=76, issued_on="2026-02-01", decision_no="88/QĐ-UBND"))
    assert response.status_code == 201
    new_id = response.get_json()["id"]
    db.session.expire_all()
    assert old.status == "superseded" and old.superseded_by_id == new_id
    history = client.get(f"/admin/v1/products/{pomelo.id}/certifications", headers=certifier).get_json()
    assert [(c["stars"], c["status"]) for c in history] == [(3, "superseded"), (4, "active")]
    badge = client.get("/storefront/v1/products/buoi-da-xanh-binh-loi").get_json()
    assert badge["stars"] == 4 and badge["certification"]["decision_no"] == "88/QĐ-UBND"
    # a result older than the current certificate is refused
    error_of(_record(client, certifier, "Bưởi da xanh Bình Lợi", _cert(issued_on="2025-12-01")),
             422, "certification.older_than_current")


# --- withdrawal and downgrade ---------------------------------------------------
def test_withdrawal_delists_at_once(client, certifier):
    oil = _product("Tinh dầu bưởi Bình Lợi")
    cert = oil.current_certification()
    assert client.get(f"/storefront/v1/products/{oil.slug}").status_code == 200
    response = client.post(f"/admin/v1/certifications/{cert.id}/withdraw", headers=certifier,
                           json={"reason": "Không đạt chỉ tiêu an toàn thực phẩm khi hậu kiểm"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "withdrawn"
    assert response.get_json()["status_reason"].startswith("Không đạt")
    error_of(client.get(f"/storefront/v1/products/{oil.slug}"), 404, "product.not_found")
    listed = client.get("/storefront/v1/products?limit=100").get_json()
    assert listed["total"] == 6 and oil.slug not in {p["slug"] for p in listed["results"]}
    db.session.expire_all()
    assert oil.is_listed is False and oil.listed_stars is None
    # only once
    error_of(client.post(f"/admin/v1/certifications/{cert.id}/withdraw", headers=certifier,
                         json={"reason": "Lần hai"}), 409, "certification.not_active")


def test_withdrawal_bad_input_and_scope(client, demo, login, certifier):
    cert = _product("Cam Vũ Quang").current_certification()  # Hà Tĩnh product
    error_of(client.post(f"/admin/v1/certifications/{cert.id}/withdraw", headers=certifier,
                         json={"reason": "Sai phạm"}), 403, "auth.out_of_scope")
    own = _product("Tinh dầu bưởi Bình Lợi").current_certification()
    before = row_counts()
    for body, field in (({}, "reason"), ({"reason": "x"}, "reason"), ({"reason": "abc", "force": True}, "force")):
        error = error_of(client.post(f"/admin/v1/certifications/{own.id}/withdraw", headers=certifier, json=body),
                         422, "validation.invalid")
        assert field in error["details"]
    error_of(client.post(f"/admin/v1/certifications/{own.id}/withdraw", json={"reason": "abcd"},
                         headers=login("cs.htx-binh-loi")), 403, "auth.forbidden")
    error_of(client.post(f"/admin/v1/certifications/{own.id}/withdraw", json={"reason": "abcd"}),
             401, "auth.required")
    error_of(client.post("/admin/v1/certifications/999999/withdraw", json={"reason": "abcd"}, headers=certifier),
             404, "certification.not_found")
    db.session.expire_all()
    assert own.status == "active"
    assert row_counts() == {**before, "api_token": before["api_token"] + 1}


def test_downgrade_to_three_stars_keeps_the_product_listed(client, certifier):
    oil = _product("Tinh dầu bưởi Bình Lợi")
    old = oil.current_certification()
    response = client.post(f"/admin/v1/certifications/{old.id}/downgrade", headers=certifier,
                           json={"stars": 3, "score": 65, "reason": "Đánh giá lại sau kiểm tra"})
    assert response.status_code == 200, response.get_json()
    new = response.get_json()
    assert new["stars"] == 3 and new["status"] == "active" and new["id"] != old.id
    assert new["expires_on"] == old.expires_on.isoformat()  # the certificate's term does not change
    db.session.expire_all()
    assert old.status == "superseded" and old.superseded_by_id == new["id"]
    detail = client.get(f"/storefront/v1/products/{oil.slug}").get_json()
    assert detail["stars"] == 3 and detail["certification"]["score"] == 65


def test_downgrade_below_three_stars_delists(client, certifier):
    pomelo = _product("Bưởi da xanh Bình Lợi")
    cert = pomelo.current_certification()
    response = client.post(f"/admin/v1/certifications/{cert.id}/downgrade", headers=certifier,
                           json={"stars": 2, "reason": "Vi phạm tiêu chí bắt buộc"})
    assert response.status_code == 200 and response.get_json()["stars"] == 2
    error_of(client.get(f"/storefront/v1/products/{pomelo.slug}"), 404, "product.not_found")
    assert client.get("/storefront/v1/products").get_json()["total"] == 6
    history = client.get(f"/admin/v1/products/{pomelo.id}/certifications", headers=certifier).get_json()
    assert [(c["stars"], c["status"]) for c in history] == [(3, "superseded"), (2, "active")]


@pytest.mark.parametrize("body, code", [
    ({"stars": 3, "reason": "Không hạ"}, "validation.invalid"),  # not lower than 3
    ({"stars": 2, "score": 60, "reason": "Điểm không khớp"}, "certification.score_stars_mismatch"),
    ({"stars": 0, "reason": "abc"}, "validation.invalid"),
    ({"stars": 2}, "validation.invalid"),
])
def test_bad_downgrade_is_422(client, certifier, body, code):
    cert = _product("Bưởi da xanh Bình Lợi").current_certification()
    before = row_counts()
    error_of(client.post(f"/admin/v1/certifications/{cert.id}/downgrade", headers=certifier, json=body), 422, code)
    assert row_counts() == before


def test_only_active_certifications_can_be_downgraded(client, certifier):
    wine = _product("Rượu nhung nai Hiếu Liêm")  # its only certificate expired in 2024
    cert = wine.certifications[0]
    assert cert.status == "expired"
    error_of(client.post(f"/admin/v1/certifications/{cert.id}/downgrade", headers=certifier,
                         json={"stars": 2, "reason": "abc"}), 409, "certification.not_active")


# --- expiry and warnings ---------------------------------------------------------
@pytest.fixture
def run_cli(monkeypatch, database_url, instance_path):
    """Run the real ``ocop`` command group against the test database (a fresh app per call)."""
    from core.cli import cli
    monkeypatch.setenv("OCOP_DATABASE_URL", database_url)
    monkeypatch.setenv("OCOP_INSTANCE_PATH", str(instance_path))
    monkeypatch.delenv("OCOP_PLUGINS_DISABLED", raising=False)

    def run(*args):
        db.session.commit()  # release our own transaction before another app writes
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        db.session.expire_all()
        return result.stdout
    return run


def _lamp_notifications():
    return db.session.execute(select(Notification).where(Notification.kind == "certification.expiring")
                              ).scalars().all()


def test_cli_warns_once_about_the_tri_an_lamp(run_cli, demo):
    lamp = _product(LAMP)
    cert = lamp.current_certification()
    assert cert.expires_on == dt.date(2027, 1, 15)
    assert run_cli("certifications", "expire").strip() == "Expired 0, warned 1."
    notes = _lamp_notifications()
    assert len(notes) == 1
    note = notes[0]
    assert note.producer_id == lamp.producer_id and note.status == "stored"  # no SMTP configured: stored
    assert note.data == {"certification_id": cert.id, "product_id": lamp.id, "expires_on": "2027-01-15",
                         "days_left": 53}
    assert "Đèn gỗ trang trí nội thất Trị An" in note.subject and "15/01/2027" in note.body
    assert cert.expiry_warned_at is not None
    # running again does not warn twice
    assert run_cli("certifications", "expire").strip() == "Expired 0, warned 0."
    assert len(_lamp_notifications()) == 1


def test_celery_task_expires_and_warns_idempotently(app, demo):
    from core.certification.tasks import expire_certifications
    db.session.commit()
    assert expire_certifications.delay().get() == {"expired": 0, "warned": 1}
    assert expire_certifications.delay().get() == {"expired": 0, "warned": 0}
    db.session.expire_all()
    notes = _lamp_notifications()
    assert len(notes) == 1 and notes[0].status == "stored"
    assert notes[0].data["product_id"] == _product(LAMP).id


def test_expiry_delists_and_is_stored(run_cli, client, demo, monkeypatch):
    lamp = _product(LAMP)
    monkeypatch.setenv("OCOP_TODAY", "2027-01-15")  # the certificate's last day is the 14th
    # reads are right even before the daily job runs
    listed = client.get("/storefront/v1/products?limit=100").get_json()
    assert listed["total"] == 6 and lamp.slug not in {p["slug"] for p in listed["results"]}
    error_of(client.get(f"/storefront/v1/products/{lamp.slug}"), 404, "product.not_found")
    # the job stores the expiry (and warns about the essential oil expiring on 2027-03-15)
    assert run_cli("certifications", "expire").strip() == "Expired 1, warned 1."
    cert = db.session.execute(select(Certification).where(Certification.product_id == lamp.id)).scalar_one()
    assert cert.status == "expired" and cert.status_changed_at is not None
    assert lamp.is_listed is False and lamp.listed_until is None
    assert run_cli("certifications", "expire").strip() == "Expired 0, warned 0."
    # an expired certificate cannot be withdrawn any more
    assert cert.status == "expired"


def test_an_old_expired_certificate_can_be_added_to_the_history(client, certifier):
    wine = _product("Rượu Nhung Hươu Hương Sơn")
    current = wine.current_certification()
    response = _record(client, certifier, wine.name,
                       _cert(stars=3, score=71.7, level="district", issued_on="2020-06-10", criteria_set="1048",
                             decision_no="55/QĐ-UBND"))
    assert response.status_code == 201 and response.get_json()["status"] == "expired"
    db.session.expire_all()
    assert wine.current_certification().id == current.id and current.status == "active"
    assert client.get(f"/storefront/v1/products/{wine.slug}").get_json()["stars"] == 4
    history = client.get(f"/admin/v1/products/{wine.id}/certifications", headers=certifier).get_json()
    assert [c["status"] for c in history] == ["expired", "expired", "active"]


def test_recording_an_already_expired_result_keeps_it_as_history(client, certifier):
    response = _record(client, certifier, "Bánh tét đặc sản Trần Gia",
                       _cert(stars=3, score=60, level="district", issued_on="2021-03-01", criteria_set="1048"))
    assert response.status_code == 201
    assert response.get_json()["status"] == "expired" and response.get_json()["expires_on"] == "2024-03-01"
    error_of(client.get("/storefront/v1/products/banh-tet-dac-san-tran-gia"), 404, "product.not_found")
