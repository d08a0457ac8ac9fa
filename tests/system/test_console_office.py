"""The office's remaining console screens in a real browser against a real gunicorn and render worker
(the seeded server of test_console.py, its own instance for this module): a complaint entered by
telephone goes through the inbox, is assigned, forwarded to the unit, investigated by the unit's liaison
(who never sees who complained), answered and closed; a sampling plan is created, committed, drawn and
verified, and a conflict declared and withdrawn; a rule's proposal becomes a case that a second office
user approves and sends, the referral letter's PDF rendered with its progress shown, its outcome recorded;
a survey draw and a grade run whose grades explain themselves, approved by a second user; rankings,
ratings, the printable QR sheet, a document's exports, and the liaison's 差评 follow-up. Every page: the
accessibility snapshot with no unlabeled input, a 1440×900 screenshot (INSPECT_CONSOLE_SCREENSHOTS)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.system import test_console
from tests.system.test_console import _page, login, shot
from tests.system.workload import multipart

# the seeded server (with its render worker) and the browser of test_console.py, one of each for this module
server = test_console.server
browser = test_console.browser

pytestmark = pytest.mark.slow


def base_of(srv) -> str:
    return f"http://127.0.0.1:{srv.port}"


def api(srv, method, path, body=None, user="office1"):
    headers, _ = srv.token(user)
    status, out, _ = srv.request(method, path, body, headers)
    assert status < 300, (status, out)
    return out


def unit_id(srv, code: str, q: str) -> int:
    return next(u["id"] for u in api(srv, "GET", f"/api/v1/org/units?q={quote(q)}") if u["code"] == code)


def choose(page, label: str, option: str, typed: str | None = None) -> None:
    """Pick an option of an Element Plus select named `label` (typing `typed` first for a remote one)."""
    box = page.get_by_role("combobox", name=label)
    page.locator(".el-select", has=box).click()
    if typed:
        box.press_sequentially(typed, delay=30)
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def confirm_box(page) -> None:
    page.locator(".el-message-box .el-button--primary").click()


@pytest.fixture(scope="module")
def severe_complaint(server) -> None:
    """A complaint against 1号窗口's 陈静, investigated and found true, severe (a confirmed finding): once
    for the module, as the grades' expectations count it once."""
    srv = server
    window = unit_id(srv, "QC-W01", "1号窗口")
    staff = next(s for s in api(srv, "GET", f"/api/v1/org/staff?q={quote('陈静')}") if s["unit_id"] == window)
    c = api(srv, "POST", "/api/v1/complaints", {"channel": "hotline", "unit_id": window, "window_no": "1",
                                                 "staff_id": staff["id"], "content": "窗口工作人员当众辱骂办事群众。"})
    api(srv, "POST", f"/api/v1/complaints/{c['id']}/assign", {})
    api(srv, "POST", f"/api/v1/complaints/{c['id']}/investigation", {"note": "调取录音核实属实"})
    api(srv, "POST", f"/api/v1/complaints/{c['id']}/close", {
        "outcome": "substantiated", "reason": "辱骂群众属实", "category": "poor_attitude", "severity": "severe",
        "staff_id": staff["id"]})


