"""Configuration comes from the environment only: config/settings.py read afresh in a given environment,
and ``check --deploy`` in a fresh process, as a deploy runs it."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
# Variables of the test run itself that a deployment never has (the browser tests allow async-unsafe ORM
# calls from Playwright's event loop).
TEST_ONLY_VARIABLES = {"DJANGO_ALLOW_ASYNC_UNSAFE"}
# What the test run sets and the environments below do not.
DEPLOYMENT_UNSET = {
    "DATABASE_URL",
    "REDIS_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_API_BASE",
    "DEBUG",
    "SECRET_KEY",
    *TEST_ONLY_VARIABLES,
}

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "production-secret-key-that-is-long-and-random-0123456789",
    "ALLOWED_HOSTS": "pay.example.com",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "DATABASE_URL": "postgres://paylinks@db.example.com/paylinks",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "EMAIL_URL": "smtp+tls://paylinks:mail-password@smtp.example.com:587",
}


def _settings_from(env: dict[str, str], monkeypatch) -> dict:
    """config/settings.py evaluated afresh in this environment, as a deploy's process would read it; the
    settings this test run loaded are left alone."""
    for name in DEPLOYMENT_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "config" / "settings.py"))


def _sandbox_probe(env: dict[str, str], monkeypatch) -> list[str]:
    """Sandbox mode, whether the app is installed and its URLs mounted, and the API base."""
    values = _settings_from(env, monkeypatch)
    with override_settings(
        STRIPE_SANDBOX_MODE=values["STRIPE_SANDBOX_MODE"], PAYLINKS_BENCH_FLOOR=values["PAYLINKS_BENCH_FLOOR"]
    ):
        urlpatterns = runpy.run_path(str(ROOT / "config" / "urls.py"))["urlpatterns"]
    mounted = any(getattr(entry, "namespace", None) == "sandbox" for entry in urlpatterns)
    installed = "sandbox" in values["INSTALLED_APPS"]
    return f"{values['STRIPE_SANDBOX_MODE']} {installed} {mounted} {values['STRIPE_API_BASE']}".split()


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


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        _settings_from(env, monkeypatch)


def test_the_language_of_emails_comes_from_the_environment(monkeypatch):
    assert _settings_from({}, monkeypatch)["LANGUAGE_CODE"] == "en"
    assert _settings_from({"LANGUAGE_CODE": "fr"}, monkeypatch)["LANGUAGE_CODE"] == "fr"
    with pytest.raises(ImproperlyConfigured, match="LANGUAGE_CODE must be one of en, fr"):
        _settings_from({"LANGUAGE_CODE": "de"}, monkeypatch)


def test_sandbox_is_the_default_without_a_key(monkeypatch):
    probe = _sandbox_probe({"PAYLINKS_BASE_URL": "http://127.0.0.1:8123"}, monkeypatch)

    assert probe == ["True", "True", "True", "http://127.0.0.1:8123/sandbox"]


def test_sandbox_is_never_mounted_beside_a_real_key(monkeypatch):
    probe = _sandbox_probe({"STRIPE_SECRET_KEY": "sk_live_example"}, monkeypatch)

    assert probe == ["False", "False", "False"]


def test_an_explicit_api_base_selects_the_sandbox_even_with_a_key(monkeypatch):
    probe = _sandbox_probe(
        {"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_API_BASE": "http://sandbox.local/sandbox"}, monkeypatch
    )

    assert probe == ["True", "True", "True", "http://sandbox.local/sandbox"]
