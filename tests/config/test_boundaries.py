"""Imports run one way, function-level imports included.

- The dashboard and the sandbox meet only over HTTP, as Paylinks and Stripe do: neither imports the other.
- The dashboard: webhooks → links → catalog → config's shared layer. Config's project layer (URLs,
  settings, the settings page, ...) sits above every app: it may import any of them, none imports it.
- The sandbox: the API (``sandbox/api/``) and the pages (hosted page, events and settings pages,
  receipts) → the domain modules → the store (``store.py``, ``models.py``, and the ``clock`` and
  ``errors`` they read). Only ``sandbox/urls.py`` imports the API and the pages from outside them.

Each rule is a function of (importer, imported) module names, checked on the tree and, below it, on made-up
offenders, so that a rule that could never fail would fail its own test.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_PACKAGES = ("catalog", "links", "webhooks", "config")
DASHBOARD_APPS = ("catalog", "links", "webhooks")

Import = tuple[str, str]  # (importing module, imported name: a module or a name in it)


def _within(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def _top(module: str) -> str:
    return module.split(".")[0]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in_source(source: str, *, module: str, is_package: bool = False) -> Iterator[Import]:
    """Every import in ``source``, at any depth (function bodies too): ``from a.b import c`` gives ``a.b.c``,
    relative imports are resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield module, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                yield module, f"{base}.{alias.name}"


def _imports(package: str) -> list[Import]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        found.extend(
            imports_in_source(
                path.read_text(), module=_module_name(path), is_package=path.name == "__init__.py"
            )
        )
    return found


# THE DASHBOARD AND THE SANDBOX ---------------------------------------------------------------------


def test_the_dashboard_never_imports_the_sandbox():
    offenders = [
        (importer, name)
        for package in DASHBOARD_PACKAGES
        for importer, name in _imports(package)
        if _top(name) == "sandbox"
    ]

    assert offenders == []


def test_the_sandbox_never_imports_the_dashboard():
    offenders = [
        (importer, name)
        for importer, name in _imports("sandbox")
        if _top(name) in DASHBOARD_APPS or _within(name, "config.stripe_client")
    ]

    assert offenders == []


# THE DASHBOARD'S LAYERS ----------------------------------------------------------------------------

PROJECT_LAYER = (
    "config.urls",
    "config.settings_page",
    "config.settings",
    "config.celery",
    "config.wsgi",
    "config.demo_data",
    "config.management",
)
# Lowest first: a module may import its own layer and those below it.
DASHBOARD_LAYERS = ("config (shared)", "catalog", "links", "webhooks", "config (project)")
# The Celery app (project layer: it finds the apps' tasks by name and imports none of them) is loaded by
# config/__init__.py, as Celery's Django guide does, and its broker is pinged by the health check.
SHARED_MAY_IMPORT = ("config.celery",)


def dashboard_layer(module: str) -> str | None:
    if any(_within(module, project) for project in PROJECT_LAYER):
        return "config (project)"
    if _top(module) == "config":
        return "config (shared)"
    return _top(module) if _top(module) in DASHBOARD_APPS else None


def dashboard_offenders(imports: Iterable[Import]) -> list[Import]:
    """The imports that run up the dashboard's layers."""
    offenders = []
    for importer, name in imports:
        own, target = dashboard_layer(importer), dashboard_layer(name)
        if own is None or target is None or own == target:
            continue
        if own == "config (shared)" and any(_within(name, allowed) for allowed in SHARED_MAY_IMPORT):
            continue
        if DASHBOARD_LAYERS.index(target) > DASHBOARD_LAYERS.index(own):
            offenders.append((importer, name))
    return offenders


def test_dashboard_imports_run_webhooks_links_catalog_shared_config():
    imports = [found for package in DASHBOARD_PACKAGES for found in _imports(package)]

    assert dashboard_offenders(imports) == []


