"""Payment link forms: plain forms and a formset of line items, turned into the services' arguments."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorList
from django.utils.translation import gettext_lazy as _

from catalog.forms import RequestTokenField
from catalog.http import add_service_errors
from catalog.models import Price
from catalog.selectors import price_choices_for_links
from catalog.templatetags.money import price_summary

MAX_LINE_ITEMS = 20
MAX_QUANTITY = 999_999


class PriceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Price) -> str:
        label = f"{obj.product.name} — {price_summary(obj)}"
        return f"{label} ({obj.nickname})" if obj.nickname else label


class LineItemForm(forms.Form):
    price = PriceChoiceField(
        label=_("Price"), queryset=price_choices_for_links(), to_field_name="stripe_id",
        empty_label=_("Choose a price…"),
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY, initial=1)


class BaseLineItemFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "use_required_attribute": False}


LineItemFormSet = forms.formset_factory(
    LineItemForm, formset=BaseLineItemFormSet, extra=0, min_num=1, max_num=MAX_LINE_ITEMS,
    absolute_max=MAX_LINE_ITEMS, validate_min=True, validate_max=True, can_delete=True,
)


class PaymentLinkCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Internal name"), max_length=200,
        help_text=_("Only your staff see it; Stripe's payment link has no name."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    request_token = RequestTokenField()


def line_items_formset(data=None, *, initial: list[dict] | None = None) -> forms.BaseFormSet:
    """The line items of the link form; ``add_line_item`` in ``data`` adds an empty row (no JS needed)."""
    if data is not None and "add_line_item" in data:
        data = data.copy()
        total = int(data.get("line_items-TOTAL_FORMS") or 0)
        data["line_items-TOTAL_FORMS"] = str(min(total + 1, MAX_LINE_ITEMS))
    return LineItemFormSet(data, prefix="line_items", initial=initial)


def line_items_cleaned(formset: forms.BaseFormSet) -> list[dict]:
    """The rows kept (not marked for removal), as the service takes them."""
    return [{"price": form.cleaned_data["price"], "quantity": form.cleaned_data["quantity"]} for form in _kept(formset)]


def _kept(formset: forms.BaseFormSet) -> list[forms.Form]:
    return [form for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]


def add_link_errors(form: forms.Form, formset: forms.BaseFormSet, error: ValidationError) -> None:
    """A service error keyed ``line_items.<n>.<field>`` goes to that row, ``line_items`` above the rows."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    kept = _kept(formset)
    for key, errors in error.error_dict.items():
        parts = key.split(".")
        if parts[0] == "line_items" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(kept):
            row = kept[int(parts[1])]
            row.add_error(parts[2] if parts[2] in row.fields else None, errors)
        elif key == "line_items":
            # The formset's own errors list: shown above the rows and in the summary.
            formset._non_form_errors = formset.non_form_errors() + ErrorList(ValidationError(errors).messages)
        else:
            add_service_errors(form, ValidationError({key: errors}))
