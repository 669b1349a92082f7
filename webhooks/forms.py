"""The event log's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from config.listing import DESCENDING, ListFilterForm, SortColumn
from webhooks.models import WebhookEvent


def _without_nul(value: str) -> str:
    # No Stripe id or event type holds a NUL, and PostgreSQL cannot compare one: it finds nothing.
    return value.replace("\x00", "").strip()


class EventFilterForm(ListFilterForm):
    q = forms.CharField(
        label=_("Event or object id"),
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "evt_… / cs_…"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    type = forms.CharField(
        label=_("Type"),
        required=False,
        widget=forms.TextInput(attrs={"list": "event-types", "placeholder": "checkout.session.completed"}),
    )
    # On a million events each is an index read one way or the other (event_received, and
    # event_type_received for the type, the id breaking ties among a type's events of one instant).
    sorts = {
        "received": SortColumn(_("Received"), ("received_at", "id"), first=DESCENDING),
        "type": SortColumn(_("Type"), ("type", "-received_at", "-id")),
    }
    default_sort = "-received"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *WebhookEvent.Status.choices]

    def clean_q(self) -> str:
        return _without_nul(self.cleaned_data["q"])

    def clean_type(self) -> str:
        return _without_nul(self.cleaned_data["type"])

    def filters(self) -> dict:
        data = self.values
        return {
            "query": data["q"],
            "status": data["status"],
            "event_type": data["type"],
            "order_by": self.order_by(),
        }
