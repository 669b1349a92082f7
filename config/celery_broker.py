"""kombu's Redis transport, publishing through one Redis client per channel instead of one per message.

kombu builds a new ``redis.Redis`` for every publish (``Channel.conn_or_acquire``); the connections come
from a pool either way, but building the client (its table of some 200 response callbacks) cost a quarter
of each publish, and the webhook receiver publishes once per event. A Redis client is safe to share
between threads: it takes a pooled connection per command. Selected by ``CELERY_BROKER_TRANSPORT``.
"""

from __future__ import annotations

from contextlib import contextmanager

from kombu.transport import redis


class Channel(redis.Channel):
    _publish_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        # Rebuilt when kombu has replaced its pool (after a fork or a lost connection).
        if self._publish_client is None or self._publish_client.connection_pool is not self.pool:
            self._publish_client = self._create_client()
        yield self._publish_client


class Transport(redis.Transport):
    Channel = Channel
