"""Private PostgreSQL and Redis servers, and the app in real processes on top of them.

The fault tests (tests/integration/test_faults.py) and the reliability script (bench/reliability.py) stop,
kill and restart services. The machine's shared PostgreSQL (5432) and Redis (6379) serve other people's
work, so nothing here ever touches them: every server is our own, on a free port, in a temporary
directory, and stopped (by process group) when we are done.

- ``PrivatePostgres``: ``initdb`` + ``pg_ctl`` (as the ``postgres`` OS user when we run as root, since
  initdb refuses root), fsync off, listening on 127.0.0.1 only.
- ``PrivateRedis``: ``redis-server`` without persistence, so a restart loses every queued message.
- ``AppStack``: gunicorn (gthread) serving the dashboard and its sandbox, Celery workers, and one-off
  ``manage.py`` commands, all with the private services in their environment.

No Django import at module level: the bench imports this module without settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PAYLINKS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_tool(name: str) -> str | None:
    """The path of a PostgreSQL server tool (initdb, pg_ctl), or None."""
    candidate = PG_BIN / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)


def missing_tools() -> list[str]:
    """What this machine lacks to run the private services (empty when all is there)."""
    missing = [name for name in ("initdb", "pg_ctl") if pg_tool(name) is None]
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            missing.append("runuser (initdb refuses to run as root)")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a 'postgres' OS user (initdb refuses to run as root)")
    return missing


def wait_until(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def _stop_group(process: subprocess.Popen | None, *, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Signal a process started with start_new_session=True and all its children; SIGKILL if slow."""
    if process is None or process.poll() is not None:
        _kill_leftovers(process)
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    _kill_leftovers(process)


def _kill_leftovers(process: subprocess.Popen | None) -> None:
    # Children that outlived their parent (a SIGKILLed Celery main process leaves its pool) keep the
    # group id: kill them too.
    if process is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


