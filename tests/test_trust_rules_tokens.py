"""API tokens: listed for their owner (never the secret), last use kept, an expiry by default."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from core.db import db, utcnow
from core.accounts.models import ApiToken
from support.checks import error_of


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_api_tokens_expire_by_default_are_listed_and_record_their_last_use(client, demo, login):
    headers = login("cs.htx-binh-loi")
    created = client.post("/admin/v1/api-tokens", json={"name": "Website sync"}, headers=headers).get_json()
    expires = dt.datetime.fromisoformat(created["expires_at"])
    assert dt.timedelta(days=89) < expires - utcnow() <= dt.timedelta(days=90)
    listed = client.get("/admin/v1/api-tokens?kind=api", headers=headers)
    assert listed.status_code == 200, listed.get_json()
    [token] = listed.get_json()["results"]
    assert token["id"] == created["id"] and token["name"] == "Website sync" and token["last_used_at"] is None
    assert "token" not in token and "token_hash" not in token
    assert client.get("/admin/v1/me", headers=_bearer(created["token"])).status_code == 200
    db.session.rollback()
    used = db.session.get(ApiToken, created["id"]).last_used_at
    assert used is not None and utcnow() - used < dt.timedelta(minutes=1)
    [token] = client.get("/admin/v1/api-tokens?kind=api", headers=headers).get_json()["results"]
    assert token["last_used_at"].endswith("+07:00")
    # an hour later, the next use moves it forward
    db.session.execute(update(ApiToken).where(ApiToken.id == created["id"])
                       .values(last_used_at=utcnow() - dt.timedelta(hours=1)))
    db.session.commit()
    client.get("/admin/v1/me", headers=_bearer(created["token"]))
    db.session.rollback()
    assert utcnow() - db.session.get(ApiToken, created["id"]).last_used_at < dt.timedelta(minutes=1)
    # everyone sees only their own tokens
    others = client.get("/admin/v1/api-tokens?kind=api", headers=login("cs.son-an")).get_json()
    assert others["results"] == [] and others["total"] == 0
    error_of(client.get("/admin/v1/api-tokens"), 401, "auth.required")
    error_of(client.get("/admin/v1/api-tokens?kind=forever", headers=headers), 422, "validation.invalid")
