"""Catalog forms: plain forms that validate input and turn it into the services' arguments."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from catalog.models import Price
from catalog.money import CURRENCY_CHOICES, currency_exponent, to_minor_units
from catalog.stripe_calls import TOKEN_RE

TOO_MANY_DECIMALS = _("%(currency)s amounts have at most %(places)s decimal places.")
NO_DECIMALS = _("%(currency)s amounts have no decimals.")


def new_request_token() -> str:
    return uuid.uuid4().hex


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
    return to_minor_units(amount, currency)


class PriceForm(forms.Form):
    """A flat price: amount in major units (10.50), converted to Stripe's minor units (1050)."""

    unit_amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=16, decimal_places=3)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="usd")
    type = forms.ChoiceField(
        label=_("Billing"), choices=Price.Type.choices, initial=Price.Type.ONE_TIME, widget=forms.RadioSelect
    )
    interval = forms.ChoiceField(
        label=_("Every"), required=False, choices=[("", _("—"))] + Price.Interval.choices,
        help_text=_("For a recurring price."),
    )
    interval_count = forms.IntegerField(
        label=_("Number of intervals"), required=False, min_value=1, initial=1,
        help_text=_("For example 3 with “month”: charged every three months."),
    )
    tax_behavior = forms.ChoiceField(
        label=_("Tax behaviour"), choices=Price.TaxBehavior.choices, initial=Price.TaxBehavior.UNSPECIFIED,
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
            "currency": data["currency"], "unit_amount": data["unit_amount"], "interval": data["interval"],
            "interval_count": data["interval_count"], "tax_behavior": data["tax_behavior"],
            "request_token": data["request_token"],
        }


class ProductCreateForm(PriceForm):
    name = forms.CharField(label=_("Name"), max_length=250, help_text=_("Shown to customers at checkout."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    field_order = ["name", "description"]

    def service_kwargs(self) -> dict:
        return {"name": self.cleaned_data["name"], "description": self.cleaned_data["description"],
                **self.price_kwargs()}


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    active = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("All")), ("true", _("Active")), ("false", _("Archived"))],
    )

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        active = self.cleaned_data["active"]
        return {"query": self.cleaned_data["q"].strip(), "active": None if active == "" else active == "true"}


class ShippingRateForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Shown to customers, e.g. “Express”."))
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=16, decimal_places=3)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES, initial="usd")
    delivery_minimum = forms.IntegerField(label=_("Earliest delivery"), required=False, min_value=1)
    delivery_maximum = forms.IntegerField(label=_("Latest delivery"), required=False, min_value=1)
    delivery_unit = forms.ChoiceField(
        label=_("Delivery estimate in"), initial="business_day",
        choices=[("business_day", _("business days")), ("day", _("days")), ("hour", _("hours")),
                 ("week", _("weeks")), ("month", _("months"))],
    )
    tax_behavior = forms.ChoiceField(
        label=_("Tax behaviour"), choices=Price.TaxBehavior.choices, initial=Price.TaxBehavior.UNSPECIFIED
    )
    request_token = RequestTokenField()

    def clean(self):
        data = super().clean()
        data["amount"] = amount_to_minor(self, "amount", data.get("amount"), data.get("currency", ""))
        return data