def test_a_complaint_from_the_inbox_to_the_unit_and_closed(server, browser):
    base = base_of(server)
    scjg = unit_id(server, "QC-SCJG", "市场监督")
    # an older complaint with a longer time limit: the inbox puts the new, sooner one first
    api(server, "POST", "/api/v1/complaints", {"channel": "letter", "unit_id": scjg, "level": "citizen_multi_department",
                                                "content": "来信反映多个部门之间相互推诿，办理营业执照跑了五趟。"})
    page = _page(browser)
    login(page, base, "office1")
    page.click("[data-menu='/complaints']")
    page.wait_for_selector("[data-test=complaints] .el-table__row")
    page.click("[data-test=new-complaint]")
    choose(page, "被投诉单位", "清川县市场监督管理局", typed="市场监督")
    choose(page, "问题类别", "服务态度差")
    page.fill("#n-window", "3")
    page.fill("#n-content", "11月20日上午在3号窗口办理营业执照，工作人员一直玩手机，问了三遍才抬头。")
    page.fill("#n-name", "王先生")
    page.fill("#n-phone", "13800138000")
    choose(page, "办理时限", "一般")
    shot(page, "30-complaint-new")
    page.click("[data-test=n-save]")
    page.wait_for_selector(".el-message-box:has-text('查询码')")
    tracking = re.search(r"TS\d{4}-\d{6}", page.inner_text(".el-message-box")).group(0)
    confirm_box(page)
    page.wait_for_url(re.compile(r"/complaints/\d+$"))
    detail_url = page.url
    page.click("[data-menu='/complaints']")
    page.wait_for_selector(f"[data-test=complaints] .el-table__row:has-text('{tracking}')")
    first = page.locator("[data-test=complaints] .el-table__row").first.inner_text()
    assert tracking in first  # earliest deadline first
    shot(page, "31-complaints-inbox")

    page.goto(detail_url)
    page.click("[data-test=do-assign]")
    page.click("[data-test=step-save]")
    page.wait_for_selector("[data-test=c-status]:has-text('已分办')")
    page.click("[data-test=do-forward]")
    page.fill("#f-note", "请核实3号窗口工作人员当日工作纪律情况并报送")
    page.click("[data-test=step-save]")
    page.wait_for_selector("[data-test=c-status]:has-text('已转单位调查核实')")
    shot(page, "32-complaint-detail")
    page.context.close()

    # the liaison investigates, and never learns who complained
    page = _page(browser)
    login(page, base, "liaison1")
    page.click("[data-menu='/unit/complaints']")
    page.wait_for_selector("[data-test=unit-complaints] .el-table__row:has-text('玩手机')")
    body = page.inner_text("body")
    assert "王先生" not in body and "13800138000" not in body and tracking not in body
    left = page.locator("[data-test=days-left]").first.inner_text()
    assert re.fullmatch(r"剩余 \d+ 个工作日(（暂定）)?", left), left
    shot(page, "33-unit-complaints")
    page.click("[data-test=unit-report]")
    page.fill("#u-report", "经调取监控核实，该工作人员当日确有使用手机情况，已批评教育。")
    shot(page, "34-unit-complaint-report")
    page.click("[data-test=unit-report-save]")
    page.wait_for_selector(".el-message--success:has-text('已报送')")
    page.context.close()

    page = _page(browser)
    login(page, base, "office1")
    page.goto(detail_url)
    page.wait_for_selector("text=经调取监控核实")
    page.click("[data-test=do-investigation]")
    assert "经调取监控核实" in page.input_value("#f-inv")  # starts from the unit's report
    page.click("[data-test=step-save]")
    page.wait_for_selector("[data-test=c-status]:has-text('调查核实完毕')")
    # closing before answering a complainant who left a phone: the API's own words
    page.click("[data-test=do-close]")
    page.fill("#f-reason", "情况属实，已责成单位整改")
    page.click("[data-test=step-save]")
    page.wait_for_selector(".el-message--error:has-text('须先答复投诉人')")
    page.locator(".el-dialog:visible .el-button:has-text('取消')").click()
    page.click("[data-test=do-answer]")
    choose(page, "答复方式", "电话")
    page.fill("#f-text", "您反映的问题经核实属实，已责成单位批评教育并整改。")
    page.click("[data-test=step-save]")
    page.wait_for_selector("[data-test=c-status]:has-text('已答复投诉人')")
    page.click("[data-test=do-close]")
    page.fill("#f-reason", "经核实属实，单位已批评教育")
    page.click("[data-test=step-save]")
    page.wait_for_selector("[data-test=c-status]:has-text('已办结')")
    page.wait_for_selector("[data-test=history] :text('单位报送调查情况')")
    page.context.close()


def _fill_new_plan(page, code: str, title: str, start: str, end: str, size: str = "3") -> None:
    """Open the sampling page's new-plan form and fill it in (not yet sent)."""
    page.click("[data-menu='/sampling']")
    page.wait_for_selector("[data-test=plans]")
    page.click("[data-test=new-plan]")
    page.fill("#p-code", code)
    page.fill("#p-title", title)
    page.fill("#p-start", start)
    page.keyboard.press("Enter")
    page.fill("#p-end", end)
    page.keyboard.press("Enter")
    page.fill("#p-size", size)


