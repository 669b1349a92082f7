"""The hosted payment page's form, built from the payment link's options; validated server-side."""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata

import pycountry
from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from sandbox import cards, pricing, totals

CARD_NUMBER_INCORRECT = _("Your card number is incorrect.")
EXPIRY_INCOMPLETE = _("Your card's expiration date is incomplete.")
EXPIRY_IN_PAST = _("Your card's expiration year is in the past.")
EXPIRY_MONTH_INVALID = _("Your card's expiration month is invalid.")
CVC_INCOMPLETE = _("Your card's security code is incomplete.")
AMOUNT_TOO_SMALL = _("Enter an amount of at least %(amount)s.")
AMOUNT_TOO_LARGE = _("Enter an amount of at most %(amount)s.")
AMOUNT_INVALID = _("Enter a valid amount.")
NUMERIC_ONLY = _("Enter digits only.")
NUMERIC_TOO_SHORT = _("Enter at least %(limit_value)d digits.")
NUMERIC_TOO_LONG = _("Enter at most %(limit_value)d digits.")
OPTIONAL_BELOW_MINIMUM = _("Choose at least %(minimum)s, or 0 to leave it out.")


CARD_FIELDS = ("card_number", "card_expiry", "card_cvc")
# Shown once the customer ticks "I'm purchasing as a business" (the page's CSS; without it, always shown).
BUSINESS_FIELDS = ("tax_id_type", "tax_id_value")
# Contact first, then delivery, then payment, as on Stripe's page; fields not named keep their order after.
FIELD_ORDER = [
    "email",
    "phone",
    "individual_name",
    "business_name",
    "custom_amount",
    "shipping_name",
    "shipping_line1",
    "shipping_city",
    "shipping_postal_code",
    "shipping_country",
    "shipping_rate",
    "payment_method",
    *CARD_FIELDS,
    "iban",
    "cardholder_name",
    "billing_line1",
    "billing_city",
    "billing_postal_code",
    "billing_country",
    "business_purchase",
    "tax_id_type",
    "tax_id_value",
    "promotion_code",
]
CARD_NOT_SUPPORTED = _("Your card is not supported.")
NO_ITEMS = _("Choose at least one item.")
# The link's ``brands_blocked`` values, by the brand cards.brand() reads from the number.
BLOCKABLE_BRANDS = {
    "visa": "visa",
    "mastercard": "mastercard",
    "amex": "american_express",
    "discover": "discover_global_network",
    "diners": "discover_global_network",
    "jcb": "discover_global_network",
}
TAX_ID_CHOICES = [
    (t, t) for t in ("eu_vat", "gb_vat", "ch_vat", "us_ein", "ca_bn", "au_abn", "no_vat", "unknown")
]
IBAN_INVALID = _("Your IBAN is invalid.")
FIELD_REQUIRED = _("This field is required.")
# The fields that change the amount: the summary is recomputed from these alone ("Update total", HTMX).
PRICING_PREFIXES = (
    "quantity_",
    "optional_",
    "custom_amount",
    "promotion_code",
    "shipping_rate",
    "billing_country",
)
# Shown in the order summary, outside the <form> element: they join it by the form attribute.
SUMMARY_PREFIXES = ("quantity_", "optional_", "custom_amount", "promotion_code")
FORM_ID = "pay-form"

# Country names from ISO 3166-1 and their translations (pycountry ships Debian's iso-codes); Stripe's
# non-ISO regions below.
EXTRA_COUNTRIES = {
    "AC": _("Ascension Island"),
    "TA": _("Tristan da Cunha"),
    "XK": _("Kosovo"),
    "ZZ": _("Unknown region"),
}


@functools.cache
def _iso_names() -> dict[str, str]:
    return {country.alpha_2: country.name for country in pycountry.countries}


