"""The main pages in Debian's Chromium under the strict Content-Security-Policy: no violation
is reported, the page scripts (served from /static) still draw charts and bars, and an inline
script injected into a page is refused (so the policy is really enforced)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PAGES = ["/services", "/services/demo", "/services/demo/readiness", "/readiness", "/monitors", "/monitors/watchkeeper-health",
         "/monitors/demo-nightly-job", "/slos", "/slos/watchkeeper-availability", "/alerts?status=firing", "/alerts/quality",
         "/alerts/drills", "/silences", "/maintenance", "/audit", "/jobs"]

# Registered before any page script runs; records every CSP violation the page reports.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def test_main_pages_raise_no_csp_violations(live_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/services")
    for path in PAGES:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
        violations = page.evaluate("window.__csp")
        assert violations == [], (path, violations)
        if path.startswith("/monitors/watchkeeper-health") or path.startswith("/slos/"):
            # watchkeeper.js ran: the chart is drawn, or says there is no data yet.
            page.wait_for_function("() => { const el = document.querySelector('[data-chart]');"
                                   " return el && (el.querySelector('canvas') || el.textContent.trim().length > 0); }")
    csp_console = [line for line in console if "Content Security Policy" in line or "pageerror" in line]
    assert csp_console == []
    # The policy is enforced: an inline script put into the page does not run and is reported.
    page.goto(f"{live_server}/services")
    ran = page.evaluate("""() => { window.__ran = false; const s = document.createElement('script');
        s.textContent = 'window.__ran = true'; document.body.appendChild(s); return window.__ran; }""")
    assert ran is False
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("window.__csp")[0].startswith("script-src")
    context.close()


def test_budget_bars_are_filled_without_inline_style(live_server, browser):
    """A bar is drawn from its data-fill attribute by /static/watchkeeper.js, under the page's own
    policy (the served page gets one more bar, since a fresh database has no budget to show)."""
    page = browser.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/services")

    def add_bar(route):
        served = route.fetch()
        body = served.text().replace("</main>", '<div class="budget-bar"><div id="probe" data-fill="142.5"></div></div>'
                                                '<div class="budget-bar"><div id="half" data-fill="42.5"></div></div></main>')
        route.fulfill(response=served, body=body)

    page.route(f"{live_server}/slos", add_bar)
    response = page.goto(f"{live_server}/slos")
    assert "style-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_function("() => document.getElementById('half').style.width !== ''")
    assert page.evaluate("document.getElementById('half').style.width") == "42.5%"
    assert page.evaluate("document.getElementById('probe').style.width") == "100%"
    page.close()
