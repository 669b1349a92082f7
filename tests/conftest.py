"""Fixtures shared by every test package: personas, and the sandbox served over real HTTP."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from config.celery import app as celery_app


@pytest.fixture(autouse=True, scope="session")
def _close_connections_after_each_request():
    """Live-server threads must not keep connections open: PostgreSQL refuses to drop a test database
    in use."""
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: the locale middleware leaves the language of a page in
    French active in the test's thread after the response, for whichever test runs next in that worker."""
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """Django's advice for test runs: PBKDF2's rounds cost about half a second per user created or
    signed in, the better part of many tests' time. Processes the tests start (demo, gunicorn) keep the
    real hashers."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


def _redis_url_of_this_worker(redis_url: str) -> str:
    """``redis_url`` with its database number moved up by the pytest-xdist worker's index (gw1: +1), so
    that parallel workers never share a broker queue (a worker's Celery process would run another's
    tasks, and ``purge()`` would drop them) nor a cache."""
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    parts = urlsplit(redis_url)
    db = int(parts.path.strip("/") or 0) + index
    if db > 15:
        raise pytest.UsageError(f"REDIS_URL's db number plus the worker's index is {db}: Redis has 0 to 15")
    return urlunsplit(parts._replace(path=f"/{db}"))


@pytest.fixture(autouse=True, scope="session")
def _celery_broker_for_tests():
    """Without REDIS_URL, tasks enqueued by tests go to an in-process queue rather than var/; with it,
    each pytest-xdist worker has a Redis db of its own, in this process and the processes it starts.

    Tests call task functions directly (Celery's testing guide); the real worker is exercised by the
    integration tests, which need Redis.
    """
    if not os.environ.get("REDIS_URL"):
        celery_app.conf.broker_url = "memory://"
        celery_app.conf.broker_transport_options = {}
        yield
        return
    redis_url = _redis_url_of_this_worker(os.environ["REDIS_URL"])
    caches = {"default": {**django_settings.CACHES["default"], "LOCATION": redis_url}}
    with (
        pytest.MonkeyPatch.context() as environ,
        override_settings(REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url, CACHES=caches),
    ):
        environ.setenv("REDIS_URL", redis_url)
        celery_app.conf.broker_url = redis_url
        yield


@pytest.fixture
def cache_down(settings):
    """The cache is a Redis that does not answer (restarting): a real client, a port nobody listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and closed once the probe is
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="alice", email="alice@example.com", password="correct-horse-battery", is_staff=True
    )


@pytest.fixture
def other_user(django_user_model):
    """A signed-in user who is not staff: must never see the dashboard."""
    return django_user_model.objects.create_user(username="charlie", password="correct-horse-battery")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@dataclass
class Sandbox:
    base_url: str  # the live server, e.g. http://localhost:53211

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/sandbox"


@pytest.fixture
def sandbox(live_server, settings) -> Sandbox:
    """The app and its sandbox on a live server; the dashboard's StripeClient points at it over HTTP."""
    settings.PAYLINKS_BASE_URL = live_server.url
    settings.STRIPE_API_BASE = f"{live_server.url}/sandbox"
    return Sandbox(base_url=live_server.url)


@pytest.fixture
def stripe_client(sandbox):
    from config.stripe_client import get_stripe_client

    return get_stripe_client()
