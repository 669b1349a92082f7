"""The benchmarks' baselines (config/views.py): mounted only when asked for, and doing only what they say."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import RequestFactory
from django.urls import Resolver404, resolve

from config.views import (
    BENCH_STORE_FLOOR_DDL,
    BENCH_STORE_FLOOR_TABLE,
    bench_floor,
    bench_store_floor,
    bench_verify_floor,
)
from tests.webhooks.conftest import TEST_SECRET, make_event, sign
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import webhook_secrets_invalidate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/bench/floor", "/bench/verify-floor", "/bench/store-floor"])
def test_bench_views_are_not_mounted_by_default(path):
    with pytest.raises(Resolver404):
        resolve(path)


def test_floor_answers_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = bench_floor(RequestFactory().get("/bench/floor"))

    assert response.status_code == 200


def _verify_floor_post(body: str, signature: str):
    return bench_verify_floor(
        RequestFactory().post(
            "/bench/verify-floor",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
    )


def test_verify_floor_checks_like_the_receiver_and_stores_nothing(settings, django_assert_num_queries):
    settings.STRIPE_WEBHOOK_SECRETS = [TEST_SECRET]
    webhook_secrets_invalidate()
    body = json.dumps(make_event())
    _verify_floor_post(body, sign(body))  # the first request of a process loads the endpoint secrets

    with django_assert_num_queries(0):
        accepted = _verify_floor_post(body, sign(body))
    forged = _verify_floor_post(body, sign(body, secret="whsec_someone_else"))
    malformed = _verify_floor_post("[]", sign("[]"))

    assert accepted.status_code == 200
    assert forged.status_code == 400
    assert malformed.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    webhook_secrets_invalidate()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bench runs on PostgreSQL, storing jsonb")
def test_store_floor_stores_the_body_in_one_statement(django_assert_num_queries):
    with connection.cursor() as cursor:
        cursor.execute(BENCH_STORE_FLOOR_DDL)
    body = {"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": "cs_1"}}}
    request = RequestFactory().post(
        "/bench/store-floor", data=json.dumps(body), content_type="application/json"
    )

    with django_assert_num_queries(1):
        response = bench_store_floor(request)

    assert response.status_code == 200
    with connection.cursor() as cursor:
        # Parsed by PostgreSQL into jsonb (psycopg hands Django jsonb back as text).
        cursor.execute(f"SELECT body::text FROM {BENCH_STORE_FLOOR_TABLE}")
        assert [json.loads(row[0]) for row in cursor.fetchall()] == [body]


@pytest.mark.parametrize("view", [bench_verify_floor, bench_store_floor])
def test_the_receivers_floors_take_only_posts(view):
    response = view(RequestFactory().get("/bench/store-floor"))

    assert response.status_code == 405
