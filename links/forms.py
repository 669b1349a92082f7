"""Payment link forms: plain forms and a formset of line items, turned into the services' arguments."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from catalog import limits
from catalog.forms import (
    CheckedFormSet,
    RequestTokenField,
    amount_to_minor,
    with_one_more_row,
)
from catalog.models import Price
from catalog.money import CURRENCY_CHOICES, format_money, from_minor_units
from catalog.selectors import price_choices_for_links
from catalog.templatetags.money import price_summary
from config.forms import SafeModelChoiceField
from config.listing import DESCENDING, ListFilterForm, SortColumn
from links.models import Refund
from links.refunds import REFUND_TOO_LARGE, REFUND_TOO_SMALL

MAX_LINE_ITEMS = 20  # [SDK] payment link create `line_items`: "Up to 20 line items are supported."
MAX_QUANTITY = limits.MAX_QUANTITY
LINE_ITEMS_TOO_FEW = _(
    "Add at least one line item: choose a price, or describe an item that is not in the catalog."
)
LINE_ITEMS_TOO_MANY = ngettext_lazy(
    "A link sells at most %(num)d line item.", "A link sells at most %(num)d line items.", "num"
)


class PriceSelect(forms.Select):
    """The price picker: "Product — 25.00 EUR / month" options, with a box that narrows them (shown by
    paylinks.js) once the catalog has more prices than one reads at a glance."""

    template_name = "links/widgets/price_select.html"
    SEARCH_FROM = 8  # options

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["searchable"] = len(context["widget"]["optgroups"]) > self.SEARCH_FROM
        return context


class PriceChoiceField(SafeModelChoiceField):
    widget = PriceSelect

    def label_from_instance(self, obj: Price) -> str:
        label = f"{obj.product.name} — {price_summary(obj)}"
        return f"{label} ({obj.nickname})" if obj.nickname else label


class LineItemForm(forms.Form):
    """One line: a catalog price, or (for a one-off item) a name and an amount sent as ``price_data``."""

    price = PriceChoiceField(
        label=_("Price"),
        queryset=price_choices_for_links(),
        to_field_name="stripe_id",
        required=False,
        empty_label=_("Choose a price…"),
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
    adhoc_name = forms.CharField(
        label=_("Item name"), required=False, max_length=limits.PRODUCT_NAME_MAX_LENGTH
    )
    adhoc_amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=16, decimal_places=3
    )
    adhoc_currency = forms.ChoiceField(
        label=_("Currency"), required=False, choices=CURRENCY_CHOICES, initial="usd"
    )
    adhoc_interval = forms.ChoiceField(
        label=_("Charged"),
        required=False,
        choices=[
            ("", _("Once")),
            ("day", _("Every day")),
            ("week", _("Every week")),
            ("month", _("Every month")),
            ("year", _("Every year")),
        ],
    )

    def clean(self):
        data = super().clean()
        adhoc = bool(data.get("adhoc_name") or data.get("adhoc_amount") is not None)
        if data.get("price") and adhoc:
            self.add_error("adhoc_name", _("Choose a catalog price or describe an item, not both."))
        elif not data.get("price") and not adhoc:
            self.add_error("price", _("Choose a price, or describe a one-off item below."))
        elif adhoc:
            if not data.get("adhoc_name"):
                self.add_error("adhoc_name", _("Name the item."))
            if data.get("adhoc_amount") is None:
                self.add_error("adhoc_amount", _("Enter the amount."))
            data["adhoc_amount"] = amount_to_minor(
                self, "adhoc_amount", data.get("adhoc_amount"), data.get("adhoc_currency") or "usd"
            )
        minimum, maximum = data.get("minimum"), data.get("maximum")
        if data.get("adjustable") and minimum is not None and maximum is not None and minimum > maximum:
            self.add_error("maximum", _("The maximum must not be below the minimum."))
        return data

    def service_item(self) -> dict:
        data = self.cleaned_data
        item: dict = {"quantity": data["quantity"]}
        if data.get("price"):
            item["price"] = data["price"]
        else:
            price_data = {
                "currency": data["adhoc_currency"] or "usd",
                "unit_amount": data["adhoc_amount"],
                "product_data": {"name": data["adhoc_name"]},
            }
            if data["adhoc_interval"]:
                price_data["recurring"] = {"interval": data["adhoc_interval"]}
            item["price_data"] = price_data
        if data.get("adjustable"):
            adjustable = {"enabled": True}
            adjustable.update({k: data[k] for k in ("minimum", "maximum") if data.get(k) is not None})
            item["adjustable_quantity"] = adjustable
        return item


class BaseLineItemFormSet(CheckedFormSet):
    default_error_messages = {"too_few_forms": LINE_ITEMS_TOO_FEW, "too_many_forms": LINE_ITEMS_TOO_MANY}

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "use_required_attribute": False}


class BaseNewLineItemFormSet(BaseLineItemFormSet):
    def get_form_kwargs(self, index):
        # A row left as it was shown is no line item: an empty form says "add at least one" once, at the
        # line items, rather than an error on its first row as well.
        return {**super().get_form_kwargs(index), "empty_permitted": True}


LineItemFormSet = forms.formset_factory(
    LineItemForm,
    formset=BaseNewLineItemFormSet,
    extra=0,
    min_num=1,
    max_num=MAX_LINE_ITEMS,
    absolute_max=MAX_LINE_ITEMS,
    validate_min=True,
    validate_max=True,
    can_delete=True,
)


class PaymentLinkCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Internal name"),
        max_length=200,
        help_text=_("Only your staff see it; Stripe's payment link has no name."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    request_token = RequestTokenField()


def line_items_formset(data=None, *, initial: list[dict] | None = None) -> forms.BaseFormSet:
    """The line items of the link form; ``add_line_item`` in ``data`` adds an empty row (no JS needed)."""
    if data is not None and "add_line_item" in data:
        before = data.get("line_items-TOTAL_FORMS")
        data = with_one_more_row(data, prefix="line_items", absolute_max=MAX_LINE_ITEMS)
        if data.get("line_items-TOTAL_FORMS") != before:
            # The new row starts as the first one is shown (quantity 1…): left so, it is no line item.
            new_row = int(before or 0)
            for name, field in LineItemForm.base_fields.items():
                if field.initial is not None:
                    data[f"line_items-{new_row}-{name}"] = str(field.initial)
    return LineItemFormSet(data, prefix="line_items", initial=initial)


def line_items_cleaned(formset: CheckedFormSet) -> list[dict]:
    """The rows kept (not marked for removal), as the service takes them."""
    return [form.service_item() for form in formset.kept_forms()]


SAFE_PARAM = RegexValidator(r"^[A-Za-z0-9_-]+$", _("Use only letters, digits, dashes and underscores."))


class UrlBuilderForm(forms.Form):
    """Query parameters Stripe reads on a payment link's URL (shared/reference §9)."""

    client_reference_id = forms.CharField(
        label=_("Client reference ID"),
        required=False,
        max_length=200,
        validators=[SAFE_PARAM],
        help_text=_("Your own reference, copied to the checkout session (e.g. a customer number)."),
    )
    prefilled_email = forms.EmailField(label=_("Pre-filled e-mail"), required=False)
    prefilled_promo_code = forms.CharField(
        label=_("Pre-filled promotion code"), required=False, max_length=limits.PROMOTION_CODE_MAX_LENGTH
    )
    utm_source = forms.CharField(
        label=_("UTM source"), required=False, max_length=150, validators=[SAFE_PARAM]
    )
    utm_medium = forms.CharField(
        label=_("UTM medium"), required=False, max_length=150, validators=[SAFE_PARAM]
    )
    utm_campaign = forms.CharField(
        label=_("UTM campaign"), required=False, max_length=150, validators=[SAFE_PARAM]
    )
    utm_term = forms.CharField(label=_("UTM term"), required=False, max_length=150, validators=[SAFE_PARAM])
    utm_content = forms.CharField(
        label=_("UTM content"), required=False, max_length=150, validators=[SAFE_PARAM]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="share", **kwargs)

    def build(self, url: str) -> str:
        """The link's URL with the given parameters, or "" when the form is empty or invalid."""
        if not self.is_bound or not self.is_valid():
            return ""
        params = {k: v for k, v in self.cleaned_data.items() if v}
        if not params:
            return ""
        return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class LinkFilterForm(ListFilterForm):
    q = forms.CharField(label=_("Search by name or product"), required=False, widget=forms.SearchInput)
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("true", _("Active")), ("false", _("Inactive"))],
    )
    product = SafeModelChoiceField(
        label=_("Product"),
        required=False,
        queryset=None,
        to_field_name="stripe_id",
        empty_label=_("All products"),
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    recurring = forms.ChoiceField(
        label=_("Billing"),
        required=False,
        choices=[("", _("All")), ("false", _("One-off")), ("true", _("Recurring"))],
    )
    # Each served by an index on payment links (link_created, link_name, link_revenue).
    sorts = {
        "created": SortColumn(_("Created"), ("created_at", "id"), first=DESCENDING),
        "name": SortColumn(_("Name"), ("name", "id")),
        "revenue": SortColumn(_("Revenue"), ("revenue", "id"), first=DESCENDING),
    }
    default_sort = "-created"

    def __init__(self, *args, **kwargs):
        from catalog.models import Product
        from catalog.money import CURRENCY_CHOICES

        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.order_by("name")
        self.fields["currency"].choices = [("", _("All"))] + CURRENCY_CHOICES

    def filters(self) -> dict:
        """The selector's keyword arguments."""
        data = self.values
        as_bool = {"": None, "true": True, "false": False}
        return {
            "query": data["q"].strip(),
            "active": as_bool[data["active"]],
            "product": data["product"],
            "currency": data["currency"],
            "recurring": as_bool[data["recurring"]],
            "order_by": self.order_by(),
        }


class LineItemUpdateForm(forms.Form):
    """What Stripe lets change on an existing line item: its quantity and adjustability."""

    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY)
    adjustable = forms.BooleanField(label=_("Customers can change the quantity"), required=False)
    minimum = forms.IntegerField(
        label=_("Minimum quantity"), required=False, min_value=0, max_value=MAX_QUANTITY
    )
    maximum = forms.IntegerField(
        label=_("Maximum quantity"), required=False, min_value=1, max_value=MAX_QUANTITY
    )

    def clean(self):
        data = super().clean()
        minimum, maximum = data.get("minimum"), data.get("maximum")
        if data.get("adjustable") and minimum is not None and maximum is not None and minimum > maximum:
            self.add_error("maximum", _("The maximum must not be below the minimum."))
        return data

    def adjustable_quantity(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("adjustable"):
            return None
        return {"enabled": True, **{k: data[k] for k in ("minimum", "maximum") if data.get(k) is not None}}


LineItemUpdateFormSet = forms.formset_factory(
    LineItemUpdateForm,
    formset=BaseLineItemFormSet,
    extra=0,
    max_num=MAX_LINE_ITEMS,
    absolute_max=MAX_LINE_ITEMS,
)


def line_item_update_initial(items) -> list[dict]:
    initial = []
    for item in items:
        adjustable = item.adjustable_quantity or {}
        initial.append(
            {
                "quantity": item.quantity,
                "adjustable": bool(adjustable.get("enabled")),
                "minimum": adjustable.get("minimum"),
                "maximum": adjustable.get("maximum"),
            }
        )
    return initial


# LIST FILTERS --------------------------------------------------------------------------------------

# How many links the orders list offers in its link filter (the newest).
LINK_FILTER_CHOICES = 50


# The orders list's status filter for authorisations waiting for their capture (awaiting payment, with a
# PaymentIntent that ``requires_capture``).
TO_CAPTURE = "to_capture"
# The orders list's refund filter (links.selectors.order_list's ``refunded``).
REFUNDED_ANY, REFUNDED_FULLY, REFUNDED_PARTIALLY = "any", "full", "partial"


class OrderFilterForm(ListFilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": _("E-mail or reference")}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    link = forms.ChoiceField(label=_("Payment link"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    refunded = forms.ChoiceField(
        label=_("Refunds"),
        required=False,
        choices=[
            ("", _("All")),
            (REFUNDED_ANY, _("Refunded (fully or partially)")),
            (REFUNDED_FULLY, _("Refunded in full")),
            (REFUNDED_PARTIALLY, _("Refunded in part")),
        ],
    )
    # On 1,000,000 orders each is an index read backwards or forwards (order_created, order_total).
    sorts = {
        "created": SortColumn(_("Date"), ("created_at", "id"), first=DESCENDING),
        "total": SortColumn(_("Total"), ("amount_total", "id"), first=DESCENDING),
    }
    default_sort = "-created"

    def __init__(self, *args, **kwargs):
        from links.models import Order

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *Order.Status.choices, (TO_CAPTURE, _("To capture"))]
        self.links = self._links_for_filter(str(self.data.get("link", "")))
        self.fields["link"].choices = [("", _("All"))] + [
            (str(link.public_id), link.name) for link in self.links
        ]

    @staticmethod
    def _links_for_filter(selected: str) -> list:
        """The newest links and the one selected, never every link of a large account: orders of an older
        link are reached from that link's page, which links here with its id."""
        from links.models import PaymentLink

        links = list(
            PaymentLink.objects.only("public_id", "name").order_by("-created_at", "-id")[:LINK_FILTER_CHOICES]
        )
        if _is_uuid(selected) and all(str(link.public_id) != selected for link in links):
            links += list(PaymentLink.objects.only("public_id", "name").filter(public_id=selected))
        return sorted(links, key=lambda link: link.name.lower())

    def clean_q(self) -> str:
        # No id or address holds a NUL, and PostgreSQL cannot compare one: a search for it finds nothing.
        return self.cleaned_data["q"].replace("\x00", "").strip()

    def filters(self) -> dict:
        """The selector's keyword arguments."""
        data = self.values
        link = next((link for link in self.links if str(link.public_id) == data["link"]), None)
        return {
            "query": data["q"],
            "status": data["status"],
            "link": link,
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "refunded": data["refunded"],
            "order_by": self.order_by(),
        }


