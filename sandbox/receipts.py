"""Hosted invoice receipts: an HTML page and a PDF, at the URLs the Invoice object gives."""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from fpdf import FPDF

from sandbox import pricing
from sandbox.models import ApiObject


def _invoice(token: str) -> dict:
    invoice = ApiObject.objects.filter(type="invoice", key=token).first()
    if invoice is None:
        raise Http404
    return invoice.data


def _rows(invoice: dict) -> list[tuple[str, str]]:
    currency = invoice["currency"]
    return [
        (line["description"], pricing.format_amount(line["amount"], currency))
        for line in invoice["lines"]["data"]
    ]


@login_not_required
@require_GET
def invoice_page(request: HttpRequest, token: str) -> HttpResponse:
    invoice = _invoice(token)
    context = {
        "invoice": invoice,
        "rows": _rows(invoice),
        "total": pricing.format_amount(invoice["total"], invoice["currency"]),
        "paid": pricing.format_amount(invoice["amount_paid"], invoice["currency"]),
        "paid_on": datetime.datetime.fromtimestamp(invoice["status_transitions"]["paid_at"], tz=datetime.UTC),
    }
    return render(request, "sandbox/invoice.html", context)


def invoice_pdf_bytes(invoice: dict) -> bytes:
    """A one-page PDF receipt (core fonts, so Latin-1 text only)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(
        0, 10, _safe(_("Receipt %(number)s") % {"number": invoice["number"]}), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=11)
    paid_at = datetime.datetime.fromtimestamp(invoice["status_transitions"]["paid_at"], tz=datetime.UTC)
    pdf.cell(
        0,
        8,
        _safe(_("Paid on %(date)s") % {"date": paid_at.date().isoformat()}),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if invoice["customer_email"]:
        pdf.cell(0, 8, _safe(invoice["customer_email"]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for description, amount in _rows(invoice):
        pdf.cell(140, 8, _safe(description))
        pdf.cell(0, 8, _safe(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(140, 8, _safe(_("Amount paid")))
    pdf.cell(0, 8, _safe(pricing.format_amount(invoice["amount_paid"], invoice["currency"])), align="R")
    return bytes(pdf.output())


def _safe(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


@login_not_required
@require_GET
def invoice_pdf(request: HttpRequest, token: str) -> HttpResponse:
    invoice = _invoice(token)
    response = HttpResponse(invoice_pdf_bytes(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice["number"]}.pdf"'
    return response
