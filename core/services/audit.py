"""Audit events: who changed what, when, with before/after snapshots."""
from __future__ import annotations

import datetime as dt
import decimal

from flask import has_request_context
from sqlalchemy import inspect

from core.db import db
from core.models import AuditEvent


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def snapshot(obj) -> dict | None:
    """Column values of an ORM object as a JSON-able dict (None for None)."""
    if obj is None:
        return None
    return {attr.key: _jsonable(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs}


def record(action: str, entity, *, before: dict | None = None, actor=None,
           entity_type: str | None = None, entity_id=None, province_code: str | None = None,
           after: dict | None = None) -> AuditEvent:
    """Add an audit event in the current transaction (committed with the change it describes)."""
    if actor is None and has_request_context():
        from core.security import current_user
        actor = current_user()
    event = AuditEvent(
        actor_id=getattr(actor, "id", None), actor_username=getattr(actor, "username", None),
        action=action, entity_type=entity_type or type(entity).__tablename__,
        entity_id=str(entity_id if entity_id is not None else getattr(entity, "id", None)
                      or getattr(entity, "code", "")),
        province_code=province_code, before=before,
        after=after if after is not None else snapshot(entity),
    )
    db.session.add(event)
    return event
