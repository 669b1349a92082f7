"""The dashboard and the sandbox meet only over HTTP, as Paylinks and Stripe do: neither imports the other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_PACKAGES = ("catalog", "links", "webhooks", "config")


def _imported_modules(package: str):
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path.relative_to(ROOT), alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path.relative_to(ROOT), node.module


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_dashboard_never_imports_the_sandbox():
    offenders = [
        (str(path), module)
        for package in DASHBOARD_PACKAGES
        for path, module in _imported_modules(package)
        if _top(module) == "sandbox"
    ]

    assert offenders == []


def test_the_sandbox_never_imports_the_dashboard():
    offenders = [
        (str(path), module)
        for path, module in _imported_modules("sandbox")
        if _top(module) in {"catalog", "links", "webhooks"} or module == "config.stripe_client"
    ]

    assert offenders == []
