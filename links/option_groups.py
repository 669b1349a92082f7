"""A payment link's options, one declaration per group: where each Stripe option is handled.

Each group is a section of the editor (``section-<key>``: its form fields and their checks) and declares
the Stripe parameters it writes (shared/reference/payment-links.md §1.3, §1.4):

- ``params_from(values)`` and ``values_from(params)``: the form's values (its ``cleaned_data``, and its
  ``initial``) to Stripe's create parameters, and back. The editor fills a group from a link's options
  with ``values_from``; the importer reads Stripe's link object the same way, then ``params_from``.
- ``unset``: each parameter it writes, with what an update sends when the merchant clears it.
- ``create_only``: its fields that Stripe fixes at creation (shown disabled when editing, kept by updates).
- ``param_fields``: the field that an error from Stripe about a parameter belongs to.
- ``check(params)``: Stripe's rules on the group's own parameters (the form checks them as the merchant
  types, the services again before calling Stripe); ``check_with_link(...)``: the rules that also need
  the line items or another group's parameters (the services check them before calling Stripe).
- ``summary_of(params)``: what the section sets, in a line of plain words (the editor shows it while the
  section is collapsed).

The editor (``links.editor``), the update diff and the importer (``links.services``) read only these
declarations, through the functions at the end of this module. A new option is a field in its group
and its entries there; a new group also goes in ``OPTION_FORMS`` (``OPTION_FORMSETS`` for a group of
rows) and gets its section in ``links/link_form.html``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator, URLValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from catalog import limits
from catalog.forms import CheckedFormSet, amount_to_minor, parse_metadata
from catalog.money import format_money, from_minor_units
from catalog.selectors import price_choices_for_links
from config.stripe_calls import field_for_param
from links.countries import shipping_country_choices
from links.forms import MAX_QUANTITY, PriceChoiceField

CHECKOUT_SESSION_ID = "{CHECKOUT_SESSION_ID}"
# RFC 3986 characters; braces only inside the {CHECKOUT_SESSION_ID} placeholder (checked separately).
URL_CHARACTERS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
ALPHANUMERIC = re.compile(r"^[A-Za-z0-9]+$")
ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]+$")
ACCOUNT_ID_INVALID = _("A connected account's id starts with acct_.")

INVALID_URL_CHARACTERS = _(
    "The URL contains characters Stripe does not accept (spaces, quotes, braces…). "
    "Only {CHECKOUT_SESSION_ID} may use braces."
)
REDIRECT_URL_REQUIRED = _("Enter the address customers are sent to after paying.")
SUBSCRIPTION_NEEDS_RECURRING = _(
    "A trial or subscription description needs a recurring price in the line items."
)
FEE_AMOUNT_NOT_RECURRING = _("Stripe allows a fee amount only when no line item is recurring; use a percent.")
FEE_PERCENT_NEEDS_RECURRING = _("Stripe allows a fee percent only with a recurring price; use an amount.")
SHIPPING_OPTIONS_NOT_RECURRING = _("Shipping options are only available for one-off payments.")
SHIPPING_RATE_CURRENCY = _("Each shipping rate must be in the link's currency (%(currency)s).")
INVOICE_NOT_RECURRING = _("Subscriptions always create invoices; this option is for one-off payments.")
SHIPPING_TEXT_NEEDS_ADDRESS = _("This text needs countries to ship to.")
PAYMENT_DETAILS_NOT_RECURRING = _(
    "These payment details are for one-off payments; a subscription takes its payments itself."
)
CUSTOMER_CREATION_NOT_RECURRING = _(
    "A subscription always creates its customer; this option is for one-off payments."
)
PAYMENT_METHOD_COLLECTION_NEEDS_RECURRING = _(
    "Subscribing without a payment method needs a recurring price in the line items."
)
TERMS_TEXT_NEEDS_TERMS = _("This text needs the terms of service to be required.")
TAX_LIABILITY_NEEDS_AUTOMATIC_TAX = _(
    "Choosing who is liable for tax needs tax to be calculated automatically."
)
TAX_LIABILITY_ACCOUNT_REQUIRED = _("Enter the connected account that is liable for tax.")
CUSTOM_FIELD_MAX_LENGTH = 255
CUSTOM_FIELD_LENGTHS = ("minimum_length", "maximum_length")
LENGTH_MAXIMUM_BELOW_MINIMUM = _("The maximum length must not be below the minimum length.")
DEFAULT_VALUE_LENGTH = _("The default value must fit the minimum and maximum lengths.")
TRANSFER_AMOUNT_NEEDS_DESTINATION = _("Enter the connected account the amount is transferred to.")
TRANSFER_AMOUNT_NOT_RECURRING = _(
    "A fixed amount to transfer is for one-off payments; a subscription transfers the whole payment."
)
INVOICE_ISSUER_ACCOUNT_REQUIRED = _("Enter the connected account that issues the invoices.")
TRIAL_END_NEEDS_TRIAL = _("This applies only when a free trial ends: enter the trial's days.")
TAX_ID_REQUIRED_NEEDS_COLLECTION = _("Requiring a tax ID needs customers to be able to enter one.")
# [SDK] payment link create `optional_items`: "There is a maximum of 10 optional items".
MAX_OPTIONAL_ITEMS = 10
OPTIONAL_ITEM_PRICE_REQUIRED = _("Choose the price of the item customers may add.")
OPTIONAL_ITEM_DUPLICATE = _("Each optional item needs its own price.")
OPTIONAL_ITEM_CURRENCY = _("An optional item must be in the link's currency (%(currency)s).")
OPTIONAL_ITEM_RECURRING = _(
    "A recurring price can be added only to a subscription (a recurring price in the line items); "
    "choose a one-off price."
)
OPTIONAL_ITEM_CUSTOMER_CHOOSES = _("A price the customer chooses cannot be offered as an optional item.")
QUANTITY_MAXIMUM_BELOW_MINIMUM = _("The maximum must not be below the minimum.")
QUANTITY_OUTSIDE_BOUNDS = _(
    "The quantity must be between the minimum (%(minimum)s) and the maximum (%(maximum)s)."
)

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


class KeyByKey:
    """The unset value of a map that Stripe's update merges key by key (metadata, custom texts,
    subscription data): an update sends each key the merchant removed as ``""``, or as its value in
    ``removed`` where Stripe takes no ``""`` for it (its default instead)."""

    def __init__(self, *, whole: object = None, **removed):
        # ``whole``: what an update sends when the merchant removed the whole map, where Stripe refuses
        # its keys as "" (``transfer_data``'s destination); None: each key as above.
        self.whole = whole
        self.removed = removed

    def unset(self, key: str):
        return self.removed.get(key, "")

    def __repr__(self) -> str:
        if self.whole is None and not self.removed:
            return "KEY_BY_KEY"
        return f"KEY_BY_KEY(whole={self.whole!r}, {self.removed!r})"


KEY_BY_KEY = KeyByKey()


def _id(value) -> str:
    """An expandable field's id (Stripe sends the whole object when it was expanded)."""
    return value["id"] if isinstance(value, dict) else value


def sentence(parts: list) -> str:
    """Parts of a summary as one line: "Promotion codes, phone number"."""
    text = ", ".join(str(part) for part in parts)
    return text[:1].upper() + text[1:]


def errors_to_correct(count: int) -> str:
    return ngettext("%(count)d error to correct", "%(count)d errors to correct", count) % {"count": count}


# Fields written as lines -------------------------------------------------------------------------


