"""Audit events: who changed what, when, with before/after snapshots."""
from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import inspect, select

from core.request_user import request_user
from core.audit.access import visible_events_filter
from core.audit.models import AuditEvent
from core.db import db
from core.pagination import paginate


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
    if actor is None:
        actor = request_user()
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


def list_events(user, args: dict) -> dict:
    """Audit events visible to ``user`` (:mod:`core.audit.access`), newest first, filtered and paginated."""
    stmt = select(AuditEvent)
    scope = visible_events_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    for key, column in (("entity_type", AuditEvent.entity_type), ("entity_id", AuditEvent.entity_id),
                        ("actor", AuditEvent.actor_username),
                        ("province_code", AuditEvent.province_code)):
        if args.get(key):
            stmt = stmt.where(column == str(args[key]))
    action = args.get("action")
    if action:  # "user." selects every user.* action
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True) if action.endswith(".")
                          else AuditEvent.action == action)
    if args.get("since"):
        stmt = stmt.where(AuditEvent.at >= args["since"])
    if args.get("until"):
        stmt = stmt.where(AuditEvent.at < args["until"])
    return paginate(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), args["page"], args["limit"])
