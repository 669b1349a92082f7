from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from config.celery import app as celery_app


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@login_not_required
@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        **{k: "ok" if v else "down" for k, v in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


@login_not_required
@require_GET
def bench_floor(request):
    """The benchmarks' floor: the full middleware stack, then 200 with no database access."""
    return HttpResponse(b"ok", content_type="text/plain")


# Created by the benchmarks' stack (bench/stack.py) in the database each run makes for itself: a key and
# the body, no other index.
BENCH_STORE_FLOOR_TABLE = "bench_store_floor"
BENCH_STORE_FLOOR_DDL = (
    f"CREATE TABLE {BENCH_STORE_FLOOR_TABLE} (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
)


@csrf_exempt  # like the webhook receiver, whose floor it is
@login_not_required
@require_POST
def bench_verify_floor(request):
    """The webhook receiver's checks and nothing else: the same middleware, the signature verified and the
    event parsed by the receiver's own functions, then 200 (400 as the receiver would). Nothing stored and
    no database access (the endpoint secrets are cached per process): the least any receiver pays before it
    stores anything."""
    from webhooks.services import WebhookRejected, webhook_event_verify_and_parse

    try:
        webhook_event_verify_and_parse(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except WebhookRejected as exc:
        return HttpResponseBadRequest(str(exc))
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt  # like the webhook receiver, whose floor it is
@login_not_required
@require_POST
def bench_store_floor(request):
    """The webhook receiver's own floor: the same middleware, then the body stored as jsonb by one INSERT
    committed on its own (durable, as the receiver's is) and 200. No signature, no event indexes, no task:
    what any receiver that stores an event before answering pays at the least."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BENCH_STORE_FLOOR_TABLE} (body) VALUES (%s::jsonb)", [request.body.decode()]
        )
    return HttpResponse(b"ok", content_type="text/plain")
