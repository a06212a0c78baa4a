"""The live screen's event log and its Server-Sent Events stream (polled, bounded per connection)."""
from __future__ import annotations

import json
import time

from sqlalchemy import select

from core.db import db, utcnow
from plugins.livestream.models import LivestreamEvent

POLL_SECONDS = 0.5
MAX_STREAM_SECONDS = 30
BATCH = 200


def record(session_id: int, kind: str, data: dict) -> None:
    """Append an event (``comment``, ``draft``, ``order``) in the caller's transaction."""
    db.session.add(LivestreamEvent(session_id=session_id, kind=kind, data=data, created_at=utcnow()))


def since(session_id: int, last_id: int, limit: int = BATCH) -> list[LivestreamEvent]:
    return list(db.session.execute(select(LivestreamEvent)
                                   .where(LivestreamEvent.session_id == session_id, LivestreamEvent.id > last_id)
                                   .order_by(LivestreamEvent.id).limit(limit)).scalars())


def format_event(event: LivestreamEvent) -> str:
    payload = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.kind}\ndata: {payload}\n\n"


def stream(session_id: int, last_id: int, seconds: float = MAX_STREAM_SECONDS, poll: float = POLL_SECONDS):
    """Yield SSE frames for events after ``last_id`` until ``seconds`` pass; the client reconnects with Last-Event-ID."""
    deadline = time.monotonic() + seconds
    yield "retry: 2000\n\n"
    while True:
        db.session.rollback()  # a fresh snapshot: see what other transactions committed since the last poll
        events = since(session_id, last_id)
        for event in events:
            last_id = event.id
            yield format_event(event)
        if not events:
            yield ": keep-alive\n\n"
        if time.monotonic() >= deadline:
            break
        if len(events) < BATCH:
            time.sleep(poll)
    db.session.remove()
