"""Helpers shared by the API modules: list parameters and update bookkeeping."""

from __future__ import annotations

from django.db.models import QuerySet

from sandbox import errors, store
from sandbox.models import ApiObject


def list_page(queryset: QuerySet[ApiObject], params: dict, *, url: str, kind: str) -> dict:
    """Page ``queryset`` (objects of type ``kind``) with the validated ``limit``/``starting_after``/
    ``ending_before``/``expand``.

    A cursor must name an object of the list's own type: Stripe answers another type's id (a price id
    to ``GET /v1/products``) as it answers an unknown id, 400 ``resource_missing`` on the parameter.
    """
    for param in ("starting_after", "ending_before"):
        cursor = params.get(param)
        if cursor and not ApiObject.objects.filter(type=kind, stripe_id=cursor).exists():
            raise errors.ApiError(
                f"No such {store.KIND_NAMES.get(kind, kind)}: '{cursor}'",
                code="resource_missing",
                param=param,
            )
    expand = [path.removeprefix("data.") for path in params.get("expand", []) if path.startswith("data.")]
    return store.page(
        queryset,
        url=url,
        limit=params.get("limit"),
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
        expand=expand,
    )


def created_filter(queryset: QuerySet[ApiObject], created) -> QuerySet[ApiObject]:
    """Stripe's ``created`` filter: an exact timestamp or ``{gt, gte, lt, lte}``."""
    if created is None:
        return queryset
    if isinstance(created, int):
        return queryset.filter(created=created)
    lookups = {f"created__{op}": value for op, value in created.items() if op in ("gt", "gte", "lt", "lte")}
    return queryset.filter(**lookups)


def page_of_items(items: list[dict], params: dict, *, url: str) -> dict:
    """Page an embedded list (line items) kept in order of creation."""
    limit = params.get("limit") or 10
    if not 1 <= limit <= store.MAX_LIST_LIMIT:
        raise errors.invalid("limit", f"Invalid limit: must be between 1 and {store.MAX_LIST_LIMIT}")
    ids = [item["id"] for item in items]
    start = 0
    end = len(items)
    if params.get("starting_after"):
        if params["starting_after"] not in ids:
            raise errors.no_such("line_item", params["starting_after"], param="starting_after")
        start = ids.index(params["starting_after"]) + 1
    if params.get("ending_before"):
        if params["ending_before"] not in ids:
            raise errors.no_such("line_item", params["ending_before"], param="ending_before")
        end = ids.index(params["ending_before"])
        start = max(0, end - limit)
    chunk = [store.public(item) for item in items[start:end][:limit]]
    has_more = (start + len(chunk) < end) if not params.get("ending_before") else start > 0
    return {"object": "list", "data": chunk, "has_more": has_more, "url": url}
