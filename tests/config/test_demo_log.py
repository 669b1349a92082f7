"""What a child of ``manage.py demo`` prints on the demo's terminal: the notices as they are, every error in
one line naming the log file; everything else only in its own output (the log file)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import logging
import django

django.setup()
logging.getLogger("paylinks.notices").info("Payment received: 20.00 EUR on the link “T-shirts”")
logging.getLogger("gunicorn.access").info("GET /healthz 200")
logging.getLogger("webhooks.processing").warning("Webhook event evt_1 failed, retried later")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("django.request").exception("Internal Server Error: /orders/\\nsecond line")
logging.getLogger("celery.app.trace").error("Task x raised unexpected: ValueError('boom')")
"""


def _run_child(env_extra: dict[str, str], pass_fds=()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYLINKS_DEMO_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **env_extra)
    return subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=env,
        pass_fds=pass_fds,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_child_prints_the_notices_and_each_error_in_one_line_on_the_terminal(tmp_path):
    read_end, write_end = os.pipe()
    try:
        child = _run_child(
            {"PAYLINKS_DEMO_TERMINAL_FD": str(write_end), "PAYLINKS_DEMO_LOG_FILE": "var/log/web.log"},
            pass_fds=(write_end,),
        )
        os.close(write_end)
        with open(read_end, encoding="utf-8") as terminal:
            lines = terminal.read().splitlines()
    finally:
        for fd in (read_end, write_end):
            try:
                os.close(fd)
            except OSError:
                pass  # closed above

    assert child.returncode == 0, child.stderr
    time = r"\d\d:\d\d:\d\d"
    expected = [
        rf"{time} Payment received: 20\.00 EUR on the link “T-shirts”",
        rf"{time} Error: Internal Server Error: /orders/ \(ZeroDivisionError: division by zero\); "
        r"details in var/log/web\.log",
        rf"{time} Error: Task x raised unexpected: ValueError\('boom'\); details in var/log/web\.log",
    ]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), line
    # The log file (the child's own output) keeps everything, the traceback included.
    for text in ("Payment received", "GET /healthz 200", "retried later", "Traceback", "second line"):
        assert text in child.stderr


def test_without_the_demo_nothing_goes_anywhere_but_the_log():
    child = _run_child({})

    assert child.returncode == 0, child.stderr
    assert "Payment received" in child.stderr and "Traceback" in child.stderr
    assert child.stdout == ""
