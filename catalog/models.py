"""The merchant's catalog, mirrored from Stripe: Stripe is the source of truth, these rows are our copy.

Money is an integer in the currency's minor unit (cents; yen for zero-decimal currencies).
``stripe_event_created`` holds the ``created`` time of the newest Stripe event applied to the row, so
an older event delivered late never overwrites newer state.
"""

from __future__ import annotations

from django.core.validators import MaxLengthValidator, MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog import limits
from catalog.durations import delivery_estimate_text
from config.models import TimeStampedModel

# Stripe's limits (catalog/limits.py) as validators: full_clean() refuses what Stripe would.
_AMOUNT = [MaxValueValidator(limits.MAX_AMOUNT)]
_COUNT = [MaxValueValidator(limits.MAX_COUNT)]
_CURRENCY = [limits.validate_currency]


class Product(TimeStampedModel):
    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    name = models.CharField(_("name"), max_length=limits.PRODUCT_NAME_MAX_LENGTH)
    description = models.TextField(
        _("description"),
        blank=True,
        validators=[MaxLengthValidator(limits.PRODUCT_DESCRIPTION_MAX_LENGTH)],
    )
    active = models.BooleanField(_("active"), default=True)
    images = models.JSONField(_("images"), default=list, blank=True)
    tax_code = models.CharField(_("tax code"), max_length=64, blank=True)
    unit_label = models.CharField(
        _("unit label"), max_length=limits.PRODUCT_UNIT_LABEL_MAX_LENGTH, blank=True
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    stripe_event_created = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The catalog list: newest first, filtered by active.
            models.Index(fields=["active", "-created_at"], name="product_active_created"),
        ]

    def __str__(self) -> str:
        return self.name


