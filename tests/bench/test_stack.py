"""The bench's stack: the worker's share of the cores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.stack import AUTOGROUP_ENABLED, _autogroup_nice


@pytest.mark.skipif(not AUTOGROUP_ENABLED, reason="the kernel schedules no autogroups here")
def test_the_nice_value_is_set_on_the_session_the_process_leads():
    # Started as the stack starts the worker: a session of its own, so an autogroup of its own.
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        autogroup = Path(f"/proc/{process.pid}/autogroup")
        assert autogroup.read_text().split()[-1] == "0"
        _autogroup_nice(process.pid, 19)
        assert autogroup.read_text().split()[-1] == "19"
        # The process's own nice value is not what changed: only its session's share.
        assert Path(f"/proc/{process.pid}/stat").read_text().split()[18] == "0"
    finally:
        process.kill()
        process.wait()
