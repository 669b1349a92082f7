"""Read-only resources made by payments on the hosted page: payment intents, charges, customers."""

from __future__ import annotations

from stripe.params import (
    ChargeListParams,
    ChargeRetrieveParams,
    CustomerListParams,
    CustomerRetrieveParams,
    PaymentIntentListParams,
    PaymentIntentRetrieveParams,
)

from sandbox import store
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
    return list_page(queryset, params, url="/v1/payment_intents")


def customer_retrieve(request, raw: dict, customer_id: str) -> dict:
    params = validate(raw, CustomerRetrieveParams)
    return store.render(store.get(type="customer", object_id=customer_id), expand=params.get("expand", []))


def customer_list(request, raw: dict) -> dict:
    params = validate(raw, CustomerListParams)
    queryset = created_filter(ApiObject.objects.filter(type="customer"), params.get("created"))
    if params.get("email"):
        queryset = queryset.filter(data__email=params["email"])
    return list_page(queryset, params, url="/v1/customers")


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
    return list_page(queryset, params, url="/v1/charges")
