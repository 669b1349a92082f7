"""``manage.py demo`` as a new user runs it: a fresh var/ directory, then a second run on the same data.

The first run is started once for the module (``first_run``), as a service manager starts it; a customer
pays and staff mark the order fulfilled while it runs, and its tests read what it did and printed; the
second run starts the demo again on the data the first one left.
"""

from __future__ import annotations

import os
import re
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
import requests

from bench.forms import submit_form

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


def _wait_for_line(log_path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no {text!r}:\n{log_path.read_text(errors='replace')[-4000:]}"
        time.sleep(0.2)


def _pay_and_mark_fulfilled(*, base_url: str, var_dir: Path, log_path: Path) -> None:
    """A customer pays the bundle link with 4242…; then staff mark its order fulfilled."""
    with sqlite3.connect(var_dir / "paylinks.sqlite3") as db:
        (link_url,) = db.execute(
            "select url from links_paymentlink where name = 'T-shirt and mug bundle'"
        ).fetchone()
    customer = requests.Session()
    paid = submit_form(
        customer,
        customer.get(link_url, timeout=30),
        values={
            "email": "jeanne@example.com",
            "card_number": "4242 4242 4242 4242",
            "card_expiry": "12 / 34",
            "card_cvc": "123",
            "cardholder_name": "Jeanne Martin",
        },
    )
    assert paid.status_code == 200
    _wait_for_line(log_path, "Payment received")
    order_path = re.search(r"/orders/[0-9a-f-]{36}/", log_path.read_text()).group(0)

    staff = requests.Session()
    login = staff.get(f"{base_url}{order_path}", timeout=30)
    order_page = submit_form(
        staff,
        login,
        action_contains="/accounts/login/",
        values={"username": "manon", "password": "s3cret-demo-pass"},
    )
    assert order_page.url.endswith(order_path), order_page.url
    submit_form(staff, order_page, action_contains="/fulfil/", values={})
    _wait_for_line(log_path, "Order fulfilled")


@dataclass
class FirstRun:
    var_dir: Path
    port: int
    log: str = ""  # what it printed until it was ready
    health: str = ""
    landing_url: str = ""
    terminal: str = ""  # what it printed after a payment and its fulfilment, before the stop
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
        _pay_and_mark_fulfilled(
            base_url=f"http://127.0.0.1:{run.port}", var_dir=run.var_dir, log_path=log_path
        )
        run.terminal = log_path.read_text()
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


def test_after_the_banner_the_terminal_shows_only_what_a_person_should_see(first_run):
    """The children's output goes to var/log/; the terminal gets one line for the payment and one for the
    fulfilment, printed by the worker and the web server themselves."""
    banner, after_banner = first_run.terminal.split("Press Ctrl-C to stop.\n")
    log_dir = first_run.var_dir.resolve() / "log"  # shown whole: not under the current directory
    assert f"Logs: {log_dir}/web.log, {log_dir}/worker.log, {log_dir}/beat.log\n" in banner
    base_url = f"http://127.0.0.1:{first_run.port}"
    order = rf"\(order {re.escape(base_url)}/orders/[0-9a-f-]{{36}}/\)"
    link = "on the link “T-shirt and mug bundle”"
    expected = [
        rf"\d\d:\d\d:\d\d Payment received: 37\.00 EUR {link} {order}",
        rf"\d\d:\d\d:\d\d Order fulfilled: 37\.00 EUR {link}, marked by manon {order}",
    ]
    lines = [line for line in after_banner.splitlines() if line]
    assert len(lines) == len(expected), after_banner
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), line

    logs = {path.name: path.read_text() for path in log_dir.glob("*.log")}
    assert sorted(logs) == ["beat.log", "web.log", "worker.log"]
    assert '"GET /healthz HTTP/1.1" 200' in logs["web.log"]  # gunicorn's access lines
    assert '"POST /webhooks/stripe/ HTTP/1.1" 200' in logs["web.log"]
    assert "Order fulfilled: 37.00 EUR" in logs["web.log"]  # the notices too, with everything else
    assert "Task webhooks.process_event" in logs["worker.log"]
    assert "Payment received: 37.00 EUR" in logs["worker.log"]
    assert "beat: Starting" in logs["beat.log"]


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
