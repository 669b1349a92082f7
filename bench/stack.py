"""The processes the benchmarks and the integration tests run Paylinks in, stopped by process group.

- ``Stack`` (``python -m bench``): gunicorn with production settings and a Celery worker against a
  database of its own on the machine's PostgreSQL and a Redis db (BENCH_PG_URL, BENCH_REDIS_URL); the
  database is dropped at the end. What a performance figure is measured on.
- ``PrivatePostgres``, ``PrivateRedis``, ``AppStack`` (tests/integration/test_faults.py and the bench's
  reliability run): servers of our own, on free ports in a temporary directory, which may be stopped,
  killed and restarted; the machine's shared PostgreSQL (5432) and Redis (6379) serve other people's
  work and are never touched. ``PrivatePostgres`` runs ``initdb`` + ``pg_ctl`` (as the ``postgres`` OS
  user when we run as root, since initdb refuses root), fsync off, on 127.0.0.1 only; ``PrivateRedis``
  runs without persistence, so a restart loses every queued message; ``AppStack`` runs gunicorn
  (gthread) serving the dashboard and its sandbox, Celery workers and one-off ``manage.py`` commands
  with the private services in their environment.

No Django import at module level: importing this module needs no settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
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

ROOT = Path(__file__).resolve().parents[1]
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


# THE BENCH'S STACK --------------------------------------------------------------------------------

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "8"))
# Twice the cores: a fulfilment task spends much of its time waiting on the API and on commits, and with
# one process per core the cores sat 15 % idle while the queue grew.
CELERY_CONCURRENCY = int(os.environ.get("BENCH_CELERY_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
# The worker's CPU priority (nice value) next to gunicorn on the same cores; 0 = the same as gunicorn.
WORKER_NICE = int(os.environ.get("BENCH_WORKER_NICE", "0"))
# Linux's autogroups: where enabled, the scheduler first shares the cores between sessions, and each
# process started here has a session of its own (to be stopped by process group), as each service has in
# production. A process's own nice then weighs only against its own session's, not gunicorn's: the
# worker's nice is set on its session too (/proc/<pid>/autogroup), or it changes nothing.
_AUTOGROUP_SWITCH = Path("/proc/sys/kernel/sched_autogroup_enabled")
AUTOGROUP_ENABLED = _AUTOGROUP_SWITCH.exists() and _AUTOGROUP_SWITCH.read_text().strip() == "1"


def _autogroup_nice(pid: int, nice: int) -> None:
    """Set the nice value of the session (autogroup) that ``pid`` leads: its share of the cores."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError as exc:  # lowering a priority needs no privilege; raising one does
        print(
            f"bench: the worker's session nice not set ({exc}): BENCH_WORKER_NICE weighs inside it only",
            file=sys.stderr,
        )


