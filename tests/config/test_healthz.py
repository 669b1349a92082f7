from __future__ import annotations

import pytest

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_needs_no_login(client):
    response = client.get("/healthz")

    assert response.status_code != 302


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    # Nothing listens on port 1: the broker connection is refused.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["database"] == "ok"