class LinesField(forms.CharField):
    """A list or a map that the merchant writes one item per line (``parse`` reads the text, ``lines``
    writes a value back), so that the form's value is Stripe's."""

    def parse(self, text: str):
        raise NotImplementedError

    def lines(self, value) -> str:
        raise NotImplementedError

    def to_python(self, value):
        text = super().to_python(value)
        # On the text: the parsed value would hide a NUL from CharField's own check.
        ProhibitNullCharactersValidator()(text)
        return self.parse(text)

    def prepare_value(self, value):
        return value if value is None or isinstance(value, str) else self.lines(value)

    def has_changed(self, initial, data):
        # Compared as values: no initial value is an empty one (a row added and left empty is unchanged).
        return super().has_changed(initial or self.parse(""), data)


class MetadataField(LinesField):
    """Stripe metadata as “key: value” lines."""

    def parse(self, text: str) -> dict[str, str]:
        return parse_metadata(text)

    def lines(self, value: dict) -> str:
        return "\n".join(f"{key}: {item}" for key, item in value.items())


class InvoiceCustomFieldsField(LinesField):
    """An invoice's custom fields as “name: value” lines (up to 4, name ≤ 40, value ≤ 140)."""

    def parse(self, text: str) -> list[dict[str, str]]:
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

    def lines(self, value: list) -> str:
        return "\n".join(f"{field['name']}: {field['value']}" for field in value)


class DropdownOptionsField(LinesField):
    """A dropdown's options as “value: Label” lines (the label defaults to the value)."""

    def parse(self, text: str) -> list[dict[str, str]]:
        options = []
        for line in filter(None, (line.strip() for line in text.splitlines())):
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

    def lines(self, value: list) -> str:
        return "\n".join(f"{option['value']}: {option['label']}" for option in value)


# The declarations ---------------------------------------------------------------------------------


class OptionDeclaration:
    """What every option group declares (see the module docstring); the defaults declare nothing."""

    key = ""
    title = ""
    # Stripe parameter → what an update sends when the merchant clears it: "" unsets most, Stripe's
    # default the others, KEY_BY_KEY a map that Stripe merges.
    unset: dict[str, object] = {}
    # Field → the parameter it fills ("<param>.<key>"), which Stripe fixes at creation.
    create_only: dict[str, str] = {}
    # Stripe's ``param`` in an error (it and its sub-parameters) → this group's field, "" for the section.
    param_fields: dict[str, str] = {}

    @classmethod
    def params_from(cls, values):
        raise NotImplementedError

    @classmethod
    def values_from(cls, params: dict):
        raise NotImplementedError

    @classmethod
    def check(cls, params: dict) -> dict[str, str]:
        """Errors (``{field: message}``, "" for the section) on the group's own parameters."""
        return {}

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        """Errors that depend on the link's line items (recurring or not, their currency) or on another
        group's parameters, read from the whole ``options``."""
        return {}


class OptionGroup(OptionDeclaration, forms.Form):
    """One section of the editor. ``key`` is the form prefix and the section's id (``section-<key>``)."""

    def __init__(self, data=None, *, initial=None, link_currency: str = "usd", **kwargs):
        self.link_currency = link_currency
        # The link's parameters before a subclass turns its initial values into the fields' (Connect's fee).
        self.initial_params = self.params_from(initial) if initial else {}
        super().__init__(data, prefix=self.key, initial=initial, use_required_attribute=False, **kwargs)

    def summary(self) -> str:
        """What the section sets, in a line of plain words (shown while it is collapsed)."""
        if not self.is_bound:
            return self.summary_of(self.initial_params)
        if self.errors:
            return errors_to_correct(len(self.errors))
        return self.summary_of(self.to_params())

    def summary_of(self, params: dict) -> str:
        raise NotImplementedError

    @property
    def section(self) -> str:
        return self.key.replace("_", "-")

    def to_params(self) -> dict:
        return self.params_from(self.cleaned_data)

    def full_clean(self):
        super().full_clean()
        if self.is_bound and not self.errors:
            for field, message in self.check(self.to_params()).items():
                self.add_error(field or None, message)


class AfterCompletionForm(OptionGroup):
    key, title = "after_completion", _("After payment")
    unset = {"after_completion": {"type": "hosted_confirmation"}}
    param_fields = {
        "after_completion[redirect][url]": "redirect_url",
        "after_completion[hosted_confirmation]": "custom_message",
        "after_completion": "type",
    }

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

    @classmethod
    def params_from(cls, values: dict) -> dict:
        if values["type"] == "redirect":
            return {"after_completion": {"type": "redirect", "redirect": {"url": values["redirect_url"]}}}
        if values["custom_message"]:
            return {
                "after_completion": {
                    "type": "hosted_confirmation",
                    "hosted_confirmation": {"custom_message": values["custom_message"]},
                }
            }
        return {}

    @classmethod
    def values_from(cls, params: dict) -> dict:
        after = params.get("after_completion") or {}
        return {
            "type": after.get("type") or "hosted_confirmation",
            "custom_message": (after.get("hosted_confirmation") or {}).get("custom_message") or "",
            "redirect_url": (after.get("redirect") or {}).get("url") or "",
        }

    def summary_of(self, params: dict) -> str:
        after = params.get("after_completion") or {}
        if after.get("type") == "redirect":
            url = after["redirect"]["url"]
            return _("Sends customers to %(site)s") % {"site": urlsplit(url).netloc or url}
        if after:
            return _("Shows a confirmation page with your message")
        return _("Shows Stripe's confirmation page")


