"""Storing received events, once per Stripe event id, and enqueuing their processing on commit.

The database is the outbox: ``webhook_event_record`` stores an event (unique by Stripe id) and its
delivery, and enqueues its processing on commit. On PostgreSQL the requests a process answers at the same
moment share one statement and one commit (the group commit, ``webhooks/group_commit.py``).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

import orjson
from django.db import DataError, connection, transaction
from django.utils import timezone

from webhooks.group_commit import GroupCommit
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.receiving import (
    REJECT_MALFORMED,
    WebhookRejected,
    delivery_headers_clean,
    webhook_event_verify_and_parse,
)

logger = logging.getLogger(__name__)

# How long a freshly stored event waits for its on-commit task before the requeuer sends another.
ENQUEUE_GRACE = timedelta(seconds=120)


@dataclass(frozen=True)
class RecordResult:
    event: WebhookEvent
    created: bool


def _ip_or_none(value: str | None) -> str | None:
    # REMOTE_ADDR is empty or a path behind some proxies (unix sockets); the column takes IPs only.
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def webhook_event_record(
    *, payload: bytes, signature: str, headers: dict[str, str] | None = None, remote_addr: str | None = None
) -> RecordResult:
    """Verify, store (once per Stripe event id) and enqueue one delivery; log the delivery.

    Raises WebhookRejected, storing nothing, for anything not signed by an accepted secret.
    Processing is enqueued only after the commit, so the worker always finds the row. On PostgreSQL the
    requests a process is answering at the same moment share one statement and one commit (group commit):
    each returns once its own event is committed.
    """
    pending = _event_received(payload=payload, signature=signature, headers=headers, remote_addr=remote_addr)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            event, created = _event_store_orm(event=pending.event, delivery=pending.delivery)
        if created:
            webhook_event_enqueue_on_commit(event.id)
        return RecordResult(event=event, created=created)
    if connection.in_atomic_block:
        # Inside the caller's transaction (a test, a script): no other request's row may depend on it.
        (outcome,) = _events_store_postgresql([pending])
        if isinstance(outcome, WebhookRejected):
            raise outcome
        if outcome.created:
            webhook_event_enqueue_on_commit(outcome.event.id)
        return outcome
    return _event_group_commit.submit(pending)


@dataclass(frozen=True)
class _PendingEvent:
    event: WebhookEvent
    delivery: WebhookDelivery
    payload: bytes


def _event_received(
    *, payload: bytes, signature: str, headers: dict[str, str] | None, remote_addr: str | None
) -> _PendingEvent:
    """The event and its delivery as they will be stored, once the body is verified and read."""
    data = webhook_event_verify_and_parse(payload=payload, signature=signature)
    now = timezone.now()
    event = WebhookEvent(
        stripe_event_id=data["id"],
        type=data["type"],
        api_version=str(data.get("api_version") or "")[:64],
        created=data["created"],
        livemode=bool(data.get("livemode")),
        object_id=str(data["data"]["object"].get("id") or "")[:255],
        payload=data,
        received_at=now,
        next_attempt_at=now + ENQUEUE_GRACE,
    )
    delivery = WebhookDelivery(
        stripe_event_id=event.stripe_event_id,
        received_at=now,
        remote_addr=_ip_or_none(remote_addr),
        headers=delivery_headers_clean(headers or {}),
        status_code=200,
    )
    return _PendingEvent(event=event, delivery=delivery, payload=payload)


def _event_store_orm(*, event: WebhookEvent, delivery: WebhookDelivery) -> tuple[WebhookEvent, bool]:
    # get_or_create handles the race of two web processes storing the same event: the loser's INSERT
    # hits the unique constraint inside a savepoint and it reads the winner's row.
    defaults = {
        f.attname: getattr(event, f.attname) for f in WebhookEvent._meta.concrete_fields if not f.primary_key
    }
    stored, created = WebhookEvent.objects.get_or_create(
        stripe_event_id=event.stripe_event_id, defaults=defaults
    )
    delivery.event = stored
    delivery.result = WebhookDelivery.Result.ACCEPTED if created else WebhookDelivery.Result.DUPLICATE
    delivery.save(force_insert=True)
    return stored, created


def _events_store_postgresql(pendings: list[_PendingEvent]) -> list[RecordResult | WebhookRejected]:
    """The events (those not stored yet) and every delivery in one statement, committed on its own: one
    round trip and one commit for the whole batch, no savepoint.

    The rows go to PostgreSQL as two JSON arrays of records, so that the statement's text is the same for
    any number of events and its two parameters cost psycopg little to send (each column as an array
    parameter cost 0.4 ms per body). The bodies are spliced in as received, not re-serialised. Events
    are inserted in id order, so two batches sharing events wait for each other in the same order and
    never deadlock. A delivery racing another request's uncommitted INSERT of the same event waits for
    it, then stores nothing; its delivery row is logged without the event's id (the statement's snapshot
    cannot see that row yet). A body that Python reads but jsonb refuses fails the whole statement: each
    event of the batch is then stored alone, so that only that one is rejected.
    """
    event_fields, delivery_fields = _store_fields_postgresql()
    # The first delivery of an event in the batch may be its accepted one, the others are duplicates.
    firsts: dict[str, int] = {}
    for index, pending in enumerate(pendings):
        firsts.setdefault(pending.event.stripe_event_id, index)
    events = [pendings[firsts[stripe_event_id]] for stripe_event_id in sorted(firsts)]
    payload = WebhookEvent._meta.get_field("payload").column
    event_records = b",".join(
        # {"payload": <the body as received>, <the other columns>}: the columns' object without its "{".
        b'{"' + payload.encode() + b'":' + pending.payload + b"," + _record(pending.event, event_fields)[1:]
        for pending in events
    )
    delivery_records = b",".join(
        _record(
            pending.delivery,
            delivery_fields,
            first=firsts[pending.event.stripe_event_id] == index,
            position=index,
        )
        for index, pending in enumerate(pendings)
    )
    params = [
        (b"[" + event_records + b"]").decode(),
        sorted(firsts),
        WebhookDelivery.Result.ACCEPTED,
        WebhookDelivery.Result.DUPLICATE,
        (b"[" + delivery_records + b"]").decode(),
    ]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_store_statement_postgresql(), params)
            stored = {stripe_event_id: (event_id, created) for event_id, stripe_event_id, created in cursor}
    except DataError:
        if len(pendings) == 1:
            # JSON that Python reads but jsonb refuses (a lone surrogate, say): not a Stripe event.
            return [WebhookRejected(REJECT_MALFORMED)]
        return [outcome for pending in pendings for outcome in _events_store_postgresql([pending])]
    outcomes: list[RecordResult | WebhookRejected] = []
    for index, pending in enumerate(pendings):
        event_id, created = stored.get(pending.event.stripe_event_id, (None, False))
        pending.event.id = event_id
        first = firsts[pending.event.stripe_event_id] == index
        outcomes.append(RecordResult(event=pending.event, created=created and first))
    return outcomes


def _record(instance, fields: list, **extra) -> bytes:
    """The instance's columns as one JSON object, keyed by column name (jsonb_to_recordset's input)."""
    values = {field.column: getattr(instance, field.attname) for field in fields}
    if isinstance(instance, WebhookDelivery):
        values["stripe_event_id"] = instance.stripe_event_id
    return orjson.dumps({**values, **extra})


def _events_enqueue(pendings: list[_PendingEvent], outcomes: list[RecordResult | BaseException]) -> None:
    """After a group's commit: one task for the events it stored (not for duplicates)."""
    from webhooks.tasks import process_webhook_event as process_webhook_event_task
    from webhooks.tasks import process_webhook_events as process_webhook_events_task

    event_ids = [o.event.id for o in outcomes if isinstance(o, RecordResult) and o.created]
    try:
        if len(event_ids) == 1:
            process_webhook_event_task.delay(event_ids[0])
        elif event_ids:
            process_webhook_events_task.delay(event_ids)
    except Exception:
        # The rows are committed: the periodic requeue sends them once the broker is back.
        logger.exception("Could not enqueue webhook events %s", event_ids)


