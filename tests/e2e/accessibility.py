"""axe-core (npm, tests/e2e/node) run on a page: its serious and critical violations, in light
and dark mode. The script goes in through the DevTools protocol (Playwright's evaluate), which
the pages' Content-Security-Policy does not apply to, so the pages are checked as served."""

import json

from playwright.sync_api import Page

from tests.conftest import ROOT

AXE = ROOT / "tests" / "e2e" / "node" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def serious_violations(page: Page, name: str) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now, in both colour
    schemes; each entry names the page, the scheme, the rule and a few of its elements."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    problems = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for violation in page.evaluate(RUN_AXE):
            if violation["impact"] in FAILING_IMPACTS:
                problems.append(f"{name} ({scheme}): {json.dumps(violation)}")
    page.emulate_media(color_scheme="light")
    return problems
