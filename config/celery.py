from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping

from celery import Celery
from celery.signals import task_postrun, task_prerun

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
