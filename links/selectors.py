"""Payment link reads."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from catalog.models import Price, Product
from links.models import Order, PaymentLink, PaymentLinkLineItem

PAID_STATUSES = (Order.Status.PAID, Order.Status.FULFILLED)
LINK_SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-revenue": ("-revenue", "-id"),
    "revenue": ("revenue", "id"),
}


def link_list(
    *,
    query: str = "",
    active: bool | None = None,
    product: Product | None = None,
    currency: str = "",
    recurring: bool | None = None,
    sort: str = "-created",
) -> QuerySet[PaymentLink]:
    """Links for the list page; every filter is one indexed condition or one EXISTS, never a join that
    multiplies rows."""
    links = PaymentLink.objects.all()
    if query:
        by_product = PaymentLinkLineItem.objects.filter(
            payment_link=OuterRef("pk"), price__product__name__icontains=query
        )
        links = links.filter(Q(name__icontains=query) | Q(stripe_id=query) | Q(Exists(by_product)))
    if active is not None:
        links = links.filter(active=active)
    if product is not None:
        links = links.filter(Exists(PaymentLinkLineItem.objects.filter(payment_link=OuterRef("pk"), price__product=product)))
    if currency:
        links = links.filter(currency=currency)
    if recurring is not None:
        links = links.filter(is_recurring=recurring)
    return links.order_by(*LINK_SORTS.get(sort, LINK_SORTS["-created"]))


def link_get(*, public_id: UUID | str) -> PaymentLink:
    """The link behind a URL (its public UUID), or 404."""
    return get_object_or_404(PaymentLink.objects.select_related("created_by"), public_id=public_id)


def link_line_items(*, link: PaymentLink) -> QuerySet[PaymentLinkLineItem]:
    return link.line_items.select_related("price__product")


def link_orders(*, link: PaymentLink, limit: int = 50) -> QuerySet[Order]:
    return link.orders.order_by("-created_at", "-id")[:limit]


def link_order_totals(*, link: PaymentLink) -> list[dict]:
    """Paid orders of the link, per currency: ``[{"currency", "count", "total"}]``."""
    return list(
        link.orders.filter(status__in=PAID_STATUSES).values("currency")
        .annotate(count=Count("id"), total=Sum("amount_total")).order_by("currency")
    )


def dashboard_overview() -> dict:
    """The home page's numbers and recent activity, in a fixed number of queries."""
    link_counts = PaymentLink.objects.aggregate(total=Count("id"), active=Count("id", filter=Q(active=True)))
    return {
        "links_total": link_counts["total"],
        "links_active": link_counts["active"],
        "products_total": Product.objects.filter(active=True).count(),
        "prices_total": Price.objects.filter(active=True).count(),
        "orders_paid": list(
            Order.objects.filter(status__in=PAID_STATUSES).values("currency")
            .annotate(count=Count("id"), total=Sum("amount_total")).order_by("currency")
        ),
        "recent_links": list(PaymentLink.objects.order_by("-created_at", "-id")[:5]),
        "recent_orders": list(Order.objects.select_related("payment_link").order_by("-created_at", "-id")[:5]),
    }


def settings_overview() -> dict:
    """What the settings page shows: webhook registration, the last event received, staff and roles."""
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    from catalog.roles import ROLE_GROUPS
    from webhooks.models import WebhookEndpoint, WebhookEvent

    User = get_user_model()
    role_groups = Prefetch("groups", queryset=User.groups.field.related_model.objects.filter(name__in=ROLE_GROUPS),
                           to_attr="role_groups")
    return {
        "endpoints": list(WebhookEndpoint.objects.order_by("-registered_at")),
        "last_event": WebhookEvent.objects.order_by("-received_at").first(),
        "staff": list(User.objects.filter(is_staff=True).order_by("username").prefetch_related(role_groups)),
    }
