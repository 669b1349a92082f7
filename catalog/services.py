"""Catalog writes: every create and update goes to Stripe first, then the local copy is stored from
what Stripe returned, in one transaction. A Stripe failure raises ``ValidationError`` keyed by field
and leaves nothing saved (no local row, and no Stripe object that a retry would duplicate: each call
carries an idempotency key derived from the form or the record).

Whatever brings Stripe's object (the API's answer to a form, a webhook event, the sync from Stripe), one
function per model stores it: ``<model>_sync_from_stripe``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, overload

from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from catalog.limits import MAX_AMOUNT
from catalog.models import Coupon, Price, Product, PromotionCode, ShippingRate
from config.stripe_calls import as_dict, idempotency_key, stripe_errors_as_validation
from config.stripe_client import get_stripe_client

# Stripe allows recurring intervals of at most three years.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}
INTERVAL_TOO_LONG = _("Stripe allows at most three years between payments (%(max)s for this interval).")
INTERVAL_REQUIRED = _("Choose how often a recurring price is charged.")
AMOUNT_TOO_LARGE = _("The amount must be at most 99,999,999 in the currency's smallest unit.")
TIERS_AND_PACKAGE = _("Package pricing cannot be combined with tiers.")
TIERS_REQUIRED = _("A tiered price needs at least one tier, the last one without an upper bound.")
TIERS_LAST_UNBOUNDED = _("The last tier must have no upper bound (“and above”).")
TIERS_ASCENDING = _("Each tier must end above the previous one.")
TIER_AMOUNT_REQUIRED = _("Each tier needs a unit amount, a flat amount or both.")
CUSTOM_RANGE = _("The minimum must not be above the maximum, and the preset must lie between them.")
CUSTOM_NOT_RECURRING = _("A price the customer chooses cannot be recurring.")

PRODUCT_PARAM_FIELDS = {
    "name": "name",
    "description": "description",
    "images": "images",
    "tax_code": "tax_code",
    "unit_label": "unit_label",
    "metadata": "metadata",
}
PRICE_PARAM_FIELDS = {
    "unit_amount": "unit_amount",
    "currency": "currency",
    "recurring": "interval",
    "recurring[interval_count]": "interval_count",
    "tiers": "tiers",
    "tiers_mode": "tiers_mode",
    "transform_quantity": "transform_quantity",
    "custom_unit_amount": "custom_unit_amount",
    "tax_behavior": "tax_behavior",
    "lookup_key": "lookup_key",
    "nickname": "nickname",
    "default_price_data[unit_amount]": "unit_amount",
    "default_price_data[currency]": "currency",
    "default_price_data[recurring]": "interval",
    "default_price_data[recurring][interval_count]": "interval_count",
}


def _recurring_validate(*, interval: str, interval_count: int | None) -> dict | None:
    if not interval:
        return None
    count = interval_count or 1
    if interval not in MAX_INTERVAL_COUNT:
        raise ValidationError({"interval": INTERVAL_REQUIRED})
    if count > MAX_INTERVAL_COUNT[interval]:
        raise ValidationError({"interval_count": INTERVAL_TOO_LONG % {"max": MAX_INTERVAL_COUNT[interval]}})
    return {"interval": interval, "interval_count": count}


def _amount_validate(amount: int | None, field: str = "unit_amount") -> None:
    if amount is not None and amount > MAX_AMOUNT:
        raise ValidationError({field: AMOUNT_TOO_LARGE})


# Products ----------------------------------------------------------------------------------------


def product_create_with_price(
    *,
    name: str,
    description: str = "",
    currency: str,
    unit_amount: int,
    interval: str = "",
    interval_count: int | None = None,
    tax_behavior: str = Price.TaxBehavior.UNSPECIFIED,
    request_token: str,
) -> Product:
    """Create a product and its first flat price in one Stripe call (``default_price_data``).

    Stripe creates both or neither; the two local rows are then stored in one transaction.
    """
    _amount_validate(unit_amount)
    price_data: dict = {"currency": currency.lower(), "unit_amount": unit_amount}
    recurring = _recurring_validate(interval=interval, interval_count=interval_count)
    if recurring:
        price_data["recurring"] = recurring
    if tax_behavior != Price.TaxBehavior.UNSPECIFIED:
        price_data["tax_behavior"] = tax_behavior
    params = {"name": name, "default_price_data": price_data, "expand": ["default_price"]}
    if description:
        params["description"] = description
    key = idempotency_key("product-create", token=request_token, params=params)
    with stripe_errors_as_validation({**PRODUCT_PARAM_FIELDS, **PRICE_PARAM_FIELDS}):
        stripe_product = as_dict(
            get_stripe_client().v1.products.create(params=params, options={"idempotency_key": key})
        )
    price_object = stripe_product.get("default_price")
    with transaction.atomic():
        product = product_sync_from_stripe(
            data={**stripe_product, "default_price": (price_object or {}).get("id")}
        )
        if isinstance(price_object, dict):
            price_sync_from_stripe(data=price_object, product=product)
    return product


def product_fields_from_stripe(data: dict, *, only: tuple[str, ...] | None = None) -> dict:
    """The product's columns (all, or ``only`` these) from Stripe's object, validated (StripeObjectInvalid
    if they do not fit)."""
    fields = {
        "name": data.get("name") or "",
        "description": data.get("description") or "",
        "active": bool(data.get("active", True)),
        "images": data.get("images") or [],
        "tax_code": _id_of(data.get("tax_code")) or "",
        "unit_label": data.get("unit_label") or "",
        "metadata": data.get("metadata") or {},
    }
    if only is not None:
        fields = {name: fields[name] for name in only}
    return stripe_fields_validate(Product, stripe_id=data["id"], fields=fields)


@overload
def product_sync_from_stripe(
    *,
    data: dict,
    event_created: int | None = ...,
    only: tuple[str, ...] | None = ...,
    create: Literal[True] = ...,
) -> Product: ...
@overload
def product_sync_from_stripe(
    *, data: dict, event_created: int | None = ..., only: tuple[str, ...] | None = ..., create: bool
) -> Product | None: ...
def product_sync_from_stripe(
    *,
    data: dict,
    event_created: int | None = None,
    only: tuple[str, ...] | None = None,
    create: bool = True,
) -> Product | None:
    """Store Stripe's product locally, by id: the one write path of a product, for the forms (with the
    API's answer), the ``product.*`` events and the sync from Stripe.

    ``only``: these columns and no others (a ``product.deleted`` event: ``active``). An event older than
    the one already applied changes nothing. ``create=False``: None if we have no such row. Raises
    StripeObjectInvalid, writing nothing, if the object does not fit. The post_save signal refreshes the
    search text of the links selling it (links/apps.py).
    """
    fields = product_fields_from_stripe(data, only=only)
    return _sync(Product, stripe_id=data["id"], fields=fields, event_created=event_created, create=create)


# Prices ------------------------------------------------------------------------------------------


def price_create(
    *,
    product: Product,
    currency: str,
    unit_amount: int | None = None,
    interval: str = "",
    interval_count: int | None = None,
    tiers_mode: str = "",
    tiers: list[dict] | None = None,
    transform_quantity: dict | None = None,
    custom_unit_amount: dict | None = None,
    tax_behavior: str = Price.TaxBehavior.UNSPECIFIED,
    lookup_key: str = "",
    nickname: str = "",
    request_token: str,
) -> Price:
    """Create a price of ``product`` in Stripe with any pricing model, then store it locally.

    Exactly one model applies: flat ``unit_amount`` (optionally with ``transform_quantity``, package
    pricing), ``tiers`` with ``tiers_mode``, or ``custom_unit_amount`` (the customer chooses).
    """
    params = {"product": product.stripe_id, "currency": currency.lower()}
    params.update(
        _pricing_params(
            unit_amount=unit_amount,
            tiers_mode=tiers_mode,
            tiers=tiers,
            transform_quantity=transform_quantity,
            custom_unit_amount=custom_unit_amount,
        )
    )
    recurring = _recurring_validate(interval=interval, interval_count=interval_count)
    if recurring and custom_unit_amount:
        raise ValidationError({"custom_unit_amount": CUSTOM_NOT_RECURRING})
    if recurring:
        params["recurring"] = recurring
    if tax_behavior != Price.TaxBehavior.UNSPECIFIED:
        params["tax_behavior"] = tax_behavior
    if lookup_key:
        params["lookup_key"] = lookup_key
    if nickname:
        params["nickname"] = nickname
    key = idempotency_key("price-create", token=request_token, params=params)
    with stripe_errors_as_validation(PRICE_PARAM_FIELDS):
        stripe_price = as_dict(
            get_stripe_client().v1.prices.create(params=params, options={"idempotency_key": key})
        )
    with transaction.atomic():
        return price_sync_from_stripe(data=stripe_price, product=product)


def _pricing_params(*, unit_amount, tiers_mode, tiers, transform_quantity, custom_unit_amount) -> dict:
    """Stripe's rules for the pricing model, checked before the call so errors land at the field."""
    if custom_unit_amount:
        minimum, maximum, preset = (custom_unit_amount.get(k) for k in ("minimum", "maximum", "preset"))
        for value in (minimum, maximum, preset):
            _amount_validate(value, "custom_unit_amount")
        low, high = minimum or 0, maximum if maximum is not None else MAX_AMOUNT
        if low > high or (preset is not None and not low <= preset <= high):
            raise ValidationError({"custom_unit_amount": CUSTOM_RANGE})
        given = {k: v for k, v in custom_unit_amount.items() if v is not None and k != "enabled"}
        return {"custom_unit_amount": {"enabled": True, **given}}
    if tiers is not None or tiers_mode:
        if transform_quantity:
            raise ValidationError({"transform_quantity": TIERS_AND_PACKAGE})
        _tiers_validate(tiers or [])
        return {
            "billing_scheme": "tiered",
            "tiers_mode": tiers_mode or "graduated",
            "tiers": [
                {
                    "up_to": tier["up_to"] if tier.get("up_to") is not None else "inf",
                    **{k: tier[k] for k in ("unit_amount", "flat_amount") if tier.get(k) is not None},
                }
                for tier in tiers
            ],
        }
    _amount_validate(unit_amount)
    params: dict = {"unit_amount": unit_amount or 0}
    if transform_quantity:
        params["transform_quantity"] = {
            "divide_by": transform_quantity["divide_by"],
            "round": transform_quantity.get("round", "up"),
        }
    return params


