"""``manage.py demo``: set up the embedded default and run everything, for a first look or a demo.

1. Create ``var/`` and migrate (SQLite and kombu's filesystem broker under ``var/`` unless
   ``DATABASE_URL`` / ``REDIS_URL`` say otherwise).
2. Create the staff user (or keep it) and print its password.
3. Start the web server (gunicorn, threads: see README "Serving") and wait for it, because the
   dashboard reaches the sandbox over HTTP, on that same server.
4. On the first run, create a demo catalog and two links through the dashboard's services; register
   our webhook endpoint with the sandbox (``webhook_endpoints.create``) and keep its ``whsec_`` secret.
5. Start a Celery worker and Celery beat, print the dashboard's address, and wait. Ctrl-C or SIGTERM
   stops every child.

The children's output goes to files under ``var/log/``, named in the banner, so that the banner stays on
screen: the terminal then shows only what a person should see, one line each, which the children print
themselves (``config/demo_log.py``): a payment received or failed, an order fulfilled, a webhook refused,
an error (pointing at its log file), a child that stopped.
"""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from config import demo_data


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_file: str  # as the banner shows it


def _shown(path: Path) -> str:
    """A path as a person would type it: relative to the current directory when it is under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Command(BaseCommand):
    help = (
        "Set up the embedded default (migrations, staff user, demo data) and run the web server, "
        "a Celery worker and beat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="Port of the web server (default 8000).")
        parser.add_argument("--username", default="admin", help="Staff user to create (default admin).")
        parser.add_argument(
            "--password",
            default=os.environ.get("PAYLINKS_DEMO_PASSWORD", ""),
            help="Password of the staff user (default: $PAYLINKS_DEMO_PASSWORD, or a new random one).",
        )
        parser.add_argument("--threads", type=int, default=8, help="Server threads (default 8).")

    def handle(self, *args, port: int, username: str, password: str, threads: int, **options):
        self.children: list[Child] = []
        base_url = self._configure(port=port)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        self.log_dir = settings.VAR_DIR / "log"
        self.log_dir.mkdir(exist_ok=True)
        self.terminal_fd = self._terminal_fd()
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        login_note = self._ensure_staff_user(username=username, password=password)

        self._stop_requested = self._starting_child = False
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        try:
            self._start_web_server(port=port, threads=threads)
            self._wait_until_up(f"{base_url}/healthz")
            self._seed(base_url=base_url, username=username)
            self._start(
                "Celery worker",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    "2",
                ],
                log_name="worker",
            )
            self._start(
                "Celery beat",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(settings.VAR_DIR / "celerybeat-schedule"),
                ],
                log_name="beat",
            )
            self.stdout.write(self.style.SUCCESS(f"\nPaylinks is running: {base_url}/"))
            self.stdout.write(login_note)
            self.stdout.write(f"Logs: {', '.join(child.log_file for child in self.children)}")
            self.stdout.write("Payments, fulfilled orders and errors are shown below as they happen.")
            self.stdout.write("Press Ctrl-C to stop.\n")
            self.stdout.flush()  # before the children's lines
            self._wait_for_children()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            # Ignored from here on: `kill -TERM -- -PGID` signals `uv run` too, which forwards it, so a
            # second SIGTERM (or Ctrl-C) arrives while we stop the children and must not cut that short.
            self._ignore_stop_signals()
            self._stop_children()
            if self.terminal_fd is not None:
                os.close(self.terminal_fd)

    # Configuration ---------------------------------------------------------------------------------

    def _configure(self, *, port: int) -> str:
        """Point this process and its children at the chosen port."""
        base_url = os.environ.get("PAYLINKS_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")
        os.environ["PAYLINKS_BASE_URL"] = base_url
        settings.PAYLINKS_BASE_URL = base_url
        if settings.STRIPE_SANDBOX_MODE and not os.environ.get("STRIPE_API_BASE"):
            os.environ["STRIPE_API_BASE"] = f"{base_url}/sandbox"
            settings.STRIPE_API_BASE = f"{base_url}/sandbox"
        if not settings.STRIPE_SANDBOX_MODE:
            self.stdout.write(
                "Using Stripe itself (STRIPE_SECRET_KEY is set): no demo data is created there."
            )
        return base_url

    def _ensure_staff_user(self, *, username: str, password: str) -> str:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None and not password:
            return f"Log in as {username!r} with its existing password (--password resets it)."
        password = password or secrets.token_urlsafe(12)
        with transaction.atomic():
            user = user or User(username=username, email=f"{username}@example.com")
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        return f"Log in as {username!r} with password: {password}"

    # Children --------------------------------------------------------------------------------------

    def _terminal_fd(self) -> int | None:
        """A copy of our standard output's descriptor for the children to print their notices on (their
        own standard output goes to their log file), or None when it is not a file (no notices then)."""
        try:
            return os.dup(self.stdout.fileno())
        except (AttributeError, OSError, io.UnsupportedOperation):
            return None

    def _start(self, name: str, argv: list[str], *, log_name: str) -> None:
        self.stdout.write(f"Starting {name}…")
        self.stdout.flush()
        log_path = self.log_dir / f"{log_name}.log"
        env = {**os.environ, "PAYLINKS_DEMO_LOG_FILE": _shown(log_path)}
        pass_fds: tuple[int, ...] = ()
        if self.terminal_fd is not None:
            env["PAYLINKS_DEMO_TERMINAL_FD"] = str(self.terminal_fd)
            pass_fds = (self.terminal_fd,)
        # A new process group, so that Ctrl-C in the terminal reaches us first and we stop the children
        # in order, rather than every process at once. A stop signal waits until the child is in
        # self.children, or it would be started and never stopped.
        self._starting_child = True
        try:
            with open(log_path, "ab") as log:  # appended: a second run keeps the first one's log
                process = subprocess.Popen(
                    argv,
                    env=env,
                    start_new_session=True,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=pass_fds,
                )
            self.children.append(Child(name=name, process=process, log_file=_shown(log_path)))
        finally:
            self._starting_child = False
        if self._stop_requested:
            raise KeyboardInterrupt

    def _start_web_server(self, *, port: int, threads: int) -> None:
        self._start(
            "web server",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                "1",
                "--threads",
                str(threads),
                "--timeout",
                "60",
                "--access-logfile",
                "-",
            ],
            log_name="web",
        )

    def _wait_until_up(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for child in self.children:
                if child.process.poll() is not None:
                    raise CommandError(f"The {child.name} exited during start-up; see {child.log_file}.")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # It answers; /healthz's own verdict is shown on the page.
            except OSError:
                time.sleep(0.3)
        raise CommandError(f"The web server did not answer at {url} within {timeout:.0f} s.")

    def _seed(self, *, base_url: str, username: str) -> None:
        from webhooks.endpoints import Registration, webhook_endpoint_ensure

        registration = webhook_endpoint_ensure(url=f"{base_url}/webhooks/stripe/")
        endpoint = registration.endpoint
        self.stdout.write(f"Webhook endpoint {endpoint.stripe_id} registered for {endpoint.url}.")
        if registration.outcome == Registration.EVENTS_UPDATED:
            self.stdout.write("Its event types were updated to the ones Paylinks handles.")
        if settings.STRIPE_SANDBOX_MODE:
            created = demo_data.demo_catalog_create(username=username)
            if created:
                self.stdout.write(f"Demo catalog created: {', '.join(created)}.")

    def _wait_for_children(self) -> None:
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    raise CommandError(
                        f"The {child.name} stopped (exit code {child.process.returncode}); "
                        f"see {child.log_file}."
                    )
            time.sleep(0.5)

    def _on_stop_signal(self, signum, frame):
        self._stop_requested = True
        if not self._starting_child:
            self._ignore_stop_signals()
            raise KeyboardInterrupt

    def _ignore_stop_signals(self) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _stop_children(self) -> None:
        processes = [child.process for child in reversed(self.children)]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # The whole group (its own session, see _start): killing only the leader would leave
                # gunicorn's workers or Celery's pool processes behind.
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass  # it ended in between
                process.wait()
        self.stdout.write("Stopped.")
