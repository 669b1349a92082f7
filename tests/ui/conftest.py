"""Playwright driving Debian's chromium (shared/notes/browser-tests.md); skipped when it is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def browser(monkeypatch):
    """Headless chromium. Ask for it after the database fixtures (``staff_user``…): its event loop then
    starts after them and stops before them."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        )
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
    # itself (processing webhook events) are still plain synchronous calls. Only for this test: a
    # subprocess started by another test must not inherit it (manage.py check --deploy refuses it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        # While Playwright's event loop runs in this thread, Django keeps the test's database connections
        # per context, not per thread (asgiref's Local): they are not the ones pytest-django closes, and
        # one left open keeps the test database from being dropped at the end of the run.
        from django.db import connections

        connections.close_all()
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page in a 1280×1000 context (after the database fixtures, as ``browser``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def screenshot(page):
    """``screenshot("links-list")`` saves var/screenshots/links-list.png (a CI artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take