def _tiers_validate(tiers: list[dict]) -> None:
    if not tiers:
        raise ValidationError({"tiers": TIERS_REQUIRED})
    if tiers[-1].get("up_to") is not None:
        raise ValidationError({"tiers": TIERS_LAST_UNBOUNDED})
    previous = 0
    for tier in tiers:
        if tier.get("unit_amount") is None and tier.get("flat_amount") is None:
            raise ValidationError({"tiers": TIER_AMOUNT_REQUIRED})
        for amount in (tier.get("unit_amount"), tier.get("flat_amount")):
            _amount_validate(amount, "tiers")
        up_to = tier.get("up_to")
        if up_to is not None:
            if up_to <= previous:
                raise ValidationError({"tiers": TIERS_ASCENDING})
            previous = up_to
        elif tier is not tiers[-1]:
            raise ValidationError({"tiers": TIERS_LAST_UNBOUNDED})


# What Stripe lets change on a price after its creation: all that a ``price.updated`` event can bring.
PRICE_MUTABLE_FIELDS = ("active", "nickname", "lookup_key", "metadata", "tax_behavior")


def price_fields_from_stripe(data: dict, *, only: tuple[str, ...] | None = None) -> dict:
    """The price's columns (all, or ``only`` these) from Stripe's object, validated (StripeObjectInvalid if
    they do not fit), its product apart."""
    recurring = data.get("recurring") or {}
    fields = {
        "currency": data.get("currency") or "",
        "unit_amount": data.get("unit_amount"),
        "type": data.get("type") or Price.Type.ONE_TIME,
        "billing_scheme": data.get("billing_scheme") or Price.BillingScheme.PER_UNIT,
        "recurring_interval": recurring.get("interval") or "",
        "recurring_interval_count": recurring.get("interval_count"),
        "tiers_mode": data.get("tiers_mode") or "",
        "tiers": data.get("tiers"),
        "transform_quantity": data.get("transform_quantity"),
        "custom_unit_amount": data.get("custom_unit_amount"),
        "tax_behavior": data.get("tax_behavior") or Price.TaxBehavior.UNSPECIFIED,
        "lookup_key": data.get("lookup_key") or "",
        "nickname": data.get("nickname") or "",
        "active": bool(data.get("active", True)),
        "metadata": data.get("metadata") or {},
    }
    if only is not None:
        fields = {name: fields[name] for name in only}
    return stripe_fields_validate(Price, stripe_id=data["id"], fields=fields)


