from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("paylinks")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(task=None, **kwargs) -> None:
    """What Django does around each request, around each task: a connection past CONN_MAX_AGE, failing
    its health check or left broken by an error is closed; a healthy one is kept for the next task."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's process, maybe inside its transaction: its connection is not ours
    from django.db import close_old_connections

    close_old_connections()
