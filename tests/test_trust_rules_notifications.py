"""Notification delivery is idempotent (claim, send, mark) with a final ``failed`` state, and pending or
abandoned deliveries are requeued (beat's task). A real SMTP sink on 127.0.0.1 receives the mail."""
from __future__ import annotations

import datetime as dt
import smtplib
import threading

import pytest

from core.db import commit, db, utcnow
from core.notifications.delivery import MAX_DELIVERY_ATTEMPTS, deliver, requeue_pending
from core.notifications.models import Notification
from support.smtp_sink import SmtpSink
from support.tcp_proxy import free_port


@pytest.fixture
def smtp(app, monkeypatch):
    sink = SmtpSink()
    monkeypatch.setattr(app.config["OCOP"], "smtp_url", f"smtp://127.0.0.1:{sink.port}")
    try:
        yield sink
    finally:
        sink.close()


def _note(key="n1", **extra) -> int:
    note = Notification(kind="test", dedupe_key=key, subject=f"Thông báo {key}", body="Nội dung",
                        email="lan@example.vn", status="pending", attempts=0, **extra)
    db.session.add(note)
    commit()
    return note.id


def _row(note_id):
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Notification, note_id)


def test_a_second_delivery_of_a_sent_notification_sends_nothing(app, smtp):
    note_id = _note()
    assert deliver(note_id, claim="task-1") == "sent"
    assert deliver(note_id, claim="task-2") == "sent"
    assert deliver(note_id, claim="task-1") == "sent"
    assert smtp.subjects() == ["Thông báo n1"]
    row = _row(note_id)
    assert (row.status, row.attempts, row.claim_token) == ("sent", 1, None) and row.sent_at is not None


def test_a_delivery_in_flight_is_not_sent_again_and_a_failed_send_is_released(app, smtp):
    note_id = _note()
    smtp.hold_next()
    outcome = {}

    def first():
        with app.app_context():
            try:
                outcome["first"] = deliver(note_id, claim="task-1")
            except (OSError, smtplib.SMTPException) as exc:
                outcome["first"] = type(exc).__name__

    thread = threading.Thread(target=first)
    thread.start()
    assert smtp.holding.wait(20)
    assert deliver(note_id, claim="task-2") == "sending"  # claimed by task-1: nothing sent twice
    assert _row(note_id).status == "sending"
    smtp.release()
    thread.join(30)
    assert outcome["first"] not in ("sent", None)  # the held message was never acknowledged
    assert _row(note_id).status == "pending"
    assert deliver(note_id, claim="task-3") == "sent"
    assert smtp.subjects() == ["Thông báo n1"]


def test_the_same_task_redelivered_after_its_worker_died_takes_its_claim_back(app, smtp):
    note_id = _note()
    row = _row(note_id)
    row.status, row.claim_token, row.claimed_at, row.attempts = "sending", "task-1", utcnow(), 1
    commit()
    assert deliver(note_id, claim="task-2") == "sending"
    assert deliver(note_id, claim="task-1") == "sent"
    assert smtp.subjects() == ["Thông báo n1"]


def test_an_abandoned_claim_is_requeued_by_beat(app, smtp):
    note_id = _note(created_at=utcnow() - dt.timedelta(hours=2))
    row = _row(note_id)
    row.status, row.claim_token, row.claimed_at = "sending", "dead-task", utcnow() - dt.timedelta(hours=1)
    commit()
    assert requeue_pending(older_than_seconds=60) == {"requeued": 1}
    commit()  # eager Celery delivers after the commit
    assert _row(note_id).status == "sent"
    assert smtp.subjects() == ["Thông báo n1"]


def test_repeated_smtp_failures_end_in_failed(app, monkeypatch):
    monkeypatch.setattr(app.config["OCOP"], "smtp_url", f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    note_id = _note()
    for attempt in range(1, MAX_DELIVERY_ATTEMPTS):
        with pytest.raises(OSError):
            deliver(note_id, claim=f"task-{attempt}")
        assert _row(note_id).status == "pending"
    assert deliver(note_id, claim="task-last") == "failed"
    row = _row(note_id)
    assert (row.status, row.attempts) == ("failed", MAX_DELIVERY_ATTEMPTS)
    assert deliver(note_id, claim="task-after") == "failed"  # nothing more is tried
    assert requeue_pending(older_than_seconds=0) == {"requeued": 0}