@overload
def price_sync_from_stripe(
    *,
    data: dict,
    product: Product | None = ...,
    event_created: int | None = ...,
    only: tuple[str, ...] | None = ...,
    create: Literal[True] = ...,
) -> Price: ...
@overload
def price_sync_from_stripe(
    *,
    data: dict,
    product: Product | None = ...,
    event_created: int | None = ...,
    only: tuple[str, ...] | None = ...,
    create: bool,
) -> Price | None: ...
def price_sync_from_stripe(
    *,
    data: dict,
    product: Product | None = None,
    event_created: int | None = None,
    only: tuple[str, ...] | None = None,
    create: bool = True,
) -> Price | None:
    """Store Stripe's price locally, by id: the one write path of a price, for the forms (with the API's
    answer), the ``price.*`` events and the sync from Stripe.

    ``only``: these columns and no others, its product left as it is (a ``price.updated`` event:
    PRICE_MUTABLE_FIELDS). An event older than the one already applied changes nothing. ``create=False``:
    None if we have no such row. Raises StripeObjectInvalid, writing nothing, if the object does not fit.
    """
    fields = price_fields_from_stripe(data, only=only)
    if only is None:
        if product is None:
            product = Product.objects.get(stripe_id=_id_of(data["product"]))
        fields = {"product": product, **fields}
    return _sync(Price, stripe_id=data["id"], fields=fields, event_created=event_created, create=create)


