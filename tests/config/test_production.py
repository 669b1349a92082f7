"""README's production commands, run as written there, with production settings: gunicorn then serves the
login page and, signed in, the dashboard."""

from __future__ import annotations

import http.client
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# README's commands after `uv sync --locked`, which the test run has done already (`uv run` runs them
# in that environment: here, this interpreter).
MANAGE_COMMANDS = [
    "uv run manage.py migrate",
    "uv run manage.py collectstatic --noinput",
]
GUNICORN_PREFIX = "uv run gunicorn config.wsgi:application "
ADMIN_PASSWORD = "first-admin-password-1729"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _production_env(var_dir: Path) -> dict[str, str]:
    # What the test run sets that a deployment would not, and README's example values we replace.
    left_out = {"DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "PAYLINKS_BASE_URL"}
    left_out |= {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in left_out}
    env.update(
        DEBUG="false",
        SECRET_KEY="production-test-" + "k" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        BEHIND_TLS_PROXY="true",
        PAYLINKS_VAR_DIR=str(var_dir),
        EMAIL_URL="smtp://127.0.0.1:25",  # SMTP, as check --deploy wants, and never used by these pages
        STRIPE_SECRET_KEY="sk_test_production_check",
        PYTHONUNBUFFERED="1",
    )
    return env


def _readme_command(prefix: str) -> list[str]:
    """The README line that starts with ``prefix``, as argv for this interpreter instead of ``uv run``."""
    lines = [line.strip() for line in README.splitlines() if line.strip().startswith(prefix.strip())]
    assert len(lines) == 1, f"README has no single line starting with {prefix!r}"
    argv = shlex.split(lines[0])[2:]  # without "uv run"
    return [sys.executable, *argv] if argv[0] == "manage.py" else [sys.executable, "-m", *argv]


def _run(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{shlex.join(argv)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _gunicorn(port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    argv = _readme_command(GUNICORN_PREFIX)
    bind = argv.index("--bind")
    argv[bind + 1] = f"127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


class Browser:
    """Requests as they reach gunicorn from the TLS proxy (X-Forwarded-Proto), with the browser's cookies."""

    def __init__(self, port: int):
        self.port, self.cookies = port, SimpleCookie()

    def request(self, method: str, path: str, body: str = "", **headers: str) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7", **headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v.value}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            for value in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(value)
            return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
        finally:
            connection.close()


def _wait_until_up(browser: Browser, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text(errors="replace")[-4000:]
        try:
            browser.request("GET", "/healthz")
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"gunicorn did not answer:\n{log_path.read_text(errors='replace')[-4000:]}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_readme_has_the_production_commands_in_order():
    commands = [
        "uv sync --locked",
        *MANAGE_COMMANDS,
        "uv run manage.py createsuperuser",
        GUNICORN_PREFIX.strip(),
        "uv run celery -A config worker",
        "uv run celery -A config beat",
    ]
    section = README[README.index("## Production") :]
    positions = [section.find(command) for command in commands]

    assert -1 not in positions, [c for c, p in zip(commands, positions, strict=True) if p == -1]
    assert positions == sorted(positions)


def test_the_production_commands_serve_the_login_page_and_the_dashboard(tmp_path):
    var_dir, port = tmp_path / "var", _free_port()
    env = _production_env(var_dir)
    for command in MANAGE_COMMANDS:
        _run(_readme_command(command), env)
    _run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    # README's `createsuperuser` asks; the same command without questions.
    admin_env = {**env, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD}
    _run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "ada",
          "--email", "ada@example.com"], admin_env)  # fmt: skip

    log_path = tmp_path / "gunicorn.log"
    server = _gunicorn(port, env, log_path)
    try:
        browser = Browser(port)
        _wait_until_up(browser, server, log_path)

        status, _, login_page = browser.request("GET", "/accounts/login/")
        assert status == 200, login_page[-2000:]
        stylesheet = re.search(r'href="(/static/css/paylinks\.[0-9a-f]{12}\.css)"', login_page)
        assert stylesheet, "the page links to collectstatic's hashed copy"
        assert browser.request("GET", stylesheet.group(1))[0] == 200

        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        origin = f"https://127.0.0.1:{port}"
        form = f"csrfmiddlewaretoken={token}&username=ada&password={ADMIN_PASSWORD}&next=/"
        status, headers, body = browser.request(
            "POST",
            "/accounts/login/",
            form,
            **{"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
            Referer=f"{origin}/accounts/login/",
        )
        assert status == 302 and headers["Location"] == "/", body[-2000:]
        assert browser.cookies["sessionid"]["secure"]  # the cookie only travels over TLS

        status, _, dashboard = browser.request("GET", "/")
        assert status == 200, dashboard[-2000:]
        assert "<h1>Overview</h1>" in dashboard and 'action="/accounts/logout/"' in dashboard
    finally:
        _stop(server)
    assert "Traceback" not in log_path.read_text(errors="replace")


def test_without_collectstatic_gunicorn_refuses_to_start_and_says_what_to_run(tmp_path):
    var_dir, port = tmp_path / "var", _free_port()
    env = _production_env(var_dir)

    log_path = tmp_path / "gunicorn.log"
    server = _gunicorn(port, env, log_path)
    try:
        server.wait(timeout=60)
    finally:
        _stop(server)

    assert server.returncode != 0
    assert "run `uv run manage.py collectstatic --noinput`" in log_path.read_text(errors="replace")
