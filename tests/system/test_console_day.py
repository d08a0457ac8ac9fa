"""The office's whole day in the console, end to end, in a real browser against a real gunicorn and a
render worker: 20 findings submitted by the inspectors are confirmed in bulk; a bulletin is drafted by
one office user, approved and issued by another; the unit's liaison appeals one finding and the office
rejects the appeal; the liaison reports that finding's rectification and the office accepts it; the
leader's dashboard moves from its morning figures to the evening's (20 confirmed, 1 rectification
done, the rest open). Every step's page gets a 1440×900 screenshot (docs/screenshots/console when
INSPECT_CONSOLE_SCREENSHOTS is set) and an accessibility snapshot with no unlabeled input."""

from __future__ import annotations

import os
import re
import subprocess
import uuid

import pytest

from inspect_api.config import PROJECT_ROOT
from tests.system.phone import chromium, ensure_built, make_photo
from tests.system.server import BIN, LiveServer, server_database_url
from tests.system.test_console import _page, draft_bulletin, login, shot
from tests.system.workload import visit_payload

pytestmark = pytest.mark.slow
PERIOD = "from=2026-11-01&to=2026-11-23"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ensure_built()
    tmp = tmp_path_factory.mktemp("console-day")
    srv = LiveServer(server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp), tmp / "instance")
    srv.prepare()
    srv.start()
    worker = subprocess.Popen([str(BIN / "inspect-api"), "documents", "worker", "--poll", "0.5"], env=srv.env,
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv.tmp = tmp
    srv.unit_id = _seed(srv)
    yield srv
    worker.terminate()
    worker.wait(timeout=20)
    srv.stop()


def _seed(srv: LiveServer) -> int:
    """Four submitted visits to the liaison's unit (市场监督管理局), five findings each: 20 to review."""
    h1, a_id = srv.token("inspector1")
    _, b_id = srv.token("inspector2")
    _, units, _ = srv.request("GET", "/api/v1/org/units?q=QC-SCJG", headers=h1)
    unit_id = next(u["id"] for u in units if u["code"] == "QC-SCJG")
    _, template, _ = srv.request("GET", "/api/v1/checklists/sanxiang_covert/versions/1", headers=h1)
    for i in range(4):
        vid = str(uuid.uuid4())
        body = visit_payload(template, unit_id=unit_id, team=[a_id, b_id], seed=100 + i, findings=5)
        status, out, _ = srv.request("POST", "/api/v1/sync", {"visits": [{**body, "id": vid, "submit": False}]}, h1)
        assert status == 200, out
        status, out, _ = srv.request("POST", f"/api/v1/visits/{vid}/submit", None, h1)
        assert status == 200, out
    return unit_id


@pytest.fixture(scope="module")
def browser(server):
    path = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


def _figures(page) -> dict[str, int]:
    """The dashboard's cards as numbers, by their data-figure."""
    out = {}
    for card in page.locator("[data-figure]").all():
        text = card.locator(".el-statistic__number").inner_text().replace(",", "").strip()
        out[card.get_attribute("data-figure")] = int(text)
    return out


def _dashboard(browser, base: str, name: str) -> dict[str, int]:
    page = _page(browser)
    login(page, base, "leader1")
    page.goto(f"{base}/console/dashboard?{PERIOD}")
    page.wait_for_selector("[data-test=chart-category] canvas")
    page.wait_for_selector("[data-test=rectifications] [data-figure=rect-accepted]")
    page.wait_for_timeout(600)  # the statistics' count-up animation settles
    figures = _figures(page)
    shot(page, name)
    page.context.close()
    return figures


def _prompt(page, reason: str) -> None:
    box = page.locator(".el-message-box")
    box.get_by_role("textbox").fill(reason)
    box.get_by_role("button", name="确定").click()
    box.wait_for(state="hidden")


def test_the_office_day_end_to_end(server, browser):
    base = f"http://127.0.0.1:{server.port}"
    morning = _dashboard(browser, base, "day-01-leader-morning")
    assert morning["findings"] == 20 and morning["confirmed"] == 0 and morning["rect-accepted"] == 0

    # 1. the office reviews the 20 findings in bulk
    page = _page(browser)
    login(page, base, "office1")
    page.wait_for_selector("[data-tile=review] .num:text('20')")
    page.click("[data-tile=review]")
    page.wait_for_selector(".el-pagination:has-text('共 20 条')")
    page.locator("[data-test=queue] .el-table__header .el-checkbox").click()
    page.locator("h2.page-title").scroll_into_view_if_needed()  # the bulk buttons above the list
    shot(page, "day-02-review-selected")
    page.click("[data-test=bulk-confirm]")
    page.wait_for_selector(".el-message--success:has-text('已处理 20 条')")
    page.wait_for_selector(".el-pagination:has-text('共 0 条')")

    # 2. a bulletin drafted by office1 ...
    doc_url = draft_bulletin(page)
    shot(page, "day-03-bulletin-draft")
    page.context.close()

    # ... approved by office2 (a second user: four eyes) -- but office1 retitles the draft while office2
    # has it open: approving the version on screen is refused (412) and the change is shown
    page = _page(browser)
    login(page, base, "office2")
    page.goto(doc_url)
    page.wait_for_selector("[data-test=doc-status]:has-text('草稿')")
    doc_id = int(doc_url.rsplit("/", 1)[1])
    h1, _ = server.token("office1")
    _, doc, _ = server.request("GET", f"/api/v1/documents/{doc_id}", headers=h1)
    status, out, _ = server.request("PATCH", f"/api/v1/documents/{doc_id}", {"title": "关于11月份机关效能督查情况的通报"},
                                    {**h1, "If-Match": f'"v{doc["version"]}"'})
    assert status == 200, out
    page.click("[data-test=approve]")
    diff = page.locator(".stale-dialog [data-test=stale-diff]")
    diff.wait_for()
    assert "关于11月份机关效能督查情况的通报" in diff.locator("tr[data-field=title]").inner_text()
    shot(page, "day-04a-approve-stale")
    page.get_by_role("button", name="载入最新数据").click()
    page.wait_for_selector("h2:has-text('关于11月份机关效能督查情况的通报')")
    if page.locator("[data-test=render]").count():
        page.click("[data-test=render]")
        page.wait_for_selector("[data-test=pdf]", timeout=60_000)
    page.click("[data-test=approve]")
    page.wait_for_selector("[data-test=doc-status]:has-text('已审批')")
    page.click("[data-test=issue]")
    page.wait_for_selector("[data-test=doc-number]:has-text('〔2026〕')", timeout=60_000)
    page.wait_for_selector("[data-test=doc-status]:has-text('已印发')", timeout=60_000)
    number = page.inner_text("[data-test=doc-number]")
    shot(page, "day-04-bulletin-issued")
    page.context.close()

    # 3. the liaison sees the bulletin and the 20 findings, and appeals one of them
    page = _page(browser)
    login(page, base, "liaison1")
    page.wait_for_selector(".el-pagination:has-text('共 20 条')")
    page.click("[data-menu='/unit/documents']")
    page.wait_for_selector(f"[data-test=unit-documents] .el-table__row:has-text('{number}')")
    page.click("[data-menu='/unit/findings']")
    page.locator("[data-test=unit-findings] .el-table__row").first.click()
    page.wait_for_url(re.compile(r"/unit/findings/[0-9a-f-]{36}$"))
    finding_url = page.url
    page.fill("#appeal-text", "该工作人员当日为借调人员，不属于本单位窗口，申请撤销")
    page.click("[data-test=appeal-submit]")
    page.wait_for_selector("[data-test=appeal-status]:has-text('待处理')")
    shot(page, "day-05-liaison-appeal")
    page.context.close()

    # 4. the office rejects the appeal, with its reason
    page = _page(browser)
    login(page, base, "office1")
    page.wait_for_selector("[data-tile=appeals] .num:text('1')")
    page.click("[data-menu='/cases']")
    row = page.locator("[data-test=cases] .el-table__row", has_text="借调人员")
    row.wait_for()
    shot(page, "day-06-office-appeal")
    row.locator("[data-test=reject]").click()
    _prompt(page, "经核查，该工作人员当日在本单位窗口值守，申辩理由不成立")
    page.wait_for_selector(".el-message--success:has-text('已处理')")
    page.wait_for_selector("[data-test=cases] .el-table__row", state="detached")
    page.context.close()

    # 5. the liaison sees the decision and reports the rectification of the same finding
    page = _page(browser)
    login(page, base, "liaison1")
    page.goto(finding_url)
    page.wait_for_selector("[data-test=appeal-status]:has-text('申辩不成立')")
    assert "申辩理由不成立" in page.inner_text("body")
    assert page.locator("#appeal-text").count() == 0  # one appeal per confirmation
    photo = server.tmp / "rectified.jpg"
    make_photo(photo, 7)
    page.fill("#report-text", "已对相关人员进行批评教育，窗口已张贴工作纪律，附整改照片")
    page.set_input_files("[data-test=report-files]", str(photo))
    page.click("[data-test=report-submit]")
    page.wait_for_selector(".el-message--success:has-text('整改报告已提交')")
    shot(page, "day-07-liaison-report")
    page.context.close()

    # 6. the office accepts the rectification report
    page = _page(browser)
    login(page, base, "office1")
    page.goto(f"{base}/console/cases?tab=reports")
    row = page.locator("[data-test=cases] .el-table__row", has_text="批评教育")
    row.wait_for()
    assert row.get_by_role("button", name="rectified.jpg").count() == 1
    shot(page, "day-08-office-report")
    row.locator("[data-test=accept]").click()
    _prompt(page, "整改到位，予以验收")
    page.wait_for_selector(".el-message--success:has-text('已处理')")
    page.wait_for_selector("[data-test=cases] .el-table__row", state="detached")
    page.context.close()

    page = _page(browser)
    login(page, base, "liaison1")
    page.goto(finding_url)
    page.wait_for_selector("[data-test=report-status]:has-text('已验收')")
    page.context.close()

    # 7. the leader's dashboard in the evening: the day's work shows
    evening = _dashboard(browser, base, "day-09-leader-evening")
    assert evening["findings"] == morning["findings"] == 20
    assert evening["visits"] == morning["visits"] and evening["units_visited"] == morning["units_visited"]
    assert evening["confirmed"] == morning["confirmed"] + 20
    assert evening["rect-accepted"] == morning["rect-accepted"] + 1
    assert evening["rect-open"] + evening["rect-overdue"] == 19 and evening["rect-reported"] == 0


def test_the_dashboard_compares_with_the_previous_period(server, browser):
    """Nothing was confirmed in October: the evening's 20 confirmed findings read as +20 against it."""
    base = f"http://127.0.0.1:{server.port}"
    page = _page(browser)
    login(page, base, "leader1")
    page.goto(f"{base}/console/dashboard?{PERIOD}")
    page.wait_for_selector("[data-figure=findings] .muted:has-text('环比 +20')")
    if _figures(page)["confirmed"] == 20:  # after the day's test (run alone, nothing is confirmed)
        page.wait_for_selector("[data-figure=confirmed] .muted:has-text('环比 +20')")
    page.context.close()