# Shared ------------------------------------------------------------------------------------------


def _id_of(value) -> str | None:
    """An expandable field: the id whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


class StripeObjectInvalid(ValidationError):
    """A Stripe object that Paylinks cannot store as it is (a name longer than its column, an amount out of
    range): the sync skips it and reports it, a webhook event carrying it fails without retries."""

    def __init__(self, error: ValidationError, *, model: type[models.Model], stripe_id: str) -> None:
        super().__init__(error.error_dict if hasattr(error, "error_dict") else error.error_list)
        self.model = model
        self.stripe_id = stripe_id

    @property
    def reason(self) -> str:
        """The errors on one line, each after the name of its field."""
        if not hasattr(self, "error_dict"):
            return " ".join(self.messages)
        return "; ".join(
            f"{self._label(name)}: {' '.join(messages)}" if name != NON_FIELD_ERRORS else " ".join(messages)
            for name, messages in self.message_dict.items()
        )

    def _label(self, name: str) -> str:
        try:
            return str(self.model._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            return name


def stripe_fields_validate(model: type[models.Model], *, stripe_id: str, fields: dict) -> dict:
    """``fields`` (a row's columns, as taken from the Stripe object ``stripe_id``) as the model's own field
    validators clean them, or StripeObjectInvalid: the one check that the sync from Stripe and the webhook
    handlers share, so the limits on the models' fields (catalog/limits.py) hold for both.

    Only these fields (a handler writes a few): not the relations, which Stripe ids fill, nor uniqueness,
    since the caller matches the row by its Stripe id.
    """
    row = model(**fields)
    exclude = [f.name for f in model._meta.concrete_fields if f.name not in fields or f.is_relation]
    try:
        row.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as error:
        raise StripeObjectInvalid(error, model=model, stripe_id=stripe_id) from None
    return {name: getattr(row, name) for name in fields}


def _sync(model, *, stripe_id: str, fields: dict, event_created: int | None, create: bool = True):
    """Update the row for ``stripe_id`` (or create it, if ``create``), unless a newer event was already
    applied to it.

    ``fields`` come from ``stripe_fields_validate``: the row is saved without another full_clean(). A row
    we have gets these columns only, so that an event carrying a few leaves the others as they are.
    """
    with transaction.atomic():
        obj = model.objects.select_for_update().filter(stripe_id=stripe_id).first()
        if obj is None and not create:
            return None
        if obj is None:
            obj = model(stripe_id=stripe_id)
        elif event_created is not None and (obj.stripe_event_created or 0) > event_created:
            return obj
        for name, value in fields.items():
            setattr(obj, name, value)
        if event_created is not None:
            obj.stripe_event_created = event_created
        if obj.pk is None:
            obj.save()
        else:
            obj.save(update_fields=[*fields, "stripe_event_created", "updated_at"])
        return obj


# Shipping rates ----------------------------------------------------------------------------------

SHIPPING_PARAM_FIELDS = {
    "display_name": "display_name",
    "fixed_amount[amount]": "amount",
    "fixed_amount[currency]": "currency",
    "fixed_amount": "amount",
    "delivery_estimate": "delivery_minimum",
    "tax_behavior": "tax_behavior",
}
DELIVERY_RANGE = _("The earliest delivery must not be after the latest.")


def shipping_rate_create(
    *,
    display_name: str,
    amount: int,
    currency: str,
    delivery_minimum: int | None = None,
    delivery_maximum: int | None = None,
    delivery_unit: str = "business_day",
    tax_behavior: str = "unspecified",
    request_token: str,
) -> ShippingRate:
    """Create a fixed-amount shipping rate in Stripe (the only type Stripe has), then store it."""
    _amount_validate(amount, "amount")
    if delivery_minimum and delivery_maximum and delivery_minimum > delivery_maximum:
        raise ValidationError({"delivery_maximum": DELIVERY_RANGE})
    params: dict = {
        "display_name": display_name,
        "type": "fixed_amount",
        "fixed_amount": {"amount": amount, "currency": currency.lower()},
    }
    estimate = {
        bound: {"unit": delivery_unit, "value": value}
        for bound, value in (("minimum", delivery_minimum), ("maximum", delivery_maximum))
        if value
    }
    if estimate:
        params["delivery_estimate"] = estimate
    if tax_behavior != "unspecified":
        params["tax_behavior"] = tax_behavior
    key = idempotency_key("shipping-rate-create", token=request_token, params=params)
    with stripe_errors_as_validation(SHIPPING_PARAM_FIELDS):
        data = as_dict(
            get_stripe_client().v1.shipping_rates.create(params=params, options={"idempotency_key": key})
        )
    return shipping_rate_sync_from_stripe(data=data)


def shipping_rate_sync_from_stripe(*, data: dict, event_created: int | None = None) -> ShippingRate:
    fixed = data.get("fixed_amount") or {}
    fields = {
        "display_name": data.get("display_name") or "",
        "amount": fixed.get("amount") or 0,
        "currency": fixed.get("currency") or "",
        "delivery_estimate": data.get("delivery_estimate"),
        "tax_behavior": data.get("tax_behavior") or "unspecified",
        "active": bool(data.get("active", True)),
        "metadata": data.get("metadata") or {},
    }
    fields = stripe_fields_validate(ShippingRate, stripe_id=data["id"], fields=fields)
    return _sync(ShippingRate, stripe_id=data["id"], fields=fields, event_created=event_created)


def shipping_rate_set_active(*, shipping_rate: ShippingRate, active: bool) -> ShippingRate:
    """Archive a rate (the link editor no longer offers it) or restore it. The same click retried (a double
    submit, a timeout) sends the same idempotency key."""
    key = idempotency_key(
        "shipping-rate-active",
        token=f"{shipping_rate.pk:032x}",
        params={"active": active, "at": shipping_rate.updated_at.isoformat()},
    )
    with stripe_errors_as_validation():
        data = as_dict(
            get_stripe_client().v1.shipping_rates.update(
                shipping_rate.stripe_id, params={"active": active}, options={"idempotency_key": key}
            )
        )
    return shipping_rate_sync_from_stripe(data=data)


# Coupons and promotion codes ---------------------------------------------------------------------

COUPON_PARAM_FIELDS = {
    "percent_off": "percent_off",
    "amount_off": "amount_off",
    "currency": "currency",
    "duration": "duration",
    "duration_in_months": "duration_in_months",
    "name": "name",
    "max_redemptions": "max_redemptions",
    "redeem_by": "redeem_by",
}
PROMOTION_PARAM_FIELDS = {
    "code": "code",
    "expires_at": "expires_at",
    "max_redemptions": "max_redemptions",
    "restrictions[minimum_amount]": "minimum_amount",
    "restrictions": "minimum_amount",
}
PERCENT_OR_AMOUNT = _("Give either a percent or an amount off, not both.")
MONTHS_REQUIRED = _("Say for how many months the discount repeats.")
AMOUNT_NEEDS_CURRENCY = _("An amount off needs a currency.")
TIMESTAMP_INVALID = _("Not a time Paylinks can store.")


def coupon_create(
    *,
    name: str = "",
    percent_off: Decimal | None = None,
    amount_off: int | None = None,
    currency: str = "",
    duration: str = Coupon.Duration.ONCE,
    duration_in_months: int | None = None,
    max_redemptions: int | None = None,
    redeem_by: datetime | None = None,
    request_token: str,
) -> Coupon:
    """Create a coupon in Stripe, then store it. Stripe never changes its discount afterwards."""
    if (percent_off is None) == (amount_off is None):
        raise ValidationError({"percent_off": PERCENT_OR_AMOUNT})
    if amount_off is not None and not currency:
        raise ValidationError({"currency": AMOUNT_NEEDS_CURRENCY})
    if duration == Coupon.Duration.REPEATING and not duration_in_months:
        raise ValidationError({"duration_in_months": MONTHS_REQUIRED})
    params: dict = {"duration": duration}
    if percent_off is not None:
        params["percent_off"] = float(percent_off)
    else:
        params.update(amount_off=amount_off, currency=currency.lower())
    if duration == Coupon.Duration.REPEATING:
        params["duration_in_months"] = duration_in_months
    optional = {
        "name": name,
        "max_redemptions": max_redemptions,
        "redeem_by": int(redeem_by.timestamp()) if redeem_by else None,
    }
    params.update({k: v for k, v in optional.items() if v})
    key = idempotency_key("coupon-create", token=request_token, params=params)
    with stripe_errors_as_validation(COUPON_PARAM_FIELDS):
        data = as_dict(get_stripe_client().v1.coupons.create(params=params, options={"idempotency_key": key}))
    return coupon_sync_from_stripe(data=data)


def coupon_sync_from_stripe(
    *, data: dict, event_created: int | None = None, create: bool = True
) -> Coupon | None:
    fields = {
        "name": data.get("name") or "",
        "amount_off": data.get("amount_off"),
        "currency": data.get("currency") or "",
        "percent_off": None if data.get("percent_off") is None else Decimal(str(data["percent_off"])),
        "duration": data.get("duration") or Coupon.Duration.ONCE,
        "duration_in_months": data.get("duration_in_months"),
        "max_redemptions": data.get("max_redemptions"),
        "redeem_by": _datetime(Coupon, data, "redeem_by"),
        "times_redeemed": data.get("times_redeemed") or 0,
        "valid": bool(data.get("valid", True)),
        "metadata": data.get("metadata") or {},
    }
    fields = stripe_fields_validate(Coupon, stripe_id=data["id"], fields=fields)
    return _sync(Coupon, stripe_id=data["id"], fields=fields, event_created=event_created, create=create)


def promotion_code_create(
    *,
    coupon: Coupon,
    code: str = "",
    expires_at: datetime | None = None,
    max_redemptions: int | None = None,
    first_time_transaction: bool = False,
    minimum_amount: int | None = None,
    minimum_amount_currency: str = "",
    request_token: str,
) -> PromotionCode:
    """Create a promotion code for ``coupon`` (Stripe generates the code when none is given)."""
    params: dict = {"promotion": {"type": "coupon", "coupon": coupon.stripe_id}}
    optional = {
        "code": code,
        "expires_at": int(expires_at.timestamp()) if expires_at else None,
        "max_redemptions": max_redemptions,
    }
    params.update({k: v for k, v in optional.items() if v})
    restrictions: dict = {}
    if first_time_transaction:
        restrictions["first_time_transaction"] = True
    if minimum_amount:
        restrictions.update(
            minimum_amount=minimum_amount, minimum_amount_currency=minimum_amount_currency.lower()
        )
    if restrictions:
        params["restrictions"] = restrictions
    key = idempotency_key("promotion-code-create", token=request_token, params=params)
    with stripe_errors_as_validation(PROMOTION_PARAM_FIELDS):
        data = as_dict(
            get_stripe_client().v1.promotion_codes.create(params=params, options={"idempotency_key": key})
        )
    return promotion_code_sync_from_stripe(data=data, coupon=coupon)


def promotion_code_set_active(*, promotion_code: PromotionCode, active: bool) -> PromotionCode:
    params = {"active": active}
    key = idempotency_key(
        "promotion-code-active",
        token=f"{promotion_code.pk:032x}",
        params={**params, "at": promotion_code.updated_at.isoformat()},
    )
    with stripe_errors_as_validation({"active": "active"}):
        data = as_dict(
            get_stripe_client().v1.promotion_codes.update(
                promotion_code.stripe_id, params=params, options={"idempotency_key": key}
            )
        )
    return promotion_code_sync_from_stripe(data=data, coupon=promotion_code.coupon)


def promotion_code_sync_from_stripe(
    *, data: dict, coupon: Coupon | None = None, event_created: int | None = None, create: bool = True
) -> PromotionCode | None:
    if coupon is None:
        coupon_id = _id_of((data.get("promotion") or {}).get("coupon"))
        coupon = Coupon.objects.filter(stripe_id=coupon_id).first()
        if coupon is None and not create:
            return None
        if coupon is None:
            raise Coupon.DoesNotExist(coupon_id)
    restrictions = data.get("restrictions") or {}
    fields = {
        "coupon": coupon,
        "code": data.get("code") or "",
        "active": bool(data.get("active", True)),
        "expires_at": _datetime(PromotionCode, data, "expires_at"),
        "max_redemptions": data.get("max_redemptions"),
        "first_time_transaction": bool(restrictions.get("first_time_transaction")),
        "minimum_amount": restrictions.get("minimum_amount"),
        "minimum_amount_currency": restrictions.get("minimum_amount_currency") or "",
        "times_redeemed": data.get("times_redeemed") or 0,
    }
    fields = stripe_fields_validate(PromotionCode, stripe_id=data["id"], fields=fields)
    return _sync(
        PromotionCode, stripe_id=data["id"], fields=fields, event_created=event_created, create=create
    )


def coupon_refresh_from_stripe(*, stripe_id: str, event_created: int | None = None) -> Coupon | None:
    """Fetch the coupon and store it, if Paylinks has it: its redemption count moves without a request of
    ours. A network call: never inside a transaction."""
    data = as_dict(get_stripe_client().v1.coupons.retrieve(stripe_id))
    return coupon_sync_from_stripe(data=data, event_created=event_created, create=False)


def promotion_code_refresh_from_stripe(
    *, stripe_id: str, event_created: int | None = None
) -> PromotionCode | None:
    """Fetch the promotion code with its coupon (one call) and store both, if Paylinks has them. Stripe
    sends ``promotion_code.updated`` when a checkout redeems the code (its ``times_redeemed`` in
    ``previous_attributes``), and no event for the coupon, whose count moves with it. A network call:
    never inside a transaction."""
    data = as_dict(
        get_stripe_client().v1.promotion_codes.retrieve(stripe_id, params={"expand": ["promotion.coupon"]})
    )
    coupon_data = (data.get("promotion") or {}).get("coupon")
    if isinstance(coupon_data, dict):
        coupon_sync_from_stripe(data=coupon_data, event_created=event_created, create=False)
    return promotion_code_sync_from_stripe(data=data, event_created=event_created, create=False)


def _datetime(model: type[models.Model], data: dict, key: str) -> datetime | None:
    """Stripe's Unix time at ``key`` as a datetime; one that no datetime holds makes the object invalid."""
    timestamp = data.get(key)
    if not timestamp:
        return None
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, TypeError, ValueError):
        error = ValidationError({key: TIMESTAMP_INVALID})
        raise StripeObjectInvalid(error, model=model, stripe_id=data["id"]) from None


