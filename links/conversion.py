"""Each payment link's conversion: its checkout sessions completed out of those it opened.

Where the numbers come from: Stripe sends no event when a checkout session opens (its only
``checkout.session.*`` events are ``completed``, ``expired``, ``async_payment_succeeded`` and
``async_payment_failed``), so the sessions a link opened are read from Stripe's list of checkout sessions
(``checkout.sessions.list``), by a Celery beat task (``links.scan_checkout_sessions``, every five minutes):
one list of every session created since the previous read (a few minutes of overlap), not one list per
link, so that its cost follows the number of new sessions, not of links. Completions and expiries are
counted from the same list and also from the ``checkout.session.completed`` and ``.expired`` events as they
arrive (``webhooks.handlers``), so that a payment counts before the next read.

Counted once: every session goes through ``checkout_sessions_record``, whose ledger (``CheckoutSessionSeen``,
unique by session id) counts a session as opened when its row is inserted and as completed or expired when
the one UPDATE that finds it still open moves it: a session seen twice, in a repeated read, a duplicated
event or both, changes nothing the second time; a stale read that still says open after the event said
complete changes nothing either (a session never goes back to open). The per-link figures
(``LinkConversion``) are added to in the same transaction, and the pages read them, never the ledger.

Sessions still open past their expiry in the ledger (their expiry event lost) are re-read one by one, a
batch per run. Network calls happen before each transaction, never inside one.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.stripe_client import get_stripe_client
from links.models import CheckoutSessionScan, CheckoutSessionSeen, LinkConversion

logger = logging.getLogger(__name__)

OPEN, COMPLETE, EXPIRED = (
    CheckoutSessionSeen.Status.OPEN,
    CheckoutSessionSeen.Status.COMPLETE,
    CheckoutSessionSeen.Status.EXPIRED,
)
STATUSES = frozenset({OPEN, COMPLETE, EXPIRED})
# Each read starts this long before the newest session the previous one saw: a session listed late (created
# at the same second, or made visible a little after) is not missed; the ledger ignores the ones seen again.
SCAN_OVERLAP_SECONDS = 600
LIST_PAGE_SIZE = 100  # Stripe's largest page
# Sessions still open this long past their expiry are re-read (their ``expired`` event was lost), this many
# per run.
STALE_OPEN_GRACE_SECONDS = 3600
STALE_OPEN_BATCH = 100
SCAN_KEY = "all"


# READING -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    """A link's checkout sessions: opened, completed, expired (abandoned), and when they were last read."""

    opened: int = 0
    completed: int = 0
    expired: int = 0
    # When Stripe's sessions list was last read (None: never yet, the counts come from events alone).
    scanned_at: datetime | None = None

    @property
    def still_open(self) -> int:
        return max(self.opened - self.completed - self.expired, 0)

    @property
    def percent(self) -> float | None:
        """Completed out of opened, in percent (one decimal); None when no session was opened."""
        if not self.opened:
            return None
        return round(100 * self.completed / self.opened, 1)

    @property
    def measured(self) -> bool:
        """Whether the sessions list was read at least once: before that, sessions opened are unknown."""
        return self.scanned_at is not None


def _scanned_at() -> datetime | None:
    return CheckoutSessionScan.objects.filter(key=SCAN_KEY).values_list("scanned_at", flat=True).first()


def _conversion(row: LinkConversion | None, scanned_at: datetime | None) -> Conversion:
    if row is None:
        return Conversion(scanned_at=scanned_at)
    return Conversion(
        opened=row.sessions_opened,
        completed=row.sessions_completed,
        expired=row.sessions_expired,
        scanned_at=scanned_at,
    )


def link_conversion(*, link_stripe_id: str) -> Conversion:
    """One link's conversion, in two one-row queries."""
    row = LinkConversion.objects.filter(link_stripe_id=link_stripe_id).first()
    return _conversion(row, _scanned_at())


def link_conversions(*, link_stripe_ids: list[str]) -> dict[str, Conversion]:
    """The conversion of each of these links (a table of links), in two queries whatever their number."""
    rows = {
        row.link_stripe_id: row for row in LinkConversion.objects.filter(link_stripe_id__in=link_stripe_ids)
    }
    scanned_at = _scanned_at()
    return {stripe_id: _conversion(rows.get(stripe_id), scanned_at) for stripe_id in link_stripe_ids}


# RECORDING -----------------------------------------------------------------------------------------


def _id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _as_dict(obj: Any) -> dict:
    return obj.to_dict(for_json=True) if hasattr(obj, "to_dict") else dict(obj)


def _add_statement() -> str:
    # One upsert on PostgreSQL and SQLite (as links.totals): the first session of a link creates its row.
    quote = connection.ops.quote_name
    table = quote(LinkConversion._meta.db_table)
    sums = [quote(name) for name in ("sessions_opened", "sessions_completed", "sessions_expired")]
    updates = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in sums)
    return (
        f"INSERT INTO {table} ({quote('link_stripe_id')}, {', '.join(sums)}) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT ({quote('link_stripe_id')}) DO UPDATE SET {updates}"
    )


