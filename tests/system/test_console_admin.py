"""The admin's screens of the console in a real browser against a real gunicorn on the demo data:
users (create a liaison, bind it to a unit, reset its password, disable it), the org registry tree with
search, an edit with its history and a stale write (412) that shows what the other admin changed, the
imports' dry-run preview (fields before → after) and its row/column/reason errors, checklists by system
and a template file checked, the holiday table import, and the escalation policy edited, checked and
saved as a new version. Each page gets a 1440×900 screenshot (docs/screenshots/console when
INSPECT_CONSOLE_SCREENSHOTS is set) and an accessibility snapshot with no unlabeled input."""

from __future__ import annotations

import os
import re

import pytest

from inspect_api.config import PROJECT_ROOT
from tests.system.phone import chromium, ensure_built
from tests.system.server import LiveServer, server_database_url
from tests.system.test_console import _page, login, shot

pytestmark = pytest.mark.slow
UNITS_CSV = PROJECT_ROOT / "inspect_api" / "demo_data" / "units.csv"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ensure_built()
    tmp = tmp_path_factory.mktemp("console-admin")
    srv = LiveServer(server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp), tmp / "instance")
    srv.prepare()
    srv.start()
    srv.tmp = tmp
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(server):
    path = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


def _base(server) -> str:
    return f"http://127.0.0.1:{server.port}"


def _admin(server):
    h, _ = server.token("admin")
    return h


def _unit(server, code: str) -> dict:
    _, rows, _ = server.request("GET", f"/api/v1/org/units?q={code}", headers=_admin(server))
    return next(u for u in rows if u["code"] == code)


def test_users_create_bind_reset_and_disable(server, browser):
    page = _page(browser)
    login(page, _base(server), "admin")
    page.click("[data-menu='/users']")
    page.wait_for_selector("[data-test=users] .el-table__row")
    page.click("[data-test=new-user]")
    page.fill("#u-name", "liaison9")
    page.fill("#u-full", "周婷")
    page.locator(".el-select", has=page.get_by_role("combobox", name="角色")).last.click()
    page.locator(".el-select-dropdown__item:visible", has_text="联络员").click()
    page.locator(".el-dialog:visible").get_by_role("combobox", name="单位").fill("市场监督")  # a liaison needs a unit
    page.locator(".el-select-dropdown__item:visible", has_text="市场监督管理局").click()
    page.fill("#u-pass", "first-password-9")
    page.click("[data-test=u-create]")
    row = "[data-test=users] .el-table__row:has-text('liaison9')"
    page.wait_for_selector(row)
    # bind the liaison to a unit (searched by name)
    page.locator(row).get_by_role("button", name="绑定单位").click()
    dialog = page.locator(".el-dialog:visible")
    dialog.get_by_role("combobox", name="单位").fill("人力资源")
    page.locator(".el-select-dropdown__item:visible", has_text="人力资源和社会保障局").click()
    shot(page, "admin-02-user-bind")
    dialog.get_by_role("button", name="保存").click()
    page.wait_for_selector(f"{row}:has-text('人力资源和社会保障局')")
    # reset the password: the old one stops working, the new one works
    page.locator(row).get_by_role("button", name="重置密码").click()
    page.get_by_role("textbox", name=re.compile("新密码")).fill("second-password-9")
    shot(page, "admin-03-user-reset-password")
    page.locator(".el-message-box").get_by_role("button", name="确定").click()
    page.wait_for_selector(".el-message--success:has-text('密码已重置')")
    assert server.request("POST", "/api/v1/auth/token", {"username": "liaison9", "password": "first-password-9"})[0] == 401
    assert server.request("POST", "/api/v1/auth/token", {"username": "liaison9", "password": "second-password-9"})[0] == 200
    # disable: the account can no longer log in
    page.click("[data-test=toggle-liaison9]")
    page.wait_for_selector("[data-test=toggle-liaison9]:has-text('启用')")
    assert server.request("POST", "/api/v1/auth/token", {"username": "liaison9", "password": "second-password-9"})[0] in (401, 403)
    page.get_by_role("textbox", name="搜索用户").fill("liaison")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=liaison"))
    shot(page, "admin-01-users")
    page.context.close()


