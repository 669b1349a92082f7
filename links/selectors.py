"""Payment link reads."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.models import Price, Product
from catalog.money import format_money
from links import conversion, daily_revenue
from links.charts import daily_bar_chart, revenue_table_rows
from links.disputes import orders_with_open_dispute
from links.models import Order, OutboundEmail, PaymentLink, PaymentLinkLineItem
from links.totals import order_amount_paid_expression

# The overview's period: the last 30 days (today included), against the 30 before.
PERIOD_DAYS = 30
PAID_STATUSES = (Order.Status.PAID, Order.Status.FULFILLED)
# A search that is a whole e-mail address (as opposed to part of one).
EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def link_list(
    *,
    query: str = "",
    active: bool | None = None,
    product: Product | None = None,
    currency: str = "",
    recurring: bool | None = None,
    order_by: tuple[str, ...] = ("-created_at", "-id"),
) -> QuerySet[PaymentLink]:
    """Links for the list page; every filter is one indexed condition or one EXISTS, never a join that
    multiplies rows."""
    links = PaymentLink.objects.all()
    if query:
        links = links.filter(_link_search(query))
    if active is not None:
        links = links.filter(active=active)
    if product is not None:
        links = links.filter(
            Exists(PaymentLinkLineItem.objects.filter(payment_link=OuterRef("pk"), price__product=product))
        )
    if currency:
        links = links.filter(currency=currency)
    if recurring is not None:
        links = links.filter(is_recurring=recurring)
    return links.order_by(*order_by)


def _link_search(query: str) -> Q:
    """Links whose name, or the name of a product they sell, contains the query, or whose Stripe id is it.

    One column (``search_text``, see the model) and one unique id: PostgreSQL combines their indexes for a
    rare word and walks the newest links for a common one, where an OR across the line items could do
    neither.
    """
    return Q(search_text__icontains=query) | Q(stripe_id=query)


def order_list(
    *,
    query: str = "",
    status: str = "",
    link: PaymentLink | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    refunded: str = "",
    order_by: tuple[str, ...] = ("-created_at", "-id"),
) -> QuerySet[Order]:
    """Orders for the list page and its CSV export: each filter is one indexed condition."""
    orders = Order.objects.all()
    if refunded:
        # amount_refunded > 0 is the condition of the partial index order_refunded: the refunded orders
        # alone, newest first; fully or partially is then a comparison within those few rows.
        orders = orders.filter(amount_refunded__gt=0)
        paid = order_amount_paid_expression()
        if refunded == "full":
            orders = orders.alias(paid=paid).filter(amount_refunded__gte=F("paid"))
        elif refunded == "partial":
            orders = orders.alias(paid=paid).filter(amount_refunded__lt=F("paid"))
    if status == "to_capture":
        # The partial index order_to_capture: the few authorisations waiting, however many orders.
        orders = orders.filter(payment_intent_status="requires_capture")
    elif status:
        orders = orders.filter(status=status)
    if link is not None:
        orders = orders.filter(payment_link=link)
    if query:
        # A customer's whole address is looked up exactly (index order_email_created), in constant time.
        # Anything else, or an address no order has (it may be part of a longer one), is searched within
        # the addresses (trigram index on PostgreSQL), at a cost that grows with the rows sharing its
        # trigrams: every address of a large shop contains "example.com"-like parts.
        exact = EMAIL_ADDRESS.fullmatch(query) and Order.objects.filter(customer_email__iexact=query).exists()
        email = Q(customer_email__iexact=query) if exact else Q(customer_email__icontains=query)
        orders = orders.filter(
            email
            | Q(checkout_session_id=query)
            | Q(client_reference_id=query)
            | Q(payment_intent_id=query)
            | Q(invoice_id=query)
            | Q(subscription_id=query)
        )
    # A range on created_at itself (not created_at__date) so the order_created index serves it.
    if date_from:
        orders = orders.filter(created_at__gte=_start_of_day(date_from))
    if date_to:
        orders = orders.filter(created_at__lt=_start_of_day(date_to + timedelta(days=1)))
    return orders.order_by(*order_by)


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def email_list(
    *, query: str = "", status: str = "", kind: str = "", order_by: tuple[str, ...] = ("-created_at", "-id")
) -> QuerySet[OutboundEmail]:
    """The outbox page's e-mails; the search is a whole recipient's address (index email_to_upper)."""
    emails = OutboundEmail.objects.select_related("order")
    if query:
        emails = emails.filter(to__iexact=query)
    if status:
        emails = emails.filter(status=status)
    if kind:
        emails = emails.filter(kind=kind)
    return emails.order_by(*order_by)


def link_get(*, public_id: UUID | str) -> PaymentLink:
    """The link behind a URL (its public UUID), or 404; so is anything that is not a UUID (``?from=``)."""
    try:
        public_id = UUID(str(public_id))
    except ValueError:
        raise Http404 from None
    return get_object_or_404(PaymentLink.objects.select_related("created_by"), public_id=public_id)


def link_line_items(*, link: PaymentLink) -> QuerySet[PaymentLinkLineItem]:
    return link.line_items.select_related("price__product")


def link_optional_items(*, link: PaymentLink) -> list[dict]:
    """The items the customer may add at checkout (``optional_items``), each with its catalog price when
    Paylinks has it (one query): ``[{"price": Price | None, "price_id", "quantity", "adjustable"}]``."""
    from catalog.models import Price

    items = link.options.get("optional_items") or []
    ids = [item["price"] for item in items]
    prices = Price.objects.filter(stripe_id__in=ids).select_related("product").in_bulk(field_name="stripe_id")
    return [
        {
            "price": prices.get(item["price"]),
            "price_id": item["price"],
            "quantity": item.get("quantity") or 1,
            "adjustable": bool((item.get("adjustable_quantity") or {}).get("enabled")),
        }
        for item in items
    ]


def link_orders(*, link: PaymentLink, limit: int = 50) -> QuerySet[Order]:
    # With their states as the orders list shows them (refunded, disputed, to capture).
    return orders_with_open_dispute(link.orders.all()).order_by("-created_at", "-id")[:limit]


def link_order_totals(*, link: PaymentLink) -> list[dict]:
    """Paid orders of the link: ``[{"currency", "count", "total"}]`` (a link has one currency).

    Read from the counters fulfilment keeps on the link, so the page costs the same at a million orders.
    """
    if not link.orders_count:
        return []
    return [{"currency": link.currency, "count": link.orders_count, "total": link.revenue}]


def dashboard_overview(*, currency: str = "") -> dict:
    """The home page's numbers, its revenue of the last 30 days in ``currency`` (the shop's by default)
    and recent activity, in a fixed number of queries."""
    from links.totals import link_totals

    return {
        # Links and paid orders from the running totals (links/totals.py), not by reading every link.
        **link_totals(),
        "revenue": revenue_overview(currency=currency),
        "products_total": Product.objects.filter(active=True).count(),
        "prices_total": Price.objects.filter(active=True).count(),
        "recent_links": list(PaymentLink.objects.order_by("-created_at", "-id")[:5]),
        # With their states as the orders list shows them (refunded, disputed, to capture).
        "recent_orders": list(
            orders_with_open_dispute(Order.objects.select_related("payment_link")).order_by(
                "-created_at", "-id"
            )[:5]
        ),
    }


def revenue_overview(*, currency: str = "", days: int = PERIOD_DAYS) -> dict:
    """The shop's revenue per day over the last ``days`` days, net of refunds, against the ``days`` before,
    and its top links in that period, from the daily figures (``links/daily_revenue.py``): a few rows per
    day and currency, and one per link and day in the period, however many orders there are.

    ``currencies`` lists those with revenue in either period, the shop's own first (and always); the one
    shown is ``currency`` if it is among them.
    """
    from catalog.selectors import shop_currency

    current = daily_revenue.period_days(days=days)
    previous_start = current[0] - timedelta(days=days)
    figures = daily_revenue.shop_daily_net(start=previous_start, end=current[-1])
    home = shop_currency()
    currencies = [home, *sorted(code for code in figures if code != home)]
    chosen = currency if currency in currencies else home
    series = figures.get(chosen, {})
    zero = {"received": 0, "refunded": 0, "net": 0, "orders": 0}
    rows = [{"day": day, **series.get(day, zero)} for day in current]
    total = sum(row["net"] for row in rows)
    previous_total = sum(figure["net"] for day, figure in series.items() if day < current[0])
    return {
        "currency": chosen,
        "currencies": currencies,
        "days": days,
        "rows": rows,
        "total": total,
        "orders": sum(row["orders"] for row in rows),
        "refunded": sum(row["refunded"] for row in rows),
        "previous_total": previous_total,
        "change": revenue_change(total=total, previous=previous_total, currency=chosen),
        "chart": daily_bar_chart(
            values=[(row["day"], row["net"]) for row in rows], currency=chosen, chart_id="home-revenue"
        ),
        "table_rows": revenue_table_rows(rows=rows, currency=chosen),
        "top_links": _with_conversion(
            daily_revenue.top_links(currency=chosen, start=current[0], end=current[-1])
        ),
    }


def _with_conversion(rows: list[dict]) -> list[dict]:
    """Each top link's row with its conversion (``links/conversion.py``): one read for all of them."""
    figures = conversion.link_conversions(link_stripe_ids=[row["link"].stripe_id for row in rows])
    return [{**row, "conversion": figures[row["link"].stripe_id]} for row in rows]


