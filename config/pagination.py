"""A paginator for the dashboard's long lists that never counts more rows than it can show."""

from __future__ import annotations

from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

# The most rows a list counts. Below it the page count is exact; above it the pager says "more than" and
# offers Next. Counting costs one index entry per row (133 ms for the 1,000,000 orders of the unfiltered
# list, docs/performance.md): capped, it costs the same at any size. 10,000 rows is 200 pages of orders
# and 400 of links, more than anyone pages through rather than searching or filtering.
COUNT_CAP = 10_000
# A search counts ten times fewer: a word common to many rows (in a fifth of 100,000 links, say) makes the
# count read rows until it has found the cap's worth of matches (66 ms for 10,000, 7 ms for 1,000 in
# docs/performance.md), and "more than 1,000 results" says all a search needs to.
SEARCH_COUNT_CAP = 1_000
# From this many rows in, a page reads the ids of its rows first, then those rows: the skipped rows are
# walked in an index, without reading each one and its joins (the orders list's page 200 at 1,000,000
# orders, docs/performance.md).
ID_FIRST_OFFSET = 500


class CappedPaginator(Paginator):
    """A ``Paginator`` whose ``count`` is ``min(rows, cap)``, from ``COUNT(*)`` over ``LIMIT cap + 1``.

    When there are more rows than the cap (``capped``), the last page is unknown: every page, including
    those past the cap (reached by ``?page=``), reads one row more than it shows to know whether there is
    a next page. ``orphans`` is not supported, since the end of the list is not known.
    """

    def __init__(self, object_list, per_page, *, cap: int | None = None, **kwargs) -> None:
        if kwargs.get("orphans"):
            raise ValueError("CappedPaginator does not support orphans.")
        super().__init__(object_list, per_page, **kwargs)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def _rows_up_to_cap_plus_one(self) -> int:
        if hasattr(self.object_list, "query"):
            # COUNT(*) FROM (SELECT id ... LIMIT cap + 1): stops reading at the cap; no ORDER BY needed.
            return self.object_list.order_by()[: self.cap + 1].count()
        return len(self.object_list)

    @cached_property
    def count(self) -> int:
        return min(self._rows_up_to_cap_plus_one, self.cap)

    @cached_property
    def capped(self) -> bool:
        """True when there are more rows than ``count`` says (and than ``num_pages`` covers)."""
        return self._rows_up_to_cap_plus_one > self.cap

    def validate_number(self, number) -> int:
        try:
            return super().validate_number(number)
        except EmptyPage:
            # Past the counted pages: whether the page has rows is known only once they are read.
            if self.capped and int(number) >= 1:
                return int(number)
            raise

    def get_page(self, number) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:
            # A page past the cap and past the end: the last page that could be counted.
            return self.page(self.num_pages)

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if not self.capped:
            top = min(bottom + self.per_page, self.count)  # an empty list reads nothing
            return self._get_page(self._rows(bottom, top), number, self)
        rows = self._rows(bottom, bottom + self.per_page + 1)
        if not rows:
            raise EmptyPage(self.error_messages["no_results"])
        return CappedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)

    def _rows(self, bottom: int, top: int) -> list:
        if top <= bottom:
            return []
        rows = self.object_list[bottom:top]
        if bottom < ID_FIRST_OFFSET or not isinstance(self.object_list, QuerySet):
            return list(rows)
        ids = list(rows.values_list("pk", flat=True))
        # The same filters, order and joins, on these rows only.
        return list(self.object_list.filter(pk__in=ids)) if ids else []


class CappedPage(Page):
    """A page of a list longer than the cap: whether it has a next page comes from the row read past it."""

    def __init__(self, object_list, number, paginator, *, has_more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.has_more = has_more

    def has_next(self) -> bool:
        return self.has_more

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1
