"""Every page fits a phone: at 390 px no page scrolls sideways and the navigation folds behind a
Menu button (issue 11). The test crawls the UI from the navigation, so a page a new domain adds
is checked without a new line here."""

from __future__ import annotations

import re
from collections import deque

import pytest

from tests.web.test_browser import _shot

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SKIP = re.compile(r"^/(logout|api/|static/|api-docs-assets/|docs|redoc|openapi\.json|metrics|healthz|readyz|ping/|ack/)")
MAX_PAGES = 60

# The widest element that sticks out of the viewport, to name the culprit when a page overflows.
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  let worst = null;
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && (!worst || r.right > worst.right)) {
      let scroller = el.parentElement, clipped = false;
      while (scroller && scroller !== document.body) {
        const style = getComputedStyle(scroller);
        if (['auto', 'scroll', 'hidden'].includes(style.overflowX)) { clipped = true; break; }
        scroller = scroller.parentElement;
      }
      if (!clipped) worst = {right: r.right, what: el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')};
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, worst};
}"""


def _login(page, base):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-password-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(services|$)"))


def _shape(path: str) -> str:
    """Pages of one kind count once: /alerts/7 and /alerts/9 are the same template."""
    return re.sub(r"/\d+(?=/|$)", "/N", path.split("?", 1)[0])


def test_no_page_scrolls_sideways_on_a_phone(live_server, browser, backend):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _login(page, live_server)
    queue = deque(["/", "/services", "/alerts?status=firing", "/account/password"])
    seen: set[str] = set()
    overflowing: dict[str, dict] = {}
    visited = 0
    while queue and visited < MAX_PAGES:
        path = queue.popleft()
        if _shape(path) in seen or SKIP.match(path):
            continue
        seen.add(_shape(path))
        response = page.goto(f"{live_server}{path}")
        if response is None or response.status >= 400 or not page.url.startswith(live_server):
            continue
        visited += 1
        found = page.evaluate(_OVERFLOW)
        if found["scroll"] > found["width"]:
            overflowing[path] = found
        for href in page.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))"):
            if _shape(href) not in seen:
                queue.append(href)
    assert visited >= 12, f"the crawl reached only {visited} pages: {sorted(seen)}"
    assert overflowing == {}, f"pages wider than 390 px: {overflowing}"
    context.close()


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(live_server, browser, tmp_path, backend):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _login(page, live_server)
    page.goto(f"{live_server}/services")
    nav = page.locator("nav[aria-label=Main]")
    assert not nav.is_visible()
    page.click("label.nav-toggle-label")
    assert nav.is_visible()
    monitors = nav.locator("a:text-is('Monitors')")
    assert monitors.is_visible()
    box = monitors.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    _shot(page, f"menu-390-{backend}", tmp_path)
    monitors.click()
    page.wait_for_url(f"{live_server}/monitors")
    assert page.locator("nav[aria-label=Main] a[aria-current=page]").inner_text() == "Monitors"
    context.close()


def test_on_a_desktop_the_bar_shows_the_main_links_and_more_holds_the_rest(live_server, browser, backend):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    _login(page, live_server)
    page.goto(f"{live_server}/services")
    assert not page.locator("label.nav-toggle-label").is_visible()
    for label in ("Services", "Alerts", "Monitors", "SLOs", "Readiness"):
        assert page.locator(f"nav[aria-label=Main] > a:text-is('{label}')").is_visible()
    jobs = page.locator("nav[aria-label=Main] details.more a:text-is('Jobs')")
    assert not jobs.is_visible()
    page.click("nav[aria-label=Main] details.more summary")
    assert jobs.is_visible()
    jobs.click()
    page.wait_for_url(f"{live_server}/jobs")
    context.close()
