"""Notifications: stored first (idempotent by dedupe key), then emailed by a Celery task when SMTP is set."""
from __future__ import annotations

import datetime as dt
import os
import smtplib
from email.message import EmailMessage
from urllib.parse import urlparse

from flask import current_app
from sqlalchemy import func, select, update

from core.celery_app import enqueue
from core.metrics import register_database_gauge
from core.db import db, on_commit, utcnow
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


def deliver(notification_id: int) -> str:
    """Send one notification by SMTP, or mark it ``stored`` when no SMTP is configured. Idempotent; the task commits."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.status in ("sent", "stored"):
        return note.status if note else "missing"
    settings = current_app.config["OCOP"]
    note.attempts = (note.attempts or 0) + 1
    if not settings.smtp_url or not note.email:
        note.status = "stored"
        return note.status
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
    note.status = "sent"
    note.sent_at = utcnow()
    return note.status


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
    rows = db.session.execute(select(Notification.id, Notification.created_at, Notification.attempts).where(
        Notification.status == "pending", Notification.attempts < MAX_REQUEUES,
        Notification.created_at <= now - dt.timedelta(seconds=older_than_seconds))
        .order_by(Notification.id).limit(limit)).all()
    ids = [row.id for row in rows
           if row.created_at <= now - dt.timedelta(seconds=older_than_seconds * 2 ** (row.attempts or 0))]
    if ids:
        db.session.execute(update(Notification).where(Notification.id.in_(ids), Notification.status == "pending")
                           .values(attempts=Notification.attempts + 1))
    for note_id in ids:
        on_commit(lambda note_id=note_id: enqueue("ocop.notifications.deliver", note_id))
    return {"requeued": len(ids)}


def _notifications_pending():
    return db.session.execute(select(func.count()).select_from(Notification)
                              .where(Notification.status == "pending")).scalar_one()


register_database_gauge("ocop_notifications_pending", "Notifications stored and not yet delivered.",
                        _notifications_pending)
