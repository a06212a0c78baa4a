"""Database handle, shared column types, the after-commit queue and in-transaction change subscribers.

Two ways to learn of a change, and only these two:

* **In the transaction** — :func:`subscribe` / :func:`publish`: a domain
  publishes a topic while it changes rows; subscribers (other core domains)
  record their own work in the same transaction, so it commits or rolls back
  with the change. Topics:

  ===============================  ==========================================================
  ``catalogue.listing_refreshed``  ``product, was_listed, reason`` — listing state recomputed
  ``catalogue.document_changed``   ``product, reason`` — a listed product's producer or images (flush)
  ``inventory.stock_changed``      ``variant, reason`` — stock moved (an allocation: only if it empties a stock)
  ``geo.units_changed``            ``actor`` — units were re-parented, retired or loaded
  ===============================  ==========================================================

* **After commit** — the pluggy hooks (``product_listed``, ``order_paid``…),
  queued with :func:`on_commit`; that is the plugins' way.

Services flush, never commit: the request, the ``ocop`` command or the Celery
task owns the transaction. :func:`savepoint` undoes part of it (all-or-nothing
imports, dry runs); :func:`separate_transaction` is the one documented exception.
"""
from __future__ import annotations

import datetime as dt
import logging
import weakref
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, DateTime, MetaData, create_engine, event, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> dt.datetime:
    """Timezone-aware current time in UTC (everything is stored in UTC)."""
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC datetimes on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


def component_table_args(component: str, *args) -> tuple:
    """``__table_args__`` tagging a table with the component (core or a plugin) that owns its migrations."""
    return (*args, {"info": {"component": component}})


# --- in-transaction change subscribers -------------------------------------------
_subscribers: dict[str, list[Callable[..., None]]] = {}


def subscribe(topic: str, callback: Callable[..., None]) -> None:
    """Call ``callback(**payload)`` inside the publishing transaction on every ``publish(topic, …)``.

    Subscribe at import time of the subscribing module (idempotent). The
    callback may add rows to the session; it must not commit.
    """
    callbacks = _subscribers.setdefault(topic, [])
    if callback not in callbacks:
        callbacks.append(callback)


def unsubscribe(topic: str, callback: Callable[..., None]) -> None:
    """Stop calling ``callback`` for ``topic`` (no error when it was not subscribed)."""
    callbacks = _subscribers.get(topic, [])
    if callback in callbacks:
        callbacks.remove(callback)


def publish(topic: str, **payload) -> None:
    """Tell the subscribers of ``topic`` about a change made in the current transaction."""
    for callback in _subscribers.get(topic, ()):
        callback(**payload)


# --- after-commit callbacks ----------------------------------------------------
_QUEUE_KEY = "ocop_after_commit"
#: the session-info key of the after-commit queue (the app factory checks it to skip empty commits)
AFTER_COMMIT_QUEUE = _QUEUE_KEY


