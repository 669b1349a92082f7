from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping

from celery import Celery
from celery.signals import after_setup_logger, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class DjangoCelerySettings(Mapping):
    """Django's ``CELERY_*`` settings as a plain dict, copied when Celery first reads its configuration.

    What Celery's Django guide does (``config_from_object("django.conf:settings", namespace="CELERY")``),
    minus a cost: Celery reads seven settings for every task it sends and tries up to four names for each,
    and on Django's settings object every name that is not there raises and catches an AttributeError
    (26 per task sent, about 0.11 ms: an eighth of the webhook receiver's publish). Settings are fixed
    once Django has started, so a copy reads the same.
    """

    @functools.cached_property
    def _settings(self) -> dict[str, object]:
        from django.conf import settings

        return {name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")}

    def __getitem__(self, name: str) -> object:
        return self._settings[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._settings)

    def __len__(self) -> int:
        return len(self._settings)


app = Celery("paylinks")
app.config_from_object(DjangoCelerySettings(), namespace="CELERY")
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


@after_setup_logger.connect
def keep_the_demo_terminal(logger=None, **kwargs) -> None:
    """Celery replaces the root logger's handlers with its own (``worker_hijack_root_logger``): under
    ``manage.py demo``, its terminal's handler (settings' LOGGING) is put back, so that the worker's and
    beat's notices and errors still reach the terminal. Also on the pool's logger, which does not
    propagate: a pool process that dies is said there."""
    from django.conf import settings

    if logger is None or not settings.DEMO_TERMINAL:
        return
    from celery.utils.log import get_multiprocessing_logger

    from config.demo_log import demo_terminal_handler

    handler = demo_terminal_handler(**settings.DEMO_TERMINAL)
    for each in (logger, get_multiprocessing_logger()):
        if handler not in each.handlers:
            each.addHandler(handler)