# Import from Stripe ------------------------------------------------------------------------------


# The kinds of object a sync from Stripe imports, in its order, with their labels for its report.
SYNC_KINDS = {
    "products": _("Products"),
    "prices": _("Prices"),
    "shipping_rates": _("Shipping rates"),
    "coupons": _("Coupons"),
    "promotion_codes": _("Promotion codes"),
    "payment_links": _("Payment links"),
}
PRODUCT_NOT_IMPORTED = _("Its product %(id)s was not imported.")
COUPON_NOT_IMPORTED = _("Its coupon %(id)s was not imported.")


@dataclasses.dataclass
class SyncReport:
    """What a sync from Stripe stored, by kind (SYNC_KINDS), and what it skipped, each as
    ``{"kind", "id", "reason"}``: plain data, so that the report can wait in the session for the page."""

    imported: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(SYNC_KINDS, 0))
    skipped: list[dict[str, str]] = dataclasses.field(default_factory=list)

    def store(self, kind: str, sync: Callable[..., object], **arguments) -> None:
        """``sync(**arguments)``, one object's sync: one that Paylinks cannot store is noted as skipped."""
        try:
            sync(**arguments)
        except StripeObjectInvalid as error:
            self.skip(kind, stripe_id=error.stripe_id, reason=error.reason)
        else:
            self.imported[kind] += 1

    def skip(self, kind: str, *, stripe_id: str, reason: str) -> None:
        self.skipped.append({"kind": kind, "id": stripe_id, "reason": str(reason)})

    @property
    def rows(self) -> list[tuple[str, int, int]]:
        """(label, imported, skipped) for each kind, in SYNC_KINDS order."""
        skipped = Counter(item["kind"] for item in self.skipped)
        return [(str(label), self.imported.get(kind, 0), skipped[kind]) for kind, label in SYNC_KINDS.items()]

    @property
    def skipped_rows(self) -> list[tuple[str, str, str]]:
        """(label of the kind, Stripe id, reason) for each object skipped."""
        return [(str(SYNC_KINDS.get(i["kind"], i["kind"])), i["id"], i["reason"]) for i in self.skipped]


