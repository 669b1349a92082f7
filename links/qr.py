"""QR codes of payment link URLs (segno: pure Python, SVG inline on the page, PNG and SVG downloads)."""

from __future__ import annotations

import io

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg_inline(url: str, *, title: str) -> SafeString:
    """An ``<svg>`` element for the page; no inline style, so the CSP holds."""
    svg = segno.make(url, micro=False, error="m").svg_inline(scale=4, border=2, title=title)
    # segno escapes the title; the rest is its own markup.
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308


def qr_file(url: str, *, kind: str) -> bytes:
    """The QR code as a downloadable ``png`` or ``svg`` file."""
    buffer = io.BytesIO()
    segno.make(url, micro=False, error="m").save(
        buffer, kind=kind, scale=10 if kind == "png" else 8, border=4
    )
    return buffer.getvalue()
