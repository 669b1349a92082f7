"""What falls due as sandbox time passes: the clock's advance, and the tick.

Time-driven behaviour reads the clock (``clock.now()``) and runs in ``sandbox_tick``: open sessions expire at
``expires_at`` (``checkout.session.expired``), SEPA debits settle, uncaptured card authorisations expire
after 7 days, pending refunds settle (or fail), the
disputes of the test card 4000 0000 0000 0259 open, trials end, subscriptions renew.
``sandbox.tick`` is a Celery task a beat schedule can run every minute; the hosted pages also tick when they
are opened.
"""

from __future__ import annotations

import copy
import datetime
import logging

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from sandbox import clock, events, store
from sandbox.models import ApiObject, IdempotencyRecord

logger = logging.getLogger(__name__)

# The hosted pages tick as they are opened, so a sandbox run without beat still moves on; at most this
# often (seconds), not on every page: a tick is a handful of queries (one per kind of due row) whatever
# the page.
PAGE_TICK_INTERVAL = 5
PAGE_TICK_KEY = "sandbox:page-tick"


def clock_advance(*, seconds: int) -> int:
    """Move the sandbox clock forward and run what fell due; return the new sandbox time."""
    with transaction.atomic():
        row, _ = ApiObject.objects.select_for_update().get_or_create(
            type="sandbox_clock",
            stripe_id=clock.CLOCK_ID,
            defaults={"created": clock.now(), "data": {"offset": 0}},
        )
        row.data["offset"] += seconds
        store.save(row)
    sandbox_tick()
    return clock.now()


def sandbox_tick() -> dict[str, int]:
    """Expire due sessions, settle due debits, expire uncaptured authorisations, end trials, renew
    subscriptions, requeue lost deliveries (idempotent)."""
    from sandbox import checkout

    current = clock.now()
    expired = 0
    due = ApiObject.objects.filter(
        type="checkout.session", data__status="open", data__expires_at__lte=current
    )
    for session_id in due.values_list("stripe_id", flat=True):
        expired += session_expire_if_due(session_id=session_id, at=current)
    settled = 0
    pending = ApiObject.objects.filter(
        type="checkout.session", data__has_key="_settles_at", data___settles_at__lte=current
    )
    for session_id in pending.values_list("stripe_id", flat=True):
        settled += checkout.session_settle(session_id=session_id)
    authorisations_expired = _expire_authorisations(current)
    from sandbox import refunds

    refunds_ended = refunds.refunds_due(current)
    from sandbox import disputes

    disputes_opened = disputes.disputes_due(current)
    ended = _end_trials(current)
    renewed = _renew_subscriptions(current)
    from sandbox.delivery import deliveries_requeue_lost

    requeued = deliveries_requeue_lost()
    # Stripe prunes idempotency keys "after they're at least 24 hours old": real hours, as Stripe's test
    # clocks leave them alone (created_at is wall time too).
    IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - datetime.timedelta(hours=24)).delete()
    return {
        "expired": expired,
        "settled": settled,
        "authorisations_expired": authorisations_expired,
        "refunds_ended": refunds_ended,
        "disputes_opened": disputes_opened,
        "trials_ended": ended,
        "subscriptions_renewed": renewed,
        "deliveries_requeued": requeued,
    }


def sandbox_tick_from_page() -> None:
    """The tick as a hosted page runs it: at most once per PAGE_TICK_INTERVAL (cache.add is the gate).

    With the cache down (Redis restarting) the page skips it: customers still pay, beat still ticks.
    """
    try:
        due = cache.add(PAGE_TICK_KEY, 1, PAGE_TICK_INTERVAL)
    except Exception:  # noqa: BLE001 - each cache backend raises its own errors (redis.ConnectionError…)
        logger.warning("Sandbox page tick skipped: the cache is unavailable")
        return
    if due:
        sandbox_tick()


def session_expire_if_due(*, session_id: str, at: int | None = None) -> bool:
    """Expire one session if it is still open past its ``expires_at`` at sandbox time ``at`` (default:
    now); emits checkout.session.expired."""
    from sandbox import checkout

    with transaction.atomic():
        session = store.locked(type="checkout.session", object_id=session_id)
        if session.data["status"] != "open" or session.data["expires_at"] > (at or clock.now()):
            return False
        checkout.session_expire(session=session)
        return True


def _expire_authorisations(current: int) -> int:
    """Uncaptured card payments past their charge's ``capture_before`` (7 days) are canceled."""
    from sandbox import intents

    count = 0
    due = ApiObject.objects.filter(
        type="payment_intent", data__has_key="_capture_before", data___capture_before__lte=current
    )
    for intent_id in due.values_list("stripe_id", flat=True):
        with transaction.atomic():
            count += intents.authorisation_expire_if_due(intent_id=intent_id, at=current)
    return count


def _end_trials(current: int) -> int:
    """Trialing subscriptions whose trial is over become active, with their first paid invoice."""
    count = 0
    due = ApiObject.objects.filter(type="subscription", data__status="trialing", data__trial_end__lte=current)
    for subscription_id in due.values_list("stripe_id", flat=True):
        with transaction.atomic():
            subscription = store.locked(type="subscription", object_id=subscription_id)
            if subscription.data["status"] != "trialing":
                continue
            if subscription.data["default_payment_method"] is None:
                _trial_end_without_payment_method(subscription)
            else:
                _subscription_cycle(subscription, period=1)
            count += 1
    return count


def _trial_end_without_payment_method(subscription: ApiObject) -> None:
    from sandbox import billing

    before = copy.deepcopy(subscription.data)
    event_types = billing.trial_end_without_payment_method(subscription=subscription.data)
    store.save(subscription)
    previous = events.previous_attributes(before, subscription.data)
    for event_type in event_types:
        events.event_emit(type=event_type, obj=subscription.data, previous=previous)


def _renew_subscriptions(current: int) -> int:
    """Active subscriptions whose period is over begin the next one, each with its charged invoice; a clock
    moved several periods ahead renews once per period, as a Stripe test clock does."""
    from sandbox import billing

    count = 0
    due = ApiObject.objects.filter(
        type="subscription", data__has_key="_renews_at", data___renews_at__lte=current
    )
    for subscription_id in due.values_list("stripe_id", flat=True):
        with transaction.atomic():
            subscription = store.locked(type="subscription", object_id=subscription_id)
            for _ in range(billing.RENEWALS_PER_TICK):
                data = subscription.data
                if data["status"] != "active" or data.get("_renews_at", current + 1) > current:
                    break
                _subscription_cycle(subscription, period=data["_period"] + 1)
                count += 1
    return count


def _subscription_cycle(subscription: ApiObject, *, period: int) -> None:
    from sandbox import billing

    before = copy.deepcopy(subscription.data)
    billing.subscription_cycle(subscription=subscription.data, period=period)
    store.save(subscription)
    events.event_emit(
        type="customer.subscription.updated",
        obj=subscription.data,
        previous=events.previous_attributes(before, subscription.data),
    )
