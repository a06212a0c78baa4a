"""Livestream sessions: create, edit, go live, end; each session is a core sales channel of kind ``livestream``."""
from __future__ import annotations

import secrets

from sqlalchemy import select

from core.catalogue.access import require_producer_access
from core.catalogue.models import Producer
from core.db import db, utcnow
from core.errors import Conflict, NotFound, invalid
from core.pagination import paginate
from core.pricing.vouchers import code_key, find_voucher
from core.sales import channels
from plugins.livestream import access, holds
from plugins.livestream.models import PLATFORMS, LivestreamHost, LivestreamSession

LIVESTREAM_KIND = "livestream"


def channel_code(session_id: int) -> str:
    """The core sales channel code of a session."""
    return f"livestream:{session_id}"


def session_channel(session: LivestreamSession):
    """The session's core SalesChannel (``livestream:<id>``): its orders, prices and reports are core ones."""
    return channels.get_channel(session.sales_channel_id)


def get_session(session_id: int) -> LivestreamSession:
    session = db.session.get(LivestreamSession, session_id)
    if session is None:
        raise NotFound("livestream_session", "phiên livestream")
    return session


def session_for(user, session_id: int) -> LivestreamSession:
    """The session ``session_id`` when ``user`` may manage it (404 unknown, 403 out of scope)."""
    session = get_session(session_id)
    access.require_session_access(user, session)
    return session


def session_by_tracking_code(code: str) -> LivestreamSession | None:
    return db.session.execute(select(LivestreamSession)
                              .where(LivestreamSession.tracking_code == code)).scalar_one_or_none()


def session_by_channel(channel_id: int | None) -> LivestreamSession | None:
    if channel_id is None:
        return None
    return db.session.execute(select(LivestreamSession)
                              .where(LivestreamSession.sales_channel_id == channel_id)).scalar_one_or_none()


def _host_producers(user, producer_ids: list[int]) -> list[Producer]:
    if not producer_ids:
        raise invalid("producer_ids", "cần ít nhất một chủ thể dẫn phiên", "at least one host producer is required")
    found = []
    for producer_id in dict.fromkeys(producer_ids):
        producer = db.session.get(Producer, producer_id)
        if producer is None:
            raise NotFound("producer", "chủ thể", {"producer_id": producer_id})
        require_producer_access(user, producer)
        found.append(producer)
    return found


def create_session(user, data: dict) -> LivestreamSession:
    """Schedule a session for host producers the user may act for; creates its sales channel. Flushes."""
    producer_ids = data.get("producer_ids") or ([user.producer_id] if user.role == "producer" else [])
    hosts = _host_producers(user, producer_ids)
    _check_platform(data["platform"])
    session = LivestreamSession(platform=data["platform"], title=data["title"].strip(),
                                stream_url=data.get("stream_url"), scheduled_at=data["scheduled_at"],
                                status="scheduled", province_code=hosts[0].province_code,
                                tracking_code=secrets.token_urlsafe(6).replace("-", "x").replace("_", "y"),
                                webhook_secret=secrets.token_hex(32), created_by_id=user.id,
                                created_at=utcnow(), updated_at=utcnow())
    session.hosts = [LivestreamHost(producer_id=p.id) for p in hosts]
    if data.get("voucher_code"):
        _set_voucher(session, data["voucher_code"])
    db.session.add(session)
    db.session.flush()
    channel = channels.get_or_create_channel(channel_code(session.id), kind=LIVESTREAM_KIND,
                                             name=f"Livestream: {session.title}"[:200])
    session.sales_channel_id = channel.id
    db.session.flush()
    return session


def _set_voucher(session: LivestreamSession, code: str | None) -> None:
    """Link a core voucher (422 ``voucher.invalid`` when no voucher has that code); None unlinks."""
    if not code:
        session.voucher_code = session.voucher_code_key = None
        return
    voucher = find_voucher(code)
    session.voucher_code, session.voucher_code_key = voucher.code, voucher.code_key


def session_by_voucher_codes(codes) -> LivestreamSession | None:
    """The session whose voucher is among ``codes`` (any case), if any."""
    keys = [k for k in (code_key(c) for c in codes or () if isinstance(c, str)) if k]
    if not keys:
        return None
    return db.session.execute(select(LivestreamSession).where(LivestreamSession.voucher_code_key.in_(keys))
                              .order_by(LivestreamSession.id.desc())).scalars().first()


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise invalid("platform", f"nền tảng phải là một trong {', '.join(PLATFORMS)}",
                      f"platform must be one of {', '.join(PLATFORMS)}")


def update_session(user, session: LivestreamSession, data: dict) -> LivestreamSession:
    """Edit title, stream URL, schedule or platform (platform and schedule only while scheduled). Flushes."""
    if session.status == "ended":
        raise _ended(session)
    if ("platform" in data or "scheduled_at" in data) and session.status != "scheduled":
        raise Conflict("livestream.already_live", "Phiên đã bắt đầu: không đổi được nền tảng hay lịch.",
                       "The session has started: platform and schedule are fixed.", {"session_id": session.id})
    if "platform" in data:
        _check_platform(data["platform"])
    for key in ("platform", "title", "stream_url", "scheduled_at"):
        if key in data:
            setattr(session, key, data[key].strip() if key == "title" else data[key])
    if "voucher_code" in data:
        _set_voucher(session, data["voucher_code"])
    session.updated_at = utcnow()
    db.session.flush()
    return session


def _ended(session: LivestreamSession) -> Conflict:
    return Conflict("livestream.ended", "Phiên livestream đã kết thúc.", "The livestream session has ended.",
                    {"session_id": session.id})


def go_live(user, session: LivestreamSession) -> LivestreamSession:
    """scheduled → live: stamps the start and holds the showcase's stock. Flushes."""
    if session.status != "scheduled":
        raise Conflict("livestream.bad_transition", "Chỉ phiên đã lên lịch mới bắt đầu được.",
                       "Only a scheduled session can go live.", {"status": session.status})
    session.status, session.started_at = "live", utcnow()
    holds.hold_all(session, actor=user)
    db.session.flush()
    return session


def end(user, session: LivestreamSession) -> LivestreamSession:
    """live → ended: stamps the end, closes pin windows and releases every hold. Flushes."""
    if session.status != "live":
        raise Conflict("livestream.bad_transition", "Chỉ phiên đang phát mới kết thúc được.",
                       "Only a live session can end.", {"status": session.status})
    now = utcnow()
    session.status, session.ended_at = "ended", now
    for item in session.items:
        for pin in item.pins:
            if pin.ended_at is None:
                pin.ended_at = now
    holds.release_all(session, actor=user)
    db.session.flush()
    return session


def list_sessions(user, args: dict) -> dict:
    """Sessions in the user's scope, newest schedule first (filters: ``status``, ``platform``)."""
    stmt = select(LivestreamSession)
    clause = access.scope_clause(user)
    if clause is not None:
        stmt = stmt.where(clause)
    for key in ("status", "platform"):
        if args.get(key):
            stmt = stmt.where(getattr(LivestreamSession, key) == args[key])
    return paginate(stmt.order_by(LivestreamSession.scheduled_at.desc(), LivestreamSession.id.desc()),
                    args["page"], args["limit"])
