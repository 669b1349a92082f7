"""The lists' shared filter and sort helper (config/listing.py)."""

from __future__ import annotations

from django import forms
from django.http import QueryDict

from config.listing import DESCENDING, ListFilterForm, SortColumn


class ThingFilters(ListFilterForm):
    q = forms.CharField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "All"), ("on", "On"), ("off", "Off")])
    sorts = {
        "created": SortColumn("Created", ("created_at", "id"), first=DESCENDING),
        "name": SortColumn("Name", ("name", "-id")),
    }
    default_sort = "-created"


def _form(query: str) -> ThingFilters:
    return ThingFilters(QueryDict(query))


def test_default_sort_and_its_reverse():
    assert _form("").order_by() == ("-created_at", "-id")
    assert _form("sort=created").order_by() == ("created_at", "id")
    # Descending reverses every field, the tie-breaker too: one index read backwards serves it.
    assert _form("sort=-name").order_by() == ("-name", "id")


def test_an_unknown_sort_key_is_the_default_and_no_error():
    for query in ("sort=password", "sort=-created_at", "sort=name;drop", "sort=", "sort=--name"):
        form = _form(query)
        assert form.order_by() == ("-created_at", "-id")
        assert "sort" not in form.errors


def test_a_bad_filter_value_is_left_out_and_shown_the_others_apply():
    form = _form("q=poster&status=maybe")
    assert form.values == {"q": "poster", "status": ""}
    assert "status" in form.errors
    assert form.is_filtered


def test_headers_toggle_the_current_column_and_keep_the_filters():
    form = _form("q=poster&status=on&sort=-created&page=3")
    created, name = form.headers["created"], form.headers["name"]
    assert created.aria_sort == "descending"
    assert QueryDict(created.query).dict() == {"q": "poster", "status": "on", "sort": "created"}
    # Another column starts in its own first direction, without aria-sort; the page is dropped.
    assert name.aria_sort == ""
    assert QueryDict(name.query).dict() == {"q": "poster", "status": "on", "sort": "name"}


def test_the_sort_field_offers_both_directions_of_each_column_the_default_first():
    choices = dict(_form("").fields["sort"].choices)
    assert list(choices) == ["-created", "created", "name", "-name"]

    class NameFirst(ThingFilters):
        default_sort = "-name"

    # With no sort asked for, the select shows its first option: the list's actual order.
    assert [value for value, _ in NameFirst(QueryDict()).fields["sort"].choices] == [
        "-name",
        "-created",
        "created",
        "name",
    ]


def test_page_and_sort_are_not_filters():
    assert not _form("page=2&sort=name").is_filtered
