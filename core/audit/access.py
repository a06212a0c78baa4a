"""Who sees which audit events (object-level checks used by :mod:`core.audit.trail`).

``admin`` sees everything; a province-scoped user (organiser, certifier) the
events recorded with its province; anybody else nothing (the route refuses
other roles: producer-level ownership of arbitrary events cannot be decided
portably from the JSON snapshots).
"""
from __future__ import annotations

from core.audit.models import AuditEvent


def visible_events_filter(user):
    """A WHERE clause restricting ``AuditEvent`` rows to those ``user`` sees (None: no restriction)."""
    if user.role == "admin":
        return None
    if user.province_code:
        return AuditEvent.province_code == user.province_code
    return AuditEvent.id == -1