def _record_one(session: dict, seen: dict[str, str], counts: dict[str, Counter]) -> None:
    session_id, link_id, status = session["id"], _id(session.get("payment_link")), session.get("status")
    if not session_id or not link_id or status not in STATUSES:
        return  # not a payment link's session (a Checkout integration's), or a status we do not know
    if session_id not in seen:
        try:
            with transaction.atomic():  # a savepoint: a concurrent insert of this session fails alone
                CheckoutSessionSeen.objects.create(
                    session_id=session_id[:255],
                    link_stripe_id=link_id[:255],
                    status=status,
                    created=int(session.get("created") or 0),
                    expires_at=session.get("expires_at"),
                )
        except IntegrityError:
            # Another worker (the scan, an event) inserted it since our look: its move is ours to try.
            seen[session_id] = OPEN
        else:
            seen[session_id] = status
            counts[link_id]["opened"] += 1
            if status != OPEN:
                counts[link_id][status] += 1
            return
    if status != OPEN and seen[session_id] == OPEN:
        # Exactly one caller finds the row still open (PostgreSQL re-checks the condition on the locked row).
        moved = CheckoutSessionSeen.objects.filter(session_id=session_id, status=OPEN).update(status=status)
        seen[session_id] = status
        if moved:
            counts[link_id][status] += 1


def checkout_sessions_record(*, sessions: list[dict]) -> dict[str, Counter]:
    """Count these checkout sessions (as Stripe's API or an event gives them) in the ledger and their
    links' figures, each once whatever was recorded before; returns what was added, per link.

    Sessions without a payment link are left out. One transaction; no network call.
    """
    counts: dict[str, Counter] = defaultdict(Counter)
    ids = [session["id"] for session in sessions if session.get("id")]
    with transaction.atomic():
        seen = dict(
            CheckoutSessionSeen.objects.filter(session_id__in=ids).values_list("session_id", "status")
        )
        # Rows locked in one order (session ids, then link ids), whoever records: concurrent recorders (two
        # reads, a read and an event) wait for each other, never deadlock.
        for session in sorted(sessions, key=lambda session: str(session.get("id") or "")):
            _record_one(session, seen, counts)
        with connection.cursor() as cursor:
            for link_id, added in sorted(counts.items()):
                cursor.execute(
                    _add_statement(), [link_id[:255], added["opened"], added[COMPLETE], added[EXPIRED]]
                )
    return counts


def checkout_session_record_event(*, session: dict) -> None:
    """A ``checkout.session.completed`` or ``.expired`` event's session: both statuses are final, so the
    payload is as good as a fetch, in whatever order the events and the reads of the list come."""
    if session.get("status") in (COMPLETE, EXPIRED):
        checkout_sessions_record(sessions=[session])


# READING STRIPE ------------------------------------------------------------------------------------


def checkout_sessions_scan() -> int:
    """Read the checkout sessions created since the last read (all of them the first time) from Stripe's
    list, a page at a time, each page recorded in its own transaction; then re-read the sessions still open
    long past their expiry. Returns the number of sessions read. Safe to run twice at once: the ledger
    counts each session once.
    """
    scan, _created = CheckoutSessionScan.objects.get_or_create(key=SCAN_KEY)
    client = get_stripe_client()
    params: dict[str, Any] = {"limit": LIST_PAGE_SIZE}
    if scan.newest_created is not None:
        params["created"] = {"gte": scan.newest_created - SCAN_OVERLAP_SECONDS}
    newest = scan.newest_created
    read = 0
    while True:
        page = client.v1.checkout.sessions.list(params=params)
        sessions = [_as_dict(session) for session in page.data]
        if sessions:
            checkout_sessions_record(sessions=sessions)
            newest = max([newest or 0, *(int(session.get("created") or 0) for session in sessions)])
            read += len(sessions)
        if not page.has_more or not sessions:
            break
        params["starting_after"] = sessions[-1]["id"]
    # Stripe's clock is at least at the newest session seen (the sandbox's may run ahead of ours).
    stripe_now = max(int(timezone.now().timestamp()), newest or 0)
    read += _stale_open_sessions_refresh(stripe_now=stripe_now)
    # Only forward: a slower concurrent read must not move the next one's start back (nor, harmlessly, on).
    CheckoutSessionScan.objects.filter(key=SCAN_KEY).update(scanned_at=timezone.now())
    if newest is not None:
        behind = Q(newest_created__isnull=True) | Q(newest_created__lt=newest)
        CheckoutSessionScan.objects.filter(behind, key=SCAN_KEY).update(newest_created=newest)
    return read


def _stale_open_sessions_refresh(*, stripe_now: int) -> int:
    """Sessions the ledger still has open long after their expiry: their ``expired`` (or ``completed``)
    event was lost, and the list's window has moved past them. Each is read again."""
    cutoff = stripe_now - STALE_OPEN_GRACE_SECONDS
    stale = CheckoutSessionSeen.objects.filter(status=OPEN, expires_at__lt=cutoff).order_by("expires_at")
    client = get_stripe_client()
    sessions = []
    for session_id in stale.values_list("session_id", flat=True)[:STALE_OPEN_BATCH]:
        try:
            sessions.append(_as_dict(client.v1.checkout.sessions.retrieve(session_id)))
        except stripe.InvalidRequestError:
            # Gone (another account's, a reset sandbox): left out of the next runs, counted as it was.
            logger.warning("Conversion: checkout session %s no longer found at Stripe", session_id)
            CheckoutSessionSeen.objects.filter(session_id=session_id).update(expires_at=None)
    if sessions:
        checkout_sessions_record(sessions=sessions)
    return len(sessions)