class CustomerFilterForm(ListFilterForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": _("E-mail or name")}),
    )
    # Each an index read backwards or forwards: customer_last_order, customer_orders, and for the total
    # spent customer_spend_total (its fields are CustomerSpend's: links/customers.py customer_list).
    sorts = {
        "last": SortColumn(_("Last order"), ("last_order_at", "id"), first=DESCENDING),
        "total": SortColumn(_("Total spent"), ("total", "customer_id"), first=DESCENDING),
        "orders": SortColumn(_("Orders"), ("orders_count", "id"), first=DESCENDING),
    }
    default_sort = "-last"

    def clean_q(self) -> str:
        # No address or name holds a NUL, and PostgreSQL cannot compare one: a search for it finds nothing.
        return self.cleaned_data["q"].replace("\x00", "").strip()


class EmailFilterForm(ListFilterForm):
    q = forms.CharField(
        label=_("Recipient's address"),
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "name@example.com"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    # Each served by an index on the outbox (email_created, email_status_created).
    sorts = {
        "created": SortColumn(_("Created"), ("created_at", "id"), first=DESCENDING),
        "status": SortColumn(_("Status"), ("status", "-created_at", "-id")),
    }
    default_sort = "-created"

    def __init__(self, *args, **kwargs):
        from links.models import OutboundEmail

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *OutboundEmail.Status.choices]
        self.fields["kind"].choices = [("", _("All")), *OutboundEmail.Kind.choices]

    def clean_q(self) -> str:
        return self.cleaned_data["q"].replace("\x00", "").strip()

    def filters(self) -> dict:
        data = self.values
        return {
            "query": data["q"],
            "status": data["status"],
            "kind": data["kind"],
            "order_by": self.order_by(),
        }


