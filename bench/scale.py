"""The dashboard at size: seed with ``bench_seed``, then p95 and query count of each page, and the CSV export.

Pages are fetched one at a time by a logged-in staff member (the dashboard is a staff tool: its latency,
not its throughput, is what people feel); the floor is fetched the same way in the same run.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time

from bench import http
from bench.stack import Stack


def staff_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def seed(*, links: int, orders: int) -> float:
    from django.core.management import call_command

    started = time.monotonic()
    # Its summary line goes nowhere: --json prints one JSON object and nothing else.
    call_command("bench_seed", links=links, orders=orders, verbosity=0, stdout=io.StringIO())
    return time.monotonic() - started


def pages() -> dict[str, str]:
    """Name → path, with real ids from the seeded data (the busiest link, a recent order)."""
    from catalog.models import Product
    from links.models import Customer, Order, PaymentLink

    busiest = PaymentLink.objects.order_by("-orders_count").first()
    order = Order.objects.order_by("-created_at").first()
    product = Product.objects.filter(stripe_id__startswith="prod_bench_").order_by("stripe_id").first()
    email = order.customer_email
    # The customer with the most orders (bench_seed gives each address about four).
    regular = Customer.objects.order_by("-orders_count", "-id").first()
    month = order.created_at.date().replace(day=1)
    return {
        "home": "/",
        "links_list": "/links/",
        "links_list_search": "/links/?q=spring",
        "links_list_active": "/links/?active=true",
        "links_list_product": f"/links/?product={product.stripe_id}",
        "links_list_currency": "/links/?currency=usd",
        "links_list_recurring": "/links/?recurring=true",
        "links_list_revenue": "/links/?sort=-revenue",
        "links_list_page_200": "/links/?page=200",
        "orders_list": "/orders/",
        "orders_list_status": "/orders/?status=fulfilled",
        "orders_list_link": f"/orders/?link={busiest.public_id}",
        "orders_list_dates": f"/orders/?date_from={month.isoformat()}&date_to={order.created_at.date()}",
        "orders_list_email": f"/orders/?q={email}",
        "orders_list_page_200": "/orders/?page=200",
        "link_page": f"/links/{busiest.public_id}/",
        "order_page": f"/orders/{order.public_id}/",
        "outbox": "/orders/emails/",
        "customers_list": "/customers/",
        "customers_list_total": "/customers/?sort=-total",
        "customers_list_orders": "/customers/?sort=-orders",
        "customers_list_search": "/customers/?q=customer12",
        "customers_list_email": f"/customers/?q={email}",
        "customers_list_page_200": "/customers/?page=200",
        "customer_page": f"/customers/{regular.id}/",
        "events": "/webhooks/events/",
    }


async def _sequential(port: int, path: str, headers: dict, count: int) -> tuple[list[float], set[int]]:
    conn = http.Connection("127.0.0.1", port)
    latencies, statuses = [], set()
    try:
        for _ in range(count):
            started = time.monotonic()
            response = await conn.request("GET", path, headers)
            latencies.append(time.monotonic() - started)
            statuses.add(response.status)
    finally:
        conn.close()
    return latencies, statuses


def query_count(path: str) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench-staff"))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured)


# Left out of --quick: the same queries as their neighbours, or pages the issue does not ask about.
EXTRA_PAGES = {
    "links_list_revenue",
    "links_list_page_200",
    "orders_list_page_200",
    "outbox",
    "events",
    "customers_list_orders",
    "customers_list_page_200",
}


def measure_pages(stack: Stack, *, samples: int, all_pages: bool = True) -> dict:
    headers = {"Cookie": staff_cookie()}
    results = {}
    floor, _ = asyncio.run(_sequential(stack.port, "/bench/floor", {}, samples * 2))
    floor_p95 = http.percentile_ms(floor, 95)
    results["floor"] = {"p50_ms": http.percentile_ms(floor, 50), "p95_ms": floor_p95}
    for name, path in pages().items():
        if not all_pages and name in EXTRA_PAGES:
            continue
        asyncio.run(_sequential(stack.port, path, headers, 2))  # warm caches and connections
        latencies, statuses = asyncio.run(_sequential(stack.port, path, headers, samples))
        p95 = http.percentile_ms(latencies, 95)
        results[name] = {
            "path": path,
            "p50_ms": http.percentile_ms(latencies, 50),
            "p95_ms": p95,
            "ratio_to_floor": round(p95 / floor_p95, 1) if floor_p95 else None,
            "queries": query_count(path),
            "status": sorted(statuses),
        }
    return results


def export_csv(stack: Stack, *, rows: int) -> dict:
    """Stream about ``rows`` orders (a date filter picks the newest that many) and watch the server's RSS."""
    import psutil

    from links.models import Order

    edge = Order.objects.order_by("-created_at").values_list("created_at", flat=True)[rows - 1 : rows].first()
    path = "/orders/export.csv" + (f"?date_from={edge.date().isoformat()}" if edge else "")
    headers = {"Cookie": staff_cookie()}
    processes = [psutil.Process(pid) for pid in stack.pids("gunicorn")]
    baseline = {p.pid: p.memory_info().rss for p in processes}
    peak = dict(baseline)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for process in processes:
                try:
                    peak[process.pid] = max(peak[process.pid], process.memory_info().rss)
                except psutil.Error:
                    pass
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        body = asyncio.run(_get_body(stack.port, path, headers))
    finally:
        stop.set()
        sampler.join()
    elapsed = time.monotonic() - started
    growth = max(peak[pid] - baseline[pid] for pid in peak)
    return {
        "path": path,
        "rows": body.count(b"\n") - 1,
        "bytes": len(body),
        "seconds": round(elapsed, 2),
        "rows_per_s": round((body.count(b"\n") - 1) / elapsed),
        "peak_rss_mb": round(max(peak.values()) / 2**20, 1),
        "rss_growth_mb": round(growth / 2**20, 1),
    }


async def _get_body(port: int, path: str, headers: dict) -> bytes:
    conn = http.Connection("127.0.0.1", port)
    try:
        response = await conn.request("GET", path, headers)
    finally:
        conn.close()
    assert response.status == 200, response.status
    return response.body
