"""CPU per request of every process, rung by rung: ``uv run python -m bench.ladder [--rounds N]``.

The ingest benchmark's rungs, each at full speed under wrk with the worker stopped: the floor, the verify
floor (the receiver's checks, nothing stored), the store floor (one durable INSERT, nothing checked) and
the receiver. For each, the CPU every process spent per request (gunicorn, PostgreSQL, Redis, wrk, the
whole machine) and the cores' idle time per request: where each rung's extra cost goes, and how much of the
machine waits while requests wait on the database. Needs wrk. The figures behind "What limits each
figure" in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench import common, wrk
from bench.stack import Stack
from bench.webhooks import (
    STORE_FLOOR_PATH,
    VERIFY_FLOOR_PATH,
    WEBHOOK_PATH,
    EventFactory,
    events_per_commit,
    post_closed_loop,
)

PARTS = ("gunicorn", "postgres", "redis", "wrk", "machine", "idle")


def _cpu_seconds(stack: Stack) -> dict[str, float]:
    import psutil

    seconds = stack.cpu_seconds()
    # wrk is this process's child, counted once it has been waited for.
    children = psutil.Process().cpu_times()
    seconds["wrk"] = children.children_user + children.children_system
    return seconds


def _rung(stack: Stack, name: str, run) -> dict:
    before = _cpu_seconds(stack)
    result, extra = run()
    after = _cpu_seconds(stack)
    requests = max(result.completed, 1)
    summary = result.summary()
    return {
        "rung": name,
        "rps": summary["rps"],
        "errors": summary["errors"],
        **{f"{part}_ms": round((after[part] - before[part]) * 1000 / requests, 3) for part in PARTS},
        **extra,
    }


def ladder(stack: Stack, session_ids: list[str], *, seconds: float) -> list[dict]:
    def floor():
        return wrk.run(f"{stack.base_url}/bench/floor", duration=seconds, connections=common.CONNECTIONS), {}

    def posted(path: str, *, per_commit: bool = False):
        def run():
            factory = EventFactory(stack, session_ids)
            result = post_closed_loop(stack, factory, path=path, duration=seconds)
            return result, ({"events_per_commit": events_per_commit(factory)} if per_commit else {})

        return run

    rungs = [
        _rung(stack, "floor", floor),
        _rung(stack, "verify floor", posted(VERIFY_FLOOR_PATH)),
        _rung(stack, "store floor", posted(STORE_FLOOR_PATH)),
        _rung(stack, "receiver", posted(WEBHOOK_PATH, per_commit=True)),
    ]
    stack.flush_redis()  # no worker: the receiver's tasks are dropped
    return rungs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ladder", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if not wrk.available():
        print("bench.ladder needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    stack = Stack()
    try:
        stack.create_database_in_process()
        stack.start_web()
        _price, link = common.catalog_and_link(name="Bench ladder")
        session_ids, _rate = common.completed_sessions(stack, link.url, 50)
        # Warm up: every gunicorn thread's first event pays for imports and its connections.
        post_closed_loop(stack, EventFactory(stack, session_ids), path=WEBHOOK_PATH, duration=3)
        stack.flush_redis()
        print(f"CPU ms per request, {os.cpu_count()} cores, {args.seconds:g} s a rung, worker stopped")
        for round_ in range(1, args.rounds + 1):
            rungs = ladder(stack, session_ids, seconds=args.seconds)
            floor_rps = rungs[0]["rps"]
            for rung in rungs:
                extra = f"  {rung['events_per_commit']} per commit" if "events_per_commit" in rung else ""
                parts = "  ".join(f"{part} {rung[f'{part}_ms']:.3f}" for part in PARTS)
                print(
                    f"round {round_}  {rung['rung']:<12}  {rung['rps']:8.1f} req/s"
                    f"  {common.ratio(rung['rps'], floor_rps)} of the floor  {parts}{extra}"
                )
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