def _is_uuid(value: str) -> bool:
    from uuid import UUID

    try:
        UUID(value)
    except ValueError:
        return False
    return True


class OrderRefundForm(forms.Form):
    """A refund of an order: its amount in the order's currency's major units (12.50, ¥1250, 1.250 KWD),
    converted to minor units and checked against what remains to refund; Stripe's reason; a note.

    ``confirm`` is set by the confirmation's button: without it a valid form is shown back to confirm.
    """

    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=16,
        decimal_places=3,
        # In the page's language ("12,50" on a French page), as the capture form; the dot is understood too.
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.ChoiceField(label=_("Reason"), required=False)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,  # it travels in the refund's Stripe metadata, whose values hold 500 characters
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For staff: kept with the refund, never sent to the customer."),
    )
    request_token = RequestTokenField()
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, currency: str, remaining: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency, self.remaining = currency, remaining
        self.fields["reason"].choices = [("", _("No reason given")), *Refund.Reason.choices]
        self.fields["amount"].initial = from_minor_units(remaining, currency)
        self.fields["amount"].help_text = _("In %(currency)s; at most what remains to refund.") % {
            "currency": currency.upper()
        }

    def clean(self):
        data = super().clean()
        amount = amount_to_minor(self, "amount", data.get("amount"), self.currency)
        if amount is not None and amount < 1:
            self.add_error("amount", REFUND_TOO_SMALL % {"min": format_money(1, self.currency)})
        elif amount is not None and amount > self.remaining:
            self.add_error("amount", REFUND_TOO_LARGE % {"max": format_money(self.remaining, self.currency)})
        data["amount"] = amount
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "amount": data["amount"],
            "reason": data["reason"],
            "note": data["note"].strip(),
            "request_token": data["request_token"],
        }
