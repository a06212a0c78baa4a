"""Who may act on a livestream session: admin all; organisers their province's hosts; producers their own."""
from __future__ import annotations

from sqlalchemy import select

from core.catalogue.access import can_manage_producer
from core.catalogue.models import Producer
from core.errors import Forbidden
from plugins.livestream.models import LivestreamHost, LivestreamSession


def can_manage_session(user, session: LivestreamSession) -> bool:
    """True when ``user`` may manage one of the session's host producers."""
    return user is not None and any(can_manage_producer(user, host.producer) for host in session.hosts)


def require_session_access(user, session: LivestreamSession) -> None:
    """Raise 403 unless ``user`` may manage ``session``."""
    if not can_manage_session(user, session):
        raise Forbidden("auth.out_of_scope", "Phiên livestream này nằm ngoài phạm vi của bạn.",
                        "This livestream session is outside your scope.", {"session_id": session.id})


def scope_clause(user):
    """A WHERE clause on ``LivestreamSession`` limiting a listing to the user's sessions (None: all)."""
    if user.role == "admin":
        return None
    if user.role == "producer":
        hosted = select(LivestreamHost.session_id).where(LivestreamHost.producer_id == user.producer_id)
        return LivestreamSession.id.in_(hosted)
    from_province = (select(LivestreamHost.session_id).join(Producer, Producer.id == LivestreamHost.producer_id)
                     .where(Producer.province_code == user.province_code))
    return LivestreamSession.id.in_(from_province)
