"""``/v1/events``: retrieve and list (``type`` filter, also with a wildcard: ``payment_link.*``)."""

from __future__ import annotations

from stripe.params import EventListParams, EventRetrieveParams

from sandbox import store
from sandbox.api.common import created_filter, list_page
from sandbox.models import ApiObject
from sandbox.params import validate


def event_retrieve(request, raw: dict, event_id: str) -> dict:
    params = validate(raw, EventRetrieveParams)
    return store.render(store.get(type="event", object_id=event_id), expand=params.get("expand", []))


def event_list(request, raw: dict) -> dict:
    params = validate(raw, EventListParams)
    queryset = created_filter(ApiObject.objects.filter(type="event"), params.get("created"))
    event_type = params.get("type")
    if event_type:
        if event_type.endswith("*"):
            queryset = queryset.filter(key__startswith=event_type[:-1])
        else:
            queryset = queryset.filter(key=event_type)
    if params.get("types"):
        queryset = queryset.filter(key__in=params["types"])
    return list_page(queryset, params, url="/v1/events", kind="event")
