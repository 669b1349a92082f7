"""CSV that is safe to open in a spreadsheet: customer-typed text must never run as a formula.

OWASP's "CSV Injection" advice: a cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is prefixed with a single quote, so spreadsheets show it as text. (defusedcsv leaves tabs and carriage
returns through, hence this small function over the standard ``csv`` module.) Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from numbers import Number

from django.http import StreamingHttpResponse

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


CSV_CHUNK_ROWS = 2000


def csv_download(*, filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """``rows`` as a CSV attachment, streamed: memory stays flat at 100,000 rows (give an iterator)."""

    def stream():
        # One string per chunk of rows, not per row: each yielded piece costs as much as a row to send.
        buffer = io.StringIO()
        writer = SafeCsvWriter(buffer)
        writer.writerow(header)
        for count, row in enumerate(rows, start=1):
            writer.writerow(row)
            if count % CSV_CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
