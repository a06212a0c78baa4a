"""The pricing version: bumped in the same transaction as every promotion change, so cached prices never outlive it.

A cached answer that contains prices is keyed by :func:`cache_key`: the
version plus the latest promotion window boundary already passed, so an
answer cached before a campaign starts or ends is not served after it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session

from core.db import db
from core.pricing.models import Promotion, PricingVersion

_BUMPED = "ocop_pricing_bumped"
_KEY = "ocop_pricing_key"  # (at, cache key) read in the current transaction


def bump() -> None:
    """Increase the pricing version inside the caller's transaction."""
    updated = db.session.execute(update(PricingVersion).where(PricingVersion.id == 1)
                                 .values(version=PricingVersion.version + 1)).rowcount
    if not updated:
        db.session.add(PricingVersion(id=1, version=1))
        db.session.flush()
    db.session.info[_BUMPED] = True
    db.session.info.pop(_KEY, None)


def changed_in_this_transaction() -> bool:
    """True after :func:`bump` until commit or rollback: what this session reads is not yet everyone's."""
    return bool(db.session.info.get(_BUMPED))


@event.listens_for(Session, "after_transaction_end")
def _forget_key(session: Session, transaction) -> None:
    session.info.pop(_KEY, None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_over(session: Session, *args) -> None:
    session.info.pop(_BUMPED, None)
    session.info.pop(_KEY, None)


def cache_key(at: dt.datetime) -> tuple:
    """``(version, last start passed, last end passed)`` at ``at``: one round trip, index-only reads.

    Read once per transaction and moment: a request that keys its answer cache and then prices the
    page at the same ``at`` asks the database once (a bump or the transaction's end forgets it).
    """
    known = db.session.info.get(_KEY)
    if known is not None and known[0] is at:
        return known[1]
    key = _read_key(at)
    db.session.info[_KEY] = (at, key)
    return key


def key_columns(at) -> tuple:
    """The three scalar subqueries of the cache key at ``at`` (a value or a bind parameter), for a caller that
    reads them with its own statement and hands them to :func:`remember_key` (one round trip less)."""
    published = Promotion.status == "published"
    return (select(PricingVersion.version).where(PricingVersion.id == 1).scalar_subquery(),
            select(func.max(Promotion.starts_at)).where(published, Promotion.starts_at <= at).scalar_subquery(),
            select(func.max(Promotion.ends_at)).where(published, Promotion.ends_at <= at).scalar_subquery())


def remember_key(at: dt.datetime, values) -> None:
    """Keep the key read at ``at`` (the values of :func:`key_columns`) for this transaction."""
    if not changed_in_this_transaction():
        db.session.info[_KEY] = (at, _key_of(values))


def _key_of(values) -> tuple:
    return tuple(value.isoformat() if isinstance(value, dt.datetime) else value for value in values)


#: the key of :func:`key_columns` as one plain statement (building the ORM statement costs ~1 ms of CPU, this ~0.1)
_STATE = text("SELECT (SELECT version FROM pricing_version WHERE id = 1), "
              "(SELECT max(starts_at) FROM promotion WHERE status = 'published' AND starts_at <= :at), "
              "(SELECT max(ends_at) FROM promotion WHERE status = 'published' AND ends_at <= :at)")


def _read_key(at: dt.datetime) -> tuple:
    utc = at.astimezone(dt.timezone.utc).replace(tzinfo=None) if at.tzinfo else at
    # stored as naive UTC; SQLite compares the text form the column type writes
    bound = utc.strftime("%Y-%m-%d %H:%M:%S.%f") if db.engine.dialect.name == "sqlite" else utc
    return _key_of(db.session.execute(_STATE, {"at": bound}).one())
