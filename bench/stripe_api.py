"""The sandbox through the Stripe SDK and its hosted page, and bulk link creation through our services."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from bench import common, http
from bench.stack import Stack


def hosted_page(stack: Stack, link_url: str, *, duration: float) -> dict:
    """GET of the hosted payment page (each opens a checkout session) against the floor, same client."""
    floor = http.closed_loop(
        "127.0.0.1", stack.port, http.get("/bench/floor"), concurrency=common.CONNECTIONS, duration=duration
    ).summary()
    page = http.closed_loop(
        "127.0.0.1",
        stack.port,
        http.get(urlsplit(link_url).path),
        concurrency=common.CONNECTIONS,
        duration=duration,
    ).summary()
    return {"floor": floor, "page": page, "ratio": common.ratio(page["rps"], floor["rps"])}


def _sdk_rate(call, *, threads: int, duration: float, limit: int) -> dict:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + duration

    def worker(_n: int) -> None:
        nonlocal failures
        while time.monotonic() < deadline and len(latencies) < limit:
            started = time.monotonic()
            try:
                call()
            except Exception:  # noqa: BLE001 - counted
                failures += 1
                continue
            latencies.append(time.monotonic() - started)

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    elapsed = time.monotonic() - started
    return {
        "calls": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "failures": failures,
        "p50_ms": http.percentile_ms(latencies, 50),
        "p99_ms": http.percentile_ms(latencies, 99),
    }


def payment_links_create(stack: Stack, price, *, duration: float) -> dict:
    """``payment_links.create`` through the SDK from 8 threads; the floor from 8 threads of the SDK's own
    HTTP transport (requests, as ``config.stripe_client`` configures it), each thread with its own."""
    import stripe

    from config.stripe_client import get_stripe_client

    params = {"line_items": [{"price": price.stripe_id, "quantity": 1}]}
    local = threading.local()

    def floor_get() -> None:
        if not hasattr(local, "http"):
            local.http = stripe.RequestsClient()
        _body, status, _headers = local.http.request("get", f"{stack.base_url}/bench/floor", {})
        if status != 200:
            raise RuntimeError(f"floor answered {status}")

    floor = _sdk_rate(floor_get, threads=8, duration=duration, limit=10**6)
    # get_stripe_client() in each thread: a client serves one thread.
    create = _sdk_rate(
        lambda: get_stripe_client().v1.payment_links.create(params=params),
        threads=8,
        duration=duration,
        limit=10**6,
    )
    return {"floor_same_client": floor, "create": create, "ratio": common.ratio(create["rps"], floor["rps"])}


def bulk_links(price, *, count: int) -> dict:
    """``count`` links through ``links.services.payment_link_create`` against as many bare creates, one at a
    time: the overhead of our bookkeeping."""
    from config.stripe_client import get_stripe_client
    from links.services import payment_link_create

    client = get_stripe_client()
    params = {"line_items": [{"price": price.stripe_id, "quantity": 1}], "expand": ["line_items"]}
    started = time.monotonic()
    for _ in range(count):
        client.v1.payment_links.create(params=params, options={"idempotency_key": uuid.uuid4().hex})
    bare = count / (time.monotonic() - started)
    started = time.monotonic()
    for index in range(count):
        payment_link_create(
            name=f"Bulk link {index}",
            line_items=[{"price": price, "quantity": 1}],
            request_token=uuid.uuid4().hex,
        )
    ours = count / (time.monotonic() - started)
    return {
        "links": count,
        "bare_create_per_s": round(bare, 1),
        "service_links_per_s": round(ours, 1),
        "ratio": common.ratio(ours, bare),
    }
