"""Webhook subscriptions, event fan-out, delivery attempts, retries, replay and automatic disabling.

Fan-out (:func:`record_event`) runs from after-commit hooks: it writes one delivery row per matching
subscription in its own short transaction, then enqueues one Celery task per row (the events of one commit
share one read of the active subscriptions). A delivery is
*claimed* before its HTTP attempt (conditional UPDATE), so two tasks never send it at the same time; a
claim that outlives its lock (worker killed) is taken again by :func:`retry_due`, which beat runs.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import threading
import uuid
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from core.celery_app import enqueue as enqueue_task
from core.clock import VN_TZ
from core.db import after_commit_memo, db, on_commit, separate_read, separate_transaction, utcnow
from core.errors import Conflict, Message, NotFound, ValidationFailed
from core.logs import current_request_id
from core.pagination import paginate
from core.audit import trail as audit
from plugins.webhooks import events, sender, signing
from plugins.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


log = logging.getLogger(__name__)
TRUE = ("1", "true", "yes", "on")
REGISTRY_KEY = "ocop_webhook_events"  # app.extensions key of the event registry
_registry_lock = threading.Lock()


@dataclass
class Config:
    timeout: float
    max_attempts: int
    retry_base: float
    retry_max: float
    disable_after: int
    allow_private: bool
    keep_days: int
    sweep_grace: dt.timedelta  # a first attempt still queued is not swept before this age


def config(environ=os.environ) -> Config:
    """``OCOP_WEBHOOKS_*`` settings, read at each use."""
    return Config(timeout=float(environ.get("OCOP_WEBHOOKS_TIMEOUT") or 10),
                  max_attempts=int(environ.get("OCOP_WEBHOOKS_MAX_ATTEMPTS") or 10),
                  retry_base=float(environ.get("OCOP_WEBHOOKS_RETRY_BASE") or 30),
                  retry_max=float(environ.get("OCOP_WEBHOOKS_RETRY_MAX") or 6 * 3600),
                  disable_after=int(environ.get("OCOP_WEBHOOKS_DISABLE_AFTER") or 30),
                  allow_private=(environ.get("OCOP_WEBHOOKS_ALLOW_PRIVATE") or "").strip().lower() in TRUE,
                  keep_days=int(environ.get("OCOP_WEBHOOKS_KEEP_DAYS") or 30),
                  sweep_grace=dt.timedelta(seconds=float(environ.get("OCOP_WEBHOOKS_SWEEP_GRACE") or 30)))


def backoff(attempts: int, cfg: Config) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: base × 2^(attempts − 1), capped, ±20 % jitter."""
    seconds = min(cfg.retry_base * 2 ** max(attempts - 1, 0), cfg.retry_max)
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.2))


# --- the event registry ------------------------------------------------------------------------
def registry():
    """Event types known to this app (the core's and those plugins declared), collected on first use in any
    app (web, worker, command); the historic ``register_webhook_events`` call also hears plugins registered
    later."""
    found = current_app.extensions.get(REGISTRY_KEY)
    if found is None:
        with _registry_lock:
            found = current_app.extensions.get(REGISTRY_KEY)
            if found is None:
                found = events.new_registry()
                current_app.extensions["ocop_plugins"].hook.register_webhook_events.call_historic(
                    kwargs={"registry": found})
                current_app.extensions[REGISTRY_KEY] = found
    return found


def event_types() -> list[dict]:
    return registry().all()


def _check_events(names) -> list[str]:
    known = registry()
    unknown = sorted({n for n in names if n != events.ALL and n not in known})
    if unknown:
        raise ValidationFailed({"events": [Message(f"loại sự kiện không tồn tại: {', '.join(unknown)}", f"unknown event types: {', '.join(unknown)}")]}, code="webhook.unknown_event",
                               message=f"Loại sự kiện không tồn tại: {', '.join(unknown)}.",
                               message_en=f"Unknown event types: {', '.join(unknown)}.")
    return sorted(set(names))


def _check_url(url: str) -> str:
    try:
        return sender.check_url(url, config().allow_private)
    except sender.UrlRefused as exc:
        raise ValidationFailed({"url": [Message(exc.message, exc.message_en)]}, code=exc.code, message=f"url: {exc.message}",
                               message_en=f"url: {exc.message_en}") from None


# --- subscriptions -----------------------------------------------------------------------------
def get_subscription(subscription_id: int) -> WebhookSubscription:
    sub = db.session.get(WebhookSubscription, subscription_id)
    if sub is None:
        raise NotFound("webhook_subscription", "đăng ký webhook")
    return sub


