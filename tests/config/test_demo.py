"""``manage.py demo`` as a new user runs it: a fresh var/ directory, then a second run on the same data.

The first run is started once for the module (``first_run``), as a service manager starts it, and its
tests read what it did; the second run starts the demo again on the data the first one left.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _demo_env(var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "PAYLINKS_BASE_URL"}
    }
    env.update(PAYLINKS_VAR_DIR=str(var_dir), PAYLINKS_DEMO_PASSWORD="", PYTHONUNBUFFERED="1")
    return env


def _wait_until_ready(demo: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            pytest.fail(
                f"demo exited with {demo.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}"
            )
        if b"Press Ctrl-C to stop." in log_path.read_bytes():
            return
        time.sleep(0.1)
    demo.kill()
    pytest.fail(f"demo was not ready in time:\n{log_path.read_text(errors='replace')[-4000:]}")


def _run_demo_until_ready(var_dir: Path, port: int, *extra: str) -> tuple[subprocess.Popen, Path]:
    log_path = var_dir.parent / f"demo-{port}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port), *extra],
            cwd=ROOT,
            env=_demo_env(var_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    _wait_until_ready(demo, log_path)
    return demo, log_path


def _stop(demo: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(demo.pid).children(recursive=True)
    demo.send_signal(signal.SIGTERM)
    demo.wait(timeout=60)
    gone, alive = psutil.wait_procs(children, timeout=30)
    return alive


@dataclass
class FirstRun:
    var_dir: Path
    port: int
    log: str = ""  # what it printed until it was ready
    health: str = ""
    landing_url: str = ""
    descendants: list[psutil.Process] = field(default_factory=list)
    alive: list[psutil.Process] = field(default_factory=list)  # after the stop
    output: str = ""  # everything it printed, the stop included


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> FirstRun:
    """The demo's first run on a fresh var/, started with ``uv run`` in a process group of its own, as a
    service manager starts it, then stopped as one stops it: ``kill -TERM -- -PGID``. ``uv`` and the demo
    are both signalled and uv forwards its own, so the demo gets SIGTERM at least twice; the group gets
    a second one during the demo's shutdown."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("needs uv on PATH, as README's commands do")
    run = FirstRun(var_dir=tmp_path_factory.mktemp("demo") / "var", port=_free_port())
    log_path = run.var_dir.parent / "demo.log"
    argv = [uv, "run", "--no-sync", "manage.py", "demo", "--port", str(run.port)]
    with open(log_path, "wb") as log:
        uv_run = subprocess.Popen(
            [*argv, "--username", "manon", "--password", "s3cret-demo-pass"],
            cwd=ROOT,
            env=_demo_env(run.var_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a service manager starts it
        )
    try:
        _wait_until_ready(uv_run, log_path)
        run.log = log_path.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{run.port}/healthz", timeout=10) as response:
            run.health = response.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{run.port}/", timeout=10) as response:
            run.landing_url = response.url
        run.descendants = psutil.Process(uv_run.pid).children(recursive=True)

        os.killpg(uv_run.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while b"Stopping" not in log_path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)  # the demo is stopping its children once it says so
        os.killpg(uv_run.pid, signal.SIGTERM)
        uv_run.wait(timeout=60)
        gone, run.alive = psutil.wait_procs(run.descendants, timeout=30)
    finally:
        # Whatever the outcome, leave nothing running for the next tests.
        if uv_run.poll() is None:
            uv_run.kill()
            uv_run.wait()
        for process in run.descendants:
            try:
                process.kill()  # psutil checks the start time: never another process that got the pid
            except psutil.NoSuchProcess:
                pass
    run.output = log_path.read_text(errors="replace")
    return run


def test_demo_sets_up_everything(first_run):
    assert f"http://127.0.0.1:{first_run.port}/" in first_run.log
    assert "'manon' with password: s3cret-demo-pass" in first_run.log
    assert '"database": "ok"' in first_run.health and '"broker": "ok"' in first_run.health
    assert "/accounts/login/" in first_run.landing_url
    assert (first_run.var_dir / "paylinks.sqlite3").exists()
    with sqlite3.connect(first_run.var_dir / "paylinks.sqlite3") as db:
        assert db.execute("select count(*) from links_paymentlink").fetchone() == (2,)
        assert db.execute("select count(*) from webhooks_webhookendpoint").fetchone() == (1,)
        assert db.execute("select secret from webhooks_webhookendpoint").fetchone()[0].startswith("whsec_")


def test_the_group_sigterm_twice_stops_every_child_without_a_traceback(first_run):
    assert (
        len(first_run.descendants) >= 4
    )  # the demo, the web server (and its worker), the Celery worker, beat
    assert first_run.alive == [], [" ".join(process.cmdline()) for process in first_run.alive]
    output = first_run.output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-4000:]
    assert "Stopped." in output


def test_a_second_run_reuses_the_data_and_sigterm_stops_every_child(first_run):
    # Same links, same user, a random password printed only when asked.
    demo, log_path = _run_demo_until_ready(first_run.var_dir, _free_port(), "--username", "manon")
    alive = _stop(demo)

    assert "existing password" in log_path.read_text()
    assert alive == []  # the web server, the worker and beat are all gone
    with sqlite3.connect(first_run.var_dir / "paylinks.sqlite3") as db:
        assert db.execute("select count(*) from links_paymentlink").fetchone() == (2,)
        assert db.execute("select count(*) from catalog_product").fetchone() == (2,)