def test_a_sampling_plan_is_committed_drawn_and_verified_and_a_conflict_declared(server, browser):
    base = base_of(server)
    page = _page(browser)
    login(page, base, "office1")
    _fill_new_plan(page, "2026-12-W", "2026年12月窗口暗访抽查", "2026-12-01", "2026-12-31")
    shot(page, "35-sampling-new")
    page.click("[data-test=create-plan]")
    page.wait_for_url(re.compile(r"/sampling/\d+$"))
    page.click("[data-test=commit]")
    page.wait_for_selector("[data-test=plan-status]:has-text('已承诺种子')")
    assert re.fullmatch(r"[0-9a-f]{64}", page.inner_text("[data-test=commitment]").strip())
    page.get_by_role("textbox", name="公共随机数").fill("2026156期 07 12 19 23 28 31")
    page.click("[data-test=draw]")
    page.wait_for_selector("[data-test=plan-status]:has-text('已抽取')")
    page.wait_for_selector("[data-test=assignments] .el-table__row, [data-test=problems]")
    page.click("[data-test=verify]")
    page.wait_for_selector("[data-test=verified]:has-text('校验通过')")
    shot(page, "36-sampling-plan")
    page.click("[data-menu='/sampling']")
    page.wait_for_selector("[data-test=plans] .el-table__row:has-text('2026-12-W')")
    shot(page, "37-sampling-plans")

    page.click("[data-test=tab-conflicts]")
    page.wait_for_url(re.compile(r"tab=conflicts"))
    page.click("[data-test=new-conflict]")
    choose(page, "督查员", "王磊")
    choose(page, "回避单位", "清川县公安局", typed="公安")
    page.fill("#c-reason", "配偶在该单位工作")
    page.click("[data-test=c-save]")
    page.wait_for_selector("[data-test=conflicts] .el-table__row:has-text('配偶在该单位工作')")
    shot(page, "38-sampling-conflicts")
    page.locator("[data-test=conflicts] .el-table__row:has-text('配偶') .el-button").click()
    confirm_box(page)
    page.wait_for_selector(".el-message--success:has-text('已撤销')")
    page.wait_for_selector("[data-test=conflicts] .el-table__empty-text")

    # a plan whose visits fit no window's opening hours: each problem names its window, not only its id
    plan = api(server, "POST", "/api/v1/sampling/plans", {
        "code": "2026-12-L", "title": "超长检查时长", "period_start": "2026-12-01", "period_end": "2026-12-31",
        "pool": {"kinds": ["window"]}, "sample_size": 2, "min_per_stratum": 0, "visit_minutes": 480})
    api(server, "POST", f"/api/v1/sampling/plans/{plan['id']}/commit")
    api(server, "POST", f"/api/v1/sampling/plans/{plan['id']}/draw", {})
    page.goto(f"{base}/console/sampling/{plan['id']}")
    page.wait_for_selector("[data-test=problems]:has-text('1号窗口（市场准入）：单位')")
    shot(page, "38b-sampling-problems")
    page.context.close()


def test_a_plan_longer_than_a_year_is_refused_in_the_form_with_its_reason(server, browser):
    """The server's bound on a plan's period (366 days) reaches the office as a message in the form,
    which keeps what was typed; nothing is created."""
    base = base_of(server)
    page = _page(browser)
    login(page, base, "office1")
    _fill_new_plan(page, "2026-LONG", "跨两年的抽查", "2026-01-01", "2027-12-31")
    page.click("[data-test=create-plan]")
    page.wait_for_selector(".el-message--error:has-text('一个计划最长 366 天')")
    assert page.input_value("#p-code") == "2026-LONG" and page.input_value("#p-end") == "2027-12-31"
    assert page.locator("[data-test=create-plan]").is_visible()  # the form stays open
    shot(page, "35b-sampling-too-long")
    assert not [p for p in api(server, "GET", "/api/v1/sampling/plans") if p["code"] == "2026-LONG"]
    page.fill("#p-end", "2026-12-31")  # corrected in the same form, it goes through
    page.keyboard.press("Enter")
    page.click("[data-test=create-plan]")
    page.wait_for_url(re.compile(r"/sampling/\d+$"))


