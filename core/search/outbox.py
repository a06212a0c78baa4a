"""The search outbox: index work recorded in the same transaction as the change, drained after commit.

Writers
    * :func:`on_listing_refresh` — registered with
      the ``catalogue.listing_refreshed`` topic (``core.db.subscribe``); every listing refresh (product,
      variant, certification, producer status changes, expiry) of a product
      that is or was listed enqueues it.
    * ``catalogue.document_changed``: listed products whose producer (name,
      legal form, commune…) or images changed.
    * ``inventory.stock_changed``: stock movements (the in-stock flag).

    Rows are ``search_outbox`` records added to the caller's session, so they
    commit or roll back with the change itself; one row per product per
    transaction. After the commit, the ``ocop.search.drain`` Celery task is
    queued (``core.db.on_commit``): in-process on the embedded default (eager
    Celery), so a withdrawn certification leaves search results at once.

Drainer
    :func:`drain` takes pending rows in id order, re-reads each product from
    the database (the source of truth), indexes or deletes its document and
    marks the rows processed — on the database backend in the same
    transaction as the index write. Drainers are serialised (PostgreSQL
    advisory transaction lock; SQLite write lock), so an older read can never
    overwrite a newer one. If the broker or the backend is down the rows stay
    pending: the task retries with backoff, the beat task ``ocop.search.sync``
    drains every minute, and ``ocop search sync`` drains by hand. Processed
    rows are kept a day (a rebuild replays recent ones) and then deleted.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from core.celery_app import celery_app, publish
from core.metrics import register_database_gauge
from core.db import db, on_commit, subscribe, utcnow
from core.search.models import SearchOutbox
from core.search.backend import SearchUnavailable, load_documents
from core.catalogue.models import Product
from core.catalogue.version import bump
from core.search.engine import get_backend

log = logging.getLogger(__name__)

_PENDING_KEY = "ocop_search_outbox"
_DRAIN_KEY = "ocop_search_drain_scheduled"
#: PostgreSQL advisory lock key serialising drainers (and database-backend rebuilds).
DRAIN_LOCK_KEY = 0x0C0B5EA4
KEEP_PROCESSED = dt.timedelta(days=1)
_state = {"last_cleanup": 0.0}


# --- writing --------------------------------------------------------------------------------
def _root_transaction(session: Session):
    return session.get_transaction()


def _enqueue(session: Session, product_id: int, reason: str) -> None:
    state = session.info.get(_PENDING_KEY)
    txn = _root_transaction(session)
    if state is not None and txn is not None and state[0] is txn:
        row = state[1].get(product_id)
        if row is not None and row in session:
            return
    row = SearchOutbox(product_id=product_id, reason=(reason or "changed")[:40], created_at=utcnow(), attempts=0)
    session.add(row)
    txn = _root_transaction(session)
    if state is None or state[0] is not txn:
        state = (txn, {})
        session.info[_PENDING_KEY] = state
    state[1][product_id] = row
    _schedule_drain(session, txn)


def _schedule_drain(session: Session, txn) -> None:
    if session.info.get(_DRAIN_KEY) is txn:
        return
    session.info[_DRAIN_KEY] = txn
    on_commit(request_drain, session)


def enqueue_product(product_id: int, reason: str = "changed", session: Session | None = None) -> None:
    """Record, inside the caller's transaction, that ``product_id`` must be re-indexed.

    Call it from any service whose change alters a listed product's search
    document (stock movements do: the in-stock flag). The row commits or
    rolls back with the caller's transaction; after commit a drain is queued.
    Products that are not listed (and so not indexed) are skipped.
    """
    session = session or db.session()
    product = session.get(Product, product_id)
    if product is None or not product.is_listed:
        return
    _enqueue(session, product_id, reason)


def on_listing_refresh(product, was_listed: bool, reason: str) -> None:
    """``core.services.listing`` listener: enqueue a product that is or was listed (inside the transaction)."""
    if product.is_listed or was_listed:
        _enqueue(db.session(), product.id, reason)


def on_document_changed(product, reason: str) -> None:
    """A listed product's producer or images changed: its document must be rebuilt."""
    if product.is_listed and product.id is not None:
        _enqueue(db.session(), product.id, reason)


def on_stock_changed(variant, reason: str) -> None:
    """A stock movement may flip the product's in-stock flag."""
    enqueue_product(variant.product_id, reason)


subscribe("catalogue.listing_refreshed", on_listing_refresh)
subscribe("catalogue.document_changed", on_document_changed)
subscribe("inventory.stock_changed", on_stock_changed)


