"""The order page's capture form: an amount in major units (30.00 EUR), as the project's other money inputs
take it, checked against the currency's decimals and the amount authorised."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.forms import RequestTokenField, amount_to_minor
from catalog.money import format_money, from_minor_units
from links.capture import capture_amount_refusal
from links.models import Order


class CaptureForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to capture"),
        max_digits=19,
        # In the page's language ("25,00" on a French page); the dot is understood in either.
        localize=True,
        error_messages={"required": _("Enter the amount to capture."), "invalid": _("Enter a number.")},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    # Set by the confirmation step's "Yes, capture": the first submit only shows what will happen.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    request_token = RequestTokenField()

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["amount"].initial = from_minor_units(order.amount_capturable, order.currency)
        self.fields["amount"].help_text = _(
            "In %(currency)s; at most %(authorised)s, the amount authorised. What is not captured is "
            "released to the customer."
        ) % {
            "currency": order.currency.upper(),
            "authorised": format_money(order.amount_capturable, order.currency),
        }

    def clean(self):
        data = super().clean()
        amount = amount_to_minor(self, "amount", data.get("amount"), self.order.currency)
        if amount is not None:
            refusal = capture_amount_refusal(order=self.order, amount=amount)
            if refusal:
                self.add_error("amount", refusal)
                amount = None
        data["amount_minor"] = amount
        return data


class CancelAuthorizationForm(forms.Form):
    request_token = RequestTokenField()