def test_a_proposal_becomes_a_case_approved_sent_with_its_referral_pdf_and_decided(server, browser, severe_complaint):
    base = base_of(server)
    # a complaint found true against a named member of staff, severe (severe_complaint): the rules propose a referral
    page = _page(browser)
    login(page, base, "office1")
    page.click("[data-menu='/accountability']")
    page.click("[data-test=run-rules]")
    page.wait_for_selector(".el-message--success:has-text('规则已运行')")
    page.wait_for_selector("[data-test=proposals] .el-table__row:has-text('陈静')")
    shot(page, "39-accountability-proposals")
    page.locator("[data-test=proposals] .el-table__row:has-text('陈静') [data-test=open-case]").first.click()
    assert "陈静" in page.input_value("#case-title")
    page.click("[data-test=case-save]")
    page.wait_for_url(re.compile(r"/accountability/cases/\d+$"))
    case_url = page.url
    page.wait_for_selector("[data-test=case-status]:has-text('立案')")
    page.click("[data-test=case-approve]")  # who opened it may not approve it: the API's words
    page.wait_for_selector(".el-message--error:has-text('立案人以外')")
    page.context.close()

    page = _page(browser)
    login(page, base, "office2")
    page.goto(case_url)
    page.click("[data-test=case-approve]")
    page.wait_for_selector("[data-test=case-status]:has-text('已审批')")
    page.click("[data-test=case-send]")
    page.wait_for_selector("[data-test=progress]:has-text('PDF')")  # the render's progress is shown
    page.wait_for_selector("[data-test=referral-pdf]", timeout=90_000)
    page.wait_for_selector("[data-test=case-number]:has-text('〔2026〕')")
    page.wait_for_selector("[data-test=case-status]:has-text('已移送')")
    shot(page, "40-accountability-case-sent")
    page.click("[data-test=case-outcome]")
    choose(page, "处理结果", "诫勉谈话")
    page.fill("#out-note", "县纪委监委〔2026〕12号")
    page.click("[data-test=outcome-save]")
    page.wait_for_selector("[data-test=case-status]:has-text('已处理')")
    page.click("[data-test=case-close]")
    page.wait_for_selector("[data-test=case-status]:has-text('已结案')")
    page.click("[data-menu='/accountability']")
    page.click("[data-test=tab-cases]")
    page.wait_for_selector("[data-test=acc-cases] .el-table__row:has-text('已结案')")
    shot(page, "41-accountability-cases")
    page.context.close()


def test_a_survey_draw_and_grades_that_explain_themselves_approved_by_a_second_user(server, browser, severe_complaint):
    base = base_of(server)
    page = _page(browser)
    login(page, base, "office1")
    page.goto(f"{base}/console/assessment?year=2026")
    page.wait_for_selector("[data-test=draws]")
    page.click("[data-test=new-assessment]")
    # more than any window's ratings (the most, 3号窗口, has 41): every rating is drawn, so the grades
    # below do not depend on the seed (with 20 of 1号窗口's 32 ratings, about one seed in 36 leaves it 合格)
    page.fill("#a-per", "45")
    shot(page, "42-assessment-new-draw")
    page.click("[data-test=assessment-save]")
    page.wait_for_url(re.compile(r"/assessment/draws/\d+$"))
    page.click("[data-test=draw-commit]")
    page.wait_for_selector("[data-test=draw-status]:has-text('已承诺种子')")
    page.click("[data-test=draw-run]")
    page.wait_for_selector("[data-test=draw-status]:has-text('已抽取')")
    page.click("[data-test=draw-verify]")
    page.wait_for_selector("[data-test=draw-verified]:has-text('校验通过')")
    page.wait_for_selector("[data-test=draw-units] .el-table__row")
    shot(page, "43-assessment-draw")
    page.goto(f"{base}/console/assessment?year=2026&tab=runs")
    page.wait_for_selector("[data-test=runs]")
    page.click("[data-test=new-assessment]")
    page.wait_for_selector(".el-dialog:visible .el-select__selected-item:has-text('第')")
    page.click("[data-test=assessment-save]")
    page.wait_for_url(re.compile(r"/assessment/runs/\d+$"))
    run_url = page.url
    page.wait_for_selector("[data-test=grades] .el-table__row")
    # 1号窗口 scored 优秀 but a rule lowered it: its steps say which and why
    page.locator("[data-test=grades] .el-table__row:has-text('1号窗口') .el-table__expand-icon").click()
    page.wait_for_selector("[data-test=grade-steps] .el-table__row:has-text('优秀 → 合格')")
    shot(page, "44-assessment-grades")
    page.context.close()

    page = _page(browser)
    login(page, base, "office2")
    page.goto(run_url)
    page.click("[data-test=run-approve]")
    page.wait_for_selector("[data-test=run-status]:has-text('已审批')")
    page.context.close()


