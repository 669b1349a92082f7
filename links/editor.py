"""The payment link editor: the link's details, its line items and every option group, as one form
that works without JavaScript, and whose sections htmx validates and swaps one at a time."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict

from catalog.forms import CheckedFormSet, with_one_more_row
from catalog.models import Price
from catalog.money import to_minor_units
from config.http import add_service_errors, renew_request_token
from links.forms import (
    LineItemUpdateFormSet,
    PaymentLinkCreateForm,
    line_item_update_initial,
    line_items_cleaned,
    line_items_formset,
)
from links.option_groups import OPTION_FORMS, OPTION_FORMSETS, OPTION_GROUPS, OptionGroup, options_merge

# Sections htmx may ask to validate and re-render alone (``section`` in the POST).
SECTIONS = ("line-items", *(group.key.replace("_", "-") for group in OPTION_GROUPS))
# The "add a row" buttons (they work without JavaScript) → the section they re-render.
ADD_ROW_BUTTONS = {
    "add_line_item": "line-items",
    **{formset.add_button: formset.key.replace("_", "-") for formset in OPTION_FORMSETS},
}


class LinkEditor:
    def __init__(
        self,
        data=None,
        *,
        options: dict | None = None,
        details: dict | None = None,
        line_items: list[dict] | None = None,
        currency: str = "",
        editing: bool = False,
        existing_items: list | None = None,
    ):
        options = options or {}
        self.editing = editing
        if data is not None:
            data = _with_every_formset(data)
        self.details = PaymentLinkCreateForm(data, initial=details)
        # Stripe fixes a link's prices at creation: when editing, only quantities and adjustability change.
        self.line_items = None if editing else line_items_formset(data, initial=line_items)
        self.existing_items = list(existing_items or [])
        self.item_updates = None
        if editing:
            # A client that sends no line items changes none of them.
            sent_items = data is not None and "line_items-TOTAL_FORMS" in data
            self.item_updates = LineItemUpdateFormSet(
                data if sent_items else None,
                prefix="line_items",
                initial=line_item_update_initial(self.existing_items),
                form_kwargs={"use_required_attribute": False},
            )
        self.currency = currency or self._currency_from_data(data)
        self.recurring_when_editing = bool(options.get("_recurring"))
        self.groups: dict[str, OptionGroup] = {
            group.key: group(data, initial=group.values_from(options), link_currency=self.currency)
            for group in OPTION_FORMS
        }
        self.formsets: dict[str, CheckedFormSet] = {
            formset.key: _option_formset(formset, data, options) for formset in OPTION_FORMSETS
        }
        if editing:
            for group in self.groups.values():
                for field in group.create_only:
                    group.fields[field].disabled = True

    def __getitem__(self, key: str) -> OptionGroup:
        return self.groups[key]

    def _currency_from_data(self, data) -> str:
        price_ids = _price_ids([(data or {}).get("line_items-0-price")])
        price = Price.objects.filter(stripe_id__in=price_ids).only("currency").first() if price_ids else None
        return price.currency if price else (data or {}).get("line_items-0-adhoc_currency") or "usd"

    @property
    def has_recurring_price(self) -> bool:
        """Whether the selected prices make a subscription (the subscription section is shown then)."""
        if self.line_items is None:
            return self.recurring_when_editing
        if self.line_items.is_bound:
            rows = range(self.line_items.total_form_count())
            if any(self.line_items.data.get(f"line_items-{i}-adhoc_interval") for i in rows):
                return True
            ids = _price_ids([self.line_items.data.get(f"line_items-{i}-price") for i in rows])
            return Price.objects.filter(stripe_id__in=ids, type=Price.Type.RECURRING).exists()
        return any(
            (item.get("price") and item["price"].is_recurring) for item in self.line_items.initial or []
        )

    def is_valid(self) -> bool:
        results = [self.details.is_valid(), *(formset.is_valid() for formset in self.formsets.values())]
        if self.line_items is not None:
            results.append(self.line_items.is_valid())
        if self.item_updates is not None and self.item_updates.is_bound:
            results.append(self.item_updates.is_valid())
        results += [group.is_valid() for group in self.groups.values()]
        return all(results)

    def section_is_valid(self, section: str) -> bool:
        """Validate one section alone (for htmx's live check); never saves."""
        if section == "line-items":
            return self.line_items is not None and self.line_items.is_valid()
        key = section.replace("-", "_")
        if key in self.formsets:
            return self.formsets[key].is_valid()
        return self.groups[key].is_valid()

    def line_items_in_progress(self) -> None:
        """For a re-render of the line items while the merchant works on them (a row added, a price
        chosen): the rows as sent, without the errors of rows not finished yet (a new row has no
        quantity yet). The form's submit checks them."""
        if self.line_items is None:
            return
        self.line_items.full_clean()
        for form in self.line_items.forms:
            form._errors = ErrorDict(renderer=form.renderer)
        self.line_items._errors = [form._errors for form in self.line_items.forms]
        self.line_items._non_form_errors = self.line_items.error_class(error_class="nonform")

    def valid_options(self) -> dict:
        """The options as the sections stand, for the preview: each section's parameters (the link's when
        it was not sent); a section with errors adds none."""
        parts = []
        for group in self.groups.values():
            if not group.is_bound:
                parts.append(group.initial_params)
            elif group.is_valid():
                parts.append(group.to_params())
        for formset in self.formsets.values():
            if not formset.is_bound:
                parts.append(formset.params_from(formset.initial or []))
            elif formset.is_valid():
                parts.append(formset.to_params())
        return options_merge(*parts)

    def preview_rows(self) -> list[dict]:
        """The line items as they stand, for the preview: ``{"price" | "price_data", "quantity",
        "adjustable"}``, without the rows not valid yet."""
        if self.line_items is None:
            updates = self.item_updates.forms if self.item_updates.is_bound else []
            rows = []
            for n, item in enumerate(self.existing_items):
                form = updates[n] if n < len(updates) and updates[n].is_valid() else None
                quantity = form.cleaned_data["quantity"] if form else item.quantity
                adjustable = form.adjustable_quantity() if form else item.adjustable_quantity
                row = {"price": item.price} if item.price else {"price_data": item.price_data}
                rows.append({**row, "quantity": quantity, "adjustable": bool(adjustable)})
            return rows
        if not self.line_items.is_bound:
            return [_row_from_initial(row) for row in self.line_items.initial or []]
        rows = []
        for form in self.line_items.forms:
            if form.is_valid() and form.cleaned_data and not form.cleaned_data.get("DELETE"):
                if form.cleaned_data.get("price") or form.cleaned_data.get("adhoc_name"):
                    item = form.service_item()
                    rows.append({**item, "adjustable": "adjustable_quantity" in item})
        return rows

    def options(self) -> dict:
        return options_merge(
            *(group.to_params() for group in self.groups.values()),
            *(formset.to_params() for formset in self.formsets.values()),
        )

    def service_line_items(self) -> list[dict]:
        return line_items_cleaned(self.line_items)

    def service_item_updates(self) -> list[dict]:
        """``[{"item": PaymentLinkLineItem, "quantity", "adjustable_quantity"}]`` for the update service."""
        if not self.item_updates.is_bound:
            return []
        return [
            {
                "item": item,
                "quantity": form.cleaned_data["quantity"],
                "adjustable_quantity": form.adjustable_quantity(),
            }
            for item, form in zip(self.existing_items, self.item_updates.forms, strict=False)
            if form.cleaned_data
        ]

    @property
    def item_rows(self) -> list[tuple]:
        return (
            list(zip(self.existing_items, self.item_updates.forms, strict=False)) if self.item_updates else []
        )

    @property
    def error_count(self) -> int:
        count = len(self.details.errors) + sum(f.total_error_count() for f in self.formsets.values())
        count += self.line_items.total_error_count() if self.line_items is not None else 0
        count += self.item_updates.total_error_count() if self.item_updates is not None else 0
        return count + sum(len(group.errors) for group in self.groups.values())

    def add_errors(self, error: ValidationError) -> None:
        """Route a service error: ``line_items.<n>.<field>``, ``<group of rows>.<n>.<field>``
        (``custom_fields.0.key``), ``<group>.<field>``, ``<group>``, else the details form."""
        if not hasattr(error, "error_dict"):
            self.details.add_error(None, error)
            return
        renew_request_token(self.details, error)
        for key, errors in error.error_dict.items():
            group, _sep, rest = key.partition(".")
            if group == "line_items":
                rows = self.item_updates if self.line_items is None else self.line_items
                _formset_error(rows, rest, errors)
            elif group in self.formsets:
                _formset_error(self.formsets[group], rest, errors)
            elif group in self.groups:
                form = self.groups[group]
                form.add_error(rest if rest in form.fields else None, errors)
            else:
                add_service_errors(self.details, ValidationError({key: errors}))


def _row_from_initial(initial: dict) -> dict:
    """A duplicated link's row (the editor's initial values, amounts in major units) as a preview row."""
    row: dict = {"quantity": initial.get("quantity") or 1, "adjustable": bool(initial.get("adjustable"))}
    if initial.get("price"):
        return {**row, "price": initial["price"]}
    currency = initial.get("adhoc_currency") or "usd"
    price_data = {
        "currency": currency,
        "unit_amount": to_minor_units(initial["adhoc_amount"], currency),
        "product_data": {"name": initial.get("adhoc_name") or ""},
    }
    if initial.get("adhoc_interval"):
        price_data["recurring"] = {"interval": initial["adhoc_interval"]}
    return {**row, "price_data": price_data}


def _price_ids(values: list) -> list[str]:
    """The price ids sent, without those no price can have (a NUL, which PostgreSQL cannot compare)."""
    return [value for value in values if value and "\x00" not in value]


def _formset_error(formset: CheckedFormSet, rest: str, errors) -> None:
    index, _sep, field = rest.partition(".")
    kept = formset.kept_forms()
    if index.isdigit() and int(index) < len(kept):
        row = kept[int(index)]
        row.add_error(field if field in row.fields else None, errors)
    else:
        # The formset's own list: shown above its rows and in the summary.
        formset.add_error(errors)


def _with_every_formset(data):
    """``data`` with an empty management form for each group of rows the client sent none of (a client
    without JavaScript or an API client: these sections are optional)."""
    missing = [f.key for f in OPTION_FORMSETS if f"{f.key}-TOTAL_FORMS" not in data]
    if not missing:
        return data
    data = data.copy()
    for prefix in missing:
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def _option_formset(formset_class, data, options: dict) -> CheckedFormSet:
    """A group of rows from the link's options, with one more row when its "add a row" button was sent."""
    if data is not None and formset_class.add_button in data:
        before = data.get(f"{formset_class.key}-TOTAL_FORMS")
        data = with_one_more_row(data, prefix=formset_class.key, absolute_max=formset_class.absolute_max)
        if data.get(f"{formset_class.key}-TOTAL_FORMS") != before:
            data = _with_new_row_initial(data, formset_class)
    # With the link's rows as initial values, also when a row was added: the existing rows stay what
    # they were (their changes and removals are measured against them).
    return formset_class(
        data,
        prefix=formset_class.key,
        initial=formset_class.values_from(options) or None,
        form_kwargs={"use_required_attribute": False},
    )


def _with_new_row_initial(data, formset_class):
    """``data`` with the fields' initial values in the row just added (a bound row shows what was sent,
    not its initial values): it shows them (a quantity of 1), and is still a row left as it was."""
    index = int(data[f"{formset_class.key}-TOTAL_FORMS"]) - 1
    for name, field in formset_class.form.base_fields.items():
        if field.initial is not None:
            data.setdefault(f"{formset_class.key}-{index}-{name}", str(field.initial))
    return data