def on_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run ``callback`` after the current transaction commits; drop it on rollback.

    This is how state-change hooks (order_created, product_delisted, …) fire
    only once the change is durable, like Saleor's ``transaction.on_commit``.
    """
    session = session or db.session()
    session.info.setdefault(_QUEUE_KEY, []).append(callback)


_READY_KEY = "ocop_after_commit_ready"


@event.listens_for(Session, "after_commit")
def _mark_ready(session: Session) -> None:
    # SQL cannot be emitted inside after_commit, so callbacks are only moved to
    # a "ready" list here and run by commit() / run_ready_callbacks().
    if session.in_nested_transaction():  # a SAVEPOINT released: nothing is durable yet
        return
    session.info.setdefault(_READY_KEY, []).extend(session.info.pop(_QUEUE_KEY, []))


_SAVEPOINTS_KEY = "ocop_savepoint_marks"


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    # remember how many callbacks were queued when a SAVEPOINT began, to drop later ones if it rolls back
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINTS_KEY, weakref.WeakKeyDictionary())
        marks[transaction] = len(session.info.get(_QUEUE_KEY, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous_transaction) -> None:
    boundary = previous_transaction  # what the database rolled back: the outermost transaction or a SAVEPOINT
    while boundary.parent is not None and not boundary.nested:
        boundary = boundary.parent
    if boundary.parent is None:  # the outermost transaction: drop everything queued
        session.info.pop(_QUEUE_KEY, None)
    else:  # a SAVEPOINT: drop what was queued inside it
        mark = session.info.get(_SAVEPOINTS_KEY, {}).get(boundary)
        if mark is not None:
            del session.info.get(_QUEUE_KEY, [])[mark:]


def run_ready_callbacks(session: Session | None = None) -> None:
    """Run callbacks whose transaction has committed (also called at request teardown).

    The change is already durable, so a failing callback (a plugin's hook) is
    logged and the others still run: the caller must not see a 500 and retry
    an operation that in fact succeeded.
    """
    session = session or db.session()
    if not session.info.get(_READY_KEY):
        return
    outer_run = session.info.get(_RUN_KEY)
    session.info[_RUN_KEY] = {}
    try:
        while session.info.get(_READY_KEY):
            callback = session.info[_READY_KEY].pop(0)
            try:
                callback()
            except Exception:
                log.exception("after-commit callback %r failed", callback)
    finally:
        if outer_run is None:
            session.info.pop(_RUN_KEY, None)
        else:
            session.info[_RUN_KEY] = outer_run


_RUN_KEY = "ocop_after_commit_run"
T = TypeVar("T")


def after_commit_memo(key: str, load: Callable[[], T], session: Session | None = None) -> T:
    """``load()`` once for all the after-commit callbacks of one commit, which share its answer.

    For a lookup a plugin makes per event (the webhooks plugin's active subscriptions): the events of one
    commit then cost one read, made after that commit. Outside after-commit callbacks, ``load()`` every time.
    """
    session = session or db.session()
    run = session.info.get(_RUN_KEY)
    if run is None:
        return load()
    if key not in run:
        run[key] = load()
    return run[key]


def release_idle_connection(session: Session | None = None) -> None:
    """PostgreSQL: end the session's transaction if it has written nothing, keeping its objects loaded.

    An in-process (eager) task runs in a session of its own, from the same pool. Its caller — a request
    running its after-commit hooks — often still holds a connection for the reads those hooks made;
    under load, callers holding one connection and each waiting for a second exhaust the pool (a
    deadlock until the pool timeout). The task calls this first: a read-only transaction is committed
    (no expiry, so nothing is re-read), which returns its connection to the pool.
    """
    session = session or db.session()
    transaction = session.get_transaction()
    # no connection held (SQLAlchemy has no public test for it), or a SAVEPOINT open: nothing to release
    if transaction is None or not transaction._connections or session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    if connection.exec_driver_sql("SELECT txid_current_if_assigned()").scalar() is not None:
        return  # this transaction has written: it is the caller's to commit or roll back
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


def commit() -> None:
    """Commit the current session, then run the after-commit callbacks (hooks)."""
    session = db.session()
    session.commit()
    run_ready_callbacks(session)


@contextmanager
def savepoint(keep: bool = True) -> Iterator[None]:
    """Run the block in a SAVEPOINT of the caller's transaction (which the caller still owns and commits).

    When the block raises, only its own writes (and the after-commit callbacks
    they queued) are undone, and the error propagates; with ``keep=False`` they
    are undone even when it succeeds: a dry run rehearses its writes.
    """
    session = db.session()
    if not is_postgres():
        # pysqlite opens a transaction only before a data change: a SAVEPOINT outside one would start
        # it, and releasing that savepoint would commit. So begin the caller's transaction first.
        connection = session.connection()
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN")
    with session.begin_nested() as nested:
        yield
        if not keep:
            nested.rollback()


@contextmanager
def separate_transaction() -> Iterator[Session]:
    """A session of its own, committed when the block ends, for the rare write that must persist although the
    caller's unit of work rolls back (a failed-login counter: the request answers 401), or that runs after the
    caller's commit while the caller's session still holds a connection (webhook events). Keep it short.

    On PostgreSQL its connection comes from a small pool of its own (:func:`_side_engine`): a caller
    already holding a session connection never waits for a second one from the session's pool, which
    under load could be all held by callers waiting the same way (a pool deadlock until the timeout).
    """
    session = Session(_side_engine() if db.engine.dialect.name == "postgresql" else db.engine)
    try:
        with session.begin():
            yield session
    finally:
        session.close()


@contextmanager
def separate_read() -> Iterator[Connection]:
    """A connection outside the caller's transaction, for reads of what is committed now (after a commit).

    Each statement is its own transaction: on PostgreSQL the connection comes from the autocommit pool
    (:func:`autocommit_engine`: no BEGIN and COMMIT round trips, and never a wait on the session's pool).
    """
    engine = autocommit_engine() if db.engine.dialect.name == "postgresql" else db.engine
    with engine.connect() as connection:
        yield connection


def is_postgres() -> bool:
    """True when the current session is bound to PostgreSQL (SQLite otherwise)."""
    return db.session.get_bind().dialect.name == "postgresql"


def refresh_statistics(session: Session | None = None) -> None:
    """Refresh the query planner's statistics after a bulk change (demo seed, catalogue import, search rebuild;
    and daily from beat). Flushes first; the caller's transaction owns it.

    SQLite keeps no statistics until ``ANALYZE`` runs: without them it counts a province's or a commune's
    listed products by scanning every listed product (65–80 ms of CPU per page on a 20,000-product
    catalogue, 8–20 ms with them). ``analysis_limit`` samples each index (0.2 s on that catalogue).
    PostgreSQL's autovacuum analyzes too, but only after a delay that a bulk load outruns.
    """
    session = session or db.session()
    session.flush()
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA analysis_limit=1000"))
    session.execute(text("ANALYZE"))


def insert_ignoring_conflicts(table):
    """A dialect-specific INSERT for ``table`` that supports ``.on_conflict_do_nothing(...)``."""
    return (pg_insert if is_postgres() else sqlite_insert)(table)


_side_engines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _side_engine(autocommit: bool = False):
    """An engine on the app's database with a small pool of its own (one per app engine and mode)."""
    engines = _side_engines.setdefault(db.engine, {})
    engine = engines.get(autocommit)
    if engine is None:
        options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        engine = engines[autocommit] = create_engine(db.engine.url, pool_size=2, max_overflow=8, **options)
    return engine


def autocommit_engine():
    """An engine on the app's database whose every statement commits on its own, with a small pool of its own.

    For the rare statement that must not wait for the caller's transaction (taking an order number).
    Its own pool: a caller already holding a session connection never waits for a second one from the
    session's pool (which, under load, could be all held by callers waiting the same way). Pooled
    connections are not pinged (a round trip per use): a caller retries once when a statement fails
    with ``connection_invalidated``.
    """
    return _side_engine(autocommit=True)


def add_as_loaded(cls, values: dict):
    """An object of ``cls`` whose row a Core INSERT has just written, put into the session as if it had been loaded.

    Hot paths write rows with one prebuilt INSERT (far cheaper than the unit of work) and still hand
    hooks and views a persistent ORM object — no second write, no read. ``values``: every column (a
    column left out is loaded when read). The values are set as loaded, without the constructor's
    change tracking (which cost more than the INSERT's own Python work on the checkout path).
    """
    obj = sa_inspect(cls).class_manager.new_instance()
    sa_inspect(obj).dict.update(values)
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


_KEEP_KEY, _KEPT_KEY, _RESTORED_KEY = "ocop_keep_loaded", "ocop_kept_values", "ocop_kept_restored"


def keep_loaded(*objects, session: Session | None = None) -> None:
    """Leave ``objects`` loaded with their committed values when the current transaction commits.

    A commit expires every object, so an after-commit hook reading an order or a stock row would
    re-read it (one query per object and collection). The values this transaction wrote and flushed
    are what the database holds at commit, so they are put back — until the session's next
    transaction begins, which expires them as usual (nothing stale outlives the after-commit hooks).
    Attributes not loaded stay expired. Dropped on rollback.
    """
    session = session or db.session()
    session.info.setdefault(_KEEP_KEY, []).extend(objects)


@event.listens_for(Session, "after_commit")
def _note_kept_values(session: Session) -> None:
    # still loaded here: the commit expires them right after this event
    if session.in_nested_transaction() or not session.info.get(_KEEP_KEY):
        return
    kept = session.info.pop(_KEEP_KEY)
    session.info[_KEPT_KEY] = [(obj, dict(sa_inspect(obj).dict)) for obj in dict.fromkeys(kept)]


@event.listens_for(Session, "after_transaction_end")
def _restore_kept_values(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(_KEEP_KEY, None)  # rolled back: nothing to keep
    restored = []
    for obj, values in session.info.pop(_KEPT_KEY, ()):
        state = sa_inspect(obj)
        if state.session_id != session.hash_key:
            continue
        collections = state.manager._collection_impl_keys
        scalars = [key for key in values if key in state.expired_attributes and key not in collections]
        # what ``set_committed_value`` does per attribute, once for all the scalar ones (it was ~500 calls
        # per order placement): the values go back into the state's dict, then are marked committed
        if scalars:
            state.dict.update({key: values[key] for key in scalars})
            state._commit(state.dict, scalars)
        for key in collections.intersection(values):
            if key in state.expired_attributes:
                set_committed_value(obj, key, values[key])
        restored.append(obj)
    if restored:
        session.info[_RESTORED_KEY] = restored


@event.listens_for(Session, "after_transaction_create")
def _expire_restored_values(session: Session, transaction) -> None:
    # the next transaction reads the rows again, as after any commit
    if transaction.parent is None and session.info.get(_RESTORED_KEY):
        for obj in session.info.pop(_RESTORED_KEY):
            if sa_inspect(obj).session_id == session.hash_key:
                session.expire(obj)
