"""The link editor's live preview: what the customer will see and be asked, from the editor's current
values (rows and sections not valid yet are left out, never reported: the form reports them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from catalog.durations import interval_text
from catalog.models import Price
from catalog.money import format_money
from catalog.templatetags.money import price_summary
from links.countries import shipping_country_choices


@dataclass
class PreviewItem:
    name: str
    unit: str  # "25.00 EUR / month"
    quantity: int
    amount: int | None  # the line's total in minor units, None when Stripe computes it at checkout
    adjustable: bool = False


@dataclass
class LinkPreview:
    currency: str
    items: list[PreviewItem] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)  # the optional items: "Frame — 12.00 EUR"
    button: str = ""
    after: str = ""
    trial_days: int | None = None

    @property
    def total(self) -> str:
        """The total of the items, or "" when one of them is priced at checkout (tiers, customer's choice)."""
        if not self.items or any(item.amount is None for item in self.items):
            return ""
        return format_money(sum(item.amount for item in self.items), self.currency)


def link_preview(*, editor) -> LinkPreview:
    options = editor.valid_options()
    recurring = editor.has_recurring_price
    return LinkPreview(
        currency=editor.currency,
        items=[_item(row) for row in editor.preview_rows()],
        asked=_asked(options),
        offered=_offered(options),
        button=_button(options, recurring=recurring),
        after=editor.groups["after_completion"].summary_of(options),
        trial_days=(options.get("subscription_data") or {}).get("trial_period_days") if recurring else None,
    )


def _item(row: dict) -> PreviewItem:
    quantity = row["quantity"]
    if row.get("price"):
        price = row["price"]
        # Tiers, a quantity transform or the customer's own amount: Stripe computes the line at checkout.
        simple = price.billing_scheme != "tiered" and price.custom_unit_amount is None
        simple = simple and not price.transform_quantity and price.unit_amount is not None
        amount = price.unit_amount * quantity if simple else None
        return PreviewItem(price.product.name, price_summary(price), quantity, amount, row["adjustable"])
    data = row["price_data"]
    unit = format_money(data["unit_amount"], data["currency"])
    recurring = data.get("recurring") or {}
    if recurring.get("interval"):
        unit += f" / {interval_text(interval=recurring['interval'], count=recurring.get('interval_count'))}"
    name = data["product_data"]["name"]
    return PreviewItem(name, unit, quantity, data["unit_amount"] * quantity, row["adjustable"])


def _offered(options: dict) -> list[str]:
    ids = [item["price"] for item in options.get("optional_items") or []]
    prices = Price.objects.filter(stripe_id__in=ids).select_related("product").in_bulk(field_name="stripe_id")
    return [f"{prices[i].product.name} — {price_summary(prices[i])}" for i in ids if i in prices]


def _asked(options: dict) -> list[str]:
    """What the hosted page asks, in its order."""
    asked = [_("E-mail address")]
    names = options.get("name_collection") or {}
    if "individual" in names:
        asked.append(_("Full name") + (_(" (optional)") if names["individual"]["optional"] else ""))
    if "business" in names:
        asked.append(_("Business name") + (_(" (optional)") if names["business"]["optional"] else ""))
    if (options.get("phone_number_collection") or {}).get("enabled"):
        asked.append(_("Phone number"))
    countries = (options.get("shipping_address_collection") or {}).get("allowed_countries") or []
    if countries:
        asked.append(_("Shipping address (%(countries)s)") % {"countries": _country_names(countries)})
    if options.get("shipping_options"):
        asked.append(_("A shipping option"))
    if options.get("billing_address_collection") == "required":
        asked.append(_("Billing address"))
    elif (options.get("automatic_tax") or {}).get("enabled"):
        asked.append(_("Billing address (for tax)"))
    for custom in options.get("custom_fields") or []:
        label = custom["label"]["custom"]
        asked.append(label + (_(" (optional)") if custom.get("optional") else ""))
    tax_id = options.get("tax_id_collection") or {}
    if tax_id.get("enabled"):
        asked.append(
            _("Tax ID (required where supported)") if tax_id.get("required") else _("Tax ID (businesses)")
        )
    if options.get("allow_promotion_codes"):
        asked.append(_("A promotion code (optional)"))
    asked.append(_("A card or another payment method"))
    consent = options.get("consent_collection") or {}
    if consent.get("terms_of_service") == "required":
        asked.append(_("Accept your terms of service"))
    if consent.get("promotions"):
        asked.append(_("Consent to promotional e-mails (optional)"))
    return asked


def _country_names(codes: list[str]) -> str:
    if len(codes) > 3:
        return _("%(count)d countries") % {"count": len(codes)}
    names = dict(shipping_country_choices())
    return ", ".join(names.get(code, code) for code in codes)


def _button(options: dict, *, recurring: bool) -> str:
    labels = {"pay": _("Pay"), "book": _("Book"), "donate": _("Donate"), "subscribe": _("Subscribe")}
    if options.get("submit_type") in labels:
        return labels[options["submit_type"]]
    return _("Subscribe") if recurring else _("Pay")
