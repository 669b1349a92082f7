"""Registering our endpoint with Stripe: the secret kept, the registration reused or made again."""

from __future__ import annotations

from unittest import mock

import pytest
import stripe

from webhooks import endpoints
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_register_endpoint_stores_the_secret_and_reuses_it(settings):
    created = mock.Mock()
    created.to_dict.return_value = {
        "id": "we_123",
        "secret": "whsec_abc",
        "enabled_events": ["checkout.session.completed"],
    }
    client = mock.Mock()
    client.v1.webhook_endpoints.create.return_value = created
    # Stripe has it with the event types we handle: nothing to update.
    client.v1.webhook_endpoints.retrieve.return_value.to_dict.return_value = {
        "id": "we_123",
        "enabled_events": endpoints.handled_event_types(),
    }
    with mock.patch("webhooks.endpoints.get_stripe_client", return_value=client):
        endpoint = endpoints.webhook_endpoint_register(url="http://127.0.0.1:8000/webhooks/stripe/")
        again = endpoints.webhook_endpoint_register(url="http://127.0.0.1:8000/webhooks/stripe/")
    client.v1.webhook_endpoints.update.assert_not_called()
    assert endpoint.pk == again.pk
    assert (endpoint.stripe_id, endpoint.secret) == ("we_123", "whsec_abc")
    params = client.v1.webhook_endpoints.create.call_args.kwargs["params"]
    assert "checkout.session.completed" in params["enabled_events"]
    assert client.v1.webhook_endpoints.create.call_count == 1
    client.v1.webhook_endpoints.retrieve.assert_called_once_with("we_123")


def test_register_again_when_stripe_lost_the_endpoint():
    client = mock.Mock()
    client.v1.webhook_endpoints.create.side_effect = [
        mock.Mock(**{"to_dict.return_value": {"id": "we_1", "secret": "whsec_1"}}),
        mock.Mock(**{"to_dict.return_value": {"id": "we_2", "secret": "whsec_2"}}),
    ]
    client.v1.webhook_endpoints.retrieve.side_effect = stripe.InvalidRequestError(
        "No such webhook endpoint", "id", http_status=404
    )
    with mock.patch("webhooks.endpoints.get_stripe_client", return_value=client):
        endpoints.webhook_endpoint_register(url="http://127.0.0.1:8000/webhooks/stripe/")
        endpoint = endpoints.webhook_endpoint_register(url="http://127.0.0.1:8000/webhooks/stripe/")
    assert endpoint.stripe_id == "we_2"
    assert list(WebhookEndpoint.objects.values_list("stripe_id", flat=True)) == ["we_2"]


def test_a_registration_missing_an_event_type_is_updated_in_place():
    """Registered before ``charge.captured`` was handled: the same endpoint (and secret) gets it added."""
    old_events = [t for t in endpoints.handled_event_types() if t != "charge.captured"]
    WebhookEndpoint.objects.create(
        stripe_id="we_old",
        url="http://127.0.0.1:8000/webhooks/stripe/",
        api_base=endpoints._api_base(),
        secret="whsec_old",
        enabled_events=old_events,
    )
    client = mock.Mock()
    client.v1.webhook_endpoints.retrieve.return_value.to_dict.return_value = {
        "id": "we_old",
        "enabled_events": old_events,
    }
    client.v1.webhook_endpoints.update.return_value.to_dict.return_value = {
        "id": "we_old",
        "enabled_events": endpoints.handled_event_types(),
    }
    with mock.patch("webhooks.endpoints.get_stripe_client", return_value=client):
        registration = endpoints.webhook_endpoint_ensure(url="http://127.0.0.1:8000/webhooks/stripe/")
    assert registration.outcome == endpoints.Registration.EVENTS_UPDATED
    client.v1.webhook_endpoints.update.assert_called_once_with(
        "we_old", params={"enabled_events": endpoints.handled_event_types()}
    )
    client.v1.webhook_endpoints.create.assert_not_called()
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.stripe_id, endpoint.secret) == ("we_old", "whsec_old")
    assert "charge.captured" in endpoint.enabled_events
    assert endpoints.webhook_endpoint_events_missing(endpoint) == []


def test_offline_the_registration_is_kept_as_it_is():
    WebhookEndpoint.objects.create(
        stripe_id="we_1",
        url="http://127.0.0.1:8000/webhooks/stripe/",
        api_base=endpoints._api_base(),
        secret="whsec_1",
        enabled_events=["checkout.session.completed"],
    )
    client = mock.Mock()
    client.v1.webhook_endpoints.retrieve.side_effect = stripe.APIConnectionError("offline")
    with mock.patch("webhooks.endpoints.get_stripe_client", return_value=client):
        registration = endpoints.webhook_endpoint_ensure(url="http://127.0.0.1:8000/webhooks/stripe/")
    assert (registration.outcome, registration.endpoint.stripe_id) == (endpoints.Registration.KEPT, "we_1")
    client.v1.webhook_endpoints.update.assert_not_called()
    assert endpoints.webhook_endpoint_events_missing(registration.endpoint) == [
        t for t in endpoints.handled_event_types() if t != "checkout.session.completed"
    ]