def test_org_tree_search_edit_history_and_a_stale_write(server, browser):
    base = _base(server)
    page = _page(browser)
    login(page, base, "admin")
    page.click("[data-menu='/org']")
    page.wait_for_selector("[data-test=org-tree] [data-node]")
    page.locator("[data-test=org-tree] .el-tree-node__content", has_text="清川县人民政府").locator(".el-tree-node__expand-icon").click()
    page.locator("[data-test=org-tree] .el-tree-node__content", has_text="政务服务中心").locator(".el-tree-node__expand-icon").click()
    page.wait_for_selector("[data-test=org-tree] [data-node^=s]")  # staff under a window
    scjg = _unit(server, "QC-SCJG")
    page.locator(f"[data-test=org-tree] [data-node=u{scjg['id']}]").click()
    page.wait_for_url(re.compile(rf"sel=u{scjg['id']}"))
    page.wait_for_selector("[data-test=org-editor]")
    # an edit, then its history (before → after)
    page.fill("#org-units-phone", "0799-6100001")
    page.click("[data-test=org-save]")
    page.wait_for_selector(".el-message--success:has-text('已保存')")
    page.wait_for_selector("[data-test=org-history] .el-table__row:has-text('0799-6100001'):has-text('电话')")
    shot(page, "admin-04-org-tree")
    # another admin renames the unit meanwhile; this page still holds the old version
    current = _unit(server, "QC-SCJG")
    status, _, _ = server.request("PATCH", f"/api/v1/org/units/{scjg['id']}", {"name": "清川县市场监管局"},
                                  {**_admin(server), "If-Match": f'"v{current["version"]}"'})
    assert status == 200
    page.fill("#org-units-name", "清川县市场监督局")
    page.fill("#org-units-address", "清川县城关镇建设路18号")
    page.click("[data-test=org-save]")
    diff = page.locator(".stale-dialog [data-test=stale-diff]")
    diff.wait_for()
    name_row = diff.locator("tr[data-field=name]")
    assert "清川县市场监管局" in name_row.inner_text() and "清川县市场监督局" in name_row.inner_text()
    assert "stale-conflict" in (name_row.get_attribute("class") or "")
    assert diff.locator("tr[data-field=address]").count() == 0  # nobody else touched it
    shot(page, "admin-05-org-stale-write")
    page.get_by_role("button", name="载入最新数据").click()
    page.wait_for_function("document.querySelector('#org-units-name').value === '清川县市场监管局'")
    page.fill("#org-units-address", "清川县城关镇建设路18号")
    page.click("[data-test=org-save]")
    page.wait_for_selector("[data-test=org-history] .el-table__row:has-text('建设路18号')")
    # staff and service items of the unit, paginated on the server
    page.get_by_role("tab", name="服务事项").click()
    page.wait_for_url(re.compile(r"tab=items"))
    page.wait_for_selector("[data-test=org-items] .el-table__row")
    # search across units, staff and service items; the query is in the URL
    page.fill("[data-test=org-search]", "陈静")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=%E9%99%88%E9%9D%99|q=陈静"))
    page.locator("[data-test=org-hits] .el-table__row", has_text="陈静").click()
    page.wait_for_selector("#org-staff-badge_no")
    assert page.input_value("#org-staff-badge_no") == "QC-0001"
    shot(page, "admin-06-org-search-staff")
    page.reload()  # a shared link opens the same view
    page.wait_for_selector("#org-staff-badge_no")
    page.context.close()


