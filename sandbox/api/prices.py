"""``/v1/prices``: create, retrieve, update (only the mutable fields), list."""

from __future__ import annotations

import copy

from stripe.params import PriceCreateParams, PriceListParams, PriceRetrieveParams, PriceUpdateParams

from sandbox import errors, limits, objects, store
from sandbox.api.common import created_filter, list_page
from sandbox.events import event_emit, previous_attributes
from sandbox.models import ApiObject
from sandbox.params import validate

MAX_UNIT_AMOUNT = limits.MAX_AMOUNT  # params.py refuses more first (amount_too_large); this adds the floor
# "Maximum of three years interval allowed (3 years, 36 months, or 156 weeks)"; days by the same rule.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}


def price_create(request, raw: dict) -> dict:
    params = validate(raw, PriceCreateParams)
    if not params.get("product") and not params.get("product_data"):
        raise errors.missing("product")
    if params.get("product") and params.get("product_data"):
        raise errors.invalid(
            "product_data", "You may only specify one of these parameters: product, product_data."
        )
    price = price_build(params=params)
    return store.render(price, expand=params.get("expand", []))


def price_build(
    *, params: dict, product_id: str | None = None, inline: bool = False, param_prefix: str = ""
) -> ApiObject:
    """Validate the pricing rules, create the product from ``product_data`` if given, store the price.

    ``inline`` prices (a payment link's ``price_data``) exist but are left out of ``GET /v1/prices``.
    """
    _check_amounts(params, prefix=param_prefix)
    if product_id is None and params.get("product"):
        product_id = store.get(
            type="product", object_id=params["product"], param=f"{param_prefix}product"
        ).stripe_id
    if product_id is None:
        from sandbox.api.products import product_create_from_data

        product_id = product_create_from_data(params["product_data"])
    data = objects.price(params, product_id=product_id)
    data["_inline"] = inline
    lookup_key = params.get("lookup_key") or ""
    if lookup_key:
        _claim_lookup_key(lookup_key, transfer=params.get("transfer_lookup_key", False), prefix=param_prefix)
    price = store.create(object_id=data["id"], type="price", data=data, parent=product_id, key=lookup_key)
    event_emit(type="price.created", obj=price.data)
    return price


def _check_amounts(params: dict, *, prefix: str) -> None:
    tiered = params.get("billing_scheme") == "tiered"
    amount_fields = [f for f in ("unit_amount", "unit_amount_decimal", "custom_unit_amount") if f in params]
    if tiered:
        if not params.get("tiers"):
            raise errors.missing(f"{prefix}tiers")
        if not params.get("tiers_mode"):
            raise errors.missing(f"{prefix}tiers_mode")
        if amount_fields:
            raise errors.invalid(
                f"{prefix}{amount_fields[0]}",
                f"You may not specify {amount_fields[0]} with billing_scheme=tiered.",
            )
        if params.get("transform_quantity"):
            raise errors.invalid(
                f"{prefix}transform_quantity", "Cannot combine transform_quantity with tiers."
            )
        _check_tiers(params["tiers"], prefix=prefix)
    else:
        for field in ("tiers", "tiers_mode"):
            if field in params:
                raise errors.invalid(
                    f"{prefix}{field}", f"You may only specify {field} with billing_scheme=tiered."
                )
        if not amount_fields:
            raise errors.missing(f"{prefix}unit_amount")
        if len(amount_fields) > 1:
            raise errors.invalid(
                f"{prefix}{amount_fields[1]}",
                f"You may only specify one of these parameters: {', '.join(amount_fields)}.",
            )
    amount = params.get("unit_amount")
    if amount is not None and not 0 <= amount <= MAX_UNIT_AMOUNT:
        raise errors.invalid(
            f"{prefix}unit_amount",
            f"This value must be greater than or equal to 0 and less than or equal to {MAX_UNIT_AMOUNT} "
            f"(it currently is '{amount}').",
        )
    _check_custom_unit_amount(params, prefix=prefix)
    _check_recurring(params.get("recurring"), prefix=prefix)
    transform = params.get("transform_quantity")
    if transform and transform["divide_by"] < 1:
        raise errors.invalid(
            f"{prefix}transform_quantity[divide_by]", "divide_by must be a positive integer."
        )


def _check_tiers(tiers: list[dict], *, prefix: str) -> None:
    previous = 0
    for index, tier in enumerate(tiers):
        name = f"{prefix}tiers[{index}]"
        last = index == len(tiers) - 1
        if tier["up_to"] == "inf":
            if not last:
                raise errors.invalid(f"{name}[up_to]", "Only the last tier may have up_to=inf.")
        elif last:
            raise errors.invalid(f"{name}[up_to]", "The last tier must have up_to=inf.")
        elif int(tier["up_to"]) <= previous:
            raise errors.invalid(f"{name}[up_to]", "Tiers must be in ascending order of up_to.")
        else:
            previous = int(tier["up_to"])
        if not any(
            k in tier for k in ("unit_amount", "unit_amount_decimal", "flat_amount", "flat_amount_decimal")
        ):
            raise errors.missing(f"{name}[unit_amount]")


