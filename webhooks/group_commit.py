"""Group commit: the rows of concurrent requests written by one statement, each request answered only once
its own row is committed.

At a flash sale's rate the receiver's cost is not its own work but one database round trip and one commit
per event. Here the first request to arrive writes, in one statement, every row waiting when it starts (its
own first); requests arriving meanwhile wait, and the first of them writes the next batch. Nobody waits for
a batch to fill: alone, a request writes its own row at once, as before; under load a batch is as large as
the number of requests that arrived during the previous write. The writer uses its own thread's database
connection, so nothing runs in a background thread and a process holds no extra connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence


class _Ticket[Item, Outcome]:
    __slots__ = ("item", "outcome", "error", "lead", "woken")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None
        self.lead = False  # woken to write the next batch, not with its outcome
        self.woken = threading.Event()

    def result(self) -> Outcome:
        if self.error is not None:
            raise self.error
        return self.outcome  # type: ignore[return-value]


class GroupCommit[Item, Outcome]:
    """``submit(item)`` returns ``write``'s outcome for that item, written together with whatever other
    threads of this process submitted at the same time.

    ``write(items)`` returns one outcome per item, in order, or an exception instance for an item that
    failed alone; if it raises, every item of its batch gets that exception. ``after(items, outcomes)``
    runs once each batch's submitters have been answered (the enqueueing of their work, say), in the
    writer's thread and before that thread's own ``submit`` returns.
    """

    def __init__(
        self,
        write: Callable[[list[Item]], Sequence[Outcome | BaseException]],
        *,
        after: Callable[[list[Item], list[Outcome | BaseException]], None] | None = None,
        max_batch: int = 64,
    ) -> None:
        self._write = write
        self._after = after
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Ticket] = []
        # Invariant: while nobody is writing, nobody is waiting.
        self._writing = False

    def submit(self, item: Item) -> Outcome:
        ticket: _Ticket[Item, Outcome] = _Ticket(item)
        with self._lock:
            self._waiting.append(ticket)
            lead = not self._writing
            self._writing = True
        if not lead:
            ticket.woken.wait()
            if not ticket.lead:
                return ticket.result()
        self._write_batch()
        return ticket.result()

    def _write_batch(self) -> None:
        with self._lock:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: len(batch)]
        items = [ticket.item for ticket in batch]
        outcomes: list[Outcome | BaseException] = []
        try:
            outcomes = list(self._write(items))
            if len(outcomes) != len(batch):
                raise RuntimeError(f"write returned {len(outcomes)} outcomes for {len(batch)} items")
        except BaseException as exc:  # every waiter must be woken, whatever happened (even SystemExit)
            outcomes = [exc] * len(batch)
            raise
        finally:
            # The next writer starts before this batch's waiters are answered: one batch in flight always.
            with self._lock:
                next_writer = self._waiting[0] if self._waiting else None
                self._writing = next_writer is not None
            if next_writer is not None:
                next_writer.lead = True
                next_writer.woken.set()
            for ticket, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    ticket.error = outcome
                else:
                    ticket.outcome = outcome
                ticket.woken.set()
        if self._after is not None:
            self._after(items, outcomes)
