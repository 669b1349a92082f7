"""``/v1/tax_rates``: manual tax rates (payment links only use automatic tax, but sessions show rates)."""

from __future__ import annotations

import copy

from stripe.params import TaxRateCreateParams, TaxRateListParams, TaxRateRetrieveParams, TaxRateUpdateParams

from sandbox import errors, objects, store
from sandbox.api.common import created_filter, list_page
from sandbox.events import event_emit, previous_attributes
from sandbox.models import ApiObject
from sandbox.params import validate
from sandbox.tax import tax_rate_data


def tax_rate_create(request, raw: dict) -> dict:
    params = validate(raw, TaxRateCreateParams)
    if not 0 <= params["percentage"] <= 100:
        raise errors.invalid("percentage", "percentage must be between 0 and 100.")
    data = tax_rate_data(
        display_name=params["display_name"],
        percentage=params["percentage"],
        inclusive=params["inclusive"],
        country=params.get("country"),
        jurisdiction=params.get("jurisdiction"),
        tax_type=params.get("tax_type"),
        description=params.get("description"),
        state=params.get("state"),
        metadata=objects.apply_metadata({}, params.get("metadata")),
    )
    data["active"] = params.get("active", True)
    rate = store.create(object_id=data["id"], type="tax_rate", data=data)
    event_emit(type="tax_rate.created", obj=rate.data)
    return store.render(rate, expand=params.get("expand", []))


def tax_rate_retrieve(request, raw: dict, rate_id: str) -> dict:
    params = validate(raw, TaxRateRetrieveParams)
    return store.render(store.get(type="tax_rate", object_id=rate_id), expand=params.get("expand", []))


def tax_rate_update(request, raw: dict, rate_id: str) -> dict:
    params = validate(raw, TaxRateUpdateParams)
    rate = store.locked(type="tax_rate", object_id=rate_id)
    before = copy.deepcopy(rate.data)
    for field in ("active", "country", "description", "display_name", "jurisdiction", "state", "tax_type"):
        if field in params:
            rate.data[field] = params[field] if params[field] != "" else None
    if "metadata" in params:
        rate.data["metadata"] = objects.apply_metadata(rate.data["metadata"], params["metadata"])
    previous = previous_attributes(before, rate.data)
    if previous:
        store.save(rate)
        event_emit(type="tax_rate.updated", obj=rate.data, previous=previous)
    return store.render(rate, expand=params.get("expand", []))


def tax_rate_list(request, raw: dict) -> dict:
    params = validate(raw, TaxRateListParams)
    queryset = created_filter(ApiObject.objects.filter(type="tax_rate"), params.get("created"))
    if "active" in params:
        queryset = queryset.filter(data__active=params["active"])
    if "inclusive" in params:
        queryset = queryset.filter(data__inclusive=params["inclusive"])
    return list_page(queryset, params, url="/v1/tax_rates", kind="tax_rate")
