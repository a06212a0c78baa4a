"""A verified producer that changes its identity (name, tax code, legal form) goes back to verification."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import db
from core.catalogue.models import Producer, Product


def _producer_of(username):
    from core.accounts.models import User
    user = db.session.execute(select(User).where(User.username == username)).scalar_one()
    return db.session.get(Producer, user.producer_id)


def _listed(producer_id):
    db.session.rollback()
    return [p.id for p in db.session.execute(select(Product).where(Product.producer_id == producer_id,
                                                                   Product.is_listed.is_(True))).scalars()]


@pytest.mark.parametrize("change", [{"name": "Công ty Giả Danh"}, {"tax_code": "0100000028"},
                                    {"legal_form": "household_business"}])
def test_an_identity_change_sends_a_verified_producer_back_to_verification(client, demo, login, change):
    producer = _producer_of("cs.htx-binh-loi")
    producer_id = producer.id
    assert producer.status == "verified" and _listed(producer_id)
    response = client.patch(f"/admin/v1/producers/{producer_id}", json=change, headers=login("cs.htx-binh-loi"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"
    db.session.expire_all()
    assert db.session.get(Producer, producer_id).verified_at is None
    assert _listed(producer_id) == []
    # and the organiser verifies it again
    verified = client.post(f"/admin/v1/producers/{producer_id}/status", headers=login("sct.dongnai"),
                           json={"status": "verified"})
    assert verified.status_code == 200 and _listed(producer_id)


def test_other_changes_and_the_verifiers_own_keep_it_verified(client, demo, login):
    producer_id = _producer_of("cs.htx-binh-loi").id
    response = client.patch(f"/admin/v1/producers/{producer_id}", json={"phone": "0251 3812 999"},
                            headers=login("cs.htx-binh-loi"))
    assert response.status_code == 200 and response.get_json()["status"] == "verified"
    response = client.patch(f"/admin/v1/producers/{producer_id}", json={"name": "HTX Bình Lợi (tên mới)"},
                            headers=login("sct.dongnai"))
    assert response.status_code == 200 and response.get_json()["status"] == "verified"
    assert _listed(producer_id)


def test_a_producer_back_in_verification_can_do_nothing_with_promotions(client, demo, login):
    from support.checks import error_of, row_counts
    from test_pricing_admin import BASE, body, demo_campaign_id
    producer_id = _producer_of("cs.htx-binh-loi").id
    headers = login("cs.htx-binh-loi")
    assert client.patch(f"/admin/v1/producers/{producer_id}", json={"name": "Tên mới"},
                        headers=headers).get_json()["status"] == "pending"
    before = row_counts()
    error_of(client.post(BASE, json=body(), headers=headers), 403, "producer.not_verified")
    error_of(client.post(f"{BASE}/{demo_campaign_id()}/opt-in", json={}, headers=headers), 403,
             "producer.not_verified")
    assert row_counts() == before
