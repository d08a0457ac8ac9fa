"""The office console in a real browser (Debian's Chromium) against a real gunicorn, a render worker and a media worker,
on seeded visits: each role logs in and sees only its menus; the office confirms findings in bulk and
looks at their photos; a bulletin is drafted by one office user, approved and issued by another, with
its number shown and its PDF in the page; the unit's liaison sees working days left and appeals with
an attachment, which reaches the office. Every page gets a 1440×900 screenshot (docs/screenshots/
console when INSPECT_CONSOLE_SCREENSHOTS is set) and an accessibility snapshot with no unlabeled input."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from inspect_api.config import PROJECT_ROOT
from tests.system.phone import PASSWORD, chromium, ensure_built, make_photo
from tests.system.server import BIN, LiveServer, at_test_instant, server_database_url
from tests.system.workload import multipart, visit_payload

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1440, "height": 900}
OFFICE_MENU = ["待办概览", "问题审核", "申辩与整改", "公文", "投诉举报", "双随机抽查", "问责", "年度考评", "排名", "好差评",
               "统计看板"]
MENUS = {
    "office1": OFFICE_MENU,
    "liaison1": ["本单位问题", "涉及本单位的公文", "转办投诉", "差评整改"],
    "leader1": ["公文", "年度考评", "排名", "好差评", "统计看板"],
    "admin": [*OFFICE_MENU, "用户管理", "组织机构", "数据导入", "检查表", "节假日", "问责规则"],
}
FORM_ROLES = ("textbox", "combobox", "checkbox", "radio", "spinbutton", "searchbox", "slider", "switch")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ensure_built()
    assert (PROJECT_ROOT / "web" / "apps" / "console" / "dist" / "index.html").is_file()
    tmp = tmp_path_factory.mktemp("console")
    srv = LiveServer(server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp), tmp / "instance")
    srv.prepare()
    srv.start()
    worker = subprocess.Popen([str(BIN / "inspect-api"), "documents", "worker", "--poll", "0.5"], env=srv.env,
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    media = subprocess.Popen([str(BIN / "inspect-api"), "media", "worker", "--poll", "0.5"], env=srv.env,
                             cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv.seed = _seed(srv, tmp)
    yield srv
    for proc in (worker, media):
        proc.terminate()
        proc.wait(timeout=20)
    srv.stop()


def _seed(srv: LiveServer, tmp: Path) -> dict:
    """Four submitted visits to the liaison's unit: 21 findings waiting for review, one with a photo."""
    h1, a_id = srv.token("inspector1")
    _, b_id = srv.token("inspector2")
    _, units, _ = srv.request("GET", "/api/v1/org/units?q=%E5%B8%82%E5%9C%BA%E7%9B%91%E7%9D%A3", headers=h1)
    unit_id = next(u["id"] for u in units if u["code"] == "QC-SCJG")
    _, template, _ = srv.request("GET", "/api/v1/checklists/sanxiang_covert/versions/1", headers=h1)
    photo = tmp / "A1.jpg"
    make_photo(photo, 1)
    ids = []
    for i in range(4):
        vid = str(uuid.uuid4())
        ids.append(vid)
        body = visit_payload(template, unit_id=unit_id, team=[a_id, b_id], seed=i, findings=5,
                             fail_codes=("A1",) if i == 0 else ())
        status, out, _ = srv.request("POST", "/api/v1/sync", {"visits": [{**body, "id": vid, "submit": False}]}, h1)
        assert status == 200, out
        if i == 0:
            data, ctype = multipart({"item_code": "A1"}, "file", "A1.jpg", photo.read_bytes(), "image/jpeg")
            status, out, _ = srv.request("POST", f"/api/v1/visits/{vid}/evidence", data, {**h1, "Content-Type": ctype})
            assert status in (200, 201), out
        status, out, _ = srv.request("POST", f"/api/v1/visits/{vid}/submit", None, h1)
        assert status == 200, out
    return {"unit_id": unit_id, "visits": ids, "photo": photo}


@pytest.fixture(scope="module")
def browser(server):
    path = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