def list_subscriptions(args: dict) -> dict:
    stmt = select(WebhookSubscription)
    if args.get("integrator"):
        stmt = stmt.where(WebhookSubscription.integrator == args["integrator"])
    if args.get("active") is not None:
        stmt = stmt.where(WebhookSubscription.active.is_(args["active"]))
    return paginate(stmt.order_by(WebhookSubscription.id), args["page"], args["limit"])


def create_subscription(user, data: dict) -> WebhookSubscription:
    """A new active subscription with a fresh secret (answered once, and again by ``rotate_secret``)."""
    sub = WebhookSubscription(integrator=data["integrator"], description=data.get("description"),
                              url=_check_url(data["url"]), events=_check_events(data["events"]),
                              secret=signing.new_secret(), active=data.get("active", True),
                              consecutive_failures=0, created_by_id=user.id, created_at=utcnow(), updated_at=utcnow())
    db.session.add(sub)
    db.session.flush()
    audit.record("webhook.subscription_created", sub, actor=user, after=_audit_view(sub))
    return sub


def _audit_view(sub: WebhookSubscription) -> dict:
    return {"integrator": sub.integrator, "url": sub.url, "events": sub.events, "active": sub.active}


def update_subscription(user, subscription_id: int, data: dict) -> WebhookSubscription:
    """Change URL, events, description or ``active``; switching on again clears the failure count."""
    sub = get_subscription(subscription_id)
    before = _audit_view(sub)
    if "url" in data:
        sub.url = _check_url(data["url"])
    if "events" in data:
        sub.events = _check_events(data["events"])
    for key in ("integrator", "description"):
        if key in data:
            setattr(sub, key, data[key])
    if "active" in data and data["active"] != sub.active:
        sub.active = data["active"]
        if sub.active:
            sub.consecutive_failures = 0
            sub.disabled_reason = sub.disabled_at = None
        else:
            sub.disabled_reason, sub.disabled_at = "disabled_by_admin", utcnow()
    sub.updated_at = utcnow()
    db.session.flush()
    audit.record("webhook.subscription_updated", sub, actor=user, before=before, after=_audit_view(sub))
    return sub


def rotate_secret(user, subscription_id: int) -> WebhookSubscription:
    """A new signing secret; deliveries from now on are signed with it."""
    sub = get_subscription(subscription_id)
    sub.secret = signing.new_secret()
    sub.updated_at = utcnow()
    audit.record("webhook.secret_rotated", sub, actor=user, after=_audit_view(sub))
    db.session.flush()
    return sub


def delete_subscription(user, subscription_id: int) -> None:
    """Remove a subscription with its deliveries and their attempt log."""
    sub = get_subscription(subscription_id)
    audit.record("webhook.subscription_deleted", sub, actor=user, before=_audit_view(sub), after={})
    delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sub.id)
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids)))
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
                       .values(replay_of_id=None))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id))
    db.session.delete(sub)
    db.session.flush()


# --- deliveries: listing, replay, ping -----------------------------------------------------------
def get_delivery(delivery_id: int) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("webhook_delivery", "lần gửi webhook")
    return delivery


def list_deliveries(args: dict) -> dict:
    stmt = select(WebhookDelivery)
    for key in ("subscription_id", "status", "event_type", "event_id"):
        if args.get(key) is not None:
            stmt = stmt.where(getattr(WebhookDelivery, key) == args[key])
    return paginate(stmt.order_by(WebhookDelivery.id.desc()), args["page"], args["limit"])


def _require_active(sub: WebhookSubscription) -> None:
    if not sub.active:
        raise Conflict("webhook.subscription_inactive", "Đăng ký webhook đang tắt; hãy bật lại trước.",
                       "The subscription is switched off; switch it on first.",
                       {"subscription_id": sub.id, "disabled_reason": sub.disabled_reason})


def replay(user, delivery_id: int) -> WebhookDelivery:
    """A new delivery of the same message (same ``webhook-id``, same body), sent after the commit."""
    original = get_delivery(delivery_id)
    _require_active(original.subscription)
    copy = WebhookDelivery(subscription_id=original.subscription_id, event_id=original.event_id,
                           event_type=original.event_type, body=original.body, status="pending", attempts=0,
                           next_attempt_at=utcnow(), replay_of_id=original.id, request_id=current_request_id(),
                           created_at=utcnow())
    db.session.add(copy)
    db.session.flush()
    audit.record("webhook.delivery_replayed", copy, actor=user,
                 after={"replay_of": original.id, "event_id": original.event_id})
    delivery_id = copy.id
    on_commit(lambda: enqueue([delivery_id]))
    return copy