def catalog_import_from_stripe(*, report: SyncReport | None = None) -> SyncReport:
    """Copy the account's products, prices, shipping rates, coupons and promotion codes locally.

    Safe to repeat: rows are matched by Stripe id and updated. An object that Paylinks cannot store (see
    ``stripe_fields_validate``) is skipped and reported with the reason, and the others are imported.
    """
    report = report or SyncReport()
    client = get_stripe_client()
    with stripe_errors_as_validation():
        for active in (True, False):  # Stripe lists only active prices unless asked for archived ones
            for product in client.v1.products.list(
                params={"limit": 100, "active": active}
            ).auto_paging_iter():
                report.store("products", product_sync_from_stripe, data=as_dict(product))
        for active in (True, False):
            for price in client.v1.prices.list(params={"limit": 100, "active": active}).auto_paging_iter():
                data = as_dict(price)
                product_id = _id_of(data["product"])
                if Product.objects.filter(stripe_id=product_id).exists():
                    report.store("prices", price_sync_from_stripe, data=data)
                else:
                    report.skip(
                        "prices", stripe_id=data["id"], reason=PRODUCT_NOT_IMPORTED % {"id": product_id}
                    )
        for rate in client.v1.shipping_rates.list(params={"limit": 100}).auto_paging_iter():
            report.store("shipping_rates", shipping_rate_sync_from_stripe, data=as_dict(rate))
        for coupon in client.v1.coupons.list(params={"limit": 100}).auto_paging_iter():
            report.store("coupons", coupon_sync_from_stripe, data=as_dict(coupon))
        for code in client.v1.promotion_codes.list(params={"limit": 100}).auto_paging_iter():
            data = as_dict(code)
            coupon_id = _id_of((data.get("promotion") or {}).get("coupon"))
            if Coupon.objects.filter(stripe_id=coupon_id).exists():
                report.store("promotion_codes", promotion_code_sync_from_stripe, data=data)
            else:
                report.skip(
                    "promotion_codes", stripe_id=data["id"], reason=COUPON_NOT_IMPORTED % {"id": coupon_id}
                )
    return report