class CheckoutForm(OptionGroup):
    key, title = "checkout", _("Checkout")
    unset = {
        "allow_promotion_codes": False,
        "automatic_tax": {"enabled": False},
        "billing_address_collection": "auto",
        "phone_number_collection": {"enabled": False},
        "tax_id_collection": {"enabled": False},
        "submit_type": "auto",
        "customer_creation": "if_required",
    }
    param_fields = {name: name for name in unset} | {
        "tax_id_collection[required]": "tax_id_required",
        "automatic_tax[liability]": "tax_liability",
        "automatic_tax[liability][account]": "tax_liability_account",
    }

    allow_promotion_codes = forms.BooleanField(label=_("Allow promotion codes"), required=False)
    automatic_tax = forms.BooleanField(
        label=_("Calculate tax automatically (Stripe Tax)"),
        required=False,
        help_text=_("Stripe then collects the billing address it needs for tax."),
    )
    tax_liability = forms.ChoiceField(
        label=_("Who is liable for the tax"),
        required=False,
        choices=[("", _("Your account")), ("account", _("A connected account"))],
        help_text=_("With automatic tax: the account whose tax registrations Stripe uses."),
    )
    tax_liability_account = forms.CharField(
        label=_("Liable connected account"), required=False, max_length=255
    )
    billing_address_collection = forms.ChoiceField(
        label=_("Billing address"),
        initial="auto",
        required=False,
        choices=[("auto", _("Only when needed")), ("required", _("Always collect"))],
    )
    phone_number_collection = forms.BooleanField(label=_("Collect the phone number"), required=False)
    tax_id_collection = forms.BooleanField(label=_("Let business customers enter a tax ID"), required=False)
    tax_id_required = forms.BooleanField(
        label=_("Require the tax ID where the customer's country has one"),
        required=False,
        help_text=_("Needs business customers to be able to enter a tax ID."),
    )
    customer_creation = forms.BooleanField(
        label=_("Always create a customer in Stripe"),
        required=False,
        help_text=_(
            "Otherwise Stripe creates one only when it needs one (an invoice). For one-off payments: "
            "a subscription always has its customer."
        ),
    )
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

    @classmethod
    def params_from(cls, values: dict) -> dict:
        params = {}
        if values["allow_promotion_codes"]:
            params["allow_promotion_codes"] = True
        for name in ("automatic_tax", "phone_number_collection", "tax_id_collection"):
            if values[name]:
                params[name] = {"enabled": True}
        for name in ("billing_address_collection", "submit_type"):
            if values[name] not in ("", "auto"):
                params[name] = values[name]
        if values["customer_creation"]:
            params["customer_creation"] = "always"
        if values["tax_liability"] == "account":
            liability = {"type": "account", "account": values["tax_liability_account"]}
            params.setdefault("automatic_tax", {"enabled": False})["liability"] = liability
        if values["tax_id_required"]:
            params.setdefault("tax_id_collection", {"enabled": False})["required"] = "if_supported"
        return params

    @classmethod
    def values_from(cls, params: dict) -> dict:
        liability = (params.get("automatic_tax") or {}).get("liability") or {}
        return {
            "allow_promotion_codes": bool(params.get("allow_promotion_codes")),
            "automatic_tax": bool((params.get("automatic_tax") or {}).get("enabled")),
            "billing_address_collection": params.get("billing_address_collection") or "auto",
            "phone_number_collection": bool((params.get("phone_number_collection") or {}).get("enabled")),
            "tax_id_collection": bool((params.get("tax_id_collection") or {}).get("enabled")),
            "submit_type": params.get("submit_type") or "auto",
            "customer_creation": params.get("customer_creation") == "always",
            "tax_id_required": (params.get("tax_id_collection") or {}).get("required") == "if_supported",
            "tax_liability": "account" if liability.get("type") == "account" else "",
            "tax_liability_account": _id(liability.get("account") or "")
            if liability.get("type") == "account"
            else "",
        }

    @classmethod
    def check(cls, params: dict) -> dict[str, str]:
        errors = {}
        tax_id = params.get("tax_id_collection") or {}
        if tax_id.get("required") == "if_supported" and not tax_id.get("enabled"):
            errors["tax_id_required"] = TAX_ID_REQUIRED_NEEDS_COLLECTION
        automatic_tax = params.get("automatic_tax") or {}
        liability = automatic_tax.get("liability") or {}
        if liability and not automatic_tax.get("enabled"):
            errors["tax_liability"] = TAX_LIABILITY_NEEDS_AUTOMATIC_TAX
        elif liability.get("type") == "account" and not liability.get("account"):
            errors["tax_liability_account"] = TAX_LIABILITY_ACCOUNT_REQUIRED
        elif liability.get("account") and not ACCOUNT_ID.match(_id(liability["account"])):
            errors["tax_liability_account"] = ACCOUNT_ID_INVALID
        return errors

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        if options.get("customer_creation") and recurring:
            return {"customer_creation": CUSTOMER_CREATION_NOT_RECURRING}
        return {}

    def summary_of(self, params: dict) -> str:
        parts = []
        if params.get("allow_promotion_codes"):
            parts.append(_("promotion codes"))
        if (params.get("automatic_tax") or {}).get("enabled"):
            parts.append(_("automatic tax"))
        if params.get("billing_address_collection") == "required":
            parts.append(_("billing address"))
        if (params.get("phone_number_collection") or {}).get("enabled"):
            parts.append(_("phone number"))
        tax_id = params.get("tax_id_collection") or {}
        if tax_id.get("enabled"):
            parts.append(_("tax ID, required") if tax_id.get("required") == "if_supported" else _("tax ID"))
        if params.get("customer_creation") == "always":
            parts.append(_("always a customer in Stripe"))
        if params.get("submit_type"):
            parts.append(
                _("button “%(label)s”")
                % {"label": dict(self.fields["submit_type"].choices)[params["submit_type"]]}
            )
        return sentence(parts) or _("Stripe's defaults: a billing address only when needed")


NAME_CHOICES = [
    ("", _("Don't ask")),
    ("required", _("Ask, required")),
    ("optional", _("Ask, optional")),
]


class NameCollectionForm(OptionGroup):
    """The customer's name and their business's name (Stripe's ``name_collection``)."""

    key, title = "names", _("Customer names")
    unset = {"name_collection": ""}
    KINDS = ("individual", "business")
    param_fields = {
        "name_collection[individual]": "individual",
        "name_collection[business]": "business",
        "name_collection": "",
    }

    individual = forms.ChoiceField(
        label=_("The customer's full name"), initial="", required=False, choices=NAME_CHOICES
    )
    business = forms.ChoiceField(
        label=_("The name of the customer's business"),
        initial="",
        required=False,
        choices=NAME_CHOICES,
        help_text=_("Optional: customers tick “I'm purchasing as a business” to enter it."),
    )

    @classmethod
    def params_from(cls, values: dict) -> dict:
        names = {
            kind: {"enabled": True, "optional": values[kind] == "optional"}
            for kind in cls.KINDS
            if values[kind]
        }
        return {"name_collection": names} if names else {}

    @classmethod
    def values_from(cls, params: dict) -> dict:
        names = params.get("name_collection") or {}
        values = {}
        for kind in cls.KINDS:
            part = names.get(kind) or {}
            values[kind] = ("optional" if part.get("optional") else "required") if part.get("enabled") else ""
        return values

    def summary_of(self, params: dict) -> str:
        names = params.get("name_collection") or {}
        parts = []
        for kind, label in (("individual", _("full name")), ("business", _("business name"))):
            if kind in names:
                parts.append(
                    (_("%(name)s, optional") if names[kind]["optional"] else _("%(name)s, required"))
                    % {"name": label}
                )
        return sentence(parts) or _("No names asked")


