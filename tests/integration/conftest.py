"""Real processes for the integration tests: a Celery worker on Redis, sharing the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(sandbox, tmp_path):
    """Start ``celery -A config worker`` against the live server's database and Redis; stop it after."""
    if not os.environ.get("REDIS_URL") or connection.vendor != "postgresql":
        pytest.skip("the real-worker integration tests need DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")
    celery_app.control.purge()  # messages left by earlier tests refer to rows that no longer exist
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PAYLINKS_BASE_URL": sandbox.base_url,
        "STRIPE_API_BASE": sandbox.api_base,
        "PAYLINKS_VAR_DIR": str(tmp_path),
        "CONN_MAX_AGE": "0",
    }
    log_path = tmp_path / "worker.log"
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    with open(log_path, "wb") as log:
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
                "2",
                "--without-gossip",
                "--without-mingle",
                "-n",
                name,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_ready(worker, log_path)
        worker.log_path = log_path
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _wait_for_ready(worker: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the Celery worker exited: {log_path.read_text(errors='replace')[-3000:]}")
        if b" ready." in log_path.read_bytes():
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"the Celery worker was not ready in {timeout} s: {log_path.read_text(errors='replace')[-3000:]}"
    )


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2, message: str = ""):
    """Poll until ``predicate()`` is truthy and return its value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(message or f"condition not met within {timeout} s")
