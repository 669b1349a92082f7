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
    with mock.patch("webhooks.endpoints.get_stripe_client", return_value=client):
        endpoint = endpoints.webhook_endpoint_register(url="http://127.0.0.1:8000/webhooks/stripe/")
        again = endpoints.webhook_endpoint_register(url="http://127.0.0.1:8000/webhooks/stripe/")
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
