"""Catalog forms: plain forms that validate input and turn it into the services' arguments."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from catalog import limits
from catalog.models import Coupon, Price
from catalog.money import CURRENCY_CHOICES, currency_exponent, format_money, to_minor_units
from config.listing import DESCENDING, ListFilterForm, SortColumn
from config.stripe_calls import TOKEN_RE, new_request_token

TOO_MANY_DECIMALS = _("%(currency)s amounts have at most %(places)s decimal places.")
NO_DECIMALS = _("%(currency)s amounts have no decimals.")
DATE_IN_PAST = _("Choose today or a later date.")
FORM_TAMPERED = _("Part of this form was missing or altered. Reload the page and try again.")
ACTIVE_OR_ARCHIVED = [("", _("All")), ("true", _("Active")), ("false", _("Archived"))]
TIERS_TOO_FEW = _("Add at least one tier.")
TIERS_TOO_MANY = ngettext_lazy(
    "A price has at most %(num)d tier.", "A price has at most %(num)d tiers.", "num"
)


class RequestTokenField(forms.CharField):
    """A hidden token set when the form is first shown: the same save retried keeps the same token,
    so its Stripe call carries the same idempotency key and never creates a second object."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(initial=new_request_token, validators=[RegexValidator(TOKEN_RE)], **kwargs)


def amount_to_minor(form: forms.Form, field: str, amount: Decimal | None, currency: str) -> int | None:
    """Check the decimals allowed by ``currency`` and convert to minor units (errors go to ``field``)."""
    if amount is None or not currency:
        return None
    places = currency_exponent(currency)
    if -amount.normalize().as_tuple().exponent > places:
        message = NO_DECIMALS if places == 0 else TOO_MANY_DECIMALS
        form.add_error(field, message % {"currency": currency.upper(), "places": places})
        return None
    minor = to_minor_units(amount, currency)
    if minor > limits.MAX_AMOUNT:
        form.add_error(field, limits.AMOUNT_TOO_LARGE % {"max": format_money(limits.MAX_AMOUNT, currency)})
        return None
    return minor


class CheckedFormSet(forms.BaseFormSet):
    """A formset whose broken management data (a count that is not a number, negative, missing) is
    a plain error above its rows; Django already instantiates at most ``absolute_max`` rows whatever
    TOTAL_FORMS says. ``add_error`` puts a service's error about the whole formset with Django's own."""

    default_error_messages = {"missing_management_form": FORM_TAMPERED}
    counts_broken: bool = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.added_errors: list[forms.ValidationError] = []

    def full_clean(self):
        super().full_clean()
        counts = self.management_form.cleaned_data if self.is_bound else {}
        self.counts_broken = self.is_bound and (
            not self.management_form.is_valid() or min(counts["TOTAL_FORMS"], counts["INITIAL_FORMS"]) < 0
        )

    def kept_forms(self) -> list[forms.Form]:
        """The rows filled in and not marked for removal, in order: what the services receive, and what
        their errors' row numbers count."""
        if not self.is_bound:
            return []
        return [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]

    def add_error(self, errors) -> None:
        """Add errors about the formset as a whole found after its validation (a service's answer)."""
        self.added_errors.extend(forms.ValidationError(errors).error_list)

    def non_form_errors(self):
        errors = super().non_form_errors()
        if not self.counts_broken and not self.added_errors:
            return errors
        # With broken counts, the one error worth showing: Django would say "too few forms" instead.
        tampered = [forms.ValidationError(FORM_TAMPERED, code="missing_management_form")]
        shown = tampered if self.counts_broken else errors.as_data()
        return self.error_class([*shown, *self.added_errors], error_class="nonform", renderer=self.renderer)


