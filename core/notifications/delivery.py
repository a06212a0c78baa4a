"""Notifications: stored first (idempotent by dedupe key), then emailed by a Celery task when SMTP is set."""
from __future__ import annotations

import datetime as dt
import os
import smtplib
import uuid
from email.message import EmailMessage
from urllib.parse import urlparse

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from core.celery_app import enqueue
from core.metrics import register_database_gauge
from core.db import db, on_commit, separate_transaction, utcnow
from core.notifications.access import visible_notifications_filter
from core.notifications.models import Notification
from core.pagination import paginate


def notify(kind: str, dedupe_key: str, subject: str, body: str, *, producer_id=None, user_id=None,
           email=None, data=None) -> Notification:
    """Store a notification once per ``dedupe_key`` and enqueue its delivery after commit."""
    existing = db.session.execute(select(Notification).where(Notification.dedupe_key == dedupe_key)).scalar_one_or_none()
    if existing is not None:
        return existing
    note = Notification(kind=kind, dedupe_key=dedupe_key, subject=subject, body=body,
                        producer_id=producer_id, user_id=user_id, email=email, data=data,
                        status="pending", attempts=0)
    db.session.add(note)
    db.session.flush()
    note_id = note.id

    on_commit(lambda: enqueue("ocop.notifications.deliver", note_id))
    return note


#: a delivery that failed this many times (SMTP refused or unreachable) is ``failed`` for good
MAX_DELIVERY_ATTEMPTS = 8
#: a claim older than this is taken to belong to a delivery that died (its worker was killed)
CLAIM_LEASE_SECONDS = 300


def deliver(notification_id: int, claim: str | None = None) -> str:
    """Deliver one notification at most once per claim: claim, send, mark, each step committed on its own.

    1. *claim*: a conditional UPDATE moves the row ``pending → sending`` (committed at once), so a second
       task for the same row (a beat requeue, a duplicate) finds it taken and sends nothing. ``claim``
       (the Celery task id) lets the same task, redelivered after its worker died, take its claim back;
       a claim older than :data:`CLAIM_LEASE_SECONDS` is free again.
    2. *send* by SMTP, outside any transaction (no SMTP configured, or no address: ``stored``).
    3. *mark* ``sent`` at once. A refused or failed send releases the claim (``pending``) and raises
       for Celery to retry; after :data:`MAX_DELIVERY_ATTEMPTS` the row is ``failed`` for good.
    Only a crash between the SMTP answer and the mark can send twice.
    """
    settings = current_app.config["OCOP"]
    claim = claim or uuid.uuid4().hex
    now = utcnow()
    if not _claim(notification_id, claim, now):
        status = db.session.execute(select(Notification.status).where(Notification.id == notification_id)
                                    ).scalar_one_or_none()
        return status or "missing"
    note = _read(notification_id)
    if not settings.smtp_url or not note.email:
        return _mark(notification_id, claim, "stored")
    try:
        _send(settings, note)
    except (OSError, smtplib.SMTPException):
        if note.attempts >= MAX_DELIVERY_ATTEMPTS:
            return _mark(notification_id, claim, "failed")
        _mark(notification_id, claim, "pending")
        raise
    return _mark(notification_id, claim, "sent")


def _claim(notification_id: int, claim: str, now: dt.datetime) -> bool:
    stale = now - dt.timedelta(seconds=CLAIM_LEASE_SECONDS)
    with separate_transaction() as session:
        return session.execute(
            update(Notification).where(
                Notification.id == notification_id,
                or_(Notification.status == "pending",
                    and_(Notification.status == "sending",
                         or_(Notification.claim_token == claim, Notification.claimed_at < stale))))
            .values(status="sending", claim_token=claim, claimed_at=now, attempts=Notification.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount == 1


def _read(notification_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def _mark(notification_id: int, claim: str, status: str) -> str:
    """Leave ``sending`` for ``status`` if the claim is still ours (committed at once)."""
    values = {"status": status, "claim_token": None, "claimed_at": None}
    if status in ("sent", "stored"):
        values["sent_at"] = utcnow()
    with separate_transaction() as session:
        session.execute(update(Notification).where(Notification.id == notification_id,
                                                   Notification.status == "sending",
                                                   Notification.claim_token == claim)
                        .values(**values).execution_options(synchronize_session=False))
    db.session.expire_all()
    return status


def _send(settings, note: Notification) -> None:
    url = urlparse(settings.smtp_url)
    message = EmailMessage()
    message["Subject"] = note.subject
    message["From"] = settings.mail_from
    message["To"] = note.email
    message.set_content(note.body)
    smtp_cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_cls(url.hostname, url.port or (465 if url.scheme == "smtps" else 25), timeout=20) as smtp:
        if url.username:
            smtp.login(url.username, url.password or "")
        smtp.send_message(message)


def list_for(user, args: dict) -> dict:
    """Notifications visible to ``user`` (:mod:`core.notifications.access`), newest first, filtered (kind,
    status, producer_id) and paginated."""
    stmt = select(Notification)
    scope = visible_notifications_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    for key in ("kind", "status", "producer_id"):
        if args.get(key):
            stmt = stmt.where(getattr(Notification, key) == args[key])
    return paginate(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()), args["page"], args["limit"])


#: a pending notification is enqueued again at most this many times (spaced by doubling ages)
MAX_REQUEUES = 8


def requeue_pending(older_than_seconds: float | None = None, limit: int = 500) -> dict:
    """Enqueue delivery again (after commit) for notifications still pending; beat calls this every minute.

    ``notify()`` enqueues after commit; when the broker was unreachable at that moment the row stays
    ``pending``. A row is taken once it is older than ``age × 2^attempts`` (``OCOP_NOTIFICATIONS_REQUEUE_AFTER``,
    default 120 s), at most :data:`MAX_REQUEUES` times, and its ``attempts`` grows by one each time, so a
    notification that keeps failing is not retried forever. ``deliver()`` skips notifications already sent.
    """
    if older_than_seconds is None:
        older_than_seconds = float(os.environ.get("OCOP_NOTIFICATIONS_REQUEUE_AFTER") or 120)
    now = utcnow()
    stale = now - dt.timedelta(seconds=CLAIM_LEASE_SECONDS)
    waiting = or_(Notification.status == "pending",
                  and_(Notification.status == "sending", Notification.claimed_at < stale))  # a delivery that died
    rows = db.session.execute(select(Notification.id, Notification.created_at, Notification.attempts).where(
        waiting, Notification.attempts < MAX_REQUEUES,
        Notification.created_at <= now - dt.timedelta(seconds=older_than_seconds))
        .order_by(Notification.id).limit(limit)).all()
    ids = [row.id for row in rows
           if row.created_at <= now - dt.timedelta(seconds=older_than_seconds * 2 ** (row.attempts or 0))]
    if ids:
        db.session.execute(update(Notification).where(Notification.id.in_(ids), waiting)
                           .values(attempts=Notification.attempts + 1))
    for note_id in ids:
        on_commit(lambda note_id=note_id: enqueue("ocop.notifications.deliver", note_id))
    return {"requeued": len(ids)}


def _notifications_pending():
    return db.session.execute(select(func.count()).select_from(Notification)
                              .where(Notification.status == "pending")).scalar_one()


register_database_gauge("ocop_notifications_pending", "Notifications stored and not yet delivered.",
                        _notifications_pending)