def test_each_dashboard_import_against_the_layers_is_an_offender():
    against = [
        ("links.order_views", "webhooks.models.WebhookEvent"),
        ("catalog.services", "links.models.PaymentLink"),
        ("catalog.views", "webhooks.endpoints.webhook_endpoint_url"),
        ("config.http", "catalog.forms.new_request_token"),
        ("config.roles", "webhooks.models"),
        ("links.views", "config.settings_page.settings_page"),
        ("webhooks.handlers", "config.urls"),
        ("config.views", "config.settings_page"),
    ]
    along = [
        ("webhooks.handlers", "links.fulfilment"),
        ("webhooks.handlers", "catalog.services"),
        ("links.services", "catalog.models.Price"),
        ("catalog.services", "config.stripe_calls.idempotency_key"),
        ("links.forms", "config.forms.SafeModelChoiceField"),
        ("config.settings_page", "webhooks.endpoints.webhook_endpoint_register"),
        ("config.urls", "links.views"),
        ("config.management.commands.demo", "webhooks.endpoints"),
        ("config", "config.celery.app"),
        ("links.views", "django.shortcuts.render"),
    ]

    assert dashboard_offenders(against + along) == against


def test_function_level_and_relative_imports_are_read():
    source = "def events():\n    from webhooks.models import WebhookEvent\n\n\nfrom . import selectors\n"

    found = sorted(imports_in_source(source, module="links.order_views"))

    assert found == [
        ("links.order_views", "links.selectors"),
        ("links.order_views", "webhooks.models.WebhookEvent"),
    ]
    assert dashboard_offenders(found) == [("links.order_views", "webhooks.models.WebhookEvent")]


# THE SANDBOX'S LAYERS ------------------------------------------------------------------------------

SANDBOX_API = "sandbox.api"
SANDBOX_PAGES = ("sandbox.hosted", "sandbox.pages", "sandbox.receipts", "sandbox.forms")
SANDBOX_STORE = ("sandbox.store", "sandbox.models", "sandbox.clock", "sandbox.errors")


def _sandbox_part(module: str) -> str | None:
    if _within(module, SANDBOX_API):
        return "api"
    if any(_within(module, page) for page in SANDBOX_PAGES):
        return "pages"
    if any(_within(module, part) for part in SANDBOX_STORE):
        return "store"
    if _within(module, "sandbox.urls"):
        return "urls"
    if _within(module, "sandbox") and module != "sandbox":
        return "domain"
    return None


def sandbox_offenders(imports: Iterable[Import]) -> list[Import]:
    """The imports that run against api and pages → domain → store."""
    offenders = []
    for importer, name in imports:
        own, target = _sandbox_part(importer), _sandbox_part(name)
        if own is None or target is None or own == target or own == "urls":
            continue
        # The API and the pages are views: only the URLs import them. The store imports nothing above it.
        if target in ("api", "pages") or own == "store":
            offenders.append((importer, name))
    return offenders


def test_sandbox_imports_run_api_and_pages_domain_store():
    assert sandbox_offenders(_imports("sandbox")) == []


def test_each_sandbox_import_against_the_layers_is_an_offender():
    against = [
        ("sandbox.discounts", "sandbox.api.coupons.coupon_valid"),
        ("sandbox.tax", "sandbox.api.tax_rates.tax_rate_data"),
        ("sandbox.checkout", "sandbox.api"),
        ("sandbox.api.checkout_sessions", "sandbox.hosted.session_page"),
        ("sandbox.store", "sandbox.events"),
        ("sandbox.clock", "sandbox.checkout"),
        ("sandbox.models", "sandbox.objects"),
        ("sandbox.totals", "sandbox.forms.CheckoutForm"),
    ]
    along = [
        ("sandbox.urls", "sandbox.api.coupons"),
        ("sandbox.urls", "sandbox.hosted"),
        ("sandbox.api.coupons", "sandbox.discounts.coupon_valid"),
        ("sandbox.api.payment_links", "sandbox.api.prices"),
        ("sandbox.hosted", "sandbox.checkout"),
        ("sandbox.hosted", "sandbox.forms"),
        ("sandbox.checkout", "sandbox.store"),
        ("sandbox.store", "sandbox.clock"),
        ("sandbox.store", "sandbox.errors.no_such"),
        ("sandbox.clock", "sandbox.models.ApiObject"),
    ]

    assert sandbox_offenders(against + along) == against