class ShippingForm(OptionGroup):
    key, title = "shipping", _("Shipping")
    unset = {"shipping_address_collection": "", "shipping_options": ""}
    param_fields = {"shipping_address_collection": "countries", "shipping_options": "shipping_rates"}

    countries = forms.MultipleChoiceField(
        label=_("Ship to these countries"),
        required=False,
        choices=shipping_country_choices,
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

        self.fields["shipping_rates"].choices = shipping_rate_choices(
            kept=self.initial.get("shipping_rates") or []
        )

    @classmethod
    def params_from(cls, values: dict) -> dict:
        params = {}
        if values["countries"]:
            params["shipping_address_collection"] = {"allowed_countries": values["countries"]}
        if values["shipping_rates"]:
            params["shipping_options"] = [{"shipping_rate": rate} for rate in values["shipping_rates"]]
        return params

    @classmethod
    def values_from(cls, params: dict) -> dict:
        return {
            "countries": (params.get("shipping_address_collection") or {}).get("allowed_countries") or [],
            "shipping_rates": [_id(o["shipping_rate"]) for o in params.get("shipping_options") or []],
        }

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        from catalog.models import ShippingRate

        rate_ids = [o["shipping_rate"] for o in options.get("shipping_options") or []]
        if rate_ids and recurring:
            return {"shipping_rates": SHIPPING_OPTIONS_NOT_RECURRING}
        if ShippingRate.objects.filter(stripe_id__in=rate_ids).exclude(currency=currency).exists():
            return {"shipping_rates": SHIPPING_RATE_CURRENCY % {"currency": currency.upper()}}
        return {}

    def summary_of(self, params: dict) -> str:
        countries = (params.get("shipping_address_collection") or {}).get("allowed_countries") or []
        rates = params.get("shipping_options") or []
        if not countries and not rates:
            return _("No shipping address")
        parts = []
        if len(countries) <= 3:
            names = dict(shipping_country_choices())
            parts.append(
                _("Ships to %(countries)s") % {"countries": ", ".join(names.get(c, c) for c in countries)}
            )
        else:
            parts.append(
                ngettext("Ships to %(count)d country", "Ships to %(count)d countries", len(countries))
                % {"count": len(countries)}
            )
        if rates:
            parts.append(
                ngettext("%(count)d shipping option", "%(count)d shipping options", len(rates))
                % {"count": len(rates)}
            )
        return sentence(parts)


class SubscriptionForm(OptionGroup):
    key, title = "subscription", _("Subscription")
    # Stripe takes no "" for invoice_settings: its default issuer (the platform's own account) clears it.
    unset = {
        "subscription_data": KeyByKey(invoice_settings={"issuer": {"type": "self"}}),
        "payment_method_collection": "always",
    }
    create_only = {"description": "subscription_data.description"}
    param_fields = {
        "payment_method_collection": "payment_method_collection",
        "subscription_data[trial_period_days]": "trial_period_days",
        "subscription_data[description]": "description",
        "subscription_data[metadata]": "metadata",
        "subscription_data[invoice_settings]": "invoice_issuer",
        "subscription_data[invoice_settings][issuer][account]": "invoice_issuer_account",
        "subscription_data[trial_settings]": "trial_end_behavior",
        "subscription_data": "",
    }

    trial_period_days = forms.IntegerField(
        label=_("Free trial (days)"),
        required=False,
        min_value=1,
        max_value=730,
        help_text=_("Empty for no trial."),
    )
    trial_end_behavior = forms.ChoiceField(
        label=_("When the trial ends and the customer gave no payment method"),
        required=False,
        choices=[
            ("", _("Stripe's default (send an invoice)")),
            ("create_invoice", _("Send an invoice to pay")),
            ("pause", _("Pause the subscription")),
            ("cancel", _("Cancel the subscription")),
        ],
        help_text=_("With a free trial, when customers may subscribe without a payment method."),
    )
    description = forms.CharField(
        label=_("Subscription description"),
        required=False,
        max_length=500,
        help_text=_("Shown on the customer's portal and invoices. Cannot be changed after creation."),
    )
    payment_method_collection = forms.BooleanField(
        label=_("Let customers subscribe without a payment method when nothing is due today"),
        required=False,
        help_text=_("With a free trial or a full discount, customers need not enter a card to start."),
    )
    invoice_issuer = forms.ChoiceField(
        label=_("Who issues the subscription's invoices"),
        required=False,
        choices=[("", _("Your account")), ("account", _("A connected account"))],
        help_text=_("The invoices then carry that account's branding and support details."),
    )
    invoice_issuer_account = forms.CharField(
        label=_("Issuing connected account"), required=False, max_length=255
    )
    metadata = MetadataField(
        label=_("Subscription metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One “key: value” per line, copied to each subscription."),
    )

    @classmethod
    def params_from(cls, values: dict) -> dict:
        names = ("trial_period_days", "description", "metadata")
        sub = {name: values[name] for name in names if values[name]}
        if values["invoice_issuer"] == "account":
            issuer = {"type": "account", "account": values["invoice_issuer_account"]}
            sub["invoice_settings"] = {"issuer": issuer}
        if values["trial_end_behavior"]:
            behavior = {"missing_payment_method": values["trial_end_behavior"]}
            sub["trial_settings"] = {"end_behavior": behavior}
        params = {"subscription_data": sub} if sub else {}
        if values["payment_method_collection"]:
            params["payment_method_collection"] = "if_required"
        return params

    @classmethod
    def values_from(cls, params: dict) -> dict:
        sub = params.get("subscription_data") or {}
        issuer = (sub.get("invoice_settings") or {}).get("issuer") or {}
        by_account = issuer.get("type") == "account"
        end = ((sub.get("trial_settings") or {}).get("end_behavior") or {}).get("missing_payment_method")
        return {
            "trial_period_days": sub.get("trial_period_days"),
            "description": sub.get("description") or "",
            "payment_method_collection": params.get("payment_method_collection") == "if_required",
            "metadata": sub.get("metadata") or {},
            "invoice_issuer": "account" if by_account else "",
            "invoice_issuer_account": _id(issuer.get("account") or "") if by_account else "",
            "trial_end_behavior": end or "",
        }

    @classmethod
    def check(cls, params: dict) -> dict[str, str]:
        sub = params.get("subscription_data") or {}
        issuer = (sub.get("invoice_settings") or {}).get("issuer") or {}
        errors = {}
        if issuer.get("type") == "account" and not issuer.get("account"):
            errors["invoice_issuer_account"] = INVOICE_ISSUER_ACCOUNT_REQUIRED
        elif issuer.get("account") and not ACCOUNT_ID.match(_id(issuer["account"])):
            errors["invoice_issuer_account"] = ACCOUNT_ID_INVALID
        if sub.get("trial_settings") and not sub.get("trial_period_days"):
            errors["trial_end_behavior"] = TRIAL_END_NEEDS_TRIAL
        return errors

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        if options.get("subscription_data") and not recurring:
            return {"": SUBSCRIPTION_NEEDS_RECURRING}
        if options.get("payment_method_collection") and not recurring:
            return {"payment_method_collection": PAYMENT_METHOD_COLLECTION_NEEDS_RECURRING}
        return {}

    def summary_of(self, params: dict) -> str:
        sub = params.get("subscription_data") or {}
        parts = []
        if sub.get("trial_period_days"):
            days = sub["trial_period_days"]
            parts.append(
                ngettext("%(count)d-day free trial", "%(count)d-day free trial", days) % {"count": days}
            )
        if sub.get("description"):
            parts.append(_("a description"))
        if params.get("payment_method_collection") == "if_required":
            parts.append(_("no card needed when nothing is due"))
        if sub.get("trial_settings"):
            behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
            parts.append(
                _("without a payment method: %(behavior)s")
                % {"behavior": str(dict(self.fields["trial_end_behavior"].choices)[behavior]).lower()}
            )
        if sub.get("invoice_settings"):
            parts.append(_("invoices issued by a connected account"))
        if sub.get("metadata"):
            parts.append(_("metadata"))
        return sentence(parts) or _("No free trial")


class PaymentMethodsForm(OptionGroup):
    key, title = "payment_methods", _("Payment methods")
    unset = {"payment_method_types": ""}
    param_fields = {"payment_method_types": "payment_method_types"}

    payment_method_types = forms.MultipleChoiceField(
        label=_("Payment methods"),
        required=False,
        choices=PAYMENT_METHOD_TYPES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None selected: Stripe shows the methods enabled in your Stripe settings (recommended)."),
    )

    @classmethod
    def params_from(cls, values: dict) -> dict:
        types = values["payment_method_types"]
        return {"payment_method_types": types} if types else {}

    @classmethod
    def values_from(cls, params: dict) -> dict:
        return {"payment_method_types": params.get("payment_method_types") or []}

    def summary_of(self, params: dict) -> str:
        types = params.get("payment_method_types") or []
        if not types:
            return _("The methods enabled in your Stripe settings")
        labels = dict(PAYMENT_METHOD_TYPES)
        return ", ".join(str(labels.get(kind, kind)) for kind in types)


class PaymentIntentForm(OptionGroup):
    """How a one-off payment is taken (Stripe's ``payment_intent_data``, payment mode only)."""

    key, title = "payment_intent", _("Payment details")
    # Its update merges key by key, and every key but the capture method accepts "" (reference §1.4).
    unset = {"payment_intent_data": KEY_BY_KEY}
    create_only = {"capture_method": "payment_intent_data.capture_method"}
    FIELDS = (
        "capture_method",
        "setup_future_usage",
        "description",
        "statement_descriptor_suffix",
        "metadata",
    )
    param_fields = {
        **{f"payment_intent_data[{name}]": name for name in FIELDS},
        "payment_intent_data": "",
    }

    capture_method = forms.ChoiceField(
        label=_("When to charge"),
        initial="automatic",
        required=False,
        choices=[
            ("automatic", _("Charge at once")),
            ("automatic_async", _("Charge at once, confirmed in the background")),
            ("manual", _("Authorise now, capture later")),
        ],
        help_text=_(
            "Authorise now, capture later: capture each payment (all of it or less) or cancel it from its "
            "order's page within 7 days, or the authorisation lapses. Cannot be changed after creation."
        ),
    )
    setup_future_usage = forms.ChoiceField(
        label=_("Save the payment method"),
        initial="",
        required=False,
        choices=[
            ("", _("No")),
            ("on_session", _("For the customer's next purchases")),
            ("off_session", _("To charge the customer later without them")),
        ],
    )
    description = forms.CharField(
        label=_("Payment description"),
        required=False,
        max_length=1000,
        help_text=_("Shown with the payment in your Stripe dashboard."),
    )
    statement_descriptor_suffix = forms.CharField(
        label=_("Bank statement suffix"),
        required=False,
        max_length=22,
        help_text=_("Added after your business name on the customer's card statement."),
    )
    metadata = MetadataField(
        label=_("Payment metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One “key: value” per line, copied to each payment."),
    )

    def clean_statement_descriptor_suffix(self):
        suffix = self.cleaned_data["statement_descriptor_suffix"].strip()
        if re.search(r"[<>\\'\"*]", suffix):
            raise forms.ValidationError(_("Stripe refuses these characters here: < > \\ ' \" *"))
        return suffix

    @classmethod
    def params_from(cls, values: dict) -> dict:
        data = {name: values[name] for name in cls.FIELDS if values[name]}
        if data.get("capture_method") == "automatic":  # Stripe's default
            del data["capture_method"]
        return {"payment_intent_data": data} if data else {}

    @classmethod
    def values_from(cls, params: dict) -> dict:
        data = params.get("payment_intent_data") or {}
        return {
            "capture_method": data.get("capture_method") or "automatic",
            "setup_future_usage": data.get("setup_future_usage") or "",
            "description": data.get("description") or "",
            "statement_descriptor_suffix": data.get("statement_descriptor_suffix") or "",
            "metadata": data.get("metadata") or {},
        }

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        if options.get("payment_intent_data") and recurring:
            return {"": PAYMENT_DETAILS_NOT_RECURRING}
        return {}

    def summary_of(self, params: dict) -> str:
        data = params.get("payment_intent_data") or {}
        capture = data.get("capture_method") or "automatic"
        parts = [dict(self.fields["capture_method"].choices)[capture]]
        if data.get("setup_future_usage"):
            parts.append(_("saves the payment method"))
        if data.get("statement_descriptor_suffix"):
            parts.append(_("statement suffix “%(suffix)s”") % {"suffix": data["statement_descriptor_suffix"]})
        return sentence(parts)


class ConsentForm(OptionGroup):
    key, title = "consent", _("Consent")
    # The terms text is one of Stripe's custom texts (the custom texts group writes the others).
    unset = {"consent_collection": {"terms_of_service": "none"}, "custom_text": KEY_BY_KEY}
    param_fields = {
        "consent_collection[terms_of_service]": "terms_of_service",
        "consent_collection[promotions]": "promotions",
        "consent_collection[payment_method_reuse_agreement]": "reuse_agreement",
        "consent_collection": "",
        "custom_text[terms_of_service_acceptance]": "terms_text",
    }

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
    reuse_agreement = forms.ChoiceField(
        label=_("Agreement to reuse a saved payment method"),
        required=False,
        choices=[
            ("", _("Stripe's default")),
            ("auto", _("Show Stripe's text")),
            ("hidden", _("Hide Stripe's text (you show your own)")),
        ],
        help_text=_("Shown when the payment method is saved for later payments."),
    )

    @classmethod
    def params_from(cls, values: dict) -> dict:
        params, consent = {}, {}
        if values["terms_of_service"]:
            consent["terms_of_service"] = "required"
        if values["promotions"]:
            consent["promotions"] = "auto"
        if values["reuse_agreement"]:
            consent["payment_method_reuse_agreement"] = {"position": values["reuse_agreement"]}
        if consent:
            params["consent_collection"] = consent
        if values["terms_text"]:
            params["custom_text"] = {"terms_of_service_acceptance": {"message": values["terms_text"]}}
        return params

    @classmethod
    def values_from(cls, params: dict) -> dict:
        consent = params.get("consent_collection") or {}
        text = (params.get("custom_text") or {}).get("terms_of_service_acceptance") or {}
        return {
            "terms_of_service": consent.get("terms_of_service") == "required",
            "promotions": consent.get("promotions") == "auto",
            "reuse_agreement": (consent.get("payment_method_reuse_agreement") or {}).get("position") or "",
            "terms_text": text.get("message") or "",
        }

    @classmethod
    def check(cls, params: dict) -> dict[str, str]:
        terms_text = (params.get("custom_text") or {}).get("terms_of_service_acceptance")
        terms = (params.get("consent_collection") or {}).get("terms_of_service")
        return {"terms_text": TERMS_TEXT_NEEDS_TERMS} if terms_text and terms != "required" else {}

    def summary_of(self, params: dict) -> str:
        consent = params.get("consent_collection") or {}
        parts = []
        if consent.get("terms_of_service") == "required":
            parts.append(_("terms of service to accept"))
        if consent.get("promotions"):
            parts.append(_("consent to promotional e-mails"))
        if consent.get("payment_method_reuse_agreement"):
            parts.append(
                _("agreement to reuse the payment method: %(choice)s")
                % {
                    "choice": dict(self.fields["reuse_agreement"].choices)[
                        consent["payment_method_reuse_agreement"]["position"]
                    ]
                }
            )
        return sentence(parts) or _("Nothing to accept")


class CustomFieldForm(forms.Form):
    """One custom field (a row of the custom fields group)."""

    # Stripe's ``custom_fields[<n>][<part>]`` in an error → this row's field.
    param_fields = {
        "key": "key",
        "label": "label",
        "type": "type",
        "dropdown": "options",
        "text": "default_value",
        "numeric": "default_value",
        **{f"{kind}.{length}": length for kind in ("text", "numeric") for length in CUSTOM_FIELD_LENGTHS},
        "optional": "optional",
    }

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
    options = DropdownOptionsField(
        label=_("Dropdown options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, as “value: Label” (value in letters and digits); up to 200."),
    )
    default_value = forms.CharField(label=_("Default value"), required=False, max_length=255)
    # Stripe: up to 255 characters on a text field, 255 digits on a numeric one.
    minimum_length = forms.IntegerField(
        label=_("Minimum length"),
        required=False,
        min_value=1,
        max_value=CUSTOM_FIELD_MAX_LENGTH,
        help_text=_("Characters (digits for numbers), 1 to 255."),
    )
    maximum_length = forms.IntegerField(
        label=_("Maximum length"),
        required=False,
        min_value=1,
        max_value=CUSTOM_FIELD_MAX_LENGTH,
        help_text=_("Stripe's default: 255."),
    )
    LENGTHS = CUSTOM_FIELD_LENGTHS

    def clean_key(self):
        key = self.cleaned_data["key"].strip()
        if not ALPHANUMERIC.match(key):
            raise forms.ValidationError(_("Use only letters and digits."))
        return key

    def clean(self):
        data = super().clean()
        if data.get("type") == "dropdown":
            values = {o["value"] for o in data.get("options") or []}
            if "options" not in self.errors and not values:
                self.add_error("options", _("A dropdown needs at least one option."))
            if data.get("default_value") and values and data["default_value"] not in values:
                self.add_error("default_value", _("The default must be one of the options' values."))
            # A dropdown has no lengths (its fields are hidden then, keeping what was typed).
            data.update(dict.fromkeys(self.LENGTHS))
        minimum, maximum = data.get("minimum_length"), data.get("maximum_length")
        if minimum is not None and maximum is not None and minimum > maximum:
            self.add_error("maximum_length", LENGTH_MAXIMUM_BELOW_MINIMUM)
        elif data.get("default_value") and data.get("type") != "dropdown":
            if not (minimum or 0) <= len(data["default_value"]) <= (maximum or CUSTOM_FIELD_MAX_LENGTH):
                self.add_error("default_value", DEFAULT_VALUE_LENGTH)
        return data

    def clean_type(self):
        return self.cleaned_data["type"] or "text"

    def to_param(self) -> dict:
        return self.param_from(self.cleaned_data)

    @staticmethod
    def param_from(values: dict) -> dict:
        field = {
            "key": values["key"],
            "label": {"type": "custom", "custom": values["label"]},
            "type": values["type"],
        }
        if values["optional"]:
            field["optional"] = True
        if values["type"] == "dropdown":
            field["dropdown"] = {"options": values["options"]}
            if values["default_value"]:
                field["dropdown"]["default_value"] = values["default_value"]
        else:
            names = ("default_value", *CustomFieldForm.LENGTHS)
            sub = {name: values[name] for name in names if values.get(name)}
            if sub:
                field[values["type"]] = sub
        return field

    @staticmethod
    def values_from(field: dict) -> dict:
        kind = field["type"]
        sub = field.get(kind) or {}
        return {
            "key": field["key"],
            "label": field["label"]["custom"],
            "type": kind,
            "optional": bool(field.get("optional")),
            "default_value": sub.get("default_value") or "",
            "options": [{"value": o["value"], "label": o["label"]} for o in sub.get("options") or []],
            "minimum_length": sub.get("minimum_length"),
            "maximum_length": sub.get("maximum_length"),
        }


class BaseCustomFieldFormSet(OptionDeclaration, CheckedFormSet):
    """The custom fields group: up to three rows; its values are the rows' values, in order."""

    key, title = "custom_fields", _("Custom fields")
    add_button = "add_custom_field"  # adds an empty row, without JavaScript
    unset = {"custom_fields": ""}
    param_fields = {"custom_fields": ""}  # and custom_fields[<n>][...]: CustomFieldForm.param_fields
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
        return self.params_from([form.cleaned_data for form in self.kept_forms()])

    def summary(self) -> str:
        """The questions asked, by their labels (shown while the section is collapsed)."""
        if self.is_bound and self.total_error_count():
            return errors_to_correct(self.total_error_count())
        rows = [form.cleaned_data for form in self.kept_forms()] if self.is_bound else self.initial or []
        labels = [
            _("%(label)s (optional)") % {"label": row["label"]} if row.get("optional") else row["label"]
            for row in rows
        ]
        return ", ".join(labels) or _("No questions")

    @classmethod
    def params_from(cls, values: list[dict]) -> dict:
        return {"custom_fields": [CustomFieldForm.param_from(row) for row in values]} if values else {}

    @classmethod
    def values_from(cls, params: dict) -> list[dict]:
        return [CustomFieldForm.values_from(field) for field in params.get("custom_fields") or []]


CustomFieldFormSet = forms.formset_factory(
    CustomFieldForm,
    formset=BaseCustomFieldFormSet,
    extra=0,
    max_num=3,
    absolute_max=3,
    validate_max=True,
    can_delete=True,
)


class OptionalItemForm(forms.Form):
    """One item customers may add to their order (a row of the optional items group)."""

    # Stripe's ``optional_items[<n>][<part>]`` in an error → this row's field.
    param_fields = {"price": "price", "quantity": "quantity", "adjustable_quantity": "maximum"}

    price = PriceChoiceField(
        label=_("Price"),
        queryset=price_choices_for_links(),
        to_field_name="stripe_id",
        empty_label=_("Choose a price…"),
        error_messages={"required": OPTIONAL_ITEM_PRICE_REQUIRED},
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1)
    adjustable = forms.BooleanField(label=_("Customers can change the quantity"), required=False)
    minimum = forms.IntegerField(
        label=_("Minimum quantity"),
        required=False,
        min_value=0,
        max_value=MAX_QUANTITY,
        help_text=_("Stripe's default: 0."),
    )
    maximum = forms.IntegerField(
        label=_("Maximum quantity"),
        required=False,
        min_value=1,
        max_value=MAX_QUANTITY,
        help_text=_("Stripe's default: 99."),
    )

    def clean(self):
        data = super().clean()
        if data.get("adjustable") and data.get("quantity") is not None:
            minimum, maximum = data.get("minimum"), data.get("maximum")
            low = 0 if minimum is None else minimum
            high = 99 if maximum is None else maximum
            if low > high:
                self.add_error("maximum", QUANTITY_MAXIMUM_BELOW_MINIMUM)
            elif not low <= data["quantity"] <= high:
                self.add_error("quantity", QUANTITY_OUTSIDE_BOUNDS % {"minimum": low, "maximum": high})
        return data

    @staticmethod
    def param_from(values: dict) -> dict:
        price = values["price"]
        item = {"price": getattr(price, "stripe_id", price), "quantity": values["quantity"]}
        if values["adjustable"]:
            adjustable = {"enabled": True}
            # Stripe's defaults are left out, as Stripe reads them back (minimum 0, maximum 99).
            if values["minimum"] not in (None, 0):
                adjustable["minimum"] = values["minimum"]
            if values["maximum"] not in (None, 99):
                adjustable["maximum"] = values["maximum"]
            item["adjustable_quantity"] = adjustable
        return item

    @staticmethod
    def values_from(item: dict) -> dict:
        adjustable = item.get("adjustable_quantity") or {}
        enabled = bool(adjustable.get("enabled"))
        return {
            "price": _id(item["price"]),
            "quantity": item["quantity"],
            "adjustable": enabled,
            "minimum": adjustable.get("minimum") if enabled and adjustable.get("minimum") != 0 else None,
            "maximum": adjustable.get("maximum") if enabled and adjustable.get("maximum") != 99 else None,
        }


class BaseOptionalItemFormSet(OptionDeclaration, CheckedFormSet):
    """The optional items group (Stripe's ``optional_items``): up to 10 prices customers may add to their
    order at checkout; its values are the rows' values, in order."""

    key, title = "optional_items", _("Optional items")
    add_button = "add_optional_item"  # adds an empty row, without JavaScript
    unset = {"optional_items": ""}
    param_fields = {"optional_items": ""}  # and optional_items[<n>][...]: OptionalItemForm.param_fields
    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "A link offers at most %(num)d optional item.",
            "A link offers at most %(num)d optional items.",
            "num",
        )
    }

    def clean(self):
        super().clean()
        prices = [f.cleaned_data["price"] for f in self.kept_forms() if f.cleaned_data.get("price")]
        if len(prices) != len(set(prices)):
            raise forms.ValidationError(OPTIONAL_ITEM_DUPLICATE)

    def to_params(self) -> dict:
        return self.params_from([form.cleaned_data for form in self.kept_forms()])

    def summary(self) -> str:
        """The products offered, by name (shown while the section is collapsed)."""
        from catalog.models import Price

        if self.is_bound and self.total_error_count():
            return errors_to_correct(self.total_error_count())
        rows = [form.cleaned_data for form in self.kept_forms()] if self.is_bound else self.initial or []
        ids = [getattr(row["price"], "stripe_id", row["price"]) for row in rows]
        names = dict(Price.objects.filter(stripe_id__in=ids).values_list("stripe_id", "product__name"))
        return ", ".join(names.get(price_id, price_id) for price_id in ids) or _("No optional items")

    @classmethod
    def params_from(cls, values: list[dict]) -> dict:
        return {"optional_items": [OptionalItemForm.param_from(row) for row in values]} if values else {}

    @classmethod
    def values_from(cls, params: dict) -> list[dict]:
        return [OptionalItemForm.values_from(item) for item in params.get("optional_items") or []]

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        """Each row's price against the link's: its currency, and a recurring one only on a subscription
        (Stripe: "the Checkout Session must be in subscription mode and its recurring interval must
        match"; the interval Stripe checks itself, against the line items)."""
        from catalog.models import Price

        items = options.get("optional_items") or []
        prices = Price.objects.in_bulk([item["price"] for item in items], field_name="stripe_id")
        errors = {}
        for index, item in enumerate(items):
            price = prices.get(item["price"])
            if price is None:
                continue  # Stripe answers for a price this catalog does not know
            if price.currency != currency:
                errors[f"{index}.price"] = OPTIONAL_ITEM_CURRENCY % {"currency": currency.upper()}
            elif price.is_recurring and not recurring:
                errors[f"{index}.price"] = OPTIONAL_ITEM_RECURRING
            elif price.is_customer_chooses:
                errors[f"{index}.price"] = OPTIONAL_ITEM_CUSTOMER_CHOOSES
        return errors