class Stack:
    def __init__(self) -> None:
        self.db_name = f"paylinks_bench_{os.getpid()}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.var_dir = Path(tempfile.mkdtemp(prefix="paylinks-bench-"))
        self.webhook_secret = "whsec_bench_" + secrets.token_hex(16)
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DATABASE_URL": f"{PG_ADMIN_URL}/{self.db_name}",
            "REDIS_URL": REDIS_URL,
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + secrets.token_hex(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            # Plain HTTP on loopback: TLS is a proxy's job in production, and the floor pays the same.
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "EMAIL_URL": "dummymail://",
            "PAYLINKS_BASE_URL": self.base_url,
            "PAYLINKS_VAR_DIR": str(self.var_dir),
            "PAYLINKS_STAFF_EMAIL": "",
            "PAYLINKS_BENCH_FLOOR": "true",
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE"):
            self.env.pop(name, None)

    # DATABASE AND REDIS ----------------------------------------------------------------------------

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create_database_in_process(self) -> None:
        """Create, migrate and collect static files from this process (no manage.py start-up to pay)."""
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        self.setup_django()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        self.flush_redis()

    def drop_database(self) -> None:
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as exc:  # noqa: BLE001 - teardown goes on
            print(f"bench: could not drop {self.db_name}: {exc!r}", file=sys.stderr)

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()

    def queue_length(self) -> int:
        import redis

        return int(redis.Redis.from_url(REDIS_URL).llen("celery"))

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    # PROCESSES -------------------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.var_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def log_tail(self, name: str, size: int = 3000) -> str:
        path = self.var_dir / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def start_web(self, *, wait: bool = True) -> None:
        self._spawn(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(GUNICORN_WORKERS),
                "--threads",
                str(GUNICORN_THREADS),
                # Each worker its own listening socket (SO_REUSEPORT): the kernel spreads new connections
                # over the workers. On one shared socket the first worker awake accepts them, and 16
                # keep-alive connections could all land on one worker, halving any closed-loop figure.
                "--reuse-port",
                "--backlog",
                "2048",
                "--keep-alive",
                "5",
                "--log-level",
                "warning",
            ],
        )
        if wait:
            self.wait_web()

    def wait_web(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.processes["gunicorn"].poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log_tail("gunicorn"))
            try:
                with urllib.request.urlopen(f"{self.base_url}/bench/floor", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer in 60 s:\n" + self.log_tail("gunicorn"))

    def start_worker(self) -> None:
        """README's worker command (its default log level, WARNING), ready once it answers a ping."""
        from config.celery import app

        node = f"bench-{os.getpid()}@{socket.gethostname()}"
        self._spawn(
            "worker",
            [
                *(["nice", "-n", str(WORKER_NICE)] if WORKER_NICE else []),
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                str(CELERY_CONCURRENCY),
                "--without-gossip",
                "--without-mingle",
                "-n",
                node,
            ],
        )
        if WORKER_NICE and AUTOGROUP_ENABLED:
            _autogroup_nice(self.processes["worker"].pid, WORKER_NICE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.processes["worker"].poll() is not None:
                raise RuntimeError("the Celery worker exited:\n" + self.log_tail("worker"))
            if app.control.ping(destination=[node], timeout=0.5):
                return
        raise RuntimeError("the Celery worker was not ready in 60 s:\n" + self.log_tail("worker"))

    def pids(self, name: str) -> list[int]:
        """The process and its children (gunicorn's workers, Celery's pool)."""
        import psutil

        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return []
        parent = psutil.Process(process.pid)
        return [parent.pid] + [child.pid for child in parent.children(recursive=True)]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU (user + system) used so far by each part of the machine: read before and after a run.

        PostgreSQL and Redis are every process of that name (run the bench alone). A backend that has
        exited is counted too, in the postmaster's CPU of its reaped children: without it, PostgreSQL's
        figure went below zero when connections closed during a run.
        """
        import psutil

        def total(processes, *, reaped_children: bool = False) -> float:
            seconds = 0.0
            for process in processes:
                try:
                    times = process.cpu_times()
                    seconds += times.user + times.system
                    if reaped_children:
                        seconds += times.children_user + times.children_system
                except psutil.Error:
                    pass
            return seconds

        by_name: dict[str, list] = {"postgres": [], "redis": []}
        for process in psutil.process_iter(["name"]):
            name = process.info["name"] or ""
            if name in ("postgres", "postmaster"):
                by_name["postgres"].append(process)
            elif name.startswith("redis-server"):
                by_name["redis"].append(process)
        return {
            "gunicorn": total(psutil.Process(pid) for pid in self.pids("gunicorn")),
            # Celery's main process (consumes, dispatches, acknowledges) and its pool (runs the tasks).
            "worker_main": total(psutil.Process(pid) for pid in self.pids("worker")[:1]),
            "worker_pool": total(psutil.Process(pid) for pid in self.pids("worker")[1:]),
            "postgres": total(by_name["postgres"], reaped_children=True),
            "redis": total(by_name["redis"]),
            "bench": total([psutil.Process()]),
            # Everything the machine ran, and what it left idle (both over all cores).
            "machine": sum(psutil.cpu_times()) - psutil.cpu_times().idle - psutil.cpu_times().iowait,
            "idle": psutil.cpu_times().idle,
        }

    def stop(self, name: str) -> None:
        _stop_group(self.processes.pop(name, None), timeout=20)

    def close(self, *, keep_var: bool = False, keep_db: bool = False) -> None:
        """Stop every process started, close this process's own connections (setup_django's), drop the
        database and flush Redis."""
        for name in list(self.processes):
            self.stop(name)
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        if keep_db:
            print(f"bench: database kept: {self.env['DATABASE_URL']}", file=sys.stderr)
        else:
            self.drop_database()
        try:
            self.flush_redis()
        except Exception:  # noqa: BLE001
            pass
        if not keep_var:
            shutil.rmtree(self.var_dir, ignore_errors=True)

    # IN-PROCESS DJANGO -----------------------------------------------------------------------------

    def setup_django(self) -> None:
        """Configure this process's Django like the servers (same database, same API base)."""
        os.environ.update({k: v for k, v in self.env.items() if k not in os.environ or k in _OWNED})
        for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE"):
            os.environ.pop(name, None)
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django

        django.setup()


_OWNED = {
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "EMAIL_URL",
    "PAYLINKS_BASE_URL",
    "PAYLINKS_VAR_DIR",
    "PAYLINKS_STAFF_EMAIL",
    "PAYLINKS_BENCH_FLOOR",
    "STRIPE_WEBHOOK_SECRET",
    "LOG_LEVEL",
}


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
from webhooks.endpoints import webhook_endpoint_register, webhook_endpoint_url
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
from webhooks.processing import webhook_events_requeue
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
    """A Django process of the stack running snippets on request (``bench/console.py``)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.console"],
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

    from bench.forms import submit_form

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