def test_imports_preview_errors_then_import(server, browser):
    page = _page(browser)
    login(page, _base(server), "admin")
    page.click("[data-menu='/imports']")
    changed = server.tmp / "units.csv"
    text = UNITS_CSV.read_text(encoding="utf-8")
    changed.write_text(text.replace("赵永强", "赵永刚"), encoding="utf-8")
    page.set_input_files("[data-test=imp-file]", str(changed))
    page.click("[data-test=imp-dry]")
    page.wait_for_selector("[data-test=imp-report]")
    assert page.inner_text("[data-figure=updated]") == "1" and page.inner_text("[data-figure=created]") == "0"
    change = page.locator("[data-test=imp-rows] [data-change=head_name]")
    assert re.search(r"主要负责人：\s*赵永强\s*→\s*赵永刚", change.inner_text()), change.inner_text()
    shot(page, "admin-07-import-preview")
    assert "赵永强" in _unit(server, "QC-SCJG")["head_name"]  # a dry run stores nothing
    # a file with errors: each by row, column and reason, and nothing imported
    bad = server.tmp / "bad.csv"
    lines = text.splitlines()
    bad.write_text("\n".join([lines[0], lines[1], lines[2].replace(",部门,", ",星球,", 1),
                              "QC-NEW,,部门,QC,,,,,,,"]) + "\n", encoding="utf-8")
    page.set_input_files("[data-test=imp-file]", str(bad))
    page.click("[data-test=imp-dry]")
    page.wait_for_selector("[data-test=imp-errors] .el-table__row")
    rows = page.locator("[data-test=imp-errors] .el-table__row").all_inner_texts()
    assert len(rows) >= 2 and any("类型" in r for r in rows) and any("名称" in r for r in rows), rows
    assert page.get_by_role("button", name="确认导入").is_disabled()
    shot(page, "admin-08-import-errors")
    # the checked file, imported for real
    page.set_input_files("[data-test=imp-file]", str(changed))
    page.click("[data-test=imp-dry]")
    page.wait_for_selector("[data-test=imp-report]")
    page.click("[data-test=imp-run]")
    page.wait_for_selector(".el-message--success:has-text('已导入')")
    assert _unit(server, "QC-SCJG")["head_name"] == "赵永刚"
    page.context.close()


def test_checklists_by_system_and_a_template_checked(server, browser):
    page = _page(browser)
    login(page, _base(server), "admin")
    page.click("[data-menu='/checklists']")
    page.wait_for_selector("[data-test=cl-items] .el-table__row")
    page.locator(".el-select", has=page.get_by_role("combobox", name="检查表")).click()
    page.locator(".el-select-dropdown__item:visible", has_text="sanxiang_covert").click()
    page.wait_for_url(re.compile(r"code=sanxiang_covert"))
    page.wait_for_selector("[data-test=cl-items] .el-table__row:has-text('工牌')")
    page.get_by_role("tab", name=re.compile("限时办结")).click()
    page.wait_for_url(re.compile(r"system=time_limit"))
    shot(page, "admin-09-checklist-items")
    bad = server.tmp / "broken.yaml"
    source = (PROJECT_ROOT / "checklists" / "sanxiang_covert.yaml").read_text(encoding="utf-8")
    bad.write_text(source.replace("severity: minor", "severity: tiny", 1).replace("version: 1", "version: 2", 1),
                   encoding="utf-8")
    page.set_input_files("[data-test=cl-file]", str(bad))
    page.click("[data-test=cl-validate]")
    page.wait_for_selector("[data-test=cl-problems] .el-table__row:has-text('A1')")
    assert "severity" in page.inner_text("[data-test=cl-problems]")
    shot(page, "admin-10-checklist-problems")
    good = server.tmp / "good.yaml"
    good.write_text(source.replace("version: 1", "version: 2", 1), encoding="utf-8")
    page.set_input_files("[data-test=cl-file]", str(good))
    page.click("[data-test=cl-validate]")
    page.wait_for_selector("[data-test=cl-valid]:has-text('尚未发布')")
    page.context.close()


