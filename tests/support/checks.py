"""Small assertions shared by the catalogue, certification, auth and storefront tests."""
from __future__ import annotations

from sqlalchemy import func, inspect, select


def error_of(response, status: int, code: str | None = None) -> dict:
    """Assert ``response`` is the DESIGN §3 error envelope with ``status`` (and ``code``); return the error."""
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "message_en", "details"}, error
    assert error["message"] and error["message_en"]
    if code is not None:
        assert error["code"] == code, error
    return error


def row_counts() -> dict[str, int]:
    """Row count of every table that exists (to prove a refused request changed nothing)."""
    from core.db import db
    db.session.rollback()  # read committed state only
    existing = set(inspect(db.engine).get_table_names())
    return {table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables
            if table.name in existing and table.name != "login_throttle"}  # every login attempt counts there
