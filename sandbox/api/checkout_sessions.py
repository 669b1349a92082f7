"""``/v1/checkout/sessions``: opened by the hosted page; the API reads, lists and expires them."""

from __future__ import annotations

from stripe.params.checkout import (
    SessionExpireParams,
    SessionListLineItemsParams,
    SessionListParams,
    SessionRetrieveParams,
)

from sandbox import errors, store
from sandbox.api.common import created_filter, list_page, page_of_items
from sandbox.checkout import session_expire
from sandbox.models import ApiObject
from sandbox.params import validate

BREAKDOWN = "total_details.breakdown"


def session_retrieve(request, raw: dict, session_id: str) -> dict:
    params = validate(raw, SessionRetrieveParams)
    session = store.get(type="checkout.session", object_id=session_id)
    expand = params.get("expand", [])
    body = store.render(session, expand=[path for path in expand if path != BREAKDOWN])
    if BREAKDOWN in expand and body["total_details"] is not None:
        # Includable: the discounts and taxes behind the totals.
        empty = {"discounts": [], "taxes": []}
        body["total_details"] = {
            **body["total_details"],
            "breakdown": session.data.get("_breakdown") or empty,
        }
    return body


def session_list(request, raw: dict) -> dict:
    params = validate(raw, SessionListParams)
    queryset = created_filter(ApiObject.objects.filter(type="checkout.session"), params.get("created"))
    if params.get("payment_link"):
        queryset = queryset.filter(parent=params["payment_link"])
    for field in ("status", "payment_intent", "customer", "subscription"):
        if params.get(field):
            queryset = queryset.filter(**{f"data__{field}": params[field]})
    if params.get("customer_details", {}).get("email"):
        queryset = queryset.filter(data__customer_details__email=params["customer_details"]["email"])
    return list_page(queryset, params, url="/v1/checkout/sessions", kind="checkout.session")


def session_line_items(request, raw: dict, session_id: str) -> dict:
    params = validate(raw, SessionListLineItemsParams)
    session = store.get(type="checkout.session", object_id=session_id)
    body = page_of_items(
        session.data["_line_items"], params, url=f"/v1/checkout/sessions/{session_id}/line_items"
    )
    expand = [p.removeprefix("data.") for p in params.get("expand", []) if p.startswith("data.")]
    body["data"] = [store.expand_value(item, expand) for item in body["data"]]
    return body


def session_expire_view(request, raw: dict, session_id: str) -> dict:
    params = validate(raw, SessionExpireParams)
    session = store.locked(type="checkout.session", object_id=session_id)
    if session.data["status"] != "open":
        raise errors.ApiError(
            'Only Checkout Sessions with a status in ["open"] can be expired. '
            f'This Checkout Session has a status of "{session.data["status"]}".',
        )
    session_expire(session=session)
    return store.render(session, expand=params.get("expand", []))


store.INCLUDABLE[("checkout.session", "line_items")] = lambda session: page_of_items(
    session.data["_line_items"], {}, url=f"/v1/checkout/sessions/{session.stripe_id}/line_items"
)