def revenue_change(*, total: int, previous: int, currency: str) -> dict:
    """The change from ``previous`` to ``total`` in words and with its sign (not only a colour):
    ``{"direction": "up"|"down"|"same"|"new"|"none", "text", "signed"}``."""
    difference = total - previous
    amount = format_money(abs(difference), currency)
    if not previous:
        if not total:
            return {"direction": "none", "signed": "", "text": _("No revenue in either period.")}
        return {
            "direction": "new",
            "signed": "+" + format_money(difference, currency),
            "text": _("Nothing in the previous 30 days to compare with."),
        }
    if not difference:
        return {"direction": "same", "signed": "±0", "text": _("The same as the previous 30 days.")}
    percent = formats.number_format(
        round(Decimal(abs(difference) * 100) / abs(previous), 1), decimal_pos=1, use_l10n=True
    )
    if difference > 0:
        text = _("Up %(percent)s on the previous 30 days: %(amount)s more.")
        signed = "+"
    else:
        text = _("Down %(percent)s on the previous 30 days: %(amount)s less.")
        signed = "−"  # a minus sign, not a hyphen
    percent_text = _("%(number)s%%") % {"number": percent}
    return {
        "direction": "up" if difference > 0 else "down",
        "signed": signed + percent_text,
        "text": text % {"percent": percent_text, "amount": amount},
    }


