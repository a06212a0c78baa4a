"""A real Celery worker (subprocess) against the Redis broker processes notification tasks.

The worker runs ``celery -A core.celery_worker worker --pool solo`` with
``OCOP_BROKER_URL``/``OCOP_DATABASE_URL`` pointing at Redis and the test
database. Messages are sent with a separate Celery producer so the test
process' own (eager) Celery configuration is left alone.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import select

from support.orders import order_id, place_order
from support.services import need_redis, redis_url

REDIS_DB = int(os.environ.get("OCOP_TEST_REDIS_DB", "13"))
BROKER = redis_url(REDIS_DB)  # OCOP_TEST_REDIS_URL
ROOT = Path(__file__).resolve().parent.parent


def _wait(predicate, what: str, seconds: float = 90.0):
    """Poll ``predicate`` (reading committed state) until it is truthy; fail after ``seconds``."""
    from core.db import db
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"the worker did not process: {what}")


@pytest.fixture
def worker(app, database_url, instance_path, tmp_path):
    need_redis()
    queue = f"ocop-test-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "OCOP_BROKER_URL": BROKER, "OCOP_DATABASE_URL": database_url,
           "OCOP_INSTANCE_PATH": str(instance_path), "OCOP_TODAY": os.environ.get("OCOP_TODAY", "2026-11-23"),
           "PYTHONPATH": str(ROOT)}
    env.pop("OCOP_SMTP_URL", None)
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "core.celery_worker", "worker", "--pool", "solo",
             "-Q", f"{queue},celery", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"{queue}@localhost"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    producer = Celery("ocop-test-producer", broker=BROKER)
    producer.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)
    try:
        yield producer, queue, proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        producer.close()
        import redis
        client = redis.Redis.from_url(BROKER)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()


def test_worker_delivers_a_stored_notification(app, worker):
    from core.db import commit, db, utcnow
    from core.notifications.models import Notification
    producer, queue, proc, log = worker
    note = Notification(kind="test", dedupe_key=f"worker-test:{uuid.uuid4().hex}", subject="Xin chào",
                        body="Thông báo thử / test notification", status="pending", attempts=0,
                        created_at=utcnow())
    db.session.add(note)
    commit()
    note_id = note.id
    producer.send_task("ocop.notifications.deliver", args=[note_id], queue=queue)
    status = _wait(lambda: db.session.execute(select(Notification.status).where(Notification.id == note_id))
                   .scalar_one() == "stored", "ocop.notifications.deliver")
    assert status
    assert proc.poll() is None, log.read_text()
    # idempotent: delivering the same notification again changes nothing
    producer.send_task("ocop.notifications.deliver", args=[note_id], queue=queue)
    producer.send_task("ocop.notifications.deliver", args=[note_id + 10_000_000], queue=queue)  # missing: no error
    marker = Notification(kind="test", dedupe_key=f"worker-test:{uuid.uuid4().hex}", subject="2", body="2",
                          status="pending", attempts=0, created_at=utcnow())
    db.session.add(marker)
    commit()
    marker_id = marker.id
    producer.send_task("ocop.notifications.deliver", args=[marker_id], queue=queue)
    _wait(lambda: db.session.execute(select(Notification.status).where(Notification.id == marker_id))
          .scalar_one() == "stored", "second delivery")
    db.session.rollback()
    assert db.session.get(Notification, note_id).attempts == 1


def test_worker_stores_an_orders_notifications(app, client, demo, worker):
    """The order-notification task creates the shopper's and producers' notifications; the worker stores them."""
    from core.db import db
    from core.notifications.models import Notification
    producer, queue, proc, log = worker
    number = place_order(client, [("VQ-CAM-5KG", 1), ("BL-BDX-1", 1)])["number"]
    oid = order_id(number)
    db.session.execute(Notification.__table__.delete())  # the in-process (eager) run already stored them
    db.session.commit()
    producer.send_task("ocop.orders.notify", args=[oid, "order_placed", {}], queue=queue)

    def stored():
        rows = db.session.execute(select(Notification.status).where(
            Notification.dedupe_key.like(f"order:{oid}:order_placed:%"))).scalars().all()
        return len(rows) == 3 and set(rows) == {"stored"}
    assert _wait(stored, "ocop.orders.notify + deliveries"), log.read_text()