# Updates -----------------------------------------------------------------------------------------


def product_update(
    *,
    product: Product,
    name: str,
    description: str = "",
    images: list[str] | None = None,
    tax_code: str = "",
    unit_label: str = "",
    metadata: dict | None = None,
) -> Product:
    """Change what Stripe lets change on a product; cleared fields are sent as "" (Stripe's unset)."""
    metadata = metadata or {}
    params = {
        "name": name,
        "description": description,
        "images": images or "",
        "tax_code": tax_code,
        "unit_label": unit_label,
        # Keys no longer present are removed one by one ("" unsets a metadata key).
        "metadata": {**dict.fromkeys(product.metadata, ""), **metadata},
    }
    if not params["metadata"]:
        del params["metadata"]
    key = idempotency_key(
        "product-update", token=f"{product.pk:032x}", params={**params, "at": product.updated_at.isoformat()}
    )
    with stripe_errors_as_validation(PRODUCT_PARAM_FIELDS):
        data = as_dict(
            get_stripe_client().v1.products.update(
                product.stripe_id, params=params, options={"idempotency_key": key}
            )
        )
    return product_sync_from_stripe(data=data)


def product_set_active(*, product: Product, active: bool) -> Product:
    """Archive (no new links can use it; existing links keep working) or restore a product."""
    key = idempotency_key(
        "product-active",
        token=f"{product.pk:032x}",
        params={"active": active, "at": product.updated_at.isoformat()},
    )
    with stripe_errors_as_validation():
        data = as_dict(
            get_stripe_client().v1.products.update(
                product.stripe_id, params={"active": active}, options={"idempotency_key": key}
            )
        )
    return product_sync_from_stripe(data=data)


def price_set_active(*, price: Price, active: bool) -> Price:
    """Archive or restore a price: Stripe's way to "change" an amount is a new price and the old archived."""
    key = idempotency_key(
        "price-active",
        token=f"{price.pk:032x}",
        params={"active": active, "at": price.updated_at.isoformat()},
    )
    with stripe_errors_as_validation():
        data = as_dict(
            get_stripe_client().v1.prices.update(
                price.stripe_id, params={"active": active}, options={"idempotency_key": key}
            )
        )
    return price_sync_from_stripe(data=data, product=price.product)
