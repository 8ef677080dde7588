"""Every page the hub serves works under its own Content-Security-Policy (self only, no inline script, no eval).

The other browser tests open pages with ``bypass_csp`` because Playwright's ``wait_for_function`` evaluates strings;
this module opens them with the policy ON, as a real TV or PC does, and checks that the browser reported no
violation and that the page's own script ran (it filled in what only its script can fill in)."""
from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# page → a selector only the page's own script makes appear
PAGES = {
    "/display/hall?sound=off": '#current-number[data-ticket="A001"]',
    "/display/counter/1": "body",
    "/console": "#login:not([hidden])",
    "/manager": "#login:not([hidden])",
    "/admin": "#login:not([hidden]) #username",        # the form login.js renders into the placeholder
    "/audit": "#login:not([hidden]) #username",
    "/reports": "#login:not([hidden]) #username",
    "/reports/766": "#login:not([hidden]) #username",
}


def test_pages_run_under_the_content_security_policy(hub: Any, browser: Any) -> None:
    headers = hub.login("staff1")
    hub.issue("ho-tich")
    hub.post("/counters/1/open", headers)
    assert hub.post("/counters/1/call-next", headers)["ticket"]["number"] == "A001"
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                              timezone_id="Asia/Ho_Chi_Minh")          # bypass_csp stays off
    try:
        for path, ready in PAGES.items():
            page = ctx.new_page()
            page.set_default_timeout(15000)
            violations: list[str] = []
            page.on("console", lambda msg, v=violations: v.append(msg.text)
                    if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
            errors: list[str] = []
            page.on("pageerror", lambda err, e=errors: e.append(str(err)))
            response = page.goto(f"{hub.url}{path}")
            assert response is not None and response.status == 200, path
            assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), path
            page.wait_for_selector(ready, state="attached")
            page.wait_for_load_state("networkidle")
            assert violations == [], (path, violations)
            assert errors == [], (path, errors)
            page.close()
    finally:
        ctx.close()


def test_the_check_would_see_a_violation(hub: Any, browser: Any) -> None:
    # the listener itself: an inline script on a hub page is refused and reported
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        seen: list[str] = []
        page.on("console", lambda msg: seen.append(msg.text))
        page.goto(f"{hub.url}/display/hall?sound=off")
        from playwright.sync_api import Error

        with pytest.raises(Error, match="Content Security Policy"):
            page.add_script_tag(content="document.body.dataset.inline = 'ran'")
        assert page.get_attribute("body", "data-inline") is None
        assert any("Content Security Policy" in text for text in seen), seen
    finally:
        ctx.close()
