"""Django's health check on PostgreSQL (CONN_HEALTH_CHECKS): a connection the server closed is replaced."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="terminates a PostgreSQL backend"),
    # Autocommit, as in a request.
    pytest.mark.django_db(transaction=True),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _from_another_connection(sql: str, params: tuple) -> tuple:
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        return other.execute(sql, params).fetchone()


def _wait_until_terminated(pid: int) -> None:
    deadline = time.monotonic() + 5
    while _from_another_connection("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))[0]:
        assert time.monotonic() < deadline, "the backend was not terminated"
        time.sleep(0.02)


def test_a_connection_the_server_closed_is_replaced_before_the_next_query(monkeypatch):
    # Persistent, as in production (the test settings close connections after each request).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    pid = _backend_pid()
    _from_another_connection("SELECT pg_terminate_backend(%s)", (pid,))
    _wait_until_terminated(pid)
    try:
        assert not connection.is_usable()
        # What Django does at the start of each request (and config/celery.py before each task): the
        # connection is kept (not too old, no error seen), then checked before its first query.
        close_old_connections()
        assert connection.connection is not None
        assert _backend_pid() != pid
    finally:
        connection.close()