def with_one_more_row(data, *, prefix: str, absolute_max: int):
    """A copy of ``data`` with one more row in the formset ``prefix`` (the "add a row" buttons).

    A count that is not a number, negative or already past the maximum is left as sent, for the
    formset to report."""
    data = data.copy()
    key = f"{prefix}-TOTAL_FORMS"
    try:
        total = int(data.get(key) or 0)
    except ValueError:
        return data
    if 0 <= total < absolute_max:
        data[key] = str(total + 1)
    return data


class ShopCurrencyDefault:
    """A new object's currency fields start at the shop's currency (``shop_currency``), not at "usd"."""

    currency_fields: tuple[str, ...] = ("currency",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            from catalog.selectors import shop_currency

            currency = shop_currency()
            for name in self.currency_fields:
                self.fields[name].initial = currency


class PriceForm(ShopCurrencyDefault, forms.Form):
    """A flat price: amount in major units (10.50), converted to Stripe's minor units (1050)."""

    unit_amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=16, decimal_places=3)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="usd")
    type = forms.ChoiceField(
        label=_("Billing"), choices=Price.Type.choices, initial=Price.Type.ONE_TIME, widget=forms.RadioSelect
    )
    interval = forms.ChoiceField(
        label=_("Every"),
        required=False,
        choices=[("", _("—"))] + Price.Interval.choices,
        help_text=_("For a recurring price."),
    )
    interval_count = forms.IntegerField(
        label=_("Number of intervals"),
        required=False,
        min_value=1,
        max_value=limits.MAX_COUNT,
        initial=1,
        help_text=_("For example 3 with “month”: charged every three months."),
    )
    tax_behavior = forms.ChoiceField(
        label=_("Tax behaviour"),
        choices=Price.TaxBehavior.choices,
        initial=Price.TaxBehavior.UNSPECIFIED,
        help_text=_("Once inclusive or exclusive, Stripe never lets it change."),
    )
    request_token = RequestTokenField()

    def clean(self):
        data = super().clean()
        currency = data.get("currency", "")
        data["unit_amount"] = amount_to_minor(self, "unit_amount", data.get("unit_amount"), currency)
        if data.get("type") == Price.Type.RECURRING and not data.get("interval"):
            self.add_error("interval", _("Choose how often a recurring price is charged."))
        if data.get("type") == Price.Type.ONE_TIME:
            data["interval"], data["interval_count"] = "", None
        return data

    def price_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "currency": data["currency"],
            "unit_amount": data["unit_amount"],
            "interval": data["interval"],
            "interval_count": data["interval_count"],
            "tax_behavior": data["tax_behavior"],
            "request_token": data["request_token"],
        }


class ProductCreateForm(PriceForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=limits.PRODUCT_NAME_MAX_LENGTH,
        help_text=_("Shown to customers at checkout."),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=limits.PRODUCT_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    field_order = ["name", "description"]

    def service_kwargs(self) -> dict:
        return {
            "name": self.cleaned_data["name"],
            "description": self.cleaned_data["description"],
            **self.price_kwargs(),
        }


# A catalog is a few hundred rows: its lists sort in memory, without an index per sort.


class ProductFilterForm(ListFilterForm):
    q = forms.CharField(label=_("Search"), required=False, widget=forms.SearchInput)
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_OR_ARCHIVED)
    sorts = {
        "name": SortColumn(_("Name"), ("name", "id")),
        "prices": SortColumn(_("Prices"), ("prices_count", "id"), first=DESCENDING),
        "created": SortColumn(_("Created"), ("created_at", "id"), first=DESCENDING),
        "updated": SortColumn(_("Updated"), ("updated_at", "id"), first=DESCENDING),
    }
    default_sort = "-created"

    def filters(self) -> dict:
        data = self.values
        return {
            "query": data["q"].strip(),
            "active": _as_bool(data["active"]),
            "order_by": self.order_by(),
        }


