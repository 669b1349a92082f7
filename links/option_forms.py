"""The payment link editor's option groups: one form per group, one HTMX section per form.

Each group turns its fields into Stripe's create parameters (``to_params``) and back
(``initial_from``), so that what the merchant sees is exactly what Stripe receives; the limits are
Stripe's (see shared/reference/payment-links.md §1.3). Rules that span groups (a trial needs a
recurring price…) live in ``links.services``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from catalog import limits
from catalog.forms import CheckedFormSet, amount_to_minor, parse_metadata
from links.countries import SHIPPING_COUNTRIES

CHECKOUT_SESSION_ID = "{CHECKOUT_SESSION_ID}"
# RFC 3986 characters; braces only inside the {CHECKOUT_SESSION_ID} placeholder (checked separately).
URL_CHARACTERS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
ALPHANUMERIC = re.compile(r"^[A-Za-z0-9]+$")
ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]+$")

INVALID_URL_CHARACTERS = _(
    "The URL contains characters Stripe does not accept (spaces, quotes, braces…). "
    "Only {CHECKOUT_SESSION_ID} may use braces."
)
REDIRECT_URL_REQUIRED = _("Enter the address customers are sent to after paying.")

PAYMENT_METHOD_TYPES = [
    ("card", _("Cards")),
    ("link", _("Link")),
    ("paypal", _("PayPal")),
    ("sepa_debit", _("SEPA Direct Debit")),
    ("ideal", _("iDEAL")),
    ("bancontact", _("Bancontact")),
    ("klarna", _("Klarna")),
    ("afterpay_clearpay", _("Afterpay / Clearpay")),
    ("us_bank_account", _("US bank account")),
    ("alipay", _("Alipay")),
    ("wechat_pay", _("WeChat Pay")),
    ("eps", _("EPS")),
    ("p24", _("Przelewy24")),
    ("twint", _("TWINT")),
    ("cashapp", _("Cash App Pay")),
]


def invoice_custom_fields_from_lines(text: str) -> list[dict[str, str]]:
    """Parse “name: value” lines as Stripe's invoice custom fields (up to 4, name ≤ 40, value ≤ 140)."""
    fields = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value or len(name) > 40 or len(value) > 140:
            raise forms.ValidationError(
                _("“%(line)s”: write “name: value”, the name up to 40 characters, the value up to 140.")
                % {"line": line}
            )
        fields.append({"name": name, "value": value})
    if len(fields) > 4:
        raise forms.ValidationError(_("Stripe shows at most 4 custom fields on an invoice."))
    return fields


class OptionGroup(forms.Form):
    """One section of the editor. ``key`` is the form prefix and the section's id (``section-<key>``)."""

    key = ""
    title = ""

    def __init__(self, data=None, *, initial=None, link_currency: str = "usd", **kwargs):
        self.link_currency = link_currency
        super().__init__(data, prefix=self.key, initial=initial, use_required_attribute=False, **kwargs)

    @property
    def section(self) -> str:
        return self.key.replace("_", "-")

    def to_params(self) -> dict:
        raise NotImplementedError

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        return {}