def test_rankings_ratings_qr_sheet_exports_and_the_liaisons_follow_up(server, browser):
    base = base_of(server)
    scjg = unit_id(server, "QC-SCJG", "市场监督")
    headers, _ = server.token("office1")
    data, ctype = multipart({}, "file", "bad.csv", (
        "单位编码,窗口号,评分,原因,评价内容,评价日期,外部编号\n"
        "QC-SCJG,1,1,,办事窗口无人值守,2026-11-20,SHB-2026-09001\n").encode(), "text/csv")
    status, out, _ = server.request("POST", "/api/v1/ratings/import", data, {**headers, "Content-Type": ctype})
    assert status == 200 and out["created"] == 1, out
    doc = api(server, "POST", "/api/v1/documents", {"kind": "bulletin", "selection": {
        "period_start": "2026-11-01", "period_end": "2026-11-23"}})

    page = _page(browser)
    login(page, base, "leader1")
    page.click("[data-menu='/rankings']")
    page.fill("#rank-period", "2026")
    page.click("[data-test=rank-go]")
    page.wait_for_url(re.compile(r"period=2026"))
    page.wait_for_selector("[data-test=ranking] .el-table__row")
    page.wait_for_selector("[data-test=rank-period]:has-text('2026')")
    page.locator("[data-test=ranking] .el-table__expand-icon").first.click()
    page.wait_for_selector("[data-test=rank-explain]:has-text('得分说明')")
    page.locator(".el-main").evaluate("e => e.scrollTo(0, 0)")
    shot(page, "45-rankings")
    page.context.close()

    page = _page(browser)
    login(page, base, "office1")
    page.click("[data-menu='/ratings']")
    page.wait_for_selector("[data-test=rating-summary]")
    page.wait_for_selector("[data-test=ratings] .el-table__row")
    shot(page, "46-ratings")
    page.click("[data-test=tab-follow-ups]")
    page.wait_for_selector("[data-test=follow-ups] .el-table__row")
    page.goto(f"{base}/console/ratings?tab=follow-ups&unit_id={scjg}")  # a filter in the URL
    page.wait_for_selector("[data-test=follow-ups] .el-table__row:has-text('无人值守')")
    assert page.locator("[data-test=follow-ups] .el-table__row").count() == 1
    page.wait_for_selector(".filters .el-select:has-text('清川县市场监督管理局')")  # the unit named, not its id
    shot(page, "47-rating-follow-ups")
    page.click("[data-test=tab-qr]")
    choose(page, "单位", "1号窗口", typed="1号窗口")
    page.click("[data-test=qr-make]")
    page.wait_for_selector("[data-test=qr-pdf]", timeout=60_000)
    shot(page, "48-rating-qr-sheet")
    page.goto(f"{base}/console/documents/{doc['id']}")
    page.wait_for_selector("[data-test=exports]")
    with page.expect_download() as dl:
        page.click("[data-test=export-xlsx]")
    assert dl.value.suggested_filename.endswith(".xlsx")
    with page.expect_download() as dl:
        page.click("[data-test=export-docx]")
    assert dl.value.suggested_filename.endswith(".docx")
    page.context.close()

    page = _page(browser)
    login(page, base, "liaison1")
    page.click("[data-menu='/unit/follow-ups']")
    page.wait_for_selector("[data-test=unit-follow-ups] .el-table__row:has-text('2026-11-20')")
    assert "无人值守" not in page.inner_text("body")  # the comment stays with the office (ratings policy)
    assert page.inner_text("[data-test=days-left]") == "剩余 5 个工作日"
    shot(page, "49-unit-follow-ups")
    page.click("[data-test=fu-close]")
    page.fill("#fu-note", "已安排AB角补位，窗口不再空岗")
    page.click("[data-test=fu-save]")
    page.wait_for_selector(".el-message--success:has-text('已办结')")
    page.wait_for_selector("[data-test=unit-follow-ups] .el-table__empty-text")
    page.context.close()