class CouponFilterForm(ListFilterForm):
    q = forms.CharField(label=_("Search by name or id"), required=False, widget=forms.SearchInput)
    valid = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("true", _("Valid")), ("false", _("Expired"))],
    )
    sorts = {
        "name": SortColumn(_("Coupon"), ("name", "stripe_id")),
        "redeemed": SortColumn(_("Redeemed"), ("times_redeemed", "id"), first=DESCENDING),
        "created": SortColumn(_("Created"), ("created_at", "id"), first=DESCENDING),
    }
    default_sort = "-created"

    def filters(self) -> dict:
        data = self.values
        return {"query": data["q"].strip(), "valid": _as_bool(data["valid"]), "order_by": self.order_by()}


class PromotionCodeFilterForm(ListFilterForm):
    q = forms.CharField(label=_("Search by code"), required=False, widget=forms.SearchInput)
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("true", _("Active")), ("false", _("Inactive"))],
    )
    sorts = {
        "code": SortColumn(_("Code"), ("code", "id")),
        "redeemed": SortColumn(_("Redeemed"), ("times_redeemed", "id"), first=DESCENDING),
        "created": SortColumn(_("Created"), ("created_at", "id"), first=DESCENDING),
    }
    default_sort = "-created"

    def filters(self) -> dict:
        data = self.values
        return {"query": data["q"].strip(), "active": _as_bool(data["active"]), "order_by": self.order_by()}


class ShippingRateFilterForm(ListFilterForm):
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_OR_ARCHIVED)
    sorts = {
        "name": SortColumn(_("Name"), ("display_name", "id")),
        "amount": SortColumn(_("Amount"), ("currency", "amount", "id")),
        "created": SortColumn(_("Created"), ("created_at", "id"), first=DESCENDING),
    }
    default_sort = "-created"

    def filters(self) -> dict:
        return {"active": _as_bool(self.values["active"]), "order_by": self.order_by()}


def _as_bool(value: str) -> bool | None:
    """A status filter's value: "" (all), "true" or "false"."""
    return {"true": True, "false": False}.get(value)


class ShippingRateForm(ShopCurrencyDefault, forms.Form):
    display_name = forms.CharField(
        label=_("Name"),
        max_length=limits.SHIPPING_RATE_NAME_MAX_LENGTH,
        help_text=_("Shown to customers, e.g. “Express”."),
    )
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=16, decimal_places=3)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="usd")
    delivery_minimum = forms.IntegerField(
        label=_("Earliest delivery"), required=False, min_value=1, max_value=limits.MAX_COUNT
    )
    delivery_maximum = forms.IntegerField(
        label=_("Latest delivery"), required=False, min_value=1, max_value=limits.MAX_COUNT
    )
    delivery_unit = forms.ChoiceField(
        label=_("Delivery estimate in"),
        initial="business_day",
        choices=[
            ("business_day", _("business days")),
            ("day", _("days")),
            ("hour", _("hours")),
            ("week", _("weeks")),
            ("month", _("months")),
        ],
    )
    tax_behavior = forms.ChoiceField(
        label=_("Tax behaviour"), choices=Price.TaxBehavior.choices, initial=Price.TaxBehavior.UNSPECIFIED
    )
    request_token = RequestTokenField()

    def clean(self):
        data = super().clean()
        data["amount"] = amount_to_minor(self, "amount", data.get("amount"), data.get("currency", ""))
        return data


class PricingModel(models.TextChoices):
    STANDARD = "standard", _("Standard: one amount per unit")
    PACKAGE = "package", _("Package: an amount per pack of units")
    TIERED = "tiered", _("Tiered: the unit amount depends on the quantity")
    CUSTOMER_CHOOSES = "customer_chooses", _("Customer chooses the amount")


class TierForm(forms.Form):
    up_to = forms.IntegerField(
        label=_("Up to (units)"),
        required=False,
        min_value=1,
        max_value=limits.MAX_COUNT,
        help_text=_("Empty for the last tier: “and above”."),
    )
    unit_amount = forms.DecimalField(
        label=_("Per unit"), required=False, min_value=0, max_digits=16, decimal_places=3
    )
    flat_amount = forms.DecimalField(
        label=_("Flat fee"), required=False, min_value=0, max_digits=16, decimal_places=3
    )


