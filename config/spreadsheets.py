"""CSV that is safe to open in a spreadsheet: customer-typed text must never run as a formula.

OWASP's "CSV Injection" advice: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is prefixed with a single quote, so spreadsheets show it as text. (defusedcsv leaves tabs and carriage
returns through, hence this small function over the standard ``csv`` module.) Numbers stay numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from numbers import Number

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> object:
    """``value`` as a CSV cell: ``""`` for None, numbers unchanged, formula-like text quoted."""
    if value is None:
        return ""
    if isinstance(value, Number):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through :func:`spreadsheet_safe`."""

    def __init__(self, stream, **fmtparams):
        self._writer = csv.writer(stream, **fmtparams)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([spreadsheet_safe(value) for value in row])