def ping(user, subscription_id: int) -> WebhookDelivery:
    """Send a ``webhook.ping`` event to one subscription (after the commit)."""
    sub = get_subscription(subscription_id)
    _require_active(sub)
    event_id, body = _message(events.PING, {"subscription_id": sub.id})
    delivery = WebhookDelivery(subscription_id=sub.id, event_id=event_id, event_type=events.PING, body=body,
                               status="pending", attempts=0, next_attempt_at=utcnow(),
                               request_id=current_request_id(), created_at=utcnow())
    db.session.add(delivery)
    db.session.flush()
    delivery_id = delivery.id
    on_commit(lambda: enqueue([delivery_id]))
    return delivery


# --- fan-out (after commit) ------------------------------------------------------------------------
def _message(event_type: str, data: dict) -> tuple[str, str]:
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": event_type,
                       "timestamp": utcnow().astimezone(VN_TZ).isoformat(timespec="seconds"), "data": data},
                      ensure_ascii=False, separators=(",", ":"), default=str)
    return event_id, body


def _wants(sub_events, event_type: str) -> bool:
    return bool(sub_events) and (events.ALL in sub_events or event_type in sub_events)


_ACTIVE_SUBSCRIPTIONS = select(WebhookSubscription.id, WebhookSubscription.events).where(
    WebhookSubscription.active.is_(True))


def active_subscriptions() -> list[tuple[int, list]]:
    """``(id, events)`` of the active subscriptions as committed now: read once for all the events of one
    commit (:func:`core.db.after_commit_memo`), on a connection outside the caller's transaction."""
    def read():
        with separate_read() as connection:
            return [tuple(row) for row in connection.execute(_ACTIVE_SUBSCRIPTIONS)]
    return after_commit_memo("webhooks.active_subscriptions", read)


def record_event(event_type: str, data: dict) -> list[int]:
    """After commit: write a delivery per interested active subscription (own transaction), enqueue them.

    Returns the delivery ids. An event type nobody declared is logged and dropped. With no subscription
    wanting the event nothing is written (the events of one commit share one subscription read).
    """
    if event_type not in registry():
        log.warning("webhooks: event %r was not declared (register_webhook_events); dropped", event_type)
        return []
    targets = [sub_id for sub_id, sub_events in active_subscriptions() if _wants(sub_events, event_type)]
    if not targets:
        return []
    event_id, body = _message(event_type, data)
    now = utcnow()
    with separate_transaction() as session:
        rows = [WebhookDelivery(subscription_id=sub_id, event_id=event_id, event_type=event_type, body=body,
                                status="pending", attempts=0, next_attempt_at=now, request_id=current_request_id(),
                                created_at=now) for sub_id in targets]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    enqueue(ids)
    return ids


def enqueue(delivery_ids: list[int]) -> None:
    """Queue one delivery task per id (in-process when Celery is eager). Never raises: beat sweeps leftovers."""
    for delivery_id in delivery_ids:
        try:
            enqueue_task("webhooks.deliver", delivery_id)
        except Exception as exc:  # broker down: the row is due, beat's sweep sends it
            log.warning("webhooks: delivery %s not queued now (%s: %s); beat will sweep it",
                        delivery_id, type(exc).__name__, exc)


# --- one attempt ---------------------------------------------------------------------------------
def _claim(delivery_id: int, now: dt.datetime, lock: dt.timedelta) -> bool:
    due = or_(and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now),
              and_(WebhookDelivery.status == "delivering", WebhookDelivery.locked_until < now))
    result = db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, due)
                                .values(status="delivering", locked_until=now + lock,
                                        attempts=WebhookDelivery.attempts + 1))
    db.session.commit()
    return result.rowcount == 1


def deliver(delivery_id: int, now: dt.datetime | None = None) -> str:
    """Make one attempt at a due delivery; returns its new status (``skipped`` if not due or claimed). Commits.

    Success is any 2xx answer. A failure schedules the next attempt with backoff, or marks the delivery
    ``failed`` after ``OCOP_WEBHOOKS_MAX_ATTEMPTS``; ``OCOP_WEBHOOKS_DISABLE_AFTER`` failed attempts in a
    row switch the subscription off (its pending deliveries fail). The HTTP call holds no transaction.
    """
    cfg = config()
    now = now or utcnow()
    if not _claim(delivery_id, now, dt.timedelta(seconds=cfg.timeout + 5)):
        return "skipped"
    delivery = db.session.get(WebhookDelivery, delivery_id)
    sub = delivery.subscription
    if not sub.active:
        delivery.status, delivery.locked_until = "failed", None
        delivery.attempts -= 1  # nothing was sent
        delivery.last_error = "subscription switched off"
        db.session.commit()
        return delivery.status
    body = delivery.body.encode()
    headers = signing.headers(sub.secret, delivery.event_id, body)
    headers.update({"X-OCOP-Event": delivery.event_type, "X-OCOP-Delivery": str(delivery.id)})
    if delivery.request_id:
        headers["X-Request-ID"] = delivery.request_id
    url, number = sub.url, delivery.attempts
    db.session.commit()  # end the read transaction before the network call
    outcome = sender.post(url, body, headers, timeout=cfg.timeout, allow_private=cfg.allow_private)
    return _record_outcome(delivery_id, number, outcome, cfg, now)


