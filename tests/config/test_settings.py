"""Configuration comes from the environment only; checked in fresh processes, as a deploy would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Variables of the test run itself that a deployment never has (the browser tests allow async-unsafe ORM
# calls from Playwright's event loop).
TEST_ONLY_VARIABLES = {"DJANGO_ALLOW_ASYNC_UNSAFE"}

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "production-secret-key-that-is-long-and-random-0123456789",
    "ALLOWED_HOSTS": "pay.example.com",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "DATABASE_URL": "postgres://paylinks@db.example.com/paylinks",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "EMAIL_URL": "smtp+tls://paylinks:mail-password@smtp.example.com:587",
}


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "STRIPE_SECRET_KEY",
            "STRIPE_API_BASE",
            "DEBUG",
            "SECRET_KEY",
            *TEST_ONLY_VARIABLES,
        }
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_values():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES}, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    result = _run("import django; django.setup()", env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_language_of_emails_comes_from_the_environment():
    probe = "import django; django.setup(); from django.conf import settings; print(settings.LANGUAGE_CODE)"

    assert _run(probe, {}).stdout.split() == ["en"]
    assert _run(probe, {"LANGUAGE_CODE": "fr"}).stdout.split() == ["fr"]
    refused = _run(probe, {"LANGUAGE_CODE": "de"})
    assert refused.returncode != 0
    assert "LANGUAGE_CODE must be one of en, fr" in refused.stderr


SANDBOX_PROBE = """
import django; django.setup()
from django.conf import settings
from django.urls import get_resolver
mounted = 'sandbox' in get_resolver().namespace_dict
print(settings.STRIPE_SANDBOX_MODE, 'sandbox' in settings.INSTALLED_APPS, mounted, settings.STRIPE_API_BASE)
"""


def test_sandbox_is_the_default_without_a_key():
    result = _run(SANDBOX_PROBE, {"PAYLINKS_BASE_URL": "http://127.0.0.1:8123"})

    assert result.stdout.split() == ["True", "True", "True", "http://127.0.0.1:8123/sandbox"]


def test_sandbox_is_never_mounted_beside_a_real_key():
    result = _run(SANDBOX_PROBE, {"STRIPE_SECRET_KEY": "sk_live_example"})

    assert result.stdout.split() == ["False", "False", "False"]


def test_an_explicit_api_base_selects_the_sandbox_even_with_a_key():
    result = _run(
        SANDBOX_PROBE, {"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_API_BASE": "http://sandbox.local/sandbox"}
    )

    assert result.stdout.split() == ["True", "True", "True", "http://sandbox.local/sandbox"]
