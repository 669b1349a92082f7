"""``/v1/disputes``: list, retrieve, update (evidence, metadata, submit), close (``sandbox/disputes.py``)."""

from __future__ import annotations

from stripe.params import DisputeCloseParams, DisputeListParams, DisputeRetrieveParams, DisputeUpdateParams

from sandbox import disputes, store
from sandbox.api.common import created_filter, list_page
from sandbox.models import ApiObject
from sandbox.params import validate


def dispute_list(request, raw: dict) -> dict:
    params = validate(raw, DisputeListParams)
    queryset = created_filter(ApiObject.objects.filter(type="dispute"), params.get("created"))
    if params.get("charge"):
        queryset = queryset.filter(parent=params["charge"])
    if params.get("payment_intent"):
        queryset = queryset.filter(data__payment_intent=params["payment_intent"])
    return list_page(queryset, params, url="/v1/disputes", kind="dispute")


def dispute_retrieve(request, raw: dict, dispute_id: str) -> dict:
    params = validate(raw, DisputeRetrieveParams)
    return store.render(store.get(type="dispute", object_id=dispute_id), expand=params.get("expand", []))


def dispute_update(request, raw: dict, dispute_id: str) -> dict:
    params = validate(raw, DisputeUpdateParams)
    dispute = store.locked(type="dispute", object_id=dispute_id)
    disputes.dispute_update(
        dispute=dispute,
        evidence=params.get("evidence"),
        metadata=params.get("metadata"),
        submit=params.get("submit"),
        intended_submission_method=params.get("intended_submission_method"),
    )
    return store.render(dispute, expand=params.get("expand", []))


def dispute_close(request, raw: dict, dispute_id: str) -> dict:
    params = validate(raw, DisputeCloseParams)
    dispute = store.locked(type="dispute", object_id=dispute_id)
    disputes.dispute_close(dispute=dispute)
    return store.render(dispute, expand=params.get("expand", []))
