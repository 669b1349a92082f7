"""EXPLAIN ANALYZE of the dashboard's heaviest queries on a seeded database (kept with ``--keep-db``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/paylinks_bench_<pid> uv run python -m bench.explain

The evidence behind the index recommendations in docs/performance.md: each query is built by the same
selector or view helper that the page uses.
"""

from __future__ import annotations

import os
import sys


def queries() -> dict[str, object]:
    from django.db.models import Count, Sum
    from django.http import QueryDict

    from links import selectors
    from links.models import Order, PaymentLink
    from links.order_views import _filtered_orders

    busiest = PaymentLink.objects.order_by("-orders_count").first()
    order = Order.objects.order_by("-id").first()

    def orders(query: str):
        return _filtered_orders(QueryDict(query))[0].order_by("-created_at", "-id")

    return {
        "orders list, first page": orders("")[:50],
        "orders list, search by e-mail": orders(f"q={order.customer_email}")[:50],
        "orders list, dates": orders(f"date_from={order.created_at.date()}")[:50],
        "orders list, status": orders("status=fulfilled")[:50],
        "orders list, link": orders(f"link={busiest.public_id}")[:50],
        "links list, search": selectors.link_list(query="spring")[:25],
        "link page, totals": busiest.orders.filter(status__in=selectors.PAID_STATUSES)
        .values("currency")
        .annotate(count=Count("id"), total=Sum("amount_total"))
        .order_by("currency"),
        "home, paid totals": Order.objects.filter(status__in=selectors.PAID_STATUSES)
        .values("currency")
        .annotate(count=Count("id"), total=Sum("amount_total"))
        .order_by("currency"),
    }


def main() -> int:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("set DATABASE_URL to a seeded PostgreSQL database (python -m bench --keep-db)", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    for name, queryset in queries().items():
        print(f"== {name}\n{queryset.query}\n{queryset.explain(analyze=True)}\n")
    # The paginator's count on the unfiltered list, and the links dropdown of the orders list.
    for sql in (
        'SELECT COUNT(*) FROM "links_order"',
        'SELECT "id", "public_id", "name" FROM "links_paymentlink" ORDER BY "name"',
    ):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + sql)
            print(f"== {sql}\n" + "\n".join(row[0] for row in cursor.fetchall()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
