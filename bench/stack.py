"""The system under test: its own PostgreSQL database and Redis db, gunicorn with production settings,
a real Celery worker. Everything started here is stopped here, by process group, and the database dropped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        self.port = _free_port()
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
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

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
