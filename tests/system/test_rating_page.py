"""The public rating page in a real browser (Debian's headless Chromium) against a real server:
open a window's page, pick a score and a reason, submit, see the thanks, find one rating stored."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from inspect_api.ratings import rules

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.slow


def _chromium() -> str:
    if not os.path.exists(CHROMIUM) and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                       capture_output=True, check=False, timeout=600)
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent and could not be installed (apt-get install chromium)")
    return CHROMIUM


def test_a_citizen_rates_a_window_in_headless_chromium(live_server):
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    engine = live_server.engine()
    with engine.connect() as conn:
        unit_id, unit_name = conn.execute(sa.text("SELECT id, name FROM units WHERE is_active ORDER BY id LIMIT 1")).one()
    key = rules.window_key(live_server.env["INSPECT_SECRET_KEY"], unit_id, "3")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844})
            page.goto(f"http://127.0.0.1:{live_server.port}/r/{key}")
            assert unit_name in page.content()
            page.get_by_label("不满意", exact=True).check()
            page.get_by_label("服务态度差").check()
            page.fill("textarea[name=comment]", "窗口人员态度冷淡")
            page.wait_for_timeout(2500)  # the policy's minimum time on the page before submitting
            page.get_by_role("button", name="提交评价").click()
            page.wait_for_selector("#done", timeout=10_000)
            assert "感谢您的评价" in page.inner_text("#done")
        finally:
            browser.close()
    with engine.connect() as conn:
        # the demo data's imported ratings are there too: this one is the only one from a page (qr)
        rows = conn.execute(sa.text("SELECT unit_id, window_no, score, reasons, comment, source FROM ratings "
                                    "WHERE source = 'qr'")).all()
        follow_ups = conn.execute(sa.text("SELECT count(*) FROM rating_follow_ups f JOIN ratings r "
                                          "ON r.id = f.rating_id WHERE r.source = 'qr'")).scalar()
    engine.dispose()
    assert len(rows) == 1
    unit, window, score, reasons, comment, source = rows[0]
    assert (unit, window, score, comment, source) == (unit_id, "3", 2, "窗口人员态度冷淡", "qr")
    assert "attitude" in str(reasons)
    assert follow_ups == 1  # a 差评 opens a follow-up
