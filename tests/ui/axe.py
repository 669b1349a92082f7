"""axe-core in the browser tests: the serious and critical accessibility violations on the page shown.

axe.min.js is vendored under tests/ui/vendor/axe-core/ (its README gives the version), never fetched at run
time. It goes in with ``page.evaluate``: ``page.add_script_tag`` adds an inline script, which the app's
CSP refuses (rightly), and a context with ``bypass_csp`` would test pages under a policy they are not
served with.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
IMPACTS = ("serious", "critical")

# Every rule axe runs by default (WCAG 2.x A and AA, and its best practices), only the nodes that fail
# with a serious or critical impact; the moderate and minor ones are not this test's bar.
RUN = """async (impacts) => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.flatMap((violation) =>
    violation.nodes
      .filter((node) => impacts.includes(node.impact))
      .map((node) => ({
        rule: violation.id,
        impact: node.impact,
        help: violation.help,
        target: node.target.join(" "),
        summary: node.failureSummary.split("\\n").slice(1, 3).join(" ").trim(),
      }))
  );
}"""
OPEN_DETAILS = """() => document.querySelectorAll("details:not([open])").forEach((details) => {
  details.open = true;
  details.dataset.axeOpened = "";
})"""
CLOSE_DETAILS = """() => document.querySelectorAll("details[data-axe-opened]").forEach((details) => {
  details.open = false;
  delete details.dataset.axeOpened;
})"""


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_violations(page, *, where: str) -> list[str]:
    """One line per serious or critical violation on ``page``: where, the rule, the element, why.

    Every ``<details>`` is opened while axe runs (it skips what is hidden, and the editor's sections are
    collapsed), and closed again after, so that a test goes on with the page as it was.
    """
    page.evaluate(OPEN_DETAILS)
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found = page.evaluate(RUN, list(IMPACTS))
    page.evaluate(CLOSE_DETAILS)
    return [f"{where}: {f['rule']} ({f['impact']}) at {f['target']}: {f['summary']}" for f in found]