def _record_outcome(delivery_id: int, number: int, outcome: sender.Outcome, cfg: Config,
                    now: dt.datetime) -> str:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    db.session.add(WebhookAttempt(delivery_id=delivery_id, number=number, started_at=now,
                                  duration_ms=outcome.duration_ms, status_code=outcome.status_code,
                                  error=outcome.error, response_excerpt=(outcome.excerpt or None) and outcome.excerpt[:1000]))
    delivery.last_status_code, delivery.last_error, delivery.locked_until = outcome.status_code, outcome.error, None
    sub_id = delivery.subscription_id
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", utcnow(), None
        db.session.execute(update(WebhookSubscription).where(WebhookSubscription.id == sub_id)
                           .values(consecutive_failures=0))
        db.session.commit()
        return delivery.status
    if delivery.attempts >= cfg.max_attempts:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.status, delivery.next_attempt_at = "pending", now + backoff(delivery.attempts, cfg)
    db.session.execute(update(WebhookSubscription).where(WebhookSubscription.id == sub_id)
                       .values(consecutive_failures=WebhookSubscription.consecutive_failures + 1))
    failures = db.session.execute(select(WebhookSubscription.consecutive_failures)
                                  .where(WebhookSubscription.id == sub_id)).scalar_one()
    if failures >= cfg.disable_after:
        _switch_off(sub_id, "too_many_failures")
    db.session.commit()
    return db.session.get(WebhookDelivery, delivery_id).status


def _switch_off(sub_id: int, reason: str) -> None:
    result = db.session.execute(update(WebhookSubscription)
                                .where(WebhookSubscription.id == sub_id, WebhookSubscription.active.is_(True))
                                .values(active=False, disabled_reason=reason, disabled_at=utcnow()))
    if result.rowcount:
        log.warning("webhooks: subscription %s switched off (%s)", sub_id, reason)
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id,
                                                         WebhookDelivery.status == "pending")
                           .values(status="failed", next_attempt_at=None,
                                   last_error="subscription switched off after repeated failures"))
        db.session.expire_all()


# --- the sweep (beat) --------------------------------------------------------------------------------
def due_ids(now: dt.datetime, limit: int = 500) -> list[int]:
    """Deliveries whose next attempt is due, and claims whose lock ran out (worker killed mid-attempt)."""
    stmt = (select(WebhookDelivery.id)
            .where(or_(and_(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                            or_(WebhookDelivery.attempts > 0, WebhookDelivery.created_at <= now - config().sweep_grace)),
                       and_(WebhookDelivery.status == "delivering", WebhookDelivery.locked_until < now)))
            .order_by(WebhookDelivery.id).limit(limit))
    return db.session.execute(stmt).scalars().all()


def retry_due(now: dt.datetime | None = None, limit: int = 500) -> dict:
    """Enqueue every due delivery; delete succeeded ones older than ``OCOP_WEBHOOKS_KEEP_DAYS``. Commits."""
    now = now or utcnow()
    ids = due_ids(now, limit)
    old = select(WebhookDelivery.id).where(WebhookDelivery.status == "succeeded",
                                           WebhookDelivery.created_at < now - dt.timedelta(days=config().keep_days))
    old_ids = db.session.execute(old.limit(1000)).scalars().all()
    if old_ids:
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.replay_of_id.in_(old_ids))
                           .values(replay_of_id=None))
        db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old_ids)))
        db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old_ids)))
    db.session.commit()
    if current_app.extensions["celery"].conf.task_always_eager:
        for delivery_id in ids:  # in-process: deliver right here, with the sweep's clock
            deliver(delivery_id, now)
    else:
        enqueue(ids)
    return {"enqueued": len(ids), "deleted": len(old_ids)}


def counts_by_status() -> list[tuple[dict, int]]:
    """Deliveries not yet succeeded, by status (the ``ocop_webhook_deliveries`` gauge)."""
    rows = db.session.execute(select(WebhookDelivery.status, func.count())
                              .where(WebhookDelivery.status != "succeeded")
                              .group_by(WebhookDelivery.status)).all()
    found = dict(rows)
    return [({"status": status}, found.get(status, 0)) for status in ("pending", "delivering", "failed")]
