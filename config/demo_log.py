"""What ``manage.py demo`` prints while it runs: one line for each thing a person watching should see.

The demo starts its children (the web server, the Celery worker and beat) with their output in files
under ``var/log/``, and hands each its own terminal on a file descriptor (``PAYLINKS_DEMO_TERMINAL_FD``).
Settings then add this handler to the root logger. It prints the notices (the ``paylinks.notices``
logger: a payment received or failed, an order fulfilled, a webhook refused) as they are, and every
error as one line that names the log file holding its traceback. Everything still goes to the log file.
"""

from __future__ import annotations

import functools
import logging
import time

NOTICES = "paylinks.notices"
# An error's line stops here: its traceback and the rest are in the log file.
ERROR_TEXT_MAX = 300


def _for_a_person(record: logging.LogRecord) -> bool:
    return record.name == NOTICES or record.levelno >= logging.ERROR


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= ERROR_TEXT_MAX else first[: ERROR_TEXT_MAX - 1] + "…"


class DemoTerminalHandler(logging.StreamHandler):
    def __init__(self, *, fd: int, log_file: str) -> None:
        # closefd=False: the descriptor is the demo's terminal, shared by every process of the child.
        super().__init__(open(fd, "w", buffering=1, closefd=False, errors="backslashreplace"))
        self.log_file = log_file
        self.addFilter(_for_a_person)

    def format(self, record: logging.LogRecord) -> str:
        at = time.strftime("%H:%M:%S", time.localtime(record.created))
        if record.name == NOTICES:
            return f"{at} {_one_line(record.getMessage())}"
        text = _one_line(record.getMessage())
        if record.exc_info and record.exc_info[0] is not None:
            error_type, error = record.exc_info[0], record.exc_info[1]
            if error_type.__name__ not in text:
                text = _one_line(f"{text} ({error_type.__name__}: {error})")
        return f"{at} Error: {text}; details in {self.log_file}"


@functools.cache
def demo_terminal_handler(*, fd: int, log_file: str) -> DemoTerminalHandler:
    """The process's one handler, for settings' LOGGING and for Celery's logging set-up, which replaces
    the root logger's handlers with its own (``config.celery`` puts this one back)."""
    return DemoTerminalHandler(fd=fd, log_file=log_file)