class Price(TimeStampedModel):
    class Type(models.TextChoices):
        ONE_TIME = "one_time", _("One-off")
        RECURRING = "recurring", _("Recurring")

    class BillingScheme(models.TextChoices):
        PER_UNIT = "per_unit", _("Per unit")
        TIERED = "tiered", _("Tiered")

    class TiersMode(models.TextChoices):
        GRADUATED = "graduated", _("Graduated")
        VOLUME = "volume", _("Volume")

    class Interval(models.TextChoices):
        DAY = "day", _("Day")
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")
        YEAR = "year", _("Year")

    class TaxBehavior(models.TextChoices):
        UNSPECIFIED = "unspecified", _("Unspecified")
        INCLUSIVE = "inclusive", _("Inclusive")
        EXCLUSIVE = "exclusive", _("Exclusive")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    currency = models.CharField(_("currency"), max_length=3, validators=_CURRENCY)
    unit_amount = models.PositiveBigIntegerField(_("unit amount"), null=True, blank=True, validators=_AMOUNT)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.ONE_TIME)
    billing_scheme = models.CharField(
        _("billing scheme"), max_length=16, choices=BillingScheme.choices, default=BillingScheme.PER_UNIT
    )
    recurring_interval = models.CharField(_("interval"), max_length=8, choices=Interval.choices, blank=True)
    recurring_interval_count = models.PositiveIntegerField(
        _("interval count"), null=True, blank=True, validators=_COUNT
    )
    tiers_mode = models.CharField(_("tiers mode"), max_length=16, choices=TiersMode.choices, blank=True)
    # Stripe's own shapes, kept as Stripe returns them: [{"up_to": 10 | null, "unit_amount": ..,
    # "flat_amount": ..}], {"divide_by": .., "round": "up"|"down"},
    # {"minimum": .., "maximum": .., "preset": ..}.
    tiers = models.JSONField(_("tiers"), null=True, blank=True, validators=[limits.validate_tiers])
    transform_quantity = models.JSONField(
        _("package"), null=True, blank=True, validators=[limits.validate_transform_quantity]
    )
    custom_unit_amount = models.JSONField(
        _("customer chooses price"), null=True, blank=True, validators=[limits.validate_custom_unit_amount]
    )
    tax_behavior = models.CharField(
        _("tax behaviour"), max_length=16, choices=TaxBehavior.choices, default=TaxBehavior.UNSPECIFIED
    )
    lookup_key = models.CharField(_("lookup key"), max_length=limits.PRICE_LOOKUP_KEY_MAX_LENGTH, blank=True)
    nickname = models.CharField(_("nickname"), max_length=limits.PRICE_NICKNAME_MAX_LENGTH, blank=True)
    active = models.BooleanField(_("active"), default=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    stripe_event_created = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.nickname or f"{self.product.name} ({self.stripe_id})"

    @property
    def is_recurring(self) -> bool:
        return self.type == self.Type.RECURRING

    @property
    def is_customer_chooses(self) -> bool:
        return self.custom_unit_amount is not None


class ShippingRate(TimeStampedModel):
    """A Stripe shipping rate (``shr_…``): a fixed amount for the whole order, offered at checkout."""

    class TaxBehavior(models.TextChoices):
        UNSPECIFIED = "unspecified", _("Unspecified")
        INCLUSIVE = "inclusive", _("Inclusive")
        EXCLUSIVE = "exclusive", _("Exclusive")

    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    display_name = models.CharField(_("name"), max_length=limits.SHIPPING_RATE_NAME_MAX_LENGTH)
    amount = models.PositiveBigIntegerField(_("amount"), validators=_AMOUNT)
    currency = models.CharField(_("currency"), max_length=3, validators=_CURRENCY)
    # Stripe's shape: {"minimum": {"unit": "business_day", "value": 2}, "maximum": {...}} or null.
    delivery_estimate = models.JSONField(
        _("delivery estimate"), null=True, blank=True, validators=[limits.validate_delivery_estimate]
    )
    tax_behavior = models.CharField(
        _("tax behaviour"), max_length=16, choices=TaxBehavior.choices, default=TaxBehavior.UNSPECIFIED
    )
    active = models.BooleanField(_("active"), default=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    stripe_event_created = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def delivery_estimate_text(self) -> str:
        """``2–4 business days``, in the page's language; ``""`` without an estimate."""
        return delivery_estimate_text(self.delivery_estimate)


class Coupon(TimeStampedModel):
    """A Stripe coupon: a discount customers reach through a promotion code (payment links take no coupon)."""

    class Duration(models.TextChoices):
        ONCE = "once", _("Once")
        REPEATING = "repeating", _("For some months")
        FOREVER = "forever", _("Forever")

    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    name = models.CharField(_("name"), max_length=limits.COUPON_NAME_MAX_LENGTH, blank=True)
    percent_off = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.PositiveBigIntegerField(_("amount off"), null=True, blank=True, validators=_AMOUNT)
    currency = models.CharField(_("currency"), max_length=3, blank=True, validators=_CURRENCY)
    duration = models.CharField(_("duration"), max_length=16, choices=Duration.choices, default=Duration.ONCE)
    duration_in_months = models.PositiveIntegerField(_("months"), null=True, blank=True, validators=_COUNT)
    max_redemptions = models.PositiveIntegerField(
        _("redemption limit"), null=True, blank=True, validators=_COUNT
    )
    redeem_by = models.DateTimeField(_("redeem by"), null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0, validators=_COUNT)
    valid = models.BooleanField(_("valid"), default=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    stripe_event_created = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.stripe_id


class PromotionCode(TimeStampedModel):
    """A customer-facing code (``promo_…``) for a coupon, entered at checkout or pre-filled in a link URL."""

    stripe_id = models.CharField(_("Stripe ID"), max_length=255, unique=True)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="promotion_codes")
    code = models.CharField(_("code"), max_length=limits.PROMOTION_CODE_MAX_LENGTH)
    active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(
        _("redemption limit"), null=True, blank=True, validators=_COUNT
    )
    first_time_transaction = models.BooleanField(_("first order only"), default=False)
    minimum_amount = models.PositiveBigIntegerField(
        _("minimum order"), null=True, blank=True, validators=_AMOUNT
    )
    minimum_amount_currency = models.CharField(max_length=3, blank=True, validators=_CURRENCY)
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0, validators=_COUNT)
    stripe_event_created = models.PositiveBigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code
