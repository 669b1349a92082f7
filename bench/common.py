"""What every benchmark shares: the floor measured with the same client, the checkout fixtures."""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlsplit

from bench import http, wrk
from bench.stack import Stack

# Closed-loop runs keep this many connections busy: enough to fill 2 gunicorn workers × 8 threads.
CONNECTIONS = 16
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
FORM_ACTION = re.compile(rb'<form method="post" action="([^"]+)"')


def floor(stack: Stack, *, duration: float, use_wrk: bool | None = None) -> dict:
    """Requests/s and latency of the trivial view, in this server, with the client the caller uses."""
    use_wrk = wrk.available() if use_wrk is None else use_wrk
    if use_wrk:
        result = wrk.run(f"{stack.base_url}/bench/floor", duration=duration, connections=CONNECTIONS)
    else:
        result = http.closed_loop(
            "127.0.0.1", stack.port, http.get("/bench/floor"), concurrency=CONNECTIONS, duration=duration
        )
    summary = result.summary()
    summary.setdefault("client", "wrk" if use_wrk else "asyncio")
    return summary


def ratio(value: float | None, floor_value: float | None) -> float | None:
    if not value or not floor_value:
        return None
    return round(value / floor_value, 3)


def catalog_and_link(*, name: str = "Bench flash sale") -> tuple[object, object]:
    """A product, its price and a payment link, through the dashboard's services and the sandbox API."""
    from catalog.services import product_create_with_price
    from links.services import payment_link_create

    product = product_create_with_price(
        name="Bench mug", currency="eur", unit_amount=1950, request_token=uuid.uuid4().hex
    )
    price = product.prices.get()
    link = payment_link_create(
        name=name, line_items=[{"price": price, "quantity": 1}], request_token=uuid.uuid4().hex
    )
    return price, link


def _pay_form(index: int, token: bytes) -> bytes:
    return urlencode(
        {
            "csrfmiddlewaretoken": token.decode(),
            "email": f"buyer{index}@example.com",
            "card_number": "4242 4242 4242 4242",
            "card_expiry": "12 / 34",
            "card_cvc": "123",
            "cardholder_name": f"Buyer {index}",
        }
    ).encode()


def completed_sessions(
    stack: Stack, link_url: str, count: int, *, concurrency: int = 8
) -> tuple[list[str], float]:
    """Pay ``count`` checkout sessions through the hosted page (POST to the link URL opens and pays in one
    step); return their ids and the sessions/s. With no endpoint registered, no webhook goes out."""
    path = urlsplit(link_url).path
    page = _run_one(stack, "GET", path, {}, b"")
    token = CSRF_INPUT.search(page.body).group(1)
    headers = {
        "Cookie": f"csrftoken={page.cookies['csrftoken']}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    result = http.closed_loop(
        "127.0.0.1",
        stack.port,
        lambda i: ("POST", path, headers, _pay_form(i, token)),
        concurrency=concurrency,
        duration=3600,
        max_requests=count,
    )
    # The session id is in the confirmation page's URL; read them back from the sandbox API instead of
    # keeping every Location header.
    ids = _recent_completed_session_ids(link_url, result.completed)
    if result.non_2xx() or result.errors:
        print(f"bench: {result.errors + result.non_2xx()} payments failed: {dict(result.statuses)}")
    return ids, result.rps


def _recent_completed_session_ids(link_url: str, count: int) -> list[str]:
    from config.stripe_client import get_stripe_client

    client = get_stripe_client()
    link_id = _stripe_link_id(link_url)
    page = client.v1.checkout.sessions.list(
        params={"payment_link": link_id, "status": "complete", "limit": 100}
    )
    ids = []
    for session in page.auto_paging_iter():
        ids.append(session["id"])
        if len(ids) >= count:
            break
    return ids


def _stripe_link_id(link_url: str) -> str:
    from links.models import PaymentLink

    return PaymentLink.objects.get(url=link_url).stripe_id


def _run_one(stack: Stack, method: str, path: str, headers: dict, body: bytes) -> http.Response:
    import asyncio

    async def go():
        conn = http.Connection("127.0.0.1", stack.port)
        try:
            return await conn.request(method, path, headers, body)
        finally:
            conn.close()

    return asyncio.run(go())


def full_checkouts(stack: Stack, link_url: str, *, concurrency: int, duration: float) -> dict:
    """Open the page, pay, and wait for the redirect (the sandbox answers after our webhook's 200)."""
    import requests

    path = urlsplit(link_url).path
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + duration

    def customer(worker: int) -> None:
        nonlocal failures
        session = requests.Session()
        index = 0
        while time.monotonic() < deadline:
            index += 1
            started = time.monotonic()
            page = session.get(stack.base_url + path, timeout=30)
            action = FORM_ACTION.search(page.content).group(1).decode()
            token = CSRF_INPUT.search(page.content).group(1)
            paid = session.post(
                stack.base_url + action,
                data=_pay_form(worker * 100000 + index, token),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                allow_redirects=False,
                timeout=30,
            )
            if paid.status_code != 302:
                failures += 1
                continue
            latencies.append(time.monotonic() - started)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(customer, range(concurrency)))
    elapsed = time.monotonic() - started
    return {
        "checkouts": len(latencies),
        "checkouts_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": http.percentile_ms(latencies, 50),
        "p99_ms": http.percentile_ms(latencies, 99),
        "failures": failures,
    }