def _check_custom_unit_amount(params: dict, *, prefix: str) -> None:
    custom = params.get("custom_unit_amount")
    if not custom:
        return
    name = f"{prefix}custom_unit_amount"
    if not custom["enabled"]:
        raise errors.invalid(f"{name}[enabled]", "custom_unit_amount[enabled] must be true.")
    if params.get("recurring"):
        raise errors.invalid(name, "custom_unit_amount is not supported for recurring prices.")
    minimum, maximum, preset = custom.get("minimum"), custom.get("maximum"), custom.get("preset")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise errors.invalid(f"{name}[minimum]", "minimum must be less than or equal to maximum.")
    if preset is not None and (
        (minimum is not None and preset < minimum) or (maximum is not None and preset > maximum)
    ):
        raise errors.invalid(f"{name}[preset]", "preset must be between minimum and maximum.")


def _check_recurring(recurring: dict | None, *, prefix: str) -> None:
    if not recurring:
        return
    count = recurring.get("interval_count", 1)
    limit = MAX_INTERVAL_COUNT.get(recurring["interval"])
    if limit is None:
        raise errors.invalid(
            f"{prefix}recurring[interval]",
            "Invalid recurring[interval]: must be one of day, month, week, or year",
        )
    if not 1 <= count <= limit:
        raise errors.invalid(
            f"{prefix}recurring[interval_count]",
            "Maximum of three years interval allowed (3 years, 36 months, or 156 weeks).",
        )


def _claim_lookup_key(lookup_key: str, *, transfer: bool, prefix: str, exclude: str | None = None) -> None:
    holders = ApiObject.objects.select_for_update().filter(type="price", key=lookup_key)
    if exclude:
        holders = holders.exclude(stripe_id=exclude)
    for holder in holders:
        if not transfer:
            raise errors.invalid(
                f"{prefix}lookup_key",
                f"A price (`{holder.stripe_id}`) already uses that lookup key. "
                "Use `transfer_lookup_key` to move it.",
            )
        before = copy.deepcopy(holder.data)
        holder.data["lookup_key"] = None
        holder.key = ""
        store.save(holder)
        event_emit(type="price.updated", obj=holder.data, previous=previous_attributes(before, holder.data))


def price_retrieve(request, raw: dict, price_id: str) -> dict:
    params = validate(raw, PriceRetrieveParams)
    return store.render(store.get(type="price", object_id=price_id), expand=params.get("expand", []))


def price_update(request, raw: dict, price_id: str) -> dict:
    params = validate(raw, PriceUpdateParams)
    price = store.locked(type="price", object_id=price_id)
    before = copy.deepcopy(price.data)
    data = price.data
    if "active" in params:
        data["active"] = params["active"]
    if "nickname" in params:
        data["nickname"] = params["nickname"] or None
    if "metadata" in params:
        data["metadata"] = objects.apply_metadata(data["metadata"], params["metadata"])
    if "tax_behavior" in params:
        if (
            data["tax_behavior"] in ("inclusive", "exclusive")
            and params["tax_behavior"] != data["tax_behavior"]
        ):
            raise errors.invalid(
                "tax_behavior", "tax_behavior cannot be changed once it is set to inclusive or exclusive."
            )
        data["tax_behavior"] = params["tax_behavior"]
    if "lookup_key" in params:
        key = params["lookup_key"]
        if key:
            _claim_lookup_key(
                key, transfer=params.get("transfer_lookup_key", False), prefix="", exclude=price_id
            )
        data["lookup_key"] = key or None
        price.key = key
    previous = previous_attributes(before, data)
    if previous:
        store.save(price)
        event_emit(type="price.updated", obj=data, previous=previous)
    return store.render(price, expand=params.get("expand", []))


def price_list(request, raw: dict) -> dict:
    params = validate(raw, PriceListParams)
    queryset = ApiObject.objects.filter(type="price", data___inline=False)
    queryset = created_filter(queryset, params.get("created"))
    # "Returns a list of your active prices … For the list of inactive prices, set active to false."
    if "active" in params:
        queryset = queryset.filter(data__active=params["active"])
    if params.get("product"):
        queryset = queryset.filter(parent=params["product"])
    if params.get("currency"):
        queryset = queryset.filter(data__currency=params["currency"].lower())
    if params.get("type"):
        queryset = queryset.filter(data__type=params["type"])
    if params.get("lookup_keys"):
        queryset = queryset.filter(key__in=params["lookup_keys"])
    if params.get("recurring", {}).get("interval"):
        queryset = queryset.filter(data__recurring__interval=params["recurring"]["interval"])
    return list_page(queryset, params, url="/v1/prices", kind="price")