def test_holiday_table_import(server, browser):
    page = _page(browser)
    login(page, _base(server), "admin")
    page.click("[data-menu='/calendar']")
    page.wait_for_selector("[data-test=cal-years] [data-year='2027']:has-text('推算')")
    bad = server.tmp / "2027-bad.csv"
    bad.write_text("date,kind,name\n2027-01-01,holiday,元旦\n2027-13-01,holiday,x\n2027-01-04,party,y\n", encoding="utf-8")
    page.set_input_files("[data-test=cal-file]", str(bad))
    page.click("[data-test=cal-import]")
    page.wait_for_selector("[data-test=cal-errors] .el-table__row")
    assert page.locator("[data-test=cal-errors] .el-table__row").count() == 2
    shot(page, "admin-11-calendar-errors")
    good = server.tmp / "2027.csv"
    good.write_text("date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n",
                    encoding="utf-8")
    page.set_input_files("[data-test=cal-file]", str(good))
    page.click("[data-test=cal-import]")
    page.wait_for_selector("[data-test=cal-result]:has-text('节假日 3 天')")
    page.wait_for_selector("[data-test=cal-years] [data-year='2027']:has-text('已导入')")
    shot(page, "admin-12-calendar")
    page.context.close()


def test_escalation_policy_edit_validate_save_and_a_stale_save(server, browser):
    base = _base(server)
    page = _page(browser)
    login(page, base, "admin")
    page.click("[data-menu='/policy']")
    page.wait_for_selector("[data-test=policy-rules] .el-table__row")
    assert page.inner_text("[data-test=policy-version]") == "1"
    shot(page, "admin-13-policy")
    text = page.input_value("#policy-text")
    # the version not raised and an unknown action: both listed, nothing saved
    page.fill("#policy-text", text.replace("propose: efficiency_warning", "propose: firing_squad", 1))
    page.click("[data-test=policy-validate]")
    page.wait_for_selector("[data-test=policy-problems] .el-table__row")
    problems = page.inner_text("[data-test=policy-problems]")
    assert "firing_squad" in problems and "version" in problems
    page.locator("[data-test=policy-problems]").scroll_into_view_if_needed()
    shot(page, "admin-14-policy-problems")
    page.fill("#policy-text", text.replace("version: 1", "version: 2", 1))
    page.click("[data-test=policy-validate]")
    page.wait_for_selector("[data-test=policy-valid]:has-text('第 2 版')")
    page.click("[data-test=policy-save]")
    page.wait_for_selector(".el-message--success:has-text('已保存为第 2 版')")
    page.wait_for_selector("[data-test=policy-version]:text('2')")
    # another admin saves version 3 meanwhile: this page's save says so and reloads
    status, out, _ = server.request("PUT", "/api/v1/accountability/policy", {"text": text.replace("version: 1", "version: 3", 1)},
                                    {**_admin(server), "If-Match": '"v2"'})
    assert status == 201, out
    page.fill("#policy-text", text.replace("version: 1", "version: 3", 1).replace("rules:", "# 注释\nrules:", 1))
    page.click("[data-test=policy-save]")
    diff = page.locator(".stale-dialog [data-test=stale-diff]")
    diff.wait_for()
    assert "3" in diff.locator("tr[data-field=version]").inner_text()
    shot(page, "admin-15-policy-stale")
    page.get_by_role("button", name="载入最新数据").click()
    page.wait_for_selector("[data-test=policy-version]:text('3')")
    page.context.close()


def test_the_admin_menu_lists_the_new_screens(server, browser):
    page = _page(browser)
    login(page, _base(server), "admin")
    menu = [t.strip() for t in page.locator("[data-test=menu] [data-menu]").all_inner_texts()]
    for title in ("用户管理", "组织机构", "数据导入", "检查表", "节假日", "问责规则"):
        assert title in menu
    page.context.close()
    # the office does not see them, and the API refuses it anyway
    page = _page(browser)
    login(page, _base(server), "office1")
    assert "组织机构" not in page.locator("[data-test=menu]").inner_text()
    page.goto(f"{_base(server)}/console/policy")
    page.wait_for_selector("[data-test=menu]")
    assert "/console/policy" not in page.url
    page.context.close()