# --- scheduling -------------------------------------------------------------------------------
def request_drain() -> None:
    """After commit: queue the drain task (runs in-process when Celery is eager). Never raises.

    With a broker the task is published through one connection kept per process (opening a broker
    connection per call cost ~25% of an order placement's CPU); on a publish error the connection is
    dropped and re-opened by the next call.
    """
    try:
        if celery_app.conf.task_always_eager:
            drain_outbox.apply(throw=True)  # in-process, without acquiring a producer
        else:
            publish(drain_outbox)
    except Exception as exc:  # broker down, or the eager drain failed: the rows wait for the next sync
        log.warning("search outbox: drain not run now (%s: %s); pending work stays for `ocop search sync`",
                    type(exc).__name__, exc)


# --- draining ---------------------------------------------------------------------------------
def lock_drainers(session: Session | None = None) -> None:
    """Serialise drainers for the rest of the current transaction."""
    session = session or db.session()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DRAIN_LOCK_KEY})
    elif dialect == "sqlite":
        # a write statement takes the database write lock until commit (like BEGIN IMMEDIATE)
        session.execute(text("UPDATE search_outbox SET attempts = attempts WHERE id = -1"))


def pending_count() -> int:
    """Rows waiting to be drained."""
    return db.session.execute(select(func.count()).select_from(SearchOutbox)
                              .where(SearchOutbox.processed_at.is_(None))).scalar_one()


def _record_failure(ids: list[int], exc: Exception) -> None:
    try:
        db.session.execute(update(SearchOutbox).where(SearchOutbox.id.in_(ids)).values(
            attempts=SearchOutbox.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:500]))
        db.session.commit()
    except Exception:  # pragma: no cover - keep the original error
        db.session.rollback()


def drain_batch(backend=None, batch_size: int = 200) -> int:
    """Process up to ``batch_size`` pending rows in one transaction; return how many were processed."""
    backend = backend or get_backend()
    session = db.session()
    ids: list[int] = []
    try:
        lock_drainers(session)
        rows = session.execute(select(SearchOutbox.id, SearchOutbox.product_id)
                               .where(SearchOutbox.processed_at.is_(None))
                               .order_by(SearchOutbox.id).limit(batch_size)).all()
        if not rows:
            session.commit()
            return 0
        ids = [r.id for r in rows]
        docs = load_documents({r.product_id for r in rows})
        actions = [("index", pid, doc) if doc else ("delete", pid, None) for pid, doc in sorted(docs.items())]
        backend.bulk(actions)
        session.execute(update(SearchOutbox).where(SearchOutbox.id.in_(ids)).values(processed_at=utcnow()))
        bump()  # cached storefront answers (and the typo vocabulary) must not outlive this change
        session.commit()
    except SearchUnavailable as exc:
        session.rollback()
        if ids:
            _record_failure(ids, exc)
        raise
    except Exception:
        session.rollback()
        raise
    return len(ids)


def cleanup(older_than: dt.timedelta = KEEP_PROCESSED) -> int:
    """Delete processed rows older than ``older_than``. Commits."""
    result = db.session.execute(delete(SearchOutbox).where(SearchOutbox.processed_at.is_not(None),
                                                           SearchOutbox.processed_at < utcnow() - older_than))
    db.session.commit()
    return result.rowcount or 0


def drain(backend=None, batch_size: int = 200, progress=None, max_batches: int | None = None) -> dict:
    """Drain the outbox until it is empty (or ``max_batches``); ``progress(n)`` after each batch."""
    processed = batches = 0
    while max_batches is None or batches < max_batches:
        n = drain_batch(backend, batch_size)
        if not n:
            break
        processed += n
        batches += 1
        if progress:
            progress(n)
    if time.monotonic() - _state["last_cleanup"] > 3600:
        _state["last_cleanup"] = time.monotonic()
        cleanup()
    return {"processed": processed}


def replay_since(since: dt.datetime) -> int:
    """Mark rows created since ``since`` pending again (after a rebuild that read older data). Commits."""
    result = db.session.execute(update(SearchOutbox).where(SearchOutbox.created_at >= since)
                                .values(processed_at=None))
    db.session.commit()
    return result.rowcount or 0


# --- Celery tasks -------------------------------------------------------------------------------
@celery_app.task(name="ocop.search.drain", bind=True, max_retries=8)
def drain_outbox(self) -> dict:
    """Drain the search outbox; on backend failure retry with backoff (eager: log, keep the rows)."""
    try:
        return drain()
    except SearchUnavailable as exc:
        if self.request.is_eager:
            log.warning("search backend unavailable, outbox kept: %s", exc)
            return {"processed": 0, "error": str(exc)}
        raise self.retry(exc=exc, countdown=min(300, 5 * 2 ** self.request.retries))


@celery_app.task(name="ocop.search.sync", bind=True)
def sync_outbox(self) -> dict:
    """Beat (every minute): drain whatever is pending, e.g. work recorded while the broker was down."""
    try:
        return drain()
    except SearchUnavailable as exc:
        log.warning("search sync: backend unavailable, will retry at the next beat: %s", exc)
        return {"processed": 0, "error": str(exc)}


register_database_gauge("ocop_search_outbox_pending", "Search-index updates waiting to be drained.", pending_count)
