"""The dashboard's lists, one way for all: filters read from the query string by a form, and sorting by a
column from a fixed set of keys per list (never an ORDER BY taken from the request).

A list's filter form subclasses ``ListFilterForm``: its fields are the filters, ``sorts`` maps each sort key
to the model fields it orders by, ``default_sort`` is the key used when none (or an unknown one) is given.
The form adds the "Sort by" field itself (the column headers are hidden on a phone, the select is not), and
gives the templates what the filter bar (``includes/filter_bar.html``) and the sortable column headers
(``includes/sort_header.html``) need; pagination and sort links keep every filter, filter changes keep the
sort.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from django import forms
from django.http import QueryDict
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

ASCENDING = "ascending"
DESCENDING = "descending"


@dataclasses.dataclass(frozen=True)
class SortColumn:
    """A column a list sorts by: its header's label, the ORDER BY when ascending (descending reverses every
    field, so that one index read backwards serves both), and the direction a first click sorts in."""

    label: str
    fields: tuple[str, ...]
    first: str = ASCENDING

    def order_by(self, direction: str) -> tuple[str, ...]:
        if direction == ASCENDING:
            return self.fields
        return tuple(field[1:] if field.startswith("-") else f"-{field}" for field in self.fields)


@dataclasses.dataclass(frozen=True)
class SortHeader:
    """What a column header shows: its label, ``aria-sort`` when the list is sorted by it, and the query
    string (filters kept, page dropped) that sorts by it, or reverses it when it is already the sort."""

    label: str
    aria_sort: str
    query: str


class SortField(forms.ChoiceField):
    """The sort key: one the list does not know (an old bookmark, a hand-edited URL) is the default, quietly,
    rather than an error or the raw value reaching ``order_by``."""

    def clean(self, value):
        value = self.to_python(value)
        return value if self.valid_value(value) else ""


class ListFilterForm(forms.Form):
    """A list's filters, bound to ``request.GET``. A filter whose value is invalid shows its error at its
    field and is left out; the others still apply."""

    sorts: ClassVar[dict[str, SortColumn]] = {}
    default_sort: ClassVar[str] = ""
    # Query parameters that are not filters (the page, the sort) and so do not count in ``is_filtered``.
    not_filters: ClassVar[frozenset[str]] = frozenset({"page", "sort"})

    def __init__(self, data: QueryDict | None = None, **kwargs) -> None:
        super().__init__(data if data is not None else QueryDict(), **kwargs)
        if self.sorts:
            self.fields["sort"] = SortField(label=_("Sort by"), required=False, choices=self._sort_choices())

    def _sort_choices(self) -> list[tuple[str, str]]:
        choices = []
        for key, column in self.sorts.items():
            for direction in (column.first, DESCENDING if column.first == ASCENDING else ASCENDING):
                template = (
                    _("%(column)s, ascending") if direction == ASCENDING else _("%(column)s, descending")
                )
                choices.append((_sort_param(key, direction), template % {"column": column.label}))
        # The default first: with no sort in the query string, the select shows the first option.
        return sorted(choices, key=lambda choice: choice[0] != self.default_sort)

    @cached_property
    def values(self) -> dict:
        """Each filter's cleaned value, or its empty value where the query string gave none or a bad one."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned[name] if name in cleaned else field.clean(None)
            for name, field in self.fields.items()
            if name != "sort"
        }

    @property
    def is_filtered(self) -> bool:
        """True when a filter narrows the list (for the empty state: "no row matches these filters")."""
        return any(value not in (None, "", [], False) for value in self.values.values())

    # SORTING -------------------------------------------------------------------------------------------

    @cached_property
    def sort(self) -> tuple[str, str]:
        """``(key, direction)``: the sort asked for if the list knows it, else the default."""
        self.is_valid()
        asked = (getattr(self, "cleaned_data", {}).get("sort") or "") if self.sorts else ""
        return _parse_sort(asked or self.default_sort)

    def order_by(self) -> tuple[str, ...]:
        key, direction = self.sort
        return self.sorts[key].order_by(direction)

    @cached_property
    def headers(self) -> dict[str, SortHeader]:
        """The sortable columns' headers, by sort key."""
        current_key, current_direction = self.sort
        headers = {}
        for key, column in self.sorts.items():
            if key == current_key:
                direction = DESCENDING if current_direction == ASCENDING else ASCENDING
                aria_sort = current_direction
            else:
                direction, aria_sort = column.first, ""
            headers[key] = SortHeader(
                label=str(column.label),
                aria_sort=aria_sort,
                query=self.query(sort=_sort_param(key, direction)),
            )
        return headers

    def query(self, **changes: str) -> str:
        """The current query string without the page (a new filter or sort starts at page 1), with
        ``changes`` applied: for sort links, and as the pagination's base."""
        query = self.data.copy() if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
        query.pop("page", None)
        for name, value in changes.items():
            query[name] = value
        return query.urlencode()


def _sort_param(key: str, direction: str) -> str:
    return f"-{key}" if direction == DESCENDING else key


def _parse_sort(param: str) -> tuple[str, str]:
    return (param[1:], DESCENDING) if param.startswith("-") else (param, ASCENDING)