def link_revenue_chart(*, link: PaymentLink, days: int = PERIOD_DAYS) -> dict:
    """The link's revenue per day over the last ``days`` days, net of refunds, in its currency (one query,
    at most one row per day)."""
    current = daily_revenue.period_days(days=days)
    series = daily_revenue.link_daily_net(link_id=link.id, start=current[0], end=current[-1])
    figures = series.get(link.currency, {})
    zero = {"received": 0, "refunded": 0, "net": 0, "orders": 0}
    rows = [{"day": day, **figures.get(day, zero)} for day in current]
    return {
        "currency": link.currency,
        "days": days,
        "rows": rows,
        "total": sum(row["net"] for row in rows),
        "orders": sum(row["orders"] for row in rows),
        "refunded": sum(row["refunded"] for row in rows),
        "chart": daily_bar_chart(
            values=[(row["day"], row["net"]) for row in rows], currency=link.currency, chart_id="link-revenue"
        ),
        "table_rows": revenue_table_rows(rows=rows, currency=link.currency),
    }


def link_checkout_preview(*, link: PaymentLink) -> dict:
    """What a customer opening the link will be asked and shown, read from the link's Stripe options.

    ``asks`` lists the details the payment page collects, ``after`` says what happens after payment.
    """
    options = link.options or {}
    asks = [_("E-mail address and payment details")]
    if options.get("billing_address_collection") == "required":
        asks.append(_("Billing address (always)"))
    countries = (options.get("shipping_address_collection") or {}).get("allowed_countries") or []
    if countries:
        asks.append(
            ngettext(
                "Shipping address in %(count)d country",
                "Shipping address in %(count)d countries",
                len(countries),
            )
            % {"count": len(countries)}
        )
    if (options.get("phone_number_collection") or {}).get("enabled"):
        asks.append(_("Phone number"))
    if (options.get("tax_id_collection") or {}).get("enabled"):
        asks.append(_("Tax ID"))
    for field in options.get("custom_fields") or []:
        label = (field.get("label") or {}).get("custom") or field.get("key")
        asks.append(_("%(label)s (optional)") % {"label": label} if field.get("optional") else label)
    if (options.get("consent_collection") or {}).get("terms_of_service") == "required":
        asks.append(_("Agreement to your terms of service"))
    if options.get("allow_promotion_codes"):
        asks.append(_("A promotion code, if they have one"))
    after_completion = options.get("after_completion") or {}
    if after_completion.get("type") == "redirect":
        after = _("They are sent to %(url)s") % {"url": after_completion["redirect"]["url"]}
    else:
        message = (after_completion.get("hosted_confirmation") or {}).get("custom_message")
        after = (
            _("They see a confirmation page: “%(message)s”") % {"message": message}
            if message
            else _("They see Stripe's confirmation page.")
        )
    return {"asks": asks, "after": after}
