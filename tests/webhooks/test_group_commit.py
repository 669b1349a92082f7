"""The receiver's group commit: concurrent requests' events written by one statement, each answered with
its own outcome."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection, connections

from tests.webhooks.conftest import make_event, sign
from webhooks import storing
from webhooks.group_commit import GroupCommit
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.receiving import WebhookRejected

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the group-committed store is PostgreSQL's"
)


# GroupCommit, without a database -------------------------------------------------------------------


class BlockingWriter:
    """Holds the first batch until ``release()``, so that other submitters queue up behind it."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.afterwards: list[list] = []
        self.first_started = threading.Event()
        self._release = threading.Event()

    def release(self) -> None:
        self._release.set()

    def write(self, items: list) -> list:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_started.set()
            assert self._release.wait(10)
        return [f"stored {item}" for item in items]

    def after(self, items: list, outcomes: list) -> None:
        self.afterwards.append(list(outcomes))


def _submit_in_threads(group: GroupCommit, items: list) -> tuple[list[threading.Thread], dict]:
    results: dict = {}

    def submit(item) -> None:
        try:
            results[item] = group.submit(item)
        except Exception as exc:  # noqa: BLE001 - what the submitter would see
            results[item] = exc

    threads = [threading.Thread(target=submit, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return threads, results


def _wait_for_waiters(group: GroupCommit, count: int) -> None:
    for _ in range(1000):
        if len(group._waiting) >= count:
            return
        threading.Event().wait(0.005)
    raise AssertionError(f"{len(group._waiting)} waiting, expected {count}")


def test_a_lone_submitter_writes_its_own_item_at_once():
    writer = BlockingWriter()
    writer.release()
    group = GroupCommit(writer.write, after=writer.after)
    assert group.submit("a") == "stored a"
    assert writer.batches == [["a"]]
    assert writer.afterwards == [["stored a"]]


def test_submitters_arriving_during_a_write_share_the_next_one():
    writer = BlockingWriter()
    group = GroupCommit(writer.write, after=writer.after)
    first, results = _submit_in_threads(group, ["a"])
    assert writer.first_started.wait(5)
    others, more = _submit_in_threads(group, ["b", "c", "d"])
    _wait_for_waiters(group, 3)
    writer.release()
    for thread in first + others:
        thread.join(5)
    assert writer.batches[0] == ["a"]
    assert sorted(writer.batches[1]) == ["b", "c", "d"] and len(writer.batches) == 2
    assert {**results, **more} == {item: f"stored {item}" for item in "abcd"}
    assert sorted(map(sorted, writer.afterwards)) == [["stored a"], ["stored b", "stored c", "stored d"]]


def test_a_batch_is_never_larger_than_its_limit():
    writer = BlockingWriter()
    group = GroupCommit(writer.write, max_batch=2)
    first, _ = _submit_in_threads(group, ["a"])
    assert writer.first_started.wait(5)
    others, results = _submit_in_threads(group, ["b", "c", "d"])
    _wait_for_waiters(group, 3)
    writer.release()
    for thread in first + others:
        thread.join(5)
    assert [len(batch) for batch in writer.batches] == [1, 2, 1]
    assert results == {item: f"stored {item}" for item in "bcd"}


def test_a_failed_write_fails_its_whole_batch_and_the_next_batch_still_runs():
    calls = []

    def write(items: list) -> list:
        calls.append(list(items))
        if "bad" in items:
            raise RuntimeError("database went away")
        return [f"stored {item}" for item in items]

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="went away"):
        group.submit("bad")
    assert group.submit("good") == "stored good"
    assert not group._writing and not group._waiting


def test_an_item_that_failed_alone_raises_for_its_submitter_only():
    group = GroupCommit(lambda items: [ValueError(item) if item == "bad" else item for item in items])
    with pytest.raises(ValueError, match="bad"):
        group.submit("bad")
    assert group.submit("good") == "good"


# The receiver's store on PostgreSQL ----------------------------------------------------------------


def _received(event: dict | str):
    body = event if isinstance(event, str) else json.dumps(event)
    return storing._event_received(
        payload=body.encode(),
        signature=sign(body),
        headers={"User-Agent": "Stripe/1.0"},
        remote_addr="10.0.0.1",
    )


@postgresql_only
@pytest.mark.django_db
def test_one_statement_stores_a_batch_with_a_duplicate_inside_it(django_assert_num_queries):
    events = [make_event() for _ in range(3)]
    already = make_event()
    (stored_before,) = storing._events_store_postgresql([_received(already)])
    batch = [_received(events[2]), _received(events[0]), _received(already), _received(events[0])]
    batch.append(_received(events[1]))
    with django_assert_num_queries(1):
        outcomes = storing._events_store_postgresql(batch)
    assert [o.created for o in outcomes] == [True, True, False, False, True]
    assert outcomes[2].event.id == stored_before.event.id
    # The duplicate inside the batch is the same row as its first delivery.
    assert outcomes[3].event.id == outcomes[1].event.id
    for event in events:
        stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
        assert stored.payload == event and stored.status == WebhookEvent.Status.PENDING
    results = list(
        WebhookDelivery.objects.filter(stripe_event_id=events[0]["id"])
        .order_by("id")
        .values_list("result", "event_id")
    )
    stored_id = outcomes[1].event.id
    assert results == [
        (WebhookDelivery.Result.ACCEPTED, stored_id),
        (WebhookDelivery.Result.DUPLICATE, stored_id),
    ]
    delivery = WebhookDelivery.objects.filter(stripe_event_id=events[1]["id"]).get()
    assert (delivery.remote_addr, delivery.headers["User-Agent"]) == ("10.0.0.1", "Stripe/1.0")
    assert WebhookDelivery.objects.filter(stripe_event_id=already["id"]).count() == 2


@postgresql_only
@pytest.mark.django_db(transaction=True)  # autocommit, as in production: the failed statement ends alone
def test_a_body_jsonb_refuses_is_rejected_alone_and_the_rest_of_its_batch_is_stored():
    good = make_event()
    # Python reads a lone surrogate escape; jsonb refuses it.
    bad = json.dumps(make_event(description="x")).replace('"x"', '"\\ud800"')
    outcomes = storing._events_store_postgresql([_received(good), _received(bad)])
    assert outcomes[0].created
    assert isinstance(outcomes[1], WebhookRejected)
    assert WebhookEvent.objects.filter(stripe_event_id=good["id"]).exists()
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_are_each_stored_once_and_enqueued_once(monkeypatch):
    """Through the group commit itself (no transaction around it): 12 threads, 10 distinct events."""
    enqueued: list[list[int]] = []
    monkeypatch.setattr(
        "webhooks.tasks.process_webhook_event.delay", lambda event_id: enqueued.append([event_id])
    )
    monkeypatch.setattr("webhooks.tasks.process_webhook_events.delay", lambda ids: enqueued.append(list(ids)))
    events = [make_event() for _ in range(10)]
    bodies = [json.dumps(event) for event in events] + [json.dumps(events[0]), json.dumps(events[5])]
    results: dict[int, object] = {}
    start = threading.Barrier(len(bodies))

    def receive(index: int) -> None:
        try:
            start.wait(5)
            results[index] = storing.webhook_event_record(
                payload=bodies[index].encode(), signature=sign(bodies[index])
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=receive, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 12 and sum(result.created for result in results.values()) == 10
    stored = dict(WebhookEvent.objects.values_list("stripe_event_id", "id"))
    assert set(stored) == {event["id"] for event in events}
    assert sorted(event_id for batch in enqueued for event_id in batch) == sorted(stored.values())
    assert WebhookDelivery.objects.filter(result=WebhookDelivery.Result.DUPLICATE).count() == 2
    assert WebhookDelivery.objects.filter(result=WebhookDelivery.Result.ACCEPTED).count() == 10
