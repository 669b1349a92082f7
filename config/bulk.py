"""Bulk actions on a list's rows (issue 26, part 4), shared by the links, orders and e-mail lists.

A list page sends its selection with GET (``action``, the rows' ``ids``, or ``all`` with the page's
``page_ids``, and ``back``, the list's own query string); GET shows what the action will do and asks for
confirmation, and only a POST with ``confirm`` runs it, row by row through the service of the single action.
The selection is bounded by the list's page size: one Stripe call per link, never hundreds in one request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy, ngettext

# The messages of a bulk action's report carry this tag: the page shows them in place, not as toasts that
# fade before a list of failures can be read.
REPORT_TAG = "report"
NOTHING_SELECTED = gettext_lazy("Select at least one row on the list first.")
TOO_MANY_SELECTED = gettext_lazy("Select at most %(limit)d rows at a time (one page of the list).")


def row_id(value: str) -> int:
    """A row's integer id (for rows without a public id), within what a database column holds."""
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError(value)
    return number


class IdListField(forms.Field):
    """Several row ids from one name (``?ids=…&ids=…``), each read by ``parse`` (``uuid.UUID`` for a
    public id, ``int`` for a row without one); at most ``limit`` of them."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, limit: int, **kwargs) -> None:
        super().__init__(required=False, **kwargs)
        self.limit = limit
        self.parse: Callable = uuid.UUID

    def to_python(self, value) -> list:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        if len(values) > self.limit:
            raise ValidationError(TOO_MANY_SELECTED, code="too_many", params={"limit": self.limit})
        ids = []
        for item in values:
            try:
                ids.append(self.parse(str(item)))
            except ValueError:
                continue  # not a row of ours: a hand-made URL selects nothing with it
        return list(dict.fromkeys(ids))


class BulkSelectionForm(forms.Form):
    """What a list's bulk form sends: the action and the selected rows of the page."""

    action = forms.ChoiceField()
    ids = IdListField(limit=1)
    select_all = forms.BooleanField(required=False)
    page_ids = IdListField(limit=1)
    back = forms.CharField(required=False, max_length=2000)
    confirm = forms.BooleanField(required=False)

    def __init__(
        self, data: QueryDict, *, actions: Iterable[tuple[str, str]], limit: int, parse: Callable = uuid.UUID
    ) -> None:
        super().__init__(data)
        cast(forms.ChoiceField, self.fields["action"]).choices = list(actions)
        for name in ("ids", "page_ids"):
            ids = cast(IdListField, self.fields[name])
            ids.limit, ids.parse = limit, parse

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        # "Select all on this page" works without JavaScript: the page sends its rows' ids beside it.
        if cleaned.get("select_all"):
            cleaned["ids"] = cleaned.get("page_ids") or []
        if "ids" in cleaned and not cleaned["ids"]:
            self.add_error("ids", ValidationError(NOTHING_SELECTED, code="required"))
        return cleaned

    def selected(self) -> list:
        return self.cleaned_data.get("ids") or [] if self.is_valid() else []

    def chosen_action(self) -> str:
        """The action asked for, once the selection is valid ("" otherwise)."""
        return self.cleaned_data.get("action") or "" if self.is_valid() else ""

    def back_query(self) -> str:
        """The list's query string (filters, sort, page), rebuilt so that it can only be a query string."""
        return QueryDict(self.data.get("back", "")).urlencode()

    def back_url(self, list_url: str) -> str:
        """The list's address with its filters, sort and page as they were (no stray "?" without them)."""
        query = self.back_query()
        return f"{list_url}?{query}" if query else list_url

    def first_error(self) -> str:
        return next((str(e) for errors in self.errors.values() for e in errors), "")


@dataclass
class BulkReport:
    """What a bulk action did: the rows done, and the rows it could not do with why (by row label)."""

    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def bulk_apply[Row](
    *,
    rows: Iterable[Row],
    label: Callable[[Row], str],
    refusal: Callable[[Row], str],
    apply: Callable[[Row], object],
) -> BulkReport:
    """Apply ``apply(row)`` to each row that ``refusal(row)`` has no objection to ("" when it has none).

    Rows are independent: a row whose service raises ``ValidationError`` is reported with its message,
    and the next one goes on. No transaction spans the rows (each service keeps its own, and Stripe's calls
    stay outside them).
    """
    report = BulkReport()
    for row in rows:
        why = refusal(row)
        if not why:
            try:
                apply(row)
            except ValidationError as error:
                why = " ".join(error.messages)
        if why:
            report.failed.append((label(row), why))
        else:
            report.done.append(label(row))
    return report


def bulk_report_messages(request: HttpRequest, report: BulkReport, *, done: str) -> None:
    """The report as the list page shows it: "3 links deactivated." and "1 failed: Name: why"."""
    if report.done or not report.failed:
        messages.success(request, done, extra_tags=REPORT_TAG)
    if report.failed:
        reasons = "; ".join(f"{name}: {why}" for name, why in report.failed)
        count = len(report.failed)
        text = ngettext("%(count)d failed: %(reasons)s", "%(count)d failed: %(reasons)s", count)
        messages.error(request, text % {"count": count, "reasons": reasons}, extra_tags=REPORT_TAG)


def bulk_selected_rows(queryset: QuerySet, *, ids: list, field: str = "public_id") -> list:
    """The rows a bulk action was asked for (by ``field``), in the order they were selected (the list's);
    ids that name no row are left out."""
    by_id = {getattr(row, field): row for row in queryset.filter(**{f"{field}__in": ids})}
    return [by_id[i] for i in ids if i in by_id]


def bulk_confirm_context(*, selection: BulkSelectionForm, action: str, rows: list[tuple]) -> dict:
    """The confirmation page's context: ``rows`` are ``(row, refusal)``, refusal "" for a row the action
    changes; ``changes`` counts those (none: the page offers no button)."""
    changes = sum(1 for _row, refusal in rows if not refusal)
    return {
        "selection": selection,
        "action": action,
        "rows": rows,
        "changes": changes,
        "back": selection.back_query(),
    }
