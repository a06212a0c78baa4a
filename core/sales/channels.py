"""Sales channels: the online store, sales points, fair booths, marketplaces, livestreams (kinds registered by plugins)."""
from __future__ import annotations


from sqlalchemy import select

from core.db import commit, db, insert_ignoring_conflicts, utcnow
from core.inventory import ledger
from core.errors import Conflict, NotFound, invalid
from core.accounts.models import User
from core.sales.models import SalesChannel
from core.audit import trail as audit
from core.pagination import paginate
from core.plugins import plugin_manager


# --- sales channels --------------------------------------------------------------
def _channel_kinds():
    return plugin_manager().sales_channel_kinds


def _check_channel_kind(kind: str) -> None:
    if kind not in _channel_kinds():
        raise invalid("kind", "loại kênh bán không được hỗ trợ", "unknown sales channel kind",
                      code="sales_channel.unknown_kind")


def get_or_create_channel(code: str, *, kind: str | None = None, name: str | None = None,
                          location=None) -> SalesChannel:
    """The sales channel ``code``, created on first use (race-safe). Does not commit.

    ``kind`` defaults to ``code`` (so ``get_or_create_channel("online_store")``
    is the core's online store) and must be a registered kind.
    """
    channel = db.session.execute(select(SalesChannel).where(SalesChannel.code == code)).scalar_one_or_none()
    if channel is not None:
        return channel
    kind = kind or code
    _check_channel_kind(kind)
    if name is None:
        name = next((k["name"] for k in _channel_kinds().all() if k["code"] == kind), code)
    location_id = ledger.resolve_location(location).id if location is not None else None
    db.session.execute(insert_ignoring_conflicts(SalesChannel.__table__).values(
        kind=kind, code=code, name=name, location_id=location_id, active=True, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["code"]))
    return db.session.execute(select(SalesChannel).where(SalesChannel.code == code)).scalar_one()


def get_channel(channel_id: int) -> SalesChannel:
    channel = db.session.get(SalesChannel, channel_id)
    if channel is None:
        raise NotFound("sales_channel", "kênh bán")
    return channel


def list_channels(args: dict) -> dict:
    """Sales channels, paginated (filters: ``kind``, ``active``)."""
    stmt = select(SalesChannel)
    if args.get("kind"):
        stmt = stmt.where(SalesChannel.kind == args["kind"])
    if "active" in args:
        stmt = stmt.where(SalesChannel.active.is_(args["active"]))
    return paginate(stmt.order_by(SalesChannel.id), args["page"], args["limit"])


def create_channel(user: User, data: dict) -> SalesChannel:
    """Create a sales channel of a registered kind (admin). Commits."""
    _check_channel_kind(data["kind"])
    if db.session.execute(select(SalesChannel.id).where(SalesChannel.code == data["code"])).first():
        raise Conflict("sales_channel.code_taken", "Mã kênh bán đã tồn tại.", "Channel code already exists.",
                       {"code": data["code"]})
    location_id = data.get("location_id")
    if location_id is not None:
        ledger.resolve_location(location_id)
    channel = SalesChannel(kind=data["kind"], code=data["code"], name=data["name"], location_id=location_id,
                           active=data.get("active", True))
    db.session.add(channel)
    db.session.flush()
    audit.record("sales_channel.created", channel, actor=user)
    commit()
    return channel


def update_channel(user: User, channel: SalesChannel, data: dict) -> SalesChannel:
    """Rename, (de)activate or re-link a channel to a location (admin). Commits."""
    before = audit.snapshot(channel)
    if "location_id" in data and data["location_id"] is not None:
        ledger.resolve_location(data["location_id"])
    for key in ("name", "active", "location_id"):
        if key in data:
            setattr(channel, key, data[key])
    audit.record("sales_channel.updated", channel, before=before, actor=user)
    commit()
    return channel


