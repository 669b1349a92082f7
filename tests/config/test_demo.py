"""``manage.py demo`` as a new user runs it: a fresh var/ directory, then a second run on the same data."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_demo_until_ready(var_dir: Path, port: int, *extra: str) -> tuple[subprocess.Popen, Path]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "PAYLINKS_BASE_URL"}
    }
    env.update(PAYLINKS_VAR_DIR=str(var_dir), PAYLINKS_DEMO_PASSWORD="", PYTHONUNBUFFERED="1")
    log_path = var_dir.parent / f"demo-{port}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port), *extra],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            pytest.fail(
                f"demo exited with {demo.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}"
            )
        if b"Press Ctrl-C to stop." in log_path.read_bytes():
            return demo, log_path
        time.sleep(0.3)
    demo.kill()
    pytest.fail(f"demo was not ready in time:\n{log_path.read_text(errors='replace')[-4000:]}")


def _stop(demo: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(demo.pid).children(recursive=True)
    demo.send_signal(signal.SIGTERM)
    demo.wait(timeout=60)
    gone, alive = psutil.wait_procs(children, timeout=30)
    return alive


def test_demo_sets_up_everything_and_stops_every_child(tmp_path):
    var_dir, port = tmp_path / "var", _free_port()

    demo, log_path = _run_demo_until_ready(
        var_dir, port, "--username", "manon", "--password", "s3cret-demo-pass"
    )
    try:
        log = log_path.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            health = response.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            landing_url = response.url
    finally:
        alive = _stop(demo)

    assert f"http://127.0.0.1:{port}/" in log
    assert "'manon' with password: s3cret-demo-pass" in log
    assert '"database": "ok"' in health and '"broker": "ok"' in health
    assert "/accounts/login/" in landing_url
    assert alive == []  # the web server, the worker and beat are all gone
    assert (var_dir / "paylinks.sqlite3").exists()
    with sqlite3.connect(var_dir / "paylinks.sqlite3") as db:
        assert db.execute("select count(*) from links_paymentlink").fetchone() == (2,)
        assert db.execute("select count(*) from webhooks_webhookendpoint").fetchone() == (1,)
        assert db.execute("select secret from webhooks_webhookendpoint").fetchone()[0].startswith("whsec_")

    # A second run reuses the data: same links, same user, a random password printed only when asked.
    demo, log_path = _run_demo_until_ready(var_dir, port, "--username", "manon")
    alive = _stop(demo)

    assert "existing password" in log_path.read_text()
    assert alive == []
    with sqlite3.connect(var_dir / "paylinks.sqlite3") as db:
        assert db.execute("select count(*) from links_paymentlink").fetchone() == (2,)
        assert db.execute("select count(*) from catalog_product").fetchone() == (2,)


def test_the_group_sigterm_twice_stops_every_child_without_a_traceback(tmp_path):
    """``kill -TERM -- -PGID`` as a service manager sends it: ``uv`` and the demo are both signalled and
    uv forwards its own, so the demo gets SIGTERM at least twice, the second one during its shutdown."""
    import shutil

    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("needs uv on PATH, as README's commands do")
    var_dir, port = tmp_path / "var", _free_port()
    var_dir.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "PAYLINKS_BASE_URL"}
    }
    env.update(PAYLINKS_VAR_DIR=str(var_dir), PAYLINKS_DEMO_PASSWORD="", PYTHONUNBUFFERED="1")
    log_path, descendants = tmp_path / "demo.log", []
    with open(log_path, "wb") as log:
        uv_run = subprocess.Popen(
            [uv, "run", "--no-sync", "manage.py", "demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a service manager starts it
        )
    try:
        deadline = time.monotonic() + 120
        while b"Press Ctrl-C to stop." not in log_path.read_bytes():
            assert uv_run.poll() is None, log_path.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-4000:]
            time.sleep(0.3)
        descendants = psutil.Process(uv_run.pid).children(recursive=True)
        assert len(descendants) >= 4  # the demo, the web server (and its worker), the Celery worker, beat

        os.killpg(uv_run.pid, signal.SIGTERM)
        time.sleep(0.5)  # the demo is stopping its children now
        os.killpg(uv_run.pid, signal.SIGTERM)
        uv_run.wait(timeout=60)
        gone, alive = psutil.wait_procs(descendants, timeout=30)
    finally:
        # Whatever the outcome, leave nothing running for the next tests.
        if uv_run.poll() is None:
            uv_run.kill()
            uv_run.wait()
        for process in descendants:
            try:
                process.kill()  # psutil checks the start time: never another process that got the pid
            except psutil.NoSuchProcess:
                pass

    output = log_path.read_text(errors="replace")
    assert alive == [], [" ".join(process.cmdline()) for process in alive]
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-4000:]
    assert "Stopped." in output