def _page(browser):
    ctx = at_test_instant(browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"))
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    return page


def shot(page, name: str) -> None:
    """Check the page's accessibility snapshot (no unlabeled form control) and take a 1440×900 screenshot."""
    page.wait_for_timeout(400)  # transitions and the loading mask settle
    unlabeled = [line.strip() for line in page.locator("body").aria_snapshot().splitlines()
                 if re.match(rf"^\s*- ({'|'.join(FORM_ROLES)})\b(?!\s+\")", line)]
    assert not unlabeled, f"{name}: unlabeled controls {unlabeled}"
    folder = os.environ.get("INSPECT_CONSOLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector("[data-test=menu]")


def draft_bulletin(page, start: str = "2026-11-01", end: str = "2026-11-23") -> str:
    """Draft a bulletin for the period from 公文 and render its preview; the document page's URL."""
    page.click("[data-menu='/documents']")
    page.click("[data-test=new-bulletin]")
    page.fill("#doc-start", start)
    page.keyboard.press("Enter")
    page.fill("#doc-end", end)
    page.keyboard.press("Enter")
    page.click("[data-test=create-doc]")
    page.wait_for_url(re.compile(r"/documents/\d+$"))
    page.click("[data-test=render]")
    page.wait_for_selector("[data-test=pdf]", timeout=60_000)
    return page.url


def menu_of(page) -> list[str]:
    return [t.strip() for t in page.locator("[data-test=menu] [data-menu]").all_inner_texts()]


def test_serving_and_login_menus(server, browser):
    base = f"http://127.0.0.1:{server.port}"
    status, body, headers = server.request("GET", "/console/")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    asset = re.search(rb'/console/assets/[^"]+\.js', body).group(0).decode()
    status, _, headers = server.request("GET", asset)
    assert status == 200 and "immutable" in headers["Cache-Control"]
    assert not re.search(rb"https?://", body)  # nothing from another site
    page = _page(browser)
    page.goto(f"{base}/console/")
    page.wait_for_selector("input[name=username]")
    shot(page, "01-login")
    page.get_by_label("用户名").fill("office1")
    page.get_by_label("密码", exact=True).fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_selector(".el-message--error")
    assert "密码" in page.inner_text(".el-message--error")  # the API's own Chinese message
    for user, menu in MENUS.items():
        page.context.clear_cookies()
        page.evaluate("localStorage.clear()")
        login(page, base, user)
        assert menu_of(page) == menu, user
        page.click("[data-test=logout]")
        page.wait_for_selector("input[name=username]")
    # a page the role may not use is not reachable either: the liaison lands on its own list
    login(page, base, "liaison1")
    page.goto(f"{base}/console/review")
    page.wait_for_selector("[data-test=unit-findings]")
    page.context.close()


def test_office_reviews_in_bulk_and_issues_a_bulletin(server, browser):
    base = f"http://127.0.0.1:{server.port}"
    page = _page(browser)
    login(page, base, "office1")
    page.wait_for_selector("[data-tile=review] .num:text('21')")
    shot(page, "02-office-home")
    page.click("[data-tile=review]")
    page.wait_for_selector("[data-test=queue] .el-table__row")
    assert "status=pending_review" in page.url
    # filters are kept in the URL
    page.locator(".el-select", has=page.get_by_role("combobox", name="严重程度")).click()
    page.locator(".el-select-dropdown__item:visible", has_text="较重").click()
    page.wait_for_url(re.compile(r"severity=serious"))
    page.go_back()
    page.wait_for_url(re.compile(r"^(?!.*severity)"))
    page.wait_for_selector(".el-pagination:has-text('共 21 条')")
    # the photo of the failed checklist item, watermarked (once the reload's loading mask is gone)
    page.wait_for_selector("[data-test=queue] .el-loading-mask", state="hidden")
    page.click("[data-test=queue] [data-item=A1]")
    page.wait_for_selector(".el-dialog .photos .el-image img")
    shot(page, "04-review-photo")
    page.keyboard.press("Escape")
    page.locator(".el-dialog").first.wait_for(state="hidden")
    shot(page, "03-review-queue")
    # select the whole page (20) and confirm, then the 21st
    page.locator("[data-test=queue] .el-table__header .el-checkbox").click()
    page.click("[data-test=bulk-confirm]")
    page.wait_for_selector(".el-message--success:has-text('已处理 20 条')")
    page.wait_for_selector(".el-pagination:has-text('共 1 条')")
    page.locator("[data-test=queue] .el-table__header .el-checkbox").click()
    page.click("[data-test=bulk-confirm]")
    page.wait_for_selector(".el-pagination:has-text('共 0 条')")

    # a bulletin drafted by office1 ...
    doc_url = draft_bulletin(page)
    shot(page, "05-document-draft")
    page.click("[data-test=approve]")  # the author may not approve: the API's message is shown
    page.wait_for_selector(".el-message--error")
    page.context.close()

    # ... approved and issued by office2, the number shown, the PDF in the page
    page = _page(browser)
    login(page, base, "office2")
    page.goto(doc_url)
    page.click("[data-test=approve]")
    page.wait_for_selector("[data-test=doc-status]:has-text('已审批')")
    page.click("[data-test=issue]")
    page.wait_for_selector("[data-test=doc-number]:has-text('〔2026〕')", timeout=60_000)
    page.wait_for_selector("[data-test=doc-status]:has-text('已印发')", timeout=60_000)
    page.wait_for_selector("[data-test=pdf]")
    shot(page, "06-document-issued")
    page.click("[data-menu='/documents']")
    page.wait_for_selector("[data-test=documents] .el-table__row")
    shot(page, "07-documents")
    page.context.close()


def test_liaison_appeals_and_the_office_sees_it(server, browser):
    base = f"http://127.0.0.1:{server.port}"
    page = _page(browser)
    login(page, base, "liaison1")
    page.wait_for_selector("[data-test=unit-findings] .el-table__row")
    left = page.locator("[data-test=days-left]").first.inner_text()
    assert re.fullmatch(r"剩余 \d+ 个工作日(（暂定）)?", left), left
    body = page.inner_text("body")
    for name in ("王磊", "刘芳", "inspector"):  # nothing names an inspector
        assert name not in body
    shot(page, "08-unit-findings")
    page.locator("[data-test=unit-findings] .el-table__row").first.click()
    page.wait_for_selector("[data-test=appeal-text]")
    page.fill("#appeal-text", "当日为临时替岗人员，已附排班表")
    page.set_input_files("[data-test=appeal-files]", str(server.seed["photo"]))
    page.click("[data-test=appeal-submit]")
    page.wait_for_selector("[data-test=appeal-status]:has-text('待处理'), [data-test=appeal-status]")
    assert "王磊" not in page.inner_text("body")
    shot(page, "09-unit-finding-appeal")
    page.click("[data-menu='/unit/documents']")
    page.wait_for_selector("[data-test=unit-documents] .el-table__row")
    shot(page, "10-unit-documents")
    page.context.close()

    page = _page(browser)
    login(page, base, "office1")
    page.click("[data-menu='/cases']")
    page.wait_for_selector("[data-test=cases] .el-table__row:has-text('临时替岗')")
    assert page.locator("[data-test=cases] .el-table__row").get_by_role("button", name="A1.jpg").count() == 1
    shot(page, "11-office-appeals")
    page.context.close()


def test_leader_dashboard_and_admin_users(server, browser):
    base = f"http://127.0.0.1:{server.port}"
    page = _page(browser)
    login(page, base, "leader1")
    page.goto(f"{base}/console/dashboard?from=2026-11-01&to=2026-11-23")
    page.wait_for_selector("[data-test=chart-category] canvas")
    page.wait_for_selector("[data-figure=confirmed] .el-statistic__number:has-text('21')")  # the appealed one stays confirmed while pending
    shot(page, "12-leader-dashboard")
    page.context.close()

    page = _page(browser)
    login(page, base, "admin")
    page.click("[data-menu='/users']")
    page.wait_for_selector("[data-test=users] .el-table__row")
    shot(page, "13-admin-users")
    page.click("[data-test=new-user]")
    page.fill("#u-name", "office3")
    page.fill("#u-full", "孙明")
    page.fill("#u-pass", "a-long-enough-password")
    shot(page, "14-admin-new-user")
    page.click("[data-test=u-create]")
    page.wait_for_selector("[data-test=users] .el-table__row:has-text('office3')")
    page.click("[data-test=toggle-office3]")
    page.wait_for_selector("[data-test=users] .el-table__row:has-text('office3'):has-text('停用')")
    page.context.close()