class AfterCompletionForm(OptionGroup):
    key, title = "after_completion", _("After payment")
    type = forms.ChoiceField(
        label=_("After payment"),
        widget=forms.RadioSelect,
        initial="hosted_confirmation",
        required=False,
        choices=[
            ("hosted_confirmation", _("Show a confirmation page")),
            ("redirect", _("Redirect to your website")),
        ],
    )
    custom_message = forms.CharField(
        label=_("Confirmation message"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave empty for Stripe's default thank-you message."),
    )
    redirect_url = forms.CharField(
        label=_("Redirect URL"),
        required=False,
        max_length=2048,
        help_text=_(
            "Add {CHECKOUT_SESSION_ID} where your site expects the checkout session's id, e.g. "
            "https://example.com/thanks?session={CHECKOUT_SESSION_ID}"
        ),
    )

    def clean_redirect_url(self):
        url = self.cleaned_data["redirect_url"].strip()
        if not url:
            return url
        if not URL_CHARACTERS.match(url.replace(CHECKOUT_SESSION_ID, "")):
            raise forms.ValidationError(INVALID_URL_CHARACTERS)
        URLValidator(schemes=["http", "https"])(url.replace(CHECKOUT_SESSION_ID, "cs_test"))
        return url

    def clean(self):
        data = super().clean()
        if (
            data.get("type") == "redirect"
            and not data.get("redirect_url")
            and "redirect_url" not in self.errors
        ):
            self.add_error("redirect_url", REDIRECT_URL_REQUIRED)
        return data

    def to_params(self) -> dict:
        data = self.cleaned_data
        if data["type"] == "redirect":
            return {"after_completion": {"type": "redirect", "redirect": {"url": data["redirect_url"]}}}
        if data["custom_message"]:
            return {
                "after_completion": {
                    "type": "hosted_confirmation",
                    "hosted_confirmation": {"custom_message": data["custom_message"]},
                }
            }
        return {}

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        after = options.get("after_completion") or {}
        return {
            "type": after.get("type", "hosted_confirmation"),
            "custom_message": (after.get("hosted_confirmation") or {}).get("custom_message") or "",
            "redirect_url": (after.get("redirect") or {}).get("url") or "",
        }


class CheckoutForm(OptionGroup):
    key, title = "checkout", _("Checkout")
    allow_promotion_codes = forms.BooleanField(label=_("Allow promotion codes"), required=False)
    automatic_tax = forms.BooleanField(
        label=_("Calculate tax automatically (Stripe Tax)"),
        required=False,
        help_text=_("Stripe then collects the billing address it needs for tax."),
    )
    billing_address_collection = forms.ChoiceField(
        label=_("Billing address"),
        initial="auto",
        required=False,
        choices=[("auto", _("Only when needed")), ("required", _("Always collect"))],
    )
    phone_number_collection = forms.BooleanField(label=_("Collect the phone number"), required=False)
    tax_id_collection = forms.BooleanField(label=_("Let business customers enter a tax ID"), required=False)
    submit_type = forms.ChoiceField(
        label=_("Button label"),
        initial="auto",
        required=False,
        choices=[
            ("auto", _("Automatic")),
            ("pay", _("Pay")),
            ("book", _("Book")),
            ("donate", _("Donate")),
            ("subscribe", _("Subscribe")),
        ],
        help_text=_(
            "“Book” and “Donate” also change the link's address (book.stripe.com, donate.stripe.com)."
        ),
    )

    def to_params(self) -> dict:
        data, params = self.cleaned_data, {}
        if data["allow_promotion_codes"]:
            params["allow_promotion_codes"] = True
        if data["automatic_tax"]:
            params["automatic_tax"] = {"enabled": True}
        if data["billing_address_collection"] not in ("", "auto"):
            params["billing_address_collection"] = data["billing_address_collection"]
        if data["phone_number_collection"]:
            params["phone_number_collection"] = {"enabled": True}
        if data["tax_id_collection"]:
            params["tax_id_collection"] = {"enabled": True}
        if data["submit_type"] not in ("", "auto"):
            params["submit_type"] = data["submit_type"]
        return params

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        return {
            "allow_promotion_codes": bool(options.get("allow_promotion_codes")),
            "automatic_tax": bool((options.get("automatic_tax") or {}).get("enabled")),
            "billing_address_collection": options.get("billing_address_collection", "auto"),
            "phone_number_collection": bool((options.get("phone_number_collection") or {}).get("enabled")),
            "tax_id_collection": bool((options.get("tax_id_collection") or {}).get("enabled")),
            "submit_type": options.get("submit_type", "auto"),
        }


class ShippingForm(OptionGroup):
    key, title = "shipping", _("Shipping")
    countries = forms.MultipleChoiceField(
        label=_("Ship to these countries"),
        required=False,
        choices=SHIPPING_COUNTRIES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Customers enter a shipping address in one of them. None selected: no shipping address."),
    )
    shipping_rates = forms.MultipleChoiceField(
        label=_("Shipping options"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only for one-off payments; the first one is pre-selected."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from catalog.selectors import shipping_rate_choices

        self.fields["shipping_rates"].choices = shipping_rate_choices()

    def to_params(self) -> dict:
        params = {}
        if self.cleaned_data["countries"]:
            params["shipping_address_collection"] = {"allowed_countries": self.cleaned_data["countries"]}
        if self.cleaned_data["shipping_rates"]:
            params["shipping_options"] = [
                {"shipping_rate": rate} for rate in self.cleaned_data["shipping_rates"]
            ]
        return params

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        return {
            "countries": (options.get("shipping_address_collection") or {}).get("allowed_countries", []),
            "shipping_rates": [o["shipping_rate"] for o in options.get("shipping_options") or []],
        }


class SubscriptionForm(OptionGroup):
    key, title = "subscription", _("Subscription")
    trial_period_days = forms.IntegerField(
        label=_("Free trial (days)"),
        required=False,
        min_value=1,
        max_value=730,
        help_text=_("Empty for no trial."),
    )
    description = forms.CharField(
        label=_("Subscription description"),
        required=False,
        max_length=500,
        help_text=_("Shown on the customer's portal and invoices. Cannot be changed after creation."),
    )

    def to_params(self) -> dict:
        data, sub = self.cleaned_data, {}
        if data["trial_period_days"]:
            sub["trial_period_days"] = data["trial_period_days"]
        if data["description"]:
            sub["description"] = data["description"]
        return {"subscription_data": sub} if sub else {}

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        sub = options.get("subscription_data") or {}
        return {"trial_period_days": sub.get("trial_period_days"), "description": sub.get("description", "")}


class PaymentMethodsForm(OptionGroup):
    key, title = "payment_methods", _("Payment methods")
    payment_method_types = forms.MultipleChoiceField(
        label=_("Payment methods"),
        required=False,
        choices=PAYMENT_METHOD_TYPES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None selected: Stripe shows the methods enabled in your Stripe settings (recommended)."),
    )

    def to_params(self) -> dict:
        types = self.cleaned_data["payment_method_types"]
        return {"payment_method_types": types} if types else {}

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        return {"payment_method_types": options.get("payment_method_types") or []}


class ConsentForm(OptionGroup):
    key, title = "consent", _("Consent")
    terms_of_service = forms.BooleanField(
        label=_("Customers must accept your terms of service"),
        required=False,
        help_text=_("Your terms of service URL must be set in your Stripe settings."),
    )
    terms_text = forms.CharField(
        label=_("Text next to the terms checkbox"),
        required=False,
        max_length=1200,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    promotions = forms.BooleanField(
        label=_("Ask for consent to promotional e-mails"),
        required=False,
        help_text=_("Only available to US merchants and US customers."),
    )

    def clean(self):
        data = super().clean()
        if data.get("terms_text") and not data.get("terms_of_service"):
            self.add_error("terms_text", _("This text needs the terms of service to be required."))
        return data

    def to_params(self) -> dict:
        data, params, consent = self.cleaned_data, {}, {}
        if data["terms_of_service"]:
            consent["terms_of_service"] = "required"
        if data["promotions"]:
            consent["promotions"] = "auto"
        if consent:
            params["consent_collection"] = consent
        if data["terms_text"]:
            params["custom_text"] = {"terms_of_service_acceptance": {"message": data["terms_text"]}}
        return params

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        consent = options.get("consent_collection") or {}
        text = ((options.get("custom_text") or {}).get("terms_of_service_acceptance") or {}).get(
            "message", ""
        )
        return {
            "terms_of_service": consent.get("terms_of_service") == "required",
            "promotions": consent.get("promotions") == "auto",
            "terms_text": text,
        }


class CustomFieldForm(forms.Form):
    key = forms.CharField(
        label=_("Key"), max_length=200, help_text=_("Letters and digits, unique in the link.")
    )
    label = forms.CharField(
        label=_("Label"), max_length=50, help_text=_("Shown to customers as is (not translated).")
    )
    type = forms.ChoiceField(
        label=_("Type"),
        initial="text",
        required=False,
        choices=[("text", _("Text")), ("numeric", _("Numbers")), ("dropdown", _("Dropdown"))],
    )
    optional = forms.BooleanField(label=_("Optional"), required=False)
    options = forms.CharField(
        label=_("Dropdown options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, as “value: Label” (value in letters and digits); up to 200."),
    )
    default_value = forms.CharField(label=_("Default value"), required=False, max_length=255)

    def clean_key(self):
        key = self.cleaned_data["key"].strip()
        if not ALPHANUMERIC.match(key):
            raise forms.ValidationError(_("Use only letters and digits."))
        return key

    def clean_options(self):
        options = []
        for line in filter(None, (line.strip() for line in self.cleaned_data["options"].splitlines())):
            value, _sep, label = line.partition(":")
            value, label = value.strip(), (label.strip() or value.strip())
            if not ALPHANUMERIC.match(value) or len(value) > 100 or len(label) > 100:
                raise forms.ValidationError(
                    _(
                        "“%(line)s”: the value must be letters and digits (up to 100), "
                        "the label up to 100 characters."
                    )
                    % {"line": line}
                )
            options.append({"value": value, "label": label})
        if len(options) > 200:
            raise forms.ValidationError(_("A dropdown has at most 200 options."))
        if len({o["value"] for o in options}) != len(options):
            raise forms.ValidationError(_("Each option needs its own value."))
        return options

    def clean(self):
        data = super().clean()
        if data.get("type") == "dropdown":
            values = {o["value"] for o in data.get("options") or []}
            if "options" not in self.errors and not values:
                self.add_error("options", _("A dropdown needs at least one option."))
            if data.get("default_value") and values and data["default_value"] not in values:
                self.add_error("default_value", _("The default must be one of the options' values."))
        return data

    def clean_type(self):
        return self.cleaned_data["type"] or "text"

    def to_param(self) -> dict:
        data = self.cleaned_data
        field = {
            "key": data["key"],
            "label": {"type": "custom", "custom": data["label"]},
            "type": data["type"],
        }
        if data["optional"]:
            field["optional"] = True
        if data["type"] == "dropdown":
            field["dropdown"] = {"options": data["options"]}
            if data["default_value"]:
                field["dropdown"]["default_value"] = data["default_value"]
        elif data["default_value"]:
            field[data["type"]] = {"default_value": data["default_value"]}
        return field


class BaseCustomFieldFormSet(CheckedFormSet):
    key, title = "custom_fields", _("Custom fields")
    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "A link has at most %(num)d custom field.", "A link has at most %(num)d custom fields.", "num"
        )
    }

    def clean(self):
        super().clean()
        keys = [f.cleaned_data["key"] for f in self.kept_forms() if f.cleaned_data.get("key")]
        if len(keys) != len(set(keys)):
            raise forms.ValidationError(_("Each custom field needs its own key."))

    def to_params(self) -> dict:
        fields = [f.to_param() for f in self.kept_forms()]
        return {"custom_fields": fields} if fields else {}

    @classmethod
    def initial_from(cls, options: dict) -> list[dict]:
        initial = []
        for field in options.get("custom_fields") or []:
            kind = field["type"]
            sub = field.get(kind) or {}
            initial.append(
                {
                    "key": field["key"],
                    "label": field["label"]["custom"],
                    "type": kind,
                    "optional": field.get("optional", False),
                    "default_value": sub.get("default_value") or "",
                    "options": "\n".join(f"{o['value']}: {o['label']}" for o in sub.get("options", [])),
                }
            )
        return initial


CustomFieldFormSet = forms.formset_factory(
    CustomFieldForm,
    formset=BaseCustomFieldFormSet,
    extra=0,
    max_num=3,
    absolute_max=3,
    validate_max=True,
    can_delete=True,
)


class InvoiceForm(OptionGroup):
    key, title = "invoice", _("Invoice")
    enabled = forms.BooleanField(
        label=_("E-mail an invoice after payment"),
        required=False,
        help_text=_("For one-off payments (subscriptions always get invoices)."),
    )
    description = forms.CharField(label=_("Invoice description"), required=False, max_length=1500)
    footer = forms.CharField(
        label=_("Invoice footer"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    custom_fields = forms.CharField(
        label=_("Invoice custom fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "One “name: value” per line, up to 4, printed on the invoice (e.g. “Purchase order: 1234”)."
        ),
    )
    metadata = forms.CharField(
        label=_("Invoice metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One “key: value” per line, copied to each invoice."),
    )

    def clean_custom_fields(self):
        return invoice_custom_fields_from_lines(self.cleaned_data["custom_fields"])

    def clean_metadata(self):
        return parse_metadata(self.cleaned_data["metadata"])

    def to_params(self) -> dict:
        data = self.cleaned_data
        if not data["enabled"]:
            return {}
        invoice_data = {k: data[k] for k in ("description", "footer", "custom_fields", "metadata") if data[k]}
        return {
            "invoice_creation": {"enabled": True, **({"invoice_data": invoice_data} if invoice_data else {})}
        }

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        invoice = options.get("invoice_creation") or {}
        data = invoice.get("invoice_data") or {}
        return {
            "enabled": bool(invoice.get("enabled")),
            "description": data.get("description") or "",
            "footer": data.get("footer") or "",
            "custom_fields": "\n".join(f"{f['name']}: {f['value']}" for f in data.get("custom_fields") or []),
            "metadata": "\n".join(f"{k}: {v}" for k, v in (data.get("metadata") or {}).items()),
        }


class RestrictionsForm(OptionGroup):
    key, title = "restrictions", _("Limits")
    completed_sessions_limit = forms.IntegerField(
        label=_("Stop after this many payments"),
        required=False,
        min_value=1,
        max_value=limits.MAX_COUNT,
        help_text=_("The link deactivates itself when the limit is reached."),
    )
    inactive_message = forms.CharField(
        label=_("Message when the link is inactive"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def to_params(self) -> dict:
        data, params = self.cleaned_data, {}
        if data["completed_sessions_limit"]:
            params["restrictions"] = {"completed_sessions": {"limit": data["completed_sessions_limit"]}}
        if data["inactive_message"]:
            params["inactive_message"] = data["inactive_message"]
        return params

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        limit = ((options.get("restrictions") or {}).get("completed_sessions") or {}).get("limit")
        return {"completed_sessions_limit": limit, "inactive_message": options.get("inactive_message") or ""}


class CustomTextForm(OptionGroup):
    key, title = "custom_text", _("Custom texts")
    submit = forms.CharField(label=_("Text near the pay button"), required=False, max_length=1200)
    shipping_address = forms.CharField(
        label=_("Text near the shipping address"), required=False, max_length=1200
    )
    after_submit = forms.CharField(label=_("Text after the pay button"), required=False, max_length=1200)

    def to_params(self) -> dict:
        texts = {k: {"message": v} for k, v in self.cleaned_data.items() if v}
        return {"custom_text": texts} if texts else {}

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        texts = options.get("custom_text") or {}
        return {
            k: (texts.get(k) or {}).get("message", "") for k in ("submit", "shipping_address", "after_submit")
        }


class MetadataForm(OptionGroup):
    key, title = "metadata", _("Metadata")
    metadata = forms.CharField(
        label=_("Metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One “key: value” per line, up to 50. Stripe copies a payment link's metadata to its "
            "checkout sessions, not to the payment intent."
        ),
    )

    def clean_metadata(self):
        return parse_metadata(self.cleaned_data["metadata"])

    def to_params(self) -> dict:
        return {"metadata": self.cleaned_data["metadata"]} if self.cleaned_data["metadata"] else {}

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        return {"metadata": "\n".join(f"{k}: {v}" for k, v in (options.get("metadata") or {}).items())}


class ConnectForm(OptionGroup):
    key, title = "connect", _("Connect")
    application_fee_amount = forms.DecimalField(
        label=_("Application fee (amount)"),
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=3,
        help_text=_("One-off payments only."),
    )
    application_fee_percent = forms.DecimalField(
        label=_("Application fee (percent)"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text=_("Subscriptions only."),
    )
    on_behalf_of = forms.CharField(label=_("On behalf of (account)"), required=False, max_length=255)
    transfer_destination = forms.CharField(label=_("Transfer to (account)"), required=False, max_length=255)

    def clean(self):
        data = super().clean()
        for field in ("on_behalf_of", "transfer_destination"):
            if data.get(field) and not ACCOUNT_ID.match(data[field]):
                self.add_error(field, _("A connected account's id starts with acct_."))
        if data.get("application_fee_amount") is not None and data.get("application_fee_percent") is not None:
            self.add_error("application_fee_percent", _("Choose an amount or a percent, not both."))
        data["application_fee_amount"] = amount_to_minor(
            self, "application_fee_amount", data.get("application_fee_amount"), self.link_currency
        )
        return data

    def to_params(self) -> dict:
        data, params = self.cleaned_data, {}
        if data["application_fee_amount"] is not None:
            params["application_fee_amount"] = data["application_fee_amount"]
        if data["application_fee_percent"] is not None:
            params["application_fee_percent"] = float(data["application_fee_percent"])
        if data["on_behalf_of"]:
            params["on_behalf_of"] = data["on_behalf_of"]
        if data["transfer_destination"]:
            params["transfer_data"] = {"destination": data["transfer_destination"]}
        return params

    @classmethod
    def initial_from(cls, options: dict) -> dict:
        from catalog.money import from_minor_units

        fee = options.get("application_fee_amount")
        return {
            "application_fee_amount": None
            if fee is None
            else from_minor_units(fee, options.get("_currency", "usd")),
            "application_fee_percent": None
            if options.get("application_fee_percent") is None
            else Decimal(str(options["application_fee_percent"])),
            "on_behalf_of": options.get("on_behalf_of") or "",
            "transfer_destination": (options.get("transfer_data") or {}).get("destination") or "",
        }


OPTION_GROUPS: tuple[type[OptionGroup], ...] = (
    AfterCompletionForm,
    CheckoutForm,
    ShippingForm,
    SubscriptionForm,
    PaymentMethodsForm,
    ConsentForm,
    InvoiceForm,
    RestrictionsForm,
    CustomTextForm,
    MetadataForm,
    ConnectForm,
)
