"""``/v1/subscriptions`` (retrieve, list, cancel) and ``/v1/invoices`` (retrieve, list)."""

from __future__ import annotations

import copy

from stripe.params import (
    InvoiceListParams,
    InvoiceRetrieveParams,
    SubscriptionCancelParams,
    SubscriptionListParams,
    SubscriptionRetrieveParams,
)

from sandbox import clock, errors, store
from sandbox.api.common import created_filter, list_page
from sandbox.events import event_emit, previous_attributes
from sandbox.models import ApiObject
from sandbox.params import validate


def subscription_retrieve(request, raw: dict, subscription_id: str) -> dict:
    params = validate(raw, SubscriptionRetrieveParams)
    return store.render(
        store.get(type="subscription", object_id=subscription_id), expand=params.get("expand", [])
    )


def subscription_list(request, raw: dict) -> dict:
    params = validate(raw, SubscriptionListParams)
    queryset = created_filter(ApiObject.objects.filter(type="subscription"), params.get("created"))
    if params.get("customer"):
        queryset = queryset.filter(parent=params["customer"])
    status = params.get("status")
    # Stripe lists every status but canceled unless asked ("all" includes canceled).
    if status and status != "all":
        queryset = queryset.filter(data__status=status)
    elif not status:
        queryset = queryset.exclude(data__status="canceled")
    return list_page(queryset, params, url="/v1/subscriptions", kind="subscription")


def subscription_cancel(request, raw: dict, subscription_id: str) -> dict:
    params = validate(raw, SubscriptionCancelParams)
    subscription = store.locked(type="subscription", object_id=subscription_id)
    if subscription.data["status"] == "canceled":
        raise errors.ApiError(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    before = copy.deepcopy(subscription.data)
    now = clock.now()
    details = params.get("cancellation_details") or {}
    subscription.data.update(
        {
            "status": "canceled",
            "canceled_at": now,
            "ended_at": now,
            "cancellation_details": {
                "comment": details.get("comment") or None,
                "feedback": details.get("feedback") or None,
                "feedback_option": None,
                "reason": "cancellation_requested",
            },
        }
    )
    subscription.data.pop("_renews_at", None)  # a canceled subscription never renews
    store.save(subscription)
    event_emit(
        type="customer.subscription.deleted",
        obj=subscription.data,
        previous=previous_attributes(before, subscription.data),
    )
    return store.render(subscription, expand=params.get("expand", []))


def invoice_retrieve(request, raw: dict, invoice_id: str) -> dict:
    params = validate(raw, InvoiceRetrieveParams)
    return store.render(store.get(type="invoice", object_id=invoice_id), expand=params.get("expand", []))


def invoice_list(request, raw: dict) -> dict:
    params = validate(raw, InvoiceListParams)
    queryset = created_filter(ApiObject.objects.filter(type="invoice"), params.get("created"))
    if params.get("customer"):
        queryset = queryset.filter(parent=params["customer"])
    if params.get("status"):
        queryset = queryset.filter(data__status=params["status"])
    if params.get("subscription"):
        queryset = queryset.filter(data__parent__subscription_details__subscription=params["subscription"])
    return list_page(queryset, params, url="/v1/invoices", kind="invoice")