OptionalItemFormSet = forms.formset_factory(
    OptionalItemForm,
    formset=BaseOptionalItemFormSet,
    extra=0,
    max_num=MAX_OPTIONAL_ITEMS,
    absolute_max=MAX_OPTIONAL_ITEMS,
    validate_max=True,
    can_delete=True,
)


class InvoiceForm(OptionGroup):
    key, title = "invoice", _("Invoice")
    unset = {"invoice_creation": {"enabled": False}}
    param_fields = {
        "invoice_creation[invoice_data][description]": "description",
        "invoice_creation[invoice_data][footer]": "footer",
        "invoice_creation[invoice_data][custom_fields]": "custom_fields",
        "invoice_creation[invoice_data][metadata]": "metadata",
        "invoice_creation": "enabled",
    }
    INVOICE_DATA = ("description", "footer", "custom_fields", "metadata")

    enabled = forms.BooleanField(
        label=_("E-mail an invoice after payment"),
        required=False,
        help_text=_("For one-off payments (subscriptions always get invoices)."),
    )
    description = forms.CharField(label=_("Invoice description"), required=False, max_length=1500)
    footer = forms.CharField(
        label=_("Invoice footer"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    custom_fields = InvoiceCustomFieldsField(
        label=_("Invoice custom fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "One “name: value” per line, up to 4, printed on the invoice (e.g. “Purchase order: 1234”)."
        ),
    )
    metadata = MetadataField(
        label=_("Invoice metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One “key: value” per line, copied to each invoice."),
    )

    @classmethod
    def params_from(cls, values: dict) -> dict:
        if not values["enabled"]:
            return {}
        invoice_data = {name: values[name] for name in cls.INVOICE_DATA if values[name]}
        return {
            "invoice_creation": {"enabled": True, **({"invoice_data": invoice_data} if invoice_data else {})}
        }

    @classmethod
    def values_from(cls, params: dict) -> dict:
        invoice = params.get("invoice_creation") or {}
        data = invoice.get("invoice_data") or {}
        return {
            "enabled": bool(invoice.get("enabled")),
            "description": data.get("description") or "",
            "footer": data.get("footer") or "",
            "custom_fields": [
                {"name": f["name"], "value": f["value"]} for f in data.get("custom_fields") or []
            ],
            "metadata": data.get("metadata") or {},
        }

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        if (options.get("invoice_creation") or {}).get("enabled") and recurring:
            return {"enabled": INVOICE_NOT_RECURRING}
        return {}

    def summary_of(self, params: dict) -> str:
        if (params.get("invoice_creation") or {}).get("enabled"):
            return _("E-mails an invoice after payment")
        return _("No invoice for one-off payments")


class RestrictionsForm(OptionGroup):
    key, title = "restrictions", _("Limits")
    unset = {"restrictions": "", "inactive_message": ""}
    param_fields = {"restrictions": "completed_sessions_limit", "inactive_message": "inactive_message"}

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

    @classmethod
    def params_from(cls, values: dict) -> dict:
        params = {}
        if values["completed_sessions_limit"]:
            params["restrictions"] = {"completed_sessions": {"limit": values["completed_sessions_limit"]}}
        if values["inactive_message"]:
            params["inactive_message"] = values["inactive_message"]
        return params

    @classmethod
    def values_from(cls, params: dict) -> dict:
        limit = ((params.get("restrictions") or {}).get("completed_sessions") or {}).get("limit")
        return {"completed_sessions_limit": limit, "inactive_message": params.get("inactive_message") or ""}

    def summary_of(self, params: dict) -> str:
        limit = ((params.get("restrictions") or {}).get("completed_sessions") or {}).get("limit")
        if limit:
            return ngettext("Stops after %(count)d payment", "Stops after %(count)d payments", limit) % {
                "count": limit
            }
        return _("No limit")


class CustomTextForm(OptionGroup):
    key, title = "custom_text", _("Custom texts")
    # The consent group writes the terms text, also a custom text.
    unset = {"custom_text": KEY_BY_KEY}
    TEXTS = ("submit", "shipping_address", "after_submit")
    param_fields = {f"custom_text[{name}]": name for name in TEXTS}

    submit = forms.CharField(label=_("Text near the pay button"), required=False, max_length=1200)
    shipping_address = forms.CharField(
        label=_("Text near the shipping address"), required=False, max_length=1200
    )
    after_submit = forms.CharField(label=_("Text after the pay button"), required=False, max_length=1200)

    @classmethod
    def params_from(cls, values: dict) -> dict:
        texts = {name: {"message": values[name]} for name in cls.TEXTS if values[name]}
        return {"custom_text": texts} if texts else {}

    @classmethod
    def values_from(cls, params: dict) -> dict:
        texts = params.get("custom_text") or {}
        return {name: (texts.get(name) or {}).get("message") or "" for name in cls.TEXTS}

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        texts = options.get("custom_text") or {}
        if texts.get("shipping_address") and not options.get("shipping_address_collection"):
            return {"shipping_address": SHIPPING_TEXT_NEEDS_ADDRESS}
        return {}

    def summary_of(self, params: dict) -> str:
        texts = params.get("custom_text") or {}
        parts = [self.fields[name].label for name in self.TEXTS if name in texts]
        return sentence(parts) or _("Stripe's texts only")


class MetadataForm(OptionGroup):
    key, title = "metadata", _("Metadata")
    unset = {"metadata": KEY_BY_KEY}
    param_fields = {"metadata": "metadata"}

    metadata = MetadataField(
        label=_("Metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One “key: value” per line, up to 50. Stripe copies a payment link's metadata to its "
            "checkout sessions, not to the payment intent."
        ),
    )

    @classmethod
    def params_from(cls, values: dict) -> dict:
        return {"metadata": values["metadata"]} if values["metadata"] else {}

    @classmethod
    def values_from(cls, params: dict) -> dict:
        return {"metadata": params.get("metadata") or {}}

    def summary_of(self, params: dict) -> str:
        keys = list(params.get("metadata") or {})
        if not keys:
            return _("No metadata")
        return ngettext("%(count)d key: %(keys)s", "%(count)d keys: %(keys)s", len(keys)) % {
            "count": len(keys),
            "keys": ", ".join(keys),
        }


class ConnectForm(OptionGroup):
    """Its values hold the fee amount in minor units, as Stripe does; the field shows major units."""

    key, title = "connect", _("Connect")
    unset = {
        "application_fee_amount": "",
        "application_fee_percent": "",
        "on_behalf_of": "",
        # Stripe merges transfer_data: the amount alone is cleared with "", the whole with "".
        "transfer_data": KeyByKey(whole=""),
    }
    param_fields = {
        "application_fee_amount": "application_fee_amount",
        "application_fee_percent": "application_fee_percent",
        "on_behalf_of": "on_behalf_of",
        "transfer_data[amount]": "transfer_amount",
        "transfer_data": "transfer_destination",
    }
    AMOUNTS = ("application_fee_amount", "transfer_amount")

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
    transfer_amount = forms.DecimalField(
        label=_("Amount transferred"),
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=3,
        help_text=_(
            "In the link's currency. Empty: the whole payment goes to the account. One-off payments only."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.AMOUNTS:
            if self.initial.get(name) is not None:
                amount = from_minor_units(self.initial[name], self.link_currency)
                self.initial = {**self.initial, name: amount}

    def clean(self):
        data = super().clean()
        for field in ("on_behalf_of", "transfer_destination"):
            if data.get(field) and not ACCOUNT_ID.match(data[field]):
                self.add_error(field, ACCOUNT_ID_INVALID)
        if data.get("application_fee_amount") is not None and data.get("application_fee_percent") is not None:
            self.add_error("application_fee_percent", _("Choose an amount or a percent, not both."))
        for name in self.AMOUNTS:
            data[name] = amount_to_minor(self, name, data.get(name), self.link_currency)
        return data

    @classmethod
    def params_from(cls, values: dict) -> dict:
        params = {}
        if values["application_fee_amount"] is not None:
            params["application_fee_amount"] = values["application_fee_amount"]
        if values["application_fee_percent"] is not None:
            params["application_fee_percent"] = float(values["application_fee_percent"])
        if values["on_behalf_of"]:
            params["on_behalf_of"] = values["on_behalf_of"]
        if values["transfer_destination"]:
            params["transfer_data"] = {"destination": values["transfer_destination"]}
        if values["transfer_amount"] is not None:
            params.setdefault("transfer_data", {})["amount"] = values["transfer_amount"]
        return params

    @classmethod
    def values_from(cls, params: dict) -> dict:
        percent = params.get("application_fee_percent")
        return {
            "application_fee_amount": params.get("application_fee_amount"),
            "application_fee_percent": None if percent is None else Decimal(str(percent)),
            "on_behalf_of": _id(params.get("on_behalf_of") or ""),
            "transfer_destination": _id((params.get("transfer_data") or {}).get("destination") or ""),
            "transfer_amount": (params.get("transfer_data") or {}).get("amount"),
        }

    @classmethod
    def check(cls, params: dict) -> dict[str, str]:
        transfer = params.get("transfer_data") or {}
        if transfer.get("amount") is not None and not transfer.get("destination"):
            return {"transfer_amount": TRANSFER_AMOUNT_NEEDS_DESTINATION}
        return {}

    @classmethod
    def check_with_link(cls, options: dict, *, recurring: bool, currency: str) -> dict[str, str]:
        if (options.get("transfer_data") or {}).get("amount") is not None and recurring:
            return {"transfer_amount": TRANSFER_AMOUNT_NOT_RECURRING}
        if "application_fee_amount" in options and recurring:
            return {"application_fee_amount": FEE_AMOUNT_NOT_RECURRING}
        if "application_fee_percent" in options and not recurring:
            return {"application_fee_percent": FEE_PERCENT_NEEDS_RECURRING}
        return {}

    def summary_of(self, params: dict) -> str:
        parts = []
        if "application_fee_amount" in params:
            parts.append(
                _("fee of %(amount)s")
                % {"amount": format_money(params["application_fee_amount"], self.link_currency)}
            )
        if "application_fee_percent" in params:
            parts.append(_("fee of %(percent)s %%") % {"percent": params["application_fee_percent"]})
        if params.get("on_behalf_of"):
            parts.append(_("on behalf of %(account)s") % {"account": params["on_behalf_of"]})
        transfer = params.get("transfer_data") or {}
        if transfer.get("amount") is not None and transfer.get("destination"):
            amount = format_money(transfer["amount"], self.link_currency)
            parts.append(
                _("transfers %(amount)s to %(account)s")
                % {"amount": amount, "account": transfer["destination"]}
            )
        elif transfer.get("destination"):
            parts.append(_("transfers to %(account)s") % {"account": transfer["destination"]})
        return sentence(parts) or _("No connected account")


# The editor's sections of single forms, in the page's order.
OPTION_FORMS: tuple[type[OptionGroup], ...] = (
    SubscriptionForm,
    CheckoutForm,
    NameCollectionForm,
    ShippingForm,
    ConsentForm,
    PaymentMethodsForm,
    AfterCompletionForm,
    PaymentIntentForm,
    ConnectForm,
    InvoiceForm,
    MetadataForm,
    CustomTextForm,
    RestrictionsForm,
)
# Groups of rows (formsets): each has its section and an "add a row" button (``add_button``).
OPTION_FORMSETS: tuple[type[CheckedFormSet], ...] = (OptionalItemFormSet, CustomFieldFormSet)
OPTION_GROUPS: tuple[type[OptionDeclaration], ...] = (*OPTION_FORMS, *OPTION_FORMSETS)


# What the editor, the update diff and the importer read ---------------------------------------------


def options_merge(*parts: dict) -> dict:
    """Merge groups' parameters; two groups may fill one Stripe object (``custom_text``)."""
    merged: dict = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def options_from_stripe(data: dict) -> dict:
    """The options of a link made elsewhere, from Stripe's link object: what the editor shows of it, as
    the parameters the editor would send (each group's ``values_from``, then its ``params_from``)."""
    return options_merge(*(group.params_from(group.values_from(data)) for group in OPTION_GROUPS))


def options_validate(options: dict, *, recurring: bool, currency: str) -> None:
    """Every group's Stripe rules on a link's options, checked before the call so that errors land at
    the field: ValidationError keyed ``<group>.<field>``, or ``<group>`` for the section."""
    errors: dict[str, list] = {}
    for group in OPTION_GROUPS:
        found = {
            **group.check(options),
            **group.check_with_link(options, recurring=recurring, currency=currency),
        }
        for field, message in found.items():
            errors[f"{group.key}.{field}" if field else group.key] = [message]
    if errors:
        raise ValidationError(errors)


def options_with_created_kept(*, old: dict, new: dict) -> dict:
    """``new`` options with what Stripe fixes at creation (``create_only``) as it was in ``old``."""
    options = dict(new)
    for group in OPTION_GROUPS:
        for path in group.create_only.values():
            name, _sep, key = path.partition(".")
            part = {k: v for k, v in (options.get(name) or {}).items() if k != key}
            if (old.get(name) or {}).get(key):
                part[key] = old[name][key]
            if part:
                options[name] = part
            else:
                options.pop(name, None)
    return options


def options_update_params(*, old: dict, new: dict) -> dict:
    """The update call that turns a link's ``old`` options into ``new`` ones: each parameter that
    changed, as its new value, or as its group's ``unset`` value when the merchant cleared it."""
    unset_values = {name: unset for group in OPTION_GROUPS for name, unset in group.unset.items()}
    create_only = {path for group in OPTION_GROUPS for path in group.create_only.values()}
    params: dict = {}
    for name, unset in unset_values.items():
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if isinstance(unset, KeyByKey) and after is None and unset.whole is not None:
            params[name] = unset.whole
        elif isinstance(unset, KeyByKey):
            value = {**{key: unset.unset(key) for key in before or {}}, **(after or {})}
            value = {key: v for key, v in value.items() if f"{name}.{key}" not in create_only}
            if value:
                params[name] = value
        else:
            params[name] = unset if after is None else after
    return params


_ROW_PARAM = re.compile(r"^(\w+)\[(\d+)\]\[(\w+)\](?:\[(\w+)\])?")


def option_field_for_param(param: str | None) -> str:
    """Stripe's ``param`` in an error → the editor's ``<group>.<field>`` (``custom_fields.<n>.<field>``
    for a row of a group of rows), the group alone for the section, or NON_FIELD_ERRORS."""
    match = _ROW_PARAM.match(param or "")
    rows = {formset.key: formset.form for formset in OPTION_FORMSETS}
    if match and match[1] in rows:
        row_fields = rows[match[1]].param_fields
        field = row_fields.get(f"{match[3]}.{match[4]}") or row_fields.get(match[3], "")
        return f"{match[1]}.{match[2]}.{field}"
    fields = {
        stripe_param: f"{group.key}.{field}" if field else group.key
        for group in OPTION_GROUPS
        for stripe_param, field in group.param_fields.items()
    }
    return field_for_param(param, fields)
