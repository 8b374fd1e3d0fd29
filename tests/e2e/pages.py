"""Page helpers for the browser journey: log in, check accessibility, screenshot."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.conftest import ARTIFACTS, AXE
from tests.integration.db.servers import PASSWORD, USERS

_AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


class Session:
    """One signed-in browser context (one role)."""

    def __init__(self, browser: Any, base: str, key: str, backend: str) -> None:
        self.base = base
        self.key = key
        self.backend = backend
        self.context = browser.new_context(
            bypass_csp=True, viewport={"width": 1280, "height": 900}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(20000)
        if key != "public":
            email = next(u.email for u in USERS if u.key == key)
            self.goto("/login")
            self.page.get_by_label("Email address").fill(email)
            self.page.get_by_label("Password").fill(PASSWORD)
            self.page.get_by_role("button", name="Log in").click()
            self.page.wait_for_url(re.compile(r".*/$"))

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def check(self, name: str) -> list[dict[str, Any]]:
        """Screenshot the page and run axe-core; returns serious/critical violations."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.backend}-{name}.png"), full_page=True
        )
        if not self.page.evaluate("() => typeof axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text(encoding="utf-8"))
        violations = self.page.evaluate(_AXE_RUN)
        return [v for v in violations if v["impact"] in ("serious", "critical")]

    def close(self) -> None:
        self.context.close()