# Concurrent requests of this process share one statement and one commit (webhooks/group_commit.py).
_event_group_commit: GroupCommit[_PendingEvent, RecordResult] = GroupCommit(
    _events_store_postgresql, after=_events_enqueue
)


@functools.cache
def _store_fields_postgresql() -> tuple[list, list]:
    """The columns of the receiver's records (the payload, the results and the events' ids of the
    deliveries apart)."""
    event_fields = [f for f in WebhookEvent._meta.concrete_fields if f.name not in ("id", "payload")]
    delivery_fields = [
        f
        for f in WebhookDelivery._meta.concrete_fields
        if f.name not in ("id", "event", "result", "stripe_event_id")
    ]
    return event_fields, delivery_fields


@functools.cache
def _store_statement_postgresql() -> str:
    """The receiver's statement, built once per process (not per event)."""
    event_fields, delivery_fields = _store_fields_postgresql()
    q = connection.ops.quote_name
    events, deliveries = q(WebhookEvent._meta.db_table), q(WebhookDelivery._meta.db_table)
    event_id, payload = q("stripe_event_id"), q(WebhookEvent._meta.get_field("payload").column)
    event_columns = [q(f.column) for f in event_fields]
    delivery_columns = [q(f.column) for f in delivery_fields]
    delivery_targets = ", ".join([q("event_id"), q("result"), event_id, *delivery_columns])

    def typed(fields: list) -> str:
        return ", ".join(f"{q(f.column)} {f.db_type(connection)}" for f in fields)

    return f"""
        WITH new_event AS (
            INSERT INTO {events} ({", ".join(event_columns)}, {payload})
            SELECT {", ".join(event_columns)}, {payload}
            FROM jsonb_to_recordset(%s::jsonb) AS incoming ({typed(event_fields)}, {payload} jsonb)
            ON CONFLICT ({event_id}) DO NOTHING
            RETURNING {q("id")}, {event_id}
        ), stored AS (
            SELECT {q("id")}, {event_id}, TRUE AS created FROM new_event
            UNION ALL
            SELECT {q("id")}, {event_id}, FALSE FROM {events}
            WHERE {event_id} = ANY(%s::varchar[]) AND {event_id} NOT IN (SELECT {event_id} FROM new_event)
        ), delivery AS (
            INSERT INTO {deliveries} ({delivery_targets})
            SELECT stored.{q("id")},
                   CASE WHEN incoming.first AND stored.created THEN %s ELSE %s END,
                   incoming.{event_id}, {", ".join("incoming." + column for column in delivery_columns)}
            FROM jsonb_to_recordset(%s::jsonb)
                AS incoming ({event_id} varchar, first boolean, position integer, {typed(delivery_fields)})
            LEFT JOIN stored USING ({event_id})
            ORDER BY incoming.position
        )
        SELECT {q("id")}, {event_id}, created FROM stored
    """


def webhook_event_enqueue_on_commit(event_id: int) -> None:
    from webhooks.tasks import process_webhook_event as process_webhook_event_task

    # robust: the row is committed whatever happens; if the broker is down the periodic requeue sends it.
    transaction.on_commit(lambda: process_webhook_event_task.delay(event_id), robust=True)