class BaseTierFormSet(CheckedFormSet):
    default_error_messages = {"too_few_forms": TIERS_TOO_FEW, "too_many_forms": TIERS_TOO_MANY}


TierFormSet = forms.formset_factory(
    TierForm, formset=BaseTierFormSet, extra=0, min_num=1, max_num=50, absolute_max=50, validate_min=True
)


class PriceCreateForm(PriceForm):
    """Any pricing model Stripe offers; the model's own fields are shown for the one chosen."""

    pricing_model = forms.ChoiceField(
        label=_("Pricing model"),
        choices=PricingModel.choices,
        initial=PricingModel.STANDARD,
        widget=forms.RadioSelect,
    )
    package_size = forms.IntegerField(
        label=_("Units per package"), required=False, min_value=2, max_value=limits.MAX_COUNT
    )
    package_round = forms.ChoiceField(
        label=_("Partial packages"),
        required=False,
        initial="up",
        choices=[("up", _("Round up (charge a whole package)")), ("down", _("Round down"))],
    )
    tiers_mode = forms.ChoiceField(
        label=_("Tiers apply"),
        required=False,
        initial="graduated",
        choices=[
            ("graduated", _("Graduated: each unit at its tier's price")),
            ("volume", _("Volume: every unit at the price of the tier reached")),
        ],
    )
    custom_minimum = forms.DecimalField(
        label=_("Minimum"), required=False, min_value=0, max_digits=16, decimal_places=3
    )
    custom_maximum = forms.DecimalField(
        label=_("Maximum"), required=False, min_value=0, max_digits=16, decimal_places=3
    )
    custom_preset = forms.DecimalField(
        label=_("Suggested amount"), required=False, min_value=0, max_digits=16, decimal_places=3
    )
    nickname = forms.CharField(
        label=_("Nickname"),
        required=False,
        max_length=limits.PRICE_NICKNAME_MAX_LENGTH,
        help_text=_("Only your staff see it."),
    )
    lookup_key = forms.CharField(
        label=_("Lookup key"), required=False, max_length=limits.PRICE_LOOKUP_KEY_MAX_LENGTH
    )

    field_order = ["pricing_model", "currency"]

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["unit_amount"].required = False
        if data is not None and "add_tier" in data:
            data = with_one_more_row(data, prefix="tiers", absolute_max=TierFormSet.absolute_max)
        # The tier table is only on the page once "tiered" was chosen: until then, start it afresh.
        has_tiers = data is not None and "tiers-TOTAL_FORMS" in data
        self.tiers = TierFormSet(data if has_tiers else None, prefix="tiers")

    @property
    def model(self) -> str:
        value = self["pricing_model"].value()
        return value if value in PricingModel.values else PricingModel.STANDARD

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if self.model != PricingModel.TIERED:
            return valid
        if not self.tiers.is_bound:  # saved before the tier table was shown
            self.add_error(None, TIERS_TOO_FEW)
            return False
        valid = self.tiers.is_valid() and valid
        if valid:
            self.cleaned_tiers = self._tiers()  # converts amounts; a currency's decimals are checked here
            valid = not any(form.errors for form in self.tiers.forms)
        return valid

    def clean(self):
        data = super().clean()
        currency, model = data.get("currency", ""), data.get("pricing_model")
        if (
            model in (PricingModel.STANDARD, PricingModel.PACKAGE)
            and data.get("unit_amount") is None
            and "unit_amount" not in self.errors
        ):
            self.add_error("unit_amount", _("Enter the amount."))
        if model == PricingModel.PACKAGE and not data.get("package_size"):
            self.add_error("package_size", _("Enter how many units a package holds."))
        for name in ("custom_minimum", "custom_maximum", "custom_preset"):
            data[name] = amount_to_minor(self, name, data.get(name), currency)
        return data

    def price_kwargs(self) -> dict:
        data, model = self.cleaned_data, self.cleaned_data["pricing_model"]
        kwargs = {**super().price_kwargs(), "nickname": data["nickname"], "lookup_key": data["lookup_key"]}
        if model == PricingModel.PACKAGE:
            kwargs["transform_quantity"] = {
                "divide_by": data["package_size"],
                "round": data["package_round"] or "up",
            }
        elif model == PricingModel.TIERED:
            kwargs.update(
                unit_amount=None, tiers_mode=data["tiers_mode"] or "graduated", tiers=self.cleaned_tiers
            )
        elif model == PricingModel.CUSTOMER_CHOOSES:
            kwargs.update(
                unit_amount=None,
                custom_unit_amount={
                    "minimum": data["custom_minimum"],
                    "maximum": data["custom_maximum"],
                    "preset": data["custom_preset"],
                },
            )
        return kwargs

    def _tiers(self) -> list[dict]:
        currency = self.cleaned_data["currency"]
        tiers = []
        for form in self.tiers.forms:
            row = form.cleaned_data
            if not row:
                continue
            tiers.append(
                {
                    "up_to": row.get("up_to"),
                    "unit_amount": amount_to_minor(form, "unit_amount", row.get("unit_amount"), currency),
                    "flat_amount": amount_to_minor(form, "flat_amount", row.get("flat_amount"), currency),
                }
            )
        return tiers