@functools.cache
def _iso_translation(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "iso3166-1", localedir=pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def _sort_key(name: str) -> str:
    # "États-Unis" among the E's, not after "Zimbabwe".
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def country_choices(codes: list[str] | None = None) -> list[tuple[str, str]]:
    """``(code, name)`` in the page's language, sorted by name; every ISO country when ``codes`` is None."""
    names = _iso_names()
    language = (translation.get_language() or "en").split("-")[0]
    local = _iso_translation(language)
    choices = []
    for code in codes if codes is not None else [*names, *EXTRA_COUNTRIES]:
        if code in EXTRA_COUNTRIES:
            choices.append((code, str(EXTRA_COUNTRIES[code])))
        else:
            choices.append((code, local.gettext(names[code]) if code in names else code))
    return sorted(choices, key=lambda choice: _sort_key(choice[1]))


class PayForm(forms.Form):
    """Fields for one session: quantities, amount, contact, card and whatever the link collects."""

    email = forms.EmailField(label=_("Email"), max_length=254)
    card_number = forms.CharField(label=_("Card number"), max_length=23)
    card_expiry = forms.CharField(label=_("Expiration (MM / YY)"), max_length=9)
    card_cvc = forms.CharField(label=_("CVC"), max_length=4)
    cardholder_name = forms.CharField(label=_("Name on card"), max_length=200)

    def __init__(
        self,
        *args,
        link: dict,
        line_items: list[dict],
        preview: bool = False,
        reprice_url: str = "",
        collect_payment_method: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.link = link
        # The link's own items with the session's quantities (from the link, not from the priced lines: an
        # item brought down to 0 keeps its field); optional items have fields of their own.
        self.line_items = totals.link_items(link=link, priced=line_items)
        self.preview = preview
        self.business_fields = list(BUSINESS_FIELDS)
        self._add_quantity_fields()
        self._add_collection_fields()
        self._add_custom_fields()
        self._add_optional_item_fields()
        self._add_name_and_tax_id_fields()
        self._add_payment_method_fields()
        if not collect_payment_method:
            # Nothing is due today and the link collects a payment method only if required.
            for name in (*CARD_FIELDS, "cardholder_name", "payment_method", "iban"):
                self.fields.pop(name, None)
        if link["allow_promotion_codes"]:
            self.fields["promotion_code"] = forms.CharField(
                label=_("Promotion code"), max_length=500, required=False
            )
        self.order_fields(FIELD_ORDER)
        for name, field in self.fields.items():
            if name.startswith(SUMMARY_PREFIXES):
                field.widget.attrs["form"] = FORM_ID
            if reprice_url and name.startswith(PRICING_PREFIXES):
                # Only the fields that change the amount ask the server for a new summary (HTMX).
                field.widget.attrs["hx-post"] = reprice_url
        if preview:
            # "Update total" only reprices the order: nothing else has to be filled in yet.
            for name, field in self.fields.items():
                if not name.startswith(PRICING_PREFIXES):
                    field.required = False

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound:
            self._ignore_business_details()
        if self.preview and self._errors:
            # A half-typed card number must not stop the total from following the quantity.
            for name in [n for n in self._errors if n in self.fields and not n.startswith(PRICING_PREFIXES)]:
                del self._errors[name]
        for name in self._errors or {}:
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"{name}-error"}
                )

    def _add_optional_item_fields(self) -> None:
        """Upsells: a quantity (adjustable) or a checkbox adding the item's quantity."""
        from sandbox import store

        for extra in self.link.get("optional_items") or []:
            price = store.get(type="price", object_id=extra["price"]).data
            product = store.get(type="product", object_id=price["product"]).data
            amount = pricing.format_amount(pricing.line_subtotal(price, 1), price["currency"])
            label = _("Add %(name)s (%(amount)s each)") % {"name": product["name"], "amount": amount}
            adjustable = extra.get("adjustable_quantity") or {}
            name = f"optional_{extra['price']}"
            if adjustable.get("enabled"):
                # 0 leaves it out, whatever the minimum ("the customer will always be able to remove it").
                self.fields[name] = forms.IntegerField(
                    label=label, min_value=0, max_value=adjustable["maximum"], initial=0, required=False
                )
            else:
                self.fields[name] = forms.BooleanField(label=label, required=False)

    def _check_optional_minimums(self) -> None:
        for extra in self.link.get("optional_items") or []:
            name = f"optional_{extra['price']}"
            minimum = (extra.get("adjustable_quantity") or {}).get("minimum") or 0
            value = self.cleaned_data.get(name)
            if value is not True and value and value < minimum:
                message = OPTIONAL_BELOW_MINIMUM % {"minimum": minimum}
                self.add_error(name, forms.ValidationError(message, code="min_value"))

    def optional_items(self) -> dict[str, int]:
        chosen = {}
        for extra in self.link.get("optional_items") or []:
            value = self.cleaned_data.get(f"optional_{extra['price']}")
            if value is True:
                chosen[extra["price"]] = extra["quantity"]
            elif value:
                chosen[extra["price"]] = value
        return chosen

    def _add_name_and_tax_id_fields(self) -> None:
        names = self.link.get("name_collection") or {}
        for kind, label in (("individual", _("Full name")), ("business", _("Business name"))):
            config = names.get(kind)
            if config and config["enabled"]:
                self.fields[f"{kind}_name"] = forms.CharField(
                    label=label, max_length=200, required=not config["optional"]
                )
        tax_ids = self.link["tax_id_collection"]
        if tax_ids["enabled"]:
            # Stripe: a checkbox "allowing the customer to indicate that they're purchasing as a business",
            # then the tax ID and the business's legal name.
            self.fields["business_purchase"] = forms.BooleanField(
                label=_("I'm purchasing as a business"), required=False
            )
            if "business_name" not in self.fields:
                self.fields["business_name"] = forms.CharField(
                    label=_("Business name"), max_length=200, required=False
                )
                self.business_fields.append("business_name")
            self.fields["tax_id_type"] = forms.ChoiceField(
                label=_("Tax ID type"), choices=TAX_ID_CHOICES, required=False
            )
            self.fields["tax_id_value"] = forms.CharField(label=_("Tax ID"), max_length=100, required=False)

    def business_purchase(self) -> bool:
        """The customer ticked "I'm purchasing as a business" (a script paying in one step sends it too)."""
        return bool(self.cleaned_data.get("business_purchase"))

    def _ignore_business_details(self) -> None:
        """Not a business purchase: the business name and tax ID the box reveals are ignored, even when typed
        before the box was unticked (hidden on the page, they must not be recorded nor refused)."""
        if "business_purchase" not in self.fields or self.business_purchase():
            return
        for name in self.business_fields:
            self._errors.pop(name, None)
            self.cleaned_data[name] = ""

    def _check_business_details(self) -> None:
        """``tax_id_collection[required]=if_supported``: a business purchase needs its tax ID; any business
        purchase needs the business's name."""
        tax_ids = self.link["tax_id_collection"]
        if self.preview or not tax_ids["enabled"] or not self.business_purchase():
            return
        required = ["business_name"]
        if tax_ids.get("required") == "if_supported":
            required.append("tax_id_value")
        for name in required:
            if name in self.cleaned_data and not self.cleaned_data[name]:
                self.add_error(name, forms.ValidationError(FIELD_REQUIRED, code="required"))

    def _add_payment_method_fields(self) -> None:
        """Card, SEPA Direct Debit, or a choice of both, from the link's ``payment_method_types``."""
        types = self.link["payment_method_types"] or ["card"]
        methods = [m for m in ("card", "sepa_debit") if m in types] or ["card"]
        if "sepa_debit" not in methods:
            return
        labels = {"card": _("Card"), "sepa_debit": _("SEPA Direct Debit")}
        self.fields["payment_method"] = forms.ChoiceField(
            label=_("Payment method"),
            widget=forms.RadioSelect,
            choices=[(m, labels[m]) for m in methods],
            initial=methods[0],
        )
        self.fields["iban"] = forms.CharField(label=_("IBAN"), max_length=42, required=False)
        for name in CARD_FIELDS:
            self.fields[name].required = False

    def _add_quantity_fields(self) -> None:
        for item in self.line_items:
            price = item["price"]
            if price.get("custom_unit_amount") is not None:
                initial = pricing.line_subtotal(price, 1)
                self.fields["custom_amount"] = forms.CharField(
                    label=_("Amount (%(currency)s)") % {"currency": price["currency"].upper()},
                    initial=pricing.to_major(initial, price["currency"]),
                )
                self.custom_price = price
            adjustable = item.get("adjustable_quantity") or {}
            if adjustable.get("enabled"):
                # Stripe: with one item in the cart its quantity cannot go down to 0.
                minimum = max(adjustable["minimum"], 1 if len(self.line_items) == 1 else 0)
                self.fields[f"quantity_{item['_link_item']}"] = forms.IntegerField(
                    label=_("Quantity of %(name)s") % {"name": item["description"]},
                    min_value=minimum,
                    max_value=adjustable["maximum"],
                    initial=item["quantity"],
                )

    def _add_collection_fields(self) -> None:
        link = self.link
        if link["billing_address_collection"] == "required" or link["automatic_tax"]["enabled"]:
            self.fields["billing_line1"] = forms.CharField(label=_("Billing address"), max_length=200)
            self.fields["billing_city"] = forms.CharField(label=_("City"), max_length=100)
            self.fields["billing_postal_code"] = forms.CharField(label=_("Postal code"), max_length=20)
            self.fields["billing_country"] = forms.ChoiceField(label=_("Country"), choices=country_choices())
        if link["shipping_address_collection"]:
            countries = link["shipping_address_collection"]["allowed_countries"]
            self.fields["shipping_name"] = forms.CharField(label=_("Shipping name"), max_length=200)
            self.fields["shipping_line1"] = forms.CharField(label=_("Shipping address"), max_length=200)
            self.fields["shipping_city"] = forms.CharField(label=_("Shipping city"), max_length=100)
            self.fields["shipping_postal_code"] = forms.CharField(
                label=_("Shipping postal code"), max_length=20
            )
            self.fields["shipping_country"] = forms.ChoiceField(
                label=_("Shipping country"), choices=country_choices(countries)
            )
        if link["shipping_options"]:
            choices = self._shipping_choices()
            # Stripe pre-selects the first shipping option.
            self.fields["shipping_rate"] = forms.ChoiceField(
                label=_("Shipping method"), widget=forms.RadioSelect, choices=choices, initial=choices[0][0]
            )
        if link["phone_number_collection"]["enabled"]:
            self.fields["phone"] = forms.CharField(label=_("Phone number"), max_length=30)
        consent = link["consent_collection"] or {}
        if consent.get("terms_of_service") == "required":
            self.fields["terms"] = forms.BooleanField(label=_("I agree to the Terms of Service"))
        if consent.get("promotions") == "auto":
            self.fields["promotions"] = forms.BooleanField(
                label=_("Keep me updated with news and offers"), required=False
            )

    def _shipping_choices(self) -> list[tuple[str, str]]:
        from sandbox import store

        choices = []
        for option in self.link["shipping_options"]:
            rate = store.get(type="shipping_rate", object_id=option["shipping_rate"]).data
            amount = pricing.format_amount(rate["fixed_amount"]["amount"], rate["fixed_amount"]["currency"])
            choices.append((rate["id"], f"{rate['display_name']} ({amount})"))
        return choices

    def _add_custom_fields(self) -> None:
        for field in self.link["custom_fields"]:
            name = f"custom_{field['key']}"
            label = field["label"]["custom"]
            required = not field["optional"]
            if field["type"] == "dropdown":
                options = [("", "—")] + [(o["value"], o["label"]) for o in field["dropdown"]["options"]]
                self.fields[name] = forms.ChoiceField(
                    label=label,
                    choices=options,
                    required=required,
                    initial=field["dropdown"].get("default_value"),
                )
                continue
            config = field[field["type"]] or {}
            messages = {}
            if field["type"] == "numeric":
                messages = {"min_length": NUMERIC_TOO_SHORT, "max_length": NUMERIC_TOO_LONG}
            self.fields[name] = forms.CharField(
                label=label,
                required=required,
                initial=config.get("default_value"),
                min_length=config.get("minimum_length"),
                max_length=config.get("maximum_length") or 255,
                error_messages=messages,
            )

    def method(self) -> str:
        return self.data.get("payment_method") if "payment_method" in self.fields else "card"

    def clean_iban(self) -> str:
        iban = re.sub(r"\s", "", self.cleaned_data.get("iban") or "").upper()
        if self.method() != "sepa_debit" or self.preview:
            return iban
        if not iban:
            raise forms.ValidationError(FIELD_REQUIRED, code="required")
        if not cards.iban_ok(iban):
            raise forms.ValidationError(IBAN_INVALID, code="invalid_bank_account_iban")
        return iban

    def clean_card_number(self) -> str:
        number = cards.digits(self.cleaned_data["card_number"])
        if (self.preview or self.method() != "card") and not number:
            return ""
        if not number:
            raise forms.ValidationError(FIELD_REQUIRED, code="required")
        blocked = (
            ((self.link.get("payment_method_options") or {}).get("card") or {}).get("restrictions") or {}
        ).get("brands_blocked") or []
        if BLOCKABLE_BRANDS.get(cards.brand(number)) in blocked:
            raise forms.ValidationError(CARD_NOT_SUPPORTED, code="card_declined")
        if not cards.luhn_ok(number):
            raise forms.ValidationError(CARD_NUMBER_INCORRECT, code="incorrect_number")
        return number

    def clean_card_expiry(self) -> tuple[int, int] | None:
        if (self.preview or self.method() != "card") and not self.cleaned_data["card_expiry"]:
            return None
        parsed = cards.parse_expiry(self.cleaned_data["card_expiry"])
        if parsed is None:
            raise forms.ValidationError(EXPIRY_INCOMPLETE, code="invalid_expiry_year")
        month, year = parsed
        if not 1 <= month <= 12:
            raise forms.ValidationError(EXPIRY_MONTH_INVALID, code="invalid_expiry_month")
        if cards.expiry_in_past(month, year):
            raise forms.ValidationError(EXPIRY_IN_PAST, code="invalid_expiry_year")
        return parsed

    def clean_custom_amount(self) -> int:
        price = self.custom_price
        amount = pricing.to_minor(self.cleaned_data["custom_amount"], price["currency"])
        problem = pricing.custom_amount_error(price, amount)
        custom = price["custom_unit_amount"]
        if problem == "too_small":
            minimum = pricing.format_amount(custom.get("minimum") or 0, price["currency"])
            raise forms.ValidationError(AMOUNT_TOO_SMALL % {"amount": minimum}, code="amount_too_small")
        if problem == "too_large":
            maximum = pricing.format_amount(custom["maximum"], price["currency"])
            raise forms.ValidationError(AMOUNT_TOO_LARGE % {"amount": maximum}, code="amount_too_large")
        if problem:
            raise forms.ValidationError(AMOUNT_INVALID, code="invalid")
        return amount

    def clean(self):
        cleaned = super().clean()
        quantities = [
            cleaned.get(f"quantity_{item['_link_item']}", item["quantity"]) for item in self.line_items
        ]
        if quantities and not any(quantities) and not any(self.optional_items().values()):
            raise forms.ValidationError(NO_ITEMS, code="no_items")
        number = cleaned.get("card_number")
        cvc = (cleaned.get("card_cvc") or "").strip()
        if number and not self.preview and self.method() == "card":
            length = 4 if cards.brand(number) == "amex" else 3
            if not re.fullmatch(rf"\d{{{length}}}", cvc):
                self.add_error("card_cvc", forms.ValidationError(CVC_INCOMPLETE, code="invalid_cvc"))
        for field in self.link["custom_fields"]:
            value = cleaned.get(f"custom_{field['key']}")
            if field["type"] == "numeric" and value and not value.isdigit():
                self.add_error(f"custom_{field['key']}", forms.ValidationError(NUMERIC_ONLY, code="invalid"))
        self._check_optional_minimums()
        self._check_business_details()
        return cleaned

    def quantities(self) -> dict[str, int]:
        return {
            name.removeprefix("quantity_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("quantity_") and value is not None
        }