# POSTGRESQL ----------------------------------------------------------------------------------------


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port; ``stop()``/``start()`` simulate an outage."""

    def __init__(self) -> None:
        self.port = free_port()
        # Not under pytest's tmp_path: its parents are 0700 root, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="paylinks-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, user="postgres")

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        result = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stdout}\n{result.stderr}\n"
                f"{self.log.read_text(errors='replace')[-2000:] if self.log.exists() else ''}"
            )
        return result

    def init(self) -> PrivatePostgres:
        self._run(
            pg_tool("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-N",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\nshared_buffers = 128MB\n"
            )
        return self

    def start(self) -> None:
        self._run(pg_tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, *, mode: str = "fast") -> None:
        """``fast`` ends every session (clients see their connection closed); ``immediate`` is a crash."""
        self._run(pg_tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def create_database(self, name: str, *, template: str | None = None) -> None:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(Exception):
                self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)


# REDIS ---------------------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server without persistence on a free port: a restart loses every message it held."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = Path(log_dir) / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self.ping, timeout=10, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the queue and the unacknowledged messages are gone."""
        _stop_group(self.process, sig=signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        _stop_group(self.process)
        self.process = None


# THE APP -------------------------------------------------------------------------------------------


class AppStack:
    """The Paylinks processes against a database of a private PostgreSQL and a private Redis."""

    def __init__(
        self,
        *,
        postgres: PrivatePostgres,
        redis: PrivateRedis,
        database: str,
        var_dir: Path,
        faults: str = "",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.postgres, self.redis, self.database = postgres, redis, database
        self.var_dir = Path(var_dir)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.console: Console | None = None
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SANDBOX_"))}
        self.env = {
            **base_env,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": postgres.url(database),
            "REDIS_URL": redis.url,
            "PAYLINKS_BASE_URL": self.base_url,
            "STRIPE_API_BASE": f"{self.base_url}/sandbox",
            "PAYLINKS_VAR_DIR": str(self.var_dir),
            "PAYLINKS_STAFF_EMAIL": "",
            "EMAIL_URL": "filemail://",
            "SANDBOX_FAULTS": faults,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **(extra_env or {}),
        }
        self.env.pop("STRIPE_SECRET_KEY", None)
        self.env.pop("STRIPE_WEBHOOK_SECRET", None)

    # one-off commands ------------------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)[:200]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
        return result.stdout

    # processes -------------------------------------------------------------------------------------

    def _log(self, name: str) -> Path:
        return self.var_dir / f"{name}.log"

    def spawn_web(self, *, threads: int = 8, workers: int = 1) -> None:
        """Start gunicorn; ``wait_web()`` waits until it answers (start several processes, then wait)."""
        log_path = self._log("web")
        with open(log_path, "ab") as log:
            self.web = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--worker-class",
                    "gthread",
                    "--threads",
                    str(threads),
                    "--workers",
                    str(workers),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--timeout",
                    "120",
                    "--graceful-timeout",
                    "5",
                    "--backlog",
                    "512",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_web(self, timeout: float = 120) -> None:
        log_path = self._log("web")

        def up() -> bool:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log_path.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_until(up, timeout=timeout, interval=0.2, what="gunicorn /healthz")

    def start_web(self, **kwargs) -> None:
        self.spawn_web(**kwargs)
        self.wait_web()

    def restart_web(self, *, faults: str | None = None) -> None:
        """The web server again (SANDBOX_FAULTS is read from the process's environment)."""
        _stop_group(self.web, timeout=5)
        if faults is not None:
            self.env["SANDBOX_FAULTS"] = faults
        self.start_web()

    def spawn_worker(
        self, *, concurrency: int = 2, name: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """Start ``celery worker``; ``wait_worker()`` waits until it is ready."""
        name = name or f"w{len(self.workers) + 1}"
        log_path = self._log(f"worker-{name}")
        with open(log_path, "ab") as log:
            worker = subprocess.Popen(
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
                    str(concurrency),
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    f"{name}-{uuid.uuid4().hex[:6]}@%h",
                ],
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker.log_path = log_path  # type: ignore[attr-defined]
        self.workers.append(worker)
        return worker

    @staticmethod
    def wait_worker(worker: subprocess.Popen, timeout: float = 120) -> subprocess.Popen:
        log_path: Path = worker.log_path  # type: ignore[attr-defined]

        def ready() -> bool:
            if worker.poll() is not None:
                raise RuntimeError(
                    f"the Celery worker exited: {log_path.read_text(errors='replace')[-3000:]}"
                )
            return b" ready." in log_path.read_bytes()

        wait_until(ready, timeout=timeout, interval=0.2, what=f"Celery worker {log_path.name}")
        return worker

    def start_worker(self, **kwargs) -> subprocess.Popen:
        return self.wait_worker(self.spawn_worker(**kwargs))

    def spawn_console(self) -> Console:
        self.console = Console(self.env, self._log("console"))
        return self.console

    def run(self, code: str, *, ahead: float = 0.0, timeout: float = 120):
        """Run a snippet in the stack's console process (which sets ``result``); return ``result``."""
        if self.console is None:
            self.spawn_console()
        return self.console.run(code, ahead=ahead, timeout=timeout)

    @staticmethod
    def pool_children(worker: subprocess.Popen) -> list[int]:
        """The prefork pool processes of a worker (its direct children)."""
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except (FileNotFoundError, ValueError):
            return []

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool at once: no clean-up, no message handed back to the broker."""
        _stop_group(worker, sig=signal.SIGKILL)

    def stop(self) -> None:
        """End every process of the stack: SIGKILL, the test is over and the data thrown away."""
        for worker in self.workers:
            _stop_group(worker, sig=signal.SIGKILL)
        _stop_group(self.web, sig=signal.SIGKILL)
        if self.console is not None:
            self.console.close()

    def logs(self, tail: int = 4000) -> str:
        parts = []
        for path in sorted(self.var_dir.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    # the shop ---------------------------------------------------------------------------------------

    def setup_shop(self, *, staff_password: str | None = None) -> dict:
        """Register the app's webhook endpoint with the sandbox (over the API); optionally a staff user."""
        return self.run(f"""
from webhooks.services import webhook_endpoint_register, webhook_endpoint_url
endpoint = webhook_endpoint_register(url=webhook_endpoint_url())
staff_password = {staff_password!r}
if staff_password:
    from django.contrib.auth import get_user_model
    get_user_model().objects.create_user(username="staff", password=staff_password, is_staff=True)
result = {{"endpoint": endpoint.stripe_id, "url": endpoint.url}}
""")

    def create_link(self, *, name: str = "Fault link", amount: int = 1250, currency: str = "eur") -> dict:
        """A product, its price and a payment link, through the dashboard's services (Stripe API calls)."""
        return self.run(f"""
import uuid
from catalog.services import product_create_with_price
from links.services import payment_link_create
product = product_create_with_price(name={name!r}, currency={currency!r}, unit_amount={amount},
                                    request_token=uuid.uuid4().hex)
link = payment_link_create(name={name!r}, line_items=[{{"price": product.prices.get(), "quantity": 1}}],
                           request_token=uuid.uuid4().hex)
result = {{"url": link.url, "stripe_id": link.stripe_id, "id": link.id}}
""")

    def requeue(self, *, ahead: float = 0.0) -> dict:
        """What beat's ``webhooks.requeue_stuck_events`` does for events and e-mails, with the clock
        ``ahead`` seconds in the future: leases, grace periods and back-off delays have run out, as they
        would after that long. The tasks it enqueues run on the stack's real workers."""
        return self.run(
            """
from links.emails import outbound_emails_requeue
from webhooks.services import webhook_events_requeue
result = {"events": webhook_events_requeue(), "emails": outbound_emails_requeue()}
""",
            ahead=ahead,
        )

    def enqueue(self, task_name: str, *args) -> None:
        """Send a task by name through the broker (as beat does), to be run by the stack's workers."""
        self.run(f"from config.celery import app\napp.send_task({task_name!r}, args={list(args)!r})\n")

    # reading the database ---------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.postgres.connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple = ()):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None


class Console:
    """A Django process of the stack running snippets on request (``tests/integration/console.py``)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.console"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._ready = False

    def _answer(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"the console did not answer in {timeout} s: {self.tail()}")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the console exited: {self.tail()}")
        return json.loads(line)

    def wait(self, timeout: float = 120) -> None:
        if not self._ready:
            self._answer(timeout)
            self._ready = True

    def run(self, code: str, *, ahead: float = 0.0, timeout: float = 120):
        self.wait(timeout)
        self.process.stdin.write(json.dumps({"code": code, "ahead": ahead}) + "\n")
        self.process.stdin.flush()
        answer = self._answer(timeout)
        if not answer["ok"]:
            raise RuntimeError(f"console snippet failed:\n{answer['error']}")
        return answer["result"]

    def tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        _stop_group(self.process, sig=signal.SIGKILL)
        self._log.close()


class SlowApi:
    """An HTTP proxy in front of the sandbox's API, in this process: the Stripe API as a worker sees it,
    made slow at will (``delay`` seconds before each request is forwarded)."""

    def __init__(self, upstream: str) -> None:
        import http.server

        import requests

        self.upstream = upstream.rstrip("/")
        self.delay = 0.0
        self.requests = 0
        proxy = self
        local = threading.local()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                proxy.requests += 1
                if proxy.delay:
                    time.sleep(proxy.delay)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}}
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                try:
                    upstream_response = local.session.request(
                        self.command,
                        proxy.upstream + self.path,
                        data=body,
                        headers=headers,
                        timeout=60,
                        allow_redirects=False,
                    )
                except requests.RequestException:
                    self.send_error(502)
                    return
                content = upstream_response.content
                self.send_response(upstream_response.status_code)
                for name, value in upstream_response.headers.items():
                    if name.lower() not in {
                        "content-length",
                        "content-encoding",
                        "transfer-encoding",
                        "connection",
                    }:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def pay(base_link_url: str, *, email: str, session=None, timeout: float = 30):
    """A customer opens the link's hosted page and pays with 4242…; returns the final response."""
    import requests

    from tests.integration.forms import submit_form

    customer = session or requests.Session()
    hosted = customer.get(base_link_url, timeout=timeout)
    hosted.raise_for_status()
    paid = submit_form(
        customer,
        hosted,
        values={
            "email": email,
            "card_number": "4242 4242 4242 4242",
            "card_expiry": "12 / 34",
            "card_cvc": "123",
            "cardholder_name": "Fault Tester",
        },
    )
    return paid


def sent_messages(var_dir: Path) -> dict[str, int]:
    """Messages written by the file e-mail backend under ``var_dir/mail``, counted per recipient."""
    from email.parser import BytesParser
    from email.policy import default

    counts: dict[str, int] = {}
    for path in sorted((Path(var_dir) / "mail").glob("*.log")):
        # The file backend writes each message followed by a line of 79 dashes.
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if not chunk.strip():
                continue
            message = BytesParser(policy=default).parsebytes(chunk.lstrip(b"\n"))
            for to in str(message.get("To", "")).split(","):
                if to.strip():
                    counts[to.strip()] = counts.get(to.strip(), 0) + 1
    return counts
