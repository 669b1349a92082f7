"""``/v1/webhook_endpoints``: the secret (``whsec_…``) is returned only by create."""

from __future__ import annotations

import copy
import re

from stripe.params import (
    WebhookEndpointCreateParams,
    WebhookEndpointDeleteParams,
    WebhookEndpointListParams,
    WebhookEndpointRetrieveParams,
    WebhookEndpointUpdateParams,
)

from sandbox import errors, objects, store
from sandbox.api.common import list_page
from sandbox.models import ApiObject
from sandbox.params import validate

_URL = re.compile(r"^https?://[^\s/]+")


def _check_url(url: str) -> None:
    if not _URL.match(url):
        raise errors.invalid(
            "url",
            "Invalid URL: URL must be publicly accessible. Consider using a tool like the Stripe CLI "
            "to test webhooks locally.",
            code="url_invalid",
        )


def webhook_endpoint_create(request, raw: dict) -> dict:
    params = validate(raw, WebhookEndpointCreateParams)
    _check_url(params["url"])
    if not params["enabled_events"]:
        raise errors.missing("enabled_events")
    data = objects.webhook_endpoint(params)
    endpoint = store.create(object_id=data["id"], type="webhook_endpoint", data=data)
    return {**store.render(endpoint, expand=params.get("expand", [])), "secret": data["_secret"]}


def webhook_endpoint_retrieve(request, raw: dict, endpoint_id: str) -> dict:
    params = validate(raw, WebhookEndpointRetrieveParams)
    endpoint = store.get(type="webhook_endpoint", object_id=endpoint_id)
    return store.render(endpoint, expand=params.get("expand", []))


def webhook_endpoint_update(request, raw: dict, endpoint_id: str) -> dict:
    params = validate(raw, WebhookEndpointUpdateParams)
    endpoint = store.locked(type="webhook_endpoint", object_id=endpoint_id)
    data = endpoint.data
    before = copy.deepcopy(data)
    if "url" in params:
        _check_url(params["url"])
        data["url"] = params["url"]
    if "enabled_events" in params:
        data["enabled_events"] = params["enabled_events"]
    if "description" in params:
        data["description"] = params["description"] or None
    if "metadata" in params:
        data["metadata"] = objects.apply_metadata(data["metadata"], params["metadata"])
    if "disabled" in params:
        data["status"] = "disabled" if params["disabled"] else "enabled"
    if data != before:
        store.save(endpoint)
    return store.render(endpoint, expand=params.get("expand", []))


def webhook_endpoint_list(request, raw: dict) -> dict:
    params = validate(raw, WebhookEndpointListParams)
    return list_page(
        ApiObject.objects.filter(type="webhook_endpoint"),
        params,
        url="/v1/webhook_endpoints",
        kind="webhook_endpoint",
    )


def webhook_endpoint_delete(request, raw: dict, endpoint_id: str) -> dict:
    validate(raw, WebhookEndpointDeleteParams)
    store.locked(type="webhook_endpoint", object_id=endpoint_id).delete()
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}
