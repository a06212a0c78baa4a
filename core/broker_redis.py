"""kombu's Redis transport, publishing through one Redis client per channel.

kombu's ``Channel._put`` builds a new ``redis.Redis`` client for every message (``conn_or_acquire``
with no client; the client's 170-entry response-callback table is rebuilt each time): about a fifth
of an order notification's publish on the order-placement path. The client is only a front for the
channel's connection pool, which it already shares, so one kept per channel behaves the same.
Used for ``redis://`` brokers (``core.celery_app.init_celery``); other brokers keep kombu's transports.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property

from kombu.transport import redis


class Channel(redis.Channel):
    @cached_property
    def _shared_client(self):
        return self._create_client()

    @contextmanager
    def conn_or_acquire(self, client=None):
        yield client or self._shared_client


class Transport(redis.Transport):
    Channel = Channel
