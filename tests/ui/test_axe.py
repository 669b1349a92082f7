"""The axe helper the browser tests use finds what it is there to find (tests/ui/axe.py)."""

from __future__ import annotations

import pytest

from tests.ui.axe import axe_violations

pytestmark = pytest.mark.browser


def test_axe_reports_each_serious_violation_with_its_rule_and_element_and_ignores_the_minor_ones(page):
    page.set_content(
        """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>
        <h1>Broken</h1>
        <button id="nameless"></button>
        <details><summary>More</summary><img id="no-alt" src="data:,"></details>
        <h4>A skipped heading level (moderate only)</h4>
        </main></body></html>"""
    )
    found = axe_violations(page, where="test page")
    assert len(found) == 2, found
    assert found[0].startswith("test page: button-name (critical) at #nameless")
    assert found[1].startswith("test page: image-alt (critical) at #no-alt")  # inside a closed <details>


def test_axe_finds_nothing_on_a_page_without_problems(page):
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Fine</title></head><body><main><h1>Fine</h1>'
        '<label for="q">Search</label><input id="q"></main></body></html>'
    )
    assert axe_violations(page, where="test page") == []
