"""The worker's database connection around tasks: kept under Django's rules, not reopened per task."""

from __future__ import annotations

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from config.celery import app as celery_app
from config.celery import close_old_database_connections

pytestmark = pytest.mark.django_db(transaction=True)


def _run_as_the_worker_does(fixup: DjangoWorkerFixup, task) -> int:
    """One task between the signals a prefork worker sends (the fixup's handlers, then ours)."""
    fixup.on_task_prerun(sender=task)
    close_old_database_connections(task=task)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    backend = id(connection.connection)
    fixup.on_task_postrun(sender=task)
    close_old_database_connections(task=task)
    return backend


@pytest.fixture
def task():
    from webhooks.tasks import process_webhook_event

    return process_webhook_event


def test_the_connection_is_kept_between_tasks(monkeypatch, task):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    # The fixup reads CELERY_DB_REUSE_MAX from the settings: without it, it closes after every task.
    fixup = DjangoWorkerFixup(celery_app)
    assert fixup.db_reuse_max
    first = _run_as_the_worker_does(fixup, task)
    assert connection.connection is not None
    assert _run_as_the_worker_does(fixup, task) == first
    assert _run_as_the_worker_does(fixup, task) == first


def test_without_a_max_age_the_connection_is_closed_after_each_task(monkeypatch, task):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    _run_as_the_worker_does(DjangoWorkerFixup(celery_app), task)
    assert connection.connection is None


def test_celery_reads_the_celery_settings_of_django():
    """Every CELERY_ setting reaches Celery's configuration under its Celery name (what the test run
    itself changed on the app, the broker without Redis, aside)."""
    from django.conf import settings

    names = [name for name in dir(settings) if name.startswith("CELERY_") and name != "CELERY_DB_REUSE_MAX"]
    assert "CELERY_TASK_ACKS_LATE" in names
    for name in names:
        key = name.removeprefix("CELERY_").lower()
        if key not in celery_app.conf.changes:
            assert celery_app.conf[key] == getattr(settings, name), name
    assert celery_app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX
