"""A long-lived Django process that runs snippets sent by the fault tests (``AppStack.console``).

Starting Django costs seconds on a busy machine; the fault tests and the bench send many small
commands (create a link, run the requeue with the clock ahead, enqueue a task), so one process runs
them all. Protocol: one JSON request per line on stdin, ``{"code": str, "ahead": seconds}``; one JSON
answer per line on the original stdout, ``{"ok": bool, "result": ..., "error": str}``. The snippet sets
``result``; ``ahead`` shifts ``django.utils.timezone.now`` for that snippet only (leases, grace periods
and back-off delays seen as expired). Database connections are closed after each snippet, so a
restarted PostgreSQL costs nothing.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import traceback


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # prints and logs of the snippets must not mix with the answers
    real_now = timezone.now
    answers.write(json.dumps({"ok": True, "result": "ready"}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        ahead = float(request.get("ahead") or 0)
        namespace: dict = {"result": None}
        if ahead:
            shift = datetime.timedelta(seconds=ahead)
            timezone.now = lambda shift=shift: real_now() + shift
        try:
            exec(compile(request["code"], "<console>", "exec"), namespace)  # noqa: S102 - test tool
            answer = {"ok": True, "result": namespace.get("result")}
        except BaseException:  # noqa: BLE001 - reported to the caller
            answer = {"ok": False, "error": traceback.format_exc()}
        finally:
            timezone.now = real_now
            connections.close_all()
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
