"""Reading and writing the object store, paging lists, and rendering with ``expand``.

Every write to an existing object goes through ``locked`` inside ``transaction.atomic`` so two requests
that change one object never lose an update (``select_for_update`` on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet

from sandbox import clock, errors
from sandbox.models import ApiObject

# Names used in "No such …" messages, by object type.
KIND_NAMES = {
    "product": "product",
    "price": "price",
    "payment_link": "payment_link",
    "checkout.session": "checkout.session",
    "webhook_endpoint": "webhook_endpoint",
    "event": "event",
    "payment_intent": "payment_intent",
    "customer": "customer",
    "charge": "charge",
    "shipping_rate": "shipping_rate",
    "connected_account": "account",
    "coupon": "coupon",
    "promotion_code": "promotion_code",
    "refund": "refund",
    "dispute": "dispute",
}

# Id prefix → object type, so expansion can load any id it meets.
PREFIX_TYPES = {
    "prod_": "product",
    "price_": "price",
    "plink_": "payment_link",
    "cs_test_": "checkout.session",
    "we_": "webhook_endpoint",
    "evt_": "event",
    "pi_": "payment_intent",
    "cus_": "customer",
    "ch_": "charge",
    "shr_": "shipping_rate",
    "promo_": "promotion_code",
    "txr_": "tax_rate",
    "sub_": "subscription",
    "in_": "invoice",
    "acct_": "connected_account",
    "re_": "refund",
    "du_": "dispute",
}

# Fields returned only when expanded ("includable"), by object type: a function of the object id.
INCLUDABLE: dict[tuple[str, str], Callable[[ApiObject], dict]] = {}
# Fields computed when the object is read (a coupon's ``valid`` changes when ``redeem_by`` passes).
RENDER_HOOKS: dict[str, Callable[[dict], dict]] = {}
MAX_LIST_LIMIT = 100


def create(*, object_id: str, type: str, data: dict, parent: str = "", key: str = "") -> ApiObject:
    return ApiObject.objects.create(
        stripe_id=object_id,
        type=type,
        created=data.get("created") or clock.now(),
        parent=parent,
        key=key,
        data=data,
    )


def get(*, type: str, object_id: str, param: str = "id") -> ApiObject:
    obj = ApiObject.objects.filter(type=type, stripe_id=object_id).first()
    if obj is None:
        raise errors.no_such(KIND_NAMES.get(type, type), object_id, param=param)
    return obj


def locked(*, type: str, object_id: str, param: str = "id") -> ApiObject:
    """The object, row-locked until the surrounding transaction ends. Call inside ``transaction.atomic``."""
    obj = ApiObject.objects.select_for_update().filter(type=type, stripe_id=object_id).first()
    if obj is None:
        raise errors.no_such(KIND_NAMES.get(type, type), object_id, param=param)
    return obj


def save(obj: ApiObject) -> None:
    obj.save(update_fields=["data", "parent", "key"])


def public(data: dict) -> dict:
    """The object as the API shows it: sandbox-private ``_`` keys removed."""
    return {k: v for k, v in data.items() if not k.startswith("_")}


def render(obj: ApiObject, *, expand: list[str] = ()) -> dict:
    # The object itself is at hand for its includable fields (a session's line items): not read again.
    return expand_value(_rendered(obj), expand, loaded=obj)


def expand_value(body: dict, expand: list[str], *, loaded: ApiObject | None = None) -> dict:
    """Apply ``expand`` paths (``line_items``, ``price.product``…) to an already public body.

    ``loaded``: the row ``body`` was rendered from, if the caller has it.
    """
    for path in expand:
        body = _expand(body, path.split("."), depth=0, loaded=loaded)
    return body


def _expand(value, parts: list[str], *, depth: int, loaded: ApiObject | None = None):
    if not parts or depth >= 4:
        return value
    if isinstance(value, list):
        return [_expand(item, parts, depth=depth) for item in value]
    if not isinstance(value, dict):
        return value
    head, rest = parts[0], parts[1:]
    value = dict(value)
    if head not in value and (value.get("object"), head) in INCLUDABLE:
        if loaded is not None and loaded.stripe_id == value["id"]:
            obj = loaded
        else:
            obj = ApiObject.objects.get(stripe_id=value["id"])
        value[head] = INCLUDABLE[(value["object"], head)](obj)
    if head not in value:
        raise errors.invalid("expand", f"This property cannot be expanded ({head}).")
    child = value[head]
    if isinstance(child, str):
        child = _load_by_id(child, head)
    value[head] = _expand(child, rest, depth=depth + 1)
    return value


def _load_by_id(object_id: str, field: str):
    for prefix, type in PREFIX_TYPES.items():
        if object_id.startswith(prefix):
            obj = ApiObject.objects.filter(type=type, stripe_id=object_id).first()
            return _rendered(obj) if obj else object_id
    if field == "coupon":
        # Coupon ids have no prefix (custom codes or 8 random characters).
        obj = ApiObject.objects.filter(type="coupon", stripe_id=object_id).first()
        return _rendered(obj) if obj else object_id
    raise errors.invalid("expand", f"This property cannot be expanded ({field}).")


def _rendered(obj: ApiObject) -> dict:
    hook = RENDER_HOOKS.get(obj.type)
    return hook(public(obj.data)) if hook else public(obj.data)


def page(
    queryset: QuerySet[ApiObject],
    *,
    url: str,
    limit: int | None,
    starting_after: str | None,
    ending_before: str | None,
    expand: list[str] = (),
    renderer: Callable[[ApiObject], dict] | None = None,
) -> dict:
    """One page of Stripe's list envelope, newest first.

    ``expand`` paths here are the per-item paths (``data.`` already removed by the caller).
    """
    limit = 10 if limit is None else limit
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise errors.invalid("limit", f"Invalid limit: must be between 1 and {MAX_LIST_LIMIT}")
    if starting_after and ending_before:
        raise errors.invalid(
            "ending_before", "You may only specify one of these parameters: ending_before, starting_after."
        )
    queryset = queryset.order_by("-seq")
    if starting_after:
        cursor = _cursor(queryset, starting_after, "starting_after")
        rows = list(queryset.filter(seq__lt=cursor)[: limit + 1])
    elif ending_before:
        cursor = _cursor(queryset, ending_before, "ending_before")
        rows = list(queryset.filter(seq__gt=cursor).order_by("seq")[: limit + 1])
    else:
        rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    if ending_before:
        rows.reverse()
    render_one = renderer or (lambda obj: render(obj, expand=expand))
    return {"object": "list", "data": [render_one(obj) for obj in rows], "has_more": has_more, "url": url}


def _cursor(queryset: QuerySet[ApiObject], object_id: str, param: str) -> int:
    seq = queryset.model.objects.filter(stripe_id=object_id).values_list("seq", flat=True).first()
    if seq is None:
        raise errors.no_such("object", object_id, param=param)
    return seq


def list_of_dicts(items: list[dict], *, url: str) -> dict:
    """A complete list envelope for embedded lists (line items of one link or session)."""
    return {"object": "list", "data": items, "has_more": False, "url": url}
