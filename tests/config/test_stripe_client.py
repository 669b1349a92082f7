"""The StripeClient every service uses: the SDK's requests transport, one per thread, our timeout."""

from __future__ import annotations

import threading
import time

import pytest
import stripe

from config.stripe_client import get_stripe_client


def test_each_thread_keeps_its_own_client():
    # gunicorn's threads never share a client's connection pool.
    main = get_stripe_client()
    assert get_stripe_client() is main
    seen = []
    thread = threading.Thread(target=lambda: seen.append(get_stripe_client()))
    thread.start()
    thread.join()
    assert seen[0] is not main


def test_a_new_configuration_gets_a_new_client(settings):
    before = get_stripe_client()
    settings.STRIPE_TIMEOUT = 7.0
    assert get_stripe_client() is not before


@pytest.mark.django_db(transaction=True)
def test_calls_reach_the_sandbox_over_http(stripe_client):
    product = stripe_client.v1.products.create(params={"name": "Mug"})
    assert stripe_client.v1.products.retrieve(product.id).name == "Mug"


@pytest.mark.django_db(transaction=True)
def test_a_call_slower_than_stripe_timeout_fails_after_that_timeout(sandbox, settings):
    settings.STRIPE_TIMEOUT = 0.5
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SANDBOX_FAULTS = "api_delay=1:3"  # every call answers after 3 s
    client = get_stripe_client()
    started = time.monotonic()
    with pytest.raises(stripe.APIConnectionError):
        client.v1.products.list()
    assert time.monotonic() - started < 2.0
