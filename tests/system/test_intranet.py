"""On a government intranet nothing outside the deployment answers: every page the product serves (the docs,
the public rating and complaint pages, the phone app and the console) must work with all requests to
other hosts refused. Each page is opened in Debian's Chromium against a real
gunicorn with every request to a host other than the server's own aborted; a refused request, a console
error, an uncaught page error or a blank page fails the test."""

from __future__ import annotations

import urllib.parse

import pytest
import sqlalchemy as sa

from inspect_api.ratings import rules
from tests.system.test_rating_page import _chromium

pytestmark = pytest.mark.slow


def _pages(live_server) -> list[tuple[str, str]]:
    """(path, a selector that shows the page rendered)."""
    engine = live_server.engine()
    with engine.connect() as conn:
        unit_id, window_no = conn.execute(sa.text(
            "SELECT unit_id, window_no FROM staff WHERE window_no IS NOT NULL AND is_active ORDER BY id LIMIT 1")).one()
    engine.dispose()
    key = rules.window_key(live_server.env["INSPECT_SECRET_KEY"], unit_id, str(window_no))
    return [("/api/v1/docs", ".opblock-tag"), (f"/r/{key}", "form"), (f"/c/{key}", "form"),
            ("/complaints/new", "form"), ("/complaints/status", "form"),
            ("/m/", "input[type=password]"), ("/console/", "input[type=password]")]  # the apps' login pages


def test_every_page_works_with_the_outside_world_refused(live_server):
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    own = f"127.0.0.1:{live_server.port}"
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(locale="zh-CN")

            def guard(route):
                host = urllib.parse.urlsplit(route.request.url).netloc
                if host == own or route.request.url.startswith(("data:", "blob:")):
                    route.continue_()
                else:
                    problems.append(f"outside request refused: {route.request.url}")
                    route.abort()

            context.route("**/*", guard)
            for path, ready in _pages(live_server):
                page = context.new_page()
                page.on("console", lambda m, path=path: m.type == "error" and problems.append(
                    f"{path}: console error: {m.text}"))
                page.on("pageerror", lambda e, path=path: problems.append(f"{path}: page error: {e}"))
                resp = page.goto(f"http://{own}{path}")
                assert resp is not None and resp.status == 200, (path, resp and resp.status)
                page.wait_for_selector(ready, timeout=20_000)
                page.wait_for_load_state("networkidle")
                assert page.inner_text("body").strip(), f"{path}: blank page"
                if path == "/api/v1/docs":
                    spec = page.request.get(f"http://{own}/api/v1/openapi.json").json()
                    operations = sum(1 for item in spec["paths"].values() for m in item
                                     if m in ("get", "post", "put", "patch", "delete"))
                    for tag in page.query_selector_all(".opblock-tag"):  # open every section
                        tag.click()
                    page.wait_for_timeout(500)
                    shown = len(page.query_selector_all(".opblock"))
                    assert shown == operations, f"docs page shows {shown} of {operations} operations"
                page.close()
        finally:
            browser.close()
    assert problems == []
