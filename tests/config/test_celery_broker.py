"""The Redis transport publishes through one client per channel, and still delivers every message."""

from __future__ import annotations

import os
import uuid

import pytest
from kombu import Connection

from config.celery_broker import Channel, Transport

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (Redis)")


@pytest.fixture
def queue_connection(monkeypatch):
    built = []
    real_create_client = Channel._create_client

    def counting_create_client(self, *args, **kwargs):
        client = real_create_client(self, *args, **kwargs)
        built.append(client)
        return client

    monkeypatch.setattr(Channel, "_create_client", counting_create_client)
    name = f"paylinks-test-{uuid.uuid4().hex}"
    with Connection(os.environ["REDIS_URL"], transport=Transport) as connection:
        queue = connection.SimpleQueue(name)
        yield connection, queue, built
        queue.clear()
        queue.close()


def test_publishing_builds_one_client_not_one_per_message(queue_connection):
    _connection, queue, built = queue_connection
    queue.put({"n": 0})
    clients_after_the_first = len(built)
    for number in range(1, 20):
        queue.put({"n": number})
    assert len(built) == clients_after_the_first
    received = []
    for _ in range(20):
        message = queue.get(timeout=5)
        received.append(message.payload["n"])
        message.ack()
    assert received == list(range(20))


def test_a_replaced_pool_gets_a_new_client(queue_connection):
    _connection, queue, built = queue_connection
    queue.put({"n": 1})
    clients_before = len(built)
    channel = queue.producer.channel
    # What kombu does after a fork or a lost connection: drop the pool and build another on next use.
    channel._pool = None
    queue.put({"n": 2})
    assert len(built) == clients_before + 1
    assert built[-1].connection_pool is channel.pool
    assert [queue.get(timeout=5).payload["n"] for _ in range(2)] == [1, 2]
