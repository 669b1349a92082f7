"""``/v1/products``: create, retrieve, update, list, delete."""

from __future__ import annotations

import copy

from stripe.params import (
    ProductCreateParams,
    ProductDeleteParams,
    ProductListParams,
    ProductRetrieveParams,
    ProductUpdateParams,
)

from sandbox import clock, errors, objects, store
from sandbox.api.common import created_filter, list_page
from sandbox.events import event_emit, previous_attributes
from sandbox.models import ApiObject
from sandbox.params import validate

# Fields copied as given on update (``""`` clears those that may be cleared).
_SIMPLE_UPDATE_FIELDS = (
    "active",
    "description",
    "images",
    "name",
    "package_dimensions",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "unit_label",
    "url",
)


MAX_IMAGES = 8
MAX_MARKETING_FEATURES = 15


def _check_lists(params: dict) -> None:
    if len(params.get("images") or []) > MAX_IMAGES:
        raise errors.invalid("images", f"You can attach up to {MAX_IMAGES} images to a product.")
    if len(params.get("marketing_features") or []) > MAX_MARKETING_FEATURES:
        raise errors.invalid(
            "marketing_features", f"A product can have up to {MAX_MARKETING_FEATURES} marketing features."
        )


def product_create(request, raw: dict) -> dict:
    params = validate(raw, ProductCreateParams)
    _check_lists(params)
    data = objects.product(params)
    if ApiObject.objects.filter(stripe_id=data["id"]).exists():
        raise errors.ApiError("Product already exists.", code="resource_already_exists", param="id")
    product = store.create(object_id=data["id"], type="product", data=data)
    event_emit(type="product.created", obj=product.data)
    if params.get("default_price_data"):
        from sandbox.api.prices import price_build

        default = params["default_price_data"]
        price = price_build(params={**default, "product": product.stripe_id}, product_id=product.stripe_id)
        product.data["default_price"] = price.stripe_id
        store.save(product)
    return store.render(product, expand=params.get("expand", []))


def product_retrieve(request, raw: dict, product_id: str) -> dict:
    params = validate(raw, ProductRetrieveParams)
    return store.render(store.get(type="product", object_id=product_id), expand=params.get("expand", []))


def product_update(request, raw: dict, product_id: str) -> dict:
    params = validate(raw, ProductUpdateParams)
    _check_lists(params)
    product = store.locked(type="product", object_id=product_id)
    before = copy.deepcopy(product.data)
    data = product.data
    for field in _SIMPLE_UPDATE_FIELDS:
        if field in params:
            value = params[field]
            if field == "name" and value == "":
                raise errors.invalid("name", "You must supply a non-empty name.")
            data[field] = ([] if field == "images" else None) if value == "" else value
    if "marketing_features" in params:
        data["marketing_features"] = [{"name": f["name"]} for f in params["marketing_features"] or []]
    if "tax_details" in params:
        given = params["tax_details"]
        data["tax_details"] = (
            None
            if given == ""
            else {
                "performance_location": given.get("performance_location") or None,
                "tax_code": given.get("tax_code") or None,
            }
        )
    if "metadata" in params:
        data["metadata"] = objects.apply_metadata(data["metadata"], params["metadata"])
    if "default_price" in params:
        data["default_price"] = _default_price(params["default_price"], product_id=product_id)
    return _save_and_emit(product, before=before, expand=params.get("expand", []))


def _default_price(price_id: str, *, product_id: str) -> str | None:
    if price_id == "":
        return None
    price = store.get(type="price", object_id=price_id, param="default_price")
    if price.parent != product_id:
        raise errors.invalid("default_price", f"The price '{price_id}' does not belong to this product.")
    if not price.data["active"]:
        raise errors.invalid("default_price", f"The price '{price_id}' is not active.")
    return price_id


def _save_and_emit(product: ApiObject, *, before: dict, expand: list[str]) -> dict:
    previous = previous_attributes(before, product.data)
    if previous:
        product.data["updated"] = clock.now()
        store.save(product)
        event_emit(type="product.updated", obj=product.data, previous=previous)
    return store.render(product, expand=expand)


def product_list(request, raw: dict) -> dict:
    params = validate(raw, ProductListParams)
    queryset = created_filter(ApiObject.objects.filter(type="product"), params.get("created"))
    for field in ("active", "shippable", "type", "url"):
        if field in params:
            queryset = queryset.filter(**{f"data__{field}": params[field]})
    if params.get("ids"):
        queryset = queryset.filter(stripe_id__in=params["ids"])
    return list_page(queryset, params, url="/v1/products", kind="product")


def product_delete(request, raw: dict, product_id: str) -> dict:
    validate(raw, ProductDeleteParams)
    product = store.locked(type="product", object_id=product_id)
    if ApiObject.objects.filter(type="price", parent=product_id).exists():
        raise errors.ApiError(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    event_emit(type="product.deleted", obj=product.data)
    product.delete()
    return {"id": product_id, "object": "product", "deleted": True}


def product_create_from_data(product_data: dict) -> str:
    """The product made by a price's ``product_data`` (or a link's ``price_data[product_data]``)."""
    data = objects.product(product_data)
    if ApiObject.objects.filter(stripe_id=data["id"]).exists():
        raise errors.ApiError(
            "Product already exists.", code="resource_already_exists", param="product_data[id]"
        )
    product = store.create(object_id=data["id"], type="product", data=data)
    event_emit(type="product.created", obj=product.data)
    return product.stripe_id
