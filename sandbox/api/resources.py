"""Resources made by payments on the hosted page: payment intents (read, capture, cancel), charges,
customers."""

from __future__ import annotations

from stripe.params import (
    ChargeListParams,
    ChargeRetrieveParams,
    CustomerListParams,
    CustomerRetrieveParams,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentListParams,
    PaymentIntentRetrieveParams,
)

from sandbox import intents, store
from sandbox.api.common import created_filter, list_page
from sandbox.models import ApiObject
from sandbox.params import validate


def payment_intent_retrieve(request, raw: dict, intent_id: str) -> dict:
    params = validate(raw, PaymentIntentRetrieveParams)
    return store.render(
        store.get(type="payment_intent", object_id=intent_id), expand=params.get("expand", [])
    )


def payment_intent_list(request, raw: dict) -> dict:
    params = validate(raw, PaymentIntentListParams)
    queryset = created_filter(ApiObject.objects.filter(type="payment_intent"), params.get("created"))
    if params.get("customer"):
        queryset = queryset.filter(data__customer=params["customer"])
    return list_page(queryset, params, url="/v1/payment_intents", kind="payment_intent")


def customer_retrieve(request, raw: dict, customer_id: str) -> dict:
    params = validate(raw, CustomerRetrieveParams)
    return store.render(store.get(type="customer", object_id=customer_id), expand=params.get("expand", []))


def customer_list(request, raw: dict) -> dict:
    params = validate(raw, CustomerListParams)
    queryset = created_filter(ApiObject.objects.filter(type="customer"), params.get("created"))
    if params.get("email"):
        queryset = queryset.filter(data__email=params["email"])
    return list_page(queryset, params, url="/v1/customers", kind="customer")


def charge_retrieve(request, raw: dict, charge_id: str) -> dict:
    params = validate(raw, ChargeRetrieveParams)
    return store.render(store.get(type="charge", object_id=charge_id), expand=params.get("expand", []))


def charge_list(request, raw: dict) -> dict:
    params = validate(raw, ChargeListParams)
    queryset = created_filter(ApiObject.objects.filter(type="charge"), params.get("created"))
    if params.get("payment_intent"):
        queryset = queryset.filter(parent=params["payment_intent"])
    if params.get("customer"):
        queryset = queryset.filter(data__customer=params["customer"])
    return list_page(queryset, params, url="/v1/charges", kind="charge")


def payment_intent_capture(request, raw: dict, intent_id: str) -> dict:
    """Capture an authorised payment (``capture_method=manual``), in full or for ``amount_to_capture``."""
    params = validate(raw, PaymentIntentCaptureParams)
    intent = store.locked(type="payment_intent", object_id=intent_id)
    intents.intent_capture(intent=intent, amount_to_capture=params.get("amount_to_capture"))
    return store.render(intent, expand=params.get("expand", []))


def payment_intent_cancel(request, raw: dict, intent_id: str) -> dict:
    params = validate(raw, PaymentIntentCancelParams)
    intent = store.locked(type="payment_intent", object_id=intent_id)
    intents.intent_cancel(intent=intent, reason=params.get("cancellation_reason"))
    return store.render(intent, expand=params.get("expand", []))