def _end_of_day(day) -> datetime | None:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC) if day else None


def _not_in_past(day):
    """Stripe refuses a ``redeem_by`` or ``expires_at`` in the past; the day runs to its end (UTC)."""
    if day and day < datetime.now(UTC).date():
        raise forms.ValidationError(DATE_IN_PAST, code="date_in_past")
    return day


class CouponForm(ShopCurrencyDefault, forms.Form):
    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=limits.COUPON_NAME_MAX_LENGTH,
        help_text=_("Shown to customers on receipts and invoices."),
    )
    kind = forms.ChoiceField(
        label=_("Discount"),
        widget=forms.RadioSelect,
        initial="percent",
        choices=[("percent", _("A percentage")), ("amount", _("A fixed amount"))],
    )
    percent_off = forms.DecimalField(
        label=_("Percent off"), required=False, min_value=Decimal("0.01"), max_value=100, decimal_places=2
    )
    amount_off = forms.DecimalField(
        label=_("Amount off"), required=False, min_value=0, max_digits=16, decimal_places=3
    )
    currency = forms.ChoiceField(
        label=_("Currency of the amount"), required=False, choices=CURRENCY_CHOICES, initial="usd"
    )
    duration = forms.ChoiceField(
        label=_("For subscriptions, applies"), choices=Coupon.Duration.choices, initial=Coupon.Duration.ONCE
    )
    duration_in_months = forms.IntegerField(
        label=_("Number of months"), required=False, min_value=1, max_value=limits.MAX_COUNT
    )
    max_redemptions = forms.IntegerField(
        label=_("Redemption limit"), required=False, min_value=1, max_value=limits.MAX_COUNT
    )
    redeem_by = forms.DateField(
        label=_("Redeemable until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    request_token = RequestTokenField()

    def clean(self):
        data = super().clean()
        if data.get("kind") == "percent":
            data["amount_off"], data["currency"] = None, ""
            if data.get("percent_off") is None and "percent_off" not in self.errors:
                self.add_error("percent_off", _("Enter the percentage."))
        else:
            data["percent_off"] = None
            if data.get("amount_off") is None and "amount_off" not in self.errors:
                self.add_error("amount_off", _("Enter the amount."))
            data["amount_off"] = amount_to_minor(
                self, "amount_off", data.get("amount_off"), data.get("currency", "")
            )
        return data

    def clean_redeem_by(self):
        return _not_in_past(self.cleaned_data["redeem_by"])

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("kind")
        data["redeem_by"] = _end_of_day(data["redeem_by"])
        return data


class PromotionCodeForm(ShopCurrencyDefault, forms.Form):
    currency_fields = ("minimum_amount_currency",)
    code = forms.CharField(
        label=_("Code"),
        required=False,
        max_length=limits.PROMOTION_CODE_MAX_LENGTH,
        validators=[RegexValidator(r"^[A-Za-z0-9-]+$", _("Use letters, digits and dashes only."))],
        help_text=_("What customers type, e.g. SPRING-25. Empty: Stripe makes one up."),
    )
    expires_at = forms.DateField(
        label=_("Expires after"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    max_redemptions = forms.IntegerField(
        label=_("Redemption limit"), required=False, min_value=1, max_value=limits.MAX_COUNT
    )
    first_time_transaction = forms.BooleanField(label=_("Only for a customer's first order"), required=False)
    minimum_amount = forms.DecimalField(
        label=_("Minimum order"), required=False, min_value=0, max_digits=16, decimal_places=3
    )
    minimum_amount_currency = forms.ChoiceField(
        label=_("Currency of the minimum"), required=False, choices=CURRENCY_CHOICES, initial="usd"
    )
    request_token = RequestTokenField()

    def clean_expires_at(self):
        return _not_in_past(self.cleaned_data["expires_at"])

    def clean(self):
        data = super().clean()
        data["minimum_amount"] = amount_to_minor(
            self, "minimum_amount", data.get("minimum_amount"), data.get("minimum_amount_currency", "")
        )
        return data

    def service_kwargs(self) -> dict:
        return {**self.cleaned_data, "expires_at": _end_of_day(self.cleaned_data["expires_at"])}


def parse_metadata(text: str) -> dict[str, str]:
    """``key: value`` lines → Stripe metadata (up to 50 keys; key ≤ 40 characters without brackets,
    value ≤ 500)."""
    metadata = {}
    for line in filter(None, (line.strip() for line in text.splitlines())):
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key or len(key) > 40 or "[" in key or "]" in key or len(value) > 500:
            raise forms.ValidationError(
                _(
                    "“%(line)s”: write “key: value”, the key up to 40 characters without "
                    "brackets, the value up to 500."
                )
                % {"line": line}
            )
        metadata[key] = value
    if len(metadata) > 50:
        raise forms.ValidationError(_("Stripe keeps at most 50 metadata keys."))
    return metadata


class ProductEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=limits.PRODUCT_NAME_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=limits.PRODUCT_DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    images = forms.CharField(
        label=_("Image URLs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One https:// address per line, up to 8; shown at checkout."),
    )
    tax_code = forms.CharField(
        label=_("Tax code"),
        required=False,
        max_length=64,
        help_text=_("A Stripe Tax code, e.g. txcd_99999999 (general tangible goods)."),
    )
    unit_label = forms.CharField(
        label=_("Unit label"),
        required=False,
        max_length=limits.PRODUCT_UNIT_LABEL_MAX_LENGTH,
        help_text=_("Shown after the quantity, e.g. “seat”."),
    )
    metadata = forms.CharField(
        label=_("Metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One “key: value” per line."),
    )

    @classmethod
    def initial_from(cls, product) -> dict:
        return {
            "name": product.name,
            "description": product.description,
            "images": "\n".join(product.images),
            "tax_code": product.tax_code,
            "unit_label": product.unit_label,
            "metadata": "\n".join(f"{k}: {v}" for k, v in product.metadata.items()),
        }

    def clean_images(self):
        urls = [line.strip() for line in self.cleaned_data["images"].splitlines() if line.strip()]
        if len(urls) > 8:
            raise forms.ValidationError(_("Stripe keeps at most 8 images."))
        validate = URLValidator(schemes=["https", "http"])
        for url in urls:
            validate(url)
        return urls

    def clean_metadata(self):
        return parse_metadata(self.cleaned_data["metadata"])
