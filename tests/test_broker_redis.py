"""``core.broker_redis``: kombu's Redis transport publishing through one kept client per channel (real Redis)."""
from __future__ import annotations

import dataclasses
import uuid

from kombu import Connection, Queue

from core import broker_redis
from core.celery_app import REDIS_TRANSPORT, celery_app, init_celery
from support.services import need_redis, redis_url

BROKER = redis_url(13)


def test_messages_go_out_through_one_client_and_read_back_with_kombus_own_transport():
    need_redis()
    queue = Queue(f"ocop-test-shared-{uuid.uuid4().hex[:8]}")
    with Connection(BROKER, transport=REDIS_TRANSPORT) as conn:
        channel = conn.channel()
        assert isinstance(channel, broker_redis.Channel)
        producer = conn.Producer(channel)
        clients = set()
        for n in range(3):
            producer.publish({"n": n, "text": "Bưởi da xanh"}, routing_key=queue.name, declare=[queue])
            with channel.conn_or_acquire() as client:
                clients.add(id(client))
        assert len(clients) == 1
    with Connection(BROKER) as plain:  # a consumer on kombu's stock transport reads them in order
        reader = plain.SimpleQueue(queue)
        try:
            got = [reader.get(timeout=5) for _ in range(3)]
            assert [m.payload for m in got] == [{"n": n, "text": "Bưởi da xanh"} for n in range(3)]
            for message in got:
                message.ack()
        finally:
            reader.clear()
            reader.close()


def test_only_redis_brokers_get_the_transport(app):
    settings = app.config["OCOP"]
    try:
        for url, expected in ((BROKER, REDIS_TRANSPORT), ("amqp://guest:guest@127.0.0.1:5672//", None), ("", None)):
            app.config["OCOP"] = dataclasses.replace(settings, broker_url=url)
            init_celery(app)
            assert celery_app.conf.broker_transport == expected, url
    finally:
        app.config["OCOP"] = settings
        init_celery(app)
