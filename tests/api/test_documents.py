"""Documents end to end: draft → preview → approval by a second user → issue with a number → the
worker renders the frozen PDF in a child process → units read what names them. PDFs are read back."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from inspect_api.audit.models import AuditEvent
from inspect_api.db import db
from inspect_api.documents import worker
from tests.api.conftest import decide
from tests.helpers import bearer, field_errors, headers_for, login, make_unit, make_user

pytestmark = pytest.mark.slow


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture()
def office_pair(client):
    a, b = make_user("office"), make_user("office")
    return (bearer(login(client, a.username)["access_token"]), bearer(login(client, b.username)["access_token"]))


@pytest.fixture()
def confirmed(client, field, submitted, office_pair):
    author, _ = office_pair
    for fid in (submitted["badge"], submitted["attitude"]):
        assert decide(client, author, fid, "confirm").status_code == 200
    return submitted


def render_all() -> int:
    n = 0
    while worker.run_once():
        n += 1
    return n


def test_a_criticism_notice_from_draft_to_issued_pdf(client, field, confirmed, office_pair, clock):
    author, approver = office_pair
    body = {"kind": "criticism", "selection": {"finding_ids": [confirmed["badge"], confirmed["attitude"]]}}
    resp = client.post("/api/v1/documents", headers=author, json=body)
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["status"] == "draft" and doc["number"] is None and resp.headers["ETag"] == '"v1"'
    assert doc["wording"]["requirements"]  # the policy's default text to start from
    url = f"/api/v1/documents/{doc['id']}"

    edit = client.patch(url, headers={**author, "If-Match": '"v1"'},
                        json={"title": "关于县政务服务中心窗口服务问题的通报批评"})
    assert edit.status_code == 200 and edit.get_json()["version"] == 2
    stale = client.patch(url, headers={**author, "If-Match": '"v1"'}, json={"title": "别的标题"})
    assert stale.status_code == 412

    # a preview: 202 and a status URL; the worker renders it in a child process
    job = client.post(f"{url}/render", headers=author)
    assert job.status_code == 202 and job.headers["Location"].endswith(f"/render-jobs/{job.get_json()['id']}")
    assert client.post(f"{url}/render", headers=author).get_json()["id"] == job.get_json()["id"]  # not twice
    assert client.get(f"{url}/pdf", headers=author).get_json()["error"]["code"] == "no_preview"
    assert render_all() == 1
    status = client.get(job.headers["Location"], headers=author).get_json()
    assert status["status"] == "done" and status["page_count"] >= 1 and status["peak_rss_mb"] > 0
    preview = client.get(f"{url}/pdf", headers=author)
    text = flat(pdf_text(preview.data))
    assert "草稿" in text and "关于县政务服务中心窗口服务问题的通报批评" in text and "周敏" in text
    # a covert visit's time only as precisely as units may know it (review policy: half_day)
    assert "2026年11月23日上午" in text and "9时30分" not in text and "09:30" not in text

    # issue needs approval; the author cannot approve
    assert client.post(f"{url}/issue", headers=author).status_code == 409
    own = client.post(f"{url}/approve", headers=author)
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "own_document"
    assert client.post(f"{url}/approve", headers={**approver, "If-Match": '"v1"'}).status_code == 412
    assert client.post(f"{url}/approve", headers=approver).get_json()["status"] == "approved"
    assert client.patch(url, headers=author, json={"title": "改"}).status_code == 409  # approved: frozen

    issued = client.post(f"{url}/issue", headers=approver)
    assert issued.status_code == 202
    doc = client.get(url, headers=author).get_json()
    assert doc["status"] == "issuing" and doc["number"] == "清效督〔2026〕1号"
    assert render_all() == 1
    doc = client.get(url, headers=author).get_json()
    assert doc["status"] == "issued" and doc["pdf_sha256"]

    first = client.get(f"{url}/pdf", headers=author)
    second = client.get(f"{url}/pdf", headers=approver)
    assert first.data == second.data and first.headers["ETag"] == f'"{doc["pdf_sha256"]}"'
    text = flat(pdf_text(first.data))
    assert "清效督〔2026〕1号" in text and "草稿" not in text
    assert "县政务服务中心" in text and "2026年11月23日" in text and "—1—" in text
    assert PdfReader(io.BytesIO(first.data)).pages[0].mediabox.width == pytest.approx(595.3, abs=1)
    # never rendered again, never edited again
    assert client.post(f"{url}/render", headers=author).status_code == 409
    assert client.post(f"{url}/issue", headers=author).status_code == 409
    assert render_all() == 0 and client.get(f"{url}/pdf", headers=author).data == first.data

    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "document",
                                                                    AuditEvent.entity_id == str(doc["id"]))
                                 .order_by(AuditEvent.seq)).all()
    assert actions == ["document.create", "document.update", "document.approve", "document.issue",
                       "document.issued"]


def test_units_read_issued_documents_that_name_them_and_nothing_else(client, field, confirmed, office_pair):
    author, approver = office_pair
    liaison = headers_for(client, "unit_liaison", field.unit)
    other = headers_for(client, "unit_liaison", make_unit(name="别的单位"))
    doc = client.post("/api/v1/documents", headers=author, json={
        "kind": "rectification", "selection": {"unit_id": field.unit.id, "finding_ids": [confirmed["badge"]]}}).get_json()
    url = f"/api/v1/documents/{doc['id']}"
    assert client.get(url, headers=liaison).status_code == 404  # a draft: the unit does not know of it
    client.post(f"{url}/approve", headers=approver)
    client.post(f"{url}/issue", headers=approver)
    render_all()
    [mine] = client.get("/api/v1/unit/documents", headers=liaison).get_json()
    assert mine["number"] == "清效督〔2026〕1号" and "created_by" not in mine
    pdf = client.get(f"{url}/pdf", headers=liaison)
    assert pdf.status_code == 200 and "整改" in pdf_text(pdf.data)
    assert "document.issued" in [n["kind"] for n in client.get("/api/v1/me/notifications", headers=liaison).get_json()]
    assert client.get("/api/v1/unit/documents", headers=other).get_json() == []
    assert client.get(f"{url}/pdf", headers=other).status_code == 404
    assert client.get(url, headers=headers_for(client, "inspector")).status_code == 403


def test_bad_selections_are_422_and_store_nothing(client, field, submitted, office_pair):
    author, _ = office_pair
    pending = client.post("/api/v1/documents", headers=author,
                          json={"kind": "criticism", "selection": {"finding_ids": [submitted["badge"]]}})
    assert pending.status_code == 422 and "finding_ids" in field_errors(pending)
    for body in ({"kind": "criticism", "selection": {}},
                 {"kind": "rectification", "selection": {"finding_ids": [submitted["badge"]]}},
                 {"kind": "bulletin", "selection": {"period_start": "2026-11-30", "period_end": "2026-11-01"}},
                 {"kind": "commendation", "selection": {"entries": [{"unit_id": 999999, "reason": "x"}]}},
                 {"kind": "memo", "selection": {}}):
        assert client.post("/api/v1/documents", headers=author, json=body).status_code == 422, body
    assert client.get("/api/v1/documents", headers=author).get_json() == []


def test_a_bulletin_with_ranking_exports_and_docx(client, field, confirmed, office_pair):
    author, approver = office_pair
    clean = make_unit(name="县不动产登记中心", kind="window")
    # a second visited unit with no findings: commended, ranked first
    from tests.api.conftest import new_id

    vid = new_id()
    body = field.visit(unit_id=clean.id, staff_id=None, window_no="1",
                       responses=[{"item_code": "A2", "answer": "yes"}])
    assert client.put(f"/api/v1/visits/{vid}", json=body, headers=field.ha).status_code == 201
    assert client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).status_code == 200
    doc = client.post("/api/v1/documents", headers=author, json={
        "kind": "bulletin", "selection": {"period_start": "2026-11-01", "period_end": "2026-11-30"}}).get_json()
    assert doc["title"] == "关于2026年11月机关效能建设督查情况的通报"
    url = f"/api/v1/documents/{doc['id']}"

    ranking = client.get(f"{url}/data.csv?table=ranking", headers=author)
    assert ranking.status_code == 200 and ranking.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(ranking.data.decode("utf-8-sig"))))
    assert rows[0] == ["排名", "单位", "得分", "问题数", "名次变化"]
    assert rows[1][:4] == ["1", "县不动产登记中心", "100.0", "0"]
    # badge (A1: 2 points) + attitude (E1's points): below 100
    assert rows[2][1] == "县政务服务中心" and float(rows[2][2]) < 100 and rows[2][3] == "2"
    cases = list(csv.reader(io.StringIO(client.get(f"{url}/data.csv?table=cases", headers=author)
                                        .data.decode("utf-8-sig"))))
    assert len(cases) == 3 and cases[1][4] in ("服务态度生冷、粗暴", "未佩戴工牌 / 未亮牌上岗")
    assert client.get(f"{url}/data.csv?table=bogus", headers=author).status_code == 422

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(client.get(f"{url}/data.xlsx", headers=author).data))
    assert wb.sheetnames == ["单位排名", "问题分类", "进驻部门汇总", "问题清单"]
    assert wb["单位排名"]["B2"].value == "县不动产登记中心"

    from docx import Document as Docx

    docx = Docx(io.BytesIO(client.get(f"{url}/draft.docx", headers=author).data))
    text = "\n".join(p.text for p in docx.paragraphs)
    assert doc["title"] in text and "（草稿，未编号）" in text

    client.post(f"{url}/approve", headers=approver)
    client.post(f"{url}/issue", headers=approver)
    render_all()
    pdf = client.get(f"{url}/pdf", headers=author)
    text = flat(pdf_text(pdf.data))
    assert "县不动产登记中心" in text and "县政务服务中心" in text and "2026年11月" in text
    assert client.get(f"{url}/draft.docx", headers=author).status_code == 409  # the PDF is the record
    leader = headers_for(client, "leader")
    assert client.get(f"{url}/data.csv", headers=leader).status_code == 200


def test_a_failed_render_is_reported_and_can_be_retried(client, field, confirmed, office_pair, app):
    author, approver = office_pair
    doc = client.post("/api/v1/documents", headers=author, json={
        "kind": "commendation", "selection": {"entries": [{"unit_id": field.unit.id, "reason": "服务热情"}]}}).get_json()
    url = f"/api/v1/documents/{doc['id']}"
    client.post(f"{url}/approve", headers=approver)
    client.post(f"{url}/issue", headers=approver)
    app.config["INSPECT_RENDER_TIMEOUT_S"] = 0  # the child cannot finish in time
    try:
        render_all()
    finally:
        app.config["INSPECT_RENDER_TIMEOUT_S"] = 600
    job = db.session.execute(sa.text("SELECT status, error FROM render_jobs ORDER BY id DESC")).first()
    assert job.status == "failed" and "超时" in job.error
    assert client.get(url, headers=author).get_json()["status"] == "issuing"
    retry = client.post(f"{url}/render", headers=author)
    assert retry.status_code == 202 and retry.get_json()["purpose"] == "final"
    render_all()
    assert client.get(url, headers=author).get_json()["status"] == "issued"


def test_the_monthly_bulletin_job_drafts_once(client, field, office_pair, clock):
    from datetime import UTC, datetime

    from inspect_api.documents.jobs import draft_monthly_bulletin

    clock.at = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 1 December, 08:00 Beijing
    first = draft_monthly_bulletin()
    assert first is not None and draft_monthly_bulletin() is None
    author, _ = office_pair
    [doc] = client.get("/api/v1/documents?kind=bulletin", headers=author).get_json()
    assert doc["selection"]["period_start"] == "2026-11-01" and doc["created_by"] is None


def test_on_new_years_day_the_job_drafts_december_of_the_year_before(client, field, clock):
    from datetime import UTC, datetime

    from inspect_api.documents.jobs import draft_monthly_bulletin

    clock.at = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)  # 1 January 2027, 00:05 Beijing; still 2026 in UTC
    assert draft_monthly_bulletin() is not None
    [doc] = client.get("/api/v1/documents?kind=bulletin", headers=headers_for(client, "office")).get_json()
    assert (doc["selection"]["period_start"], doc["selection"]["period_end"]) == ("2026-12-01", "2026-12-31")


@pytest.mark.parametrize("utc, year", [
    ((2026, 12, 31, 15, 30), 2026),  # 23:30 on 31 December in Beijing
    ((2026, 12, 31, 16, 10), 2027),  # 00:10 on 1 January in Beijing, still 31 December in UTC
])
def test_the_number_year_is_the_local_year_of_issue(client, field, confirmed, clock, utc, year):
    from datetime import UTC, datetime

    clock.at = datetime(*utc, tzinfo=UTC)
    author, approver = headers_for(client, "office"), headers_for(client, "office")
    doc = client.post("/api/v1/documents", headers=author, json={
        "kind": "criticism", "selection": {"finding_ids": [confirmed["badge"]]}}).get_json()
    url = f"/api/v1/documents/{doc['id']}"
    assert client.post(f"{url}/approve", headers=approver).status_code == 200
    issued = client.post(f"{url}/issue", headers=approver)
    assert issued.status_code == 202, issued.get_json()
    assert client.get(url, headers=author).get_json()["number"] == f"清效督〔{year}〕1号"


def test_a_title_keeps_the_names_of_registered_units_whole(dbsession):
    from inspect_api.documents.context import title_words
    from inspect_api.documents.formatting import title_lines

    make_unit(name="清川县人力资源和社会保障局")
    make_unit(name="清川县教育局")  # not in the title
    policy = {"issuer": {"name": "清川县机关效能建设领导小组办公室", "short": "清效督", "office_name": "x"},
              "title_words": ["窗口服务"]}
    title = "关于对清川县人力资源和社会保障局窗口服务问题的通报批评"
    words = title_words(title, policy)
    assert words == ["清川县人力资源和社会保障局", "窗口服务"]
    assert title_lines(title, words) == ["关于对清川县人力资源和社会保障局", "窗口服务问题的通报批评"]


def _approved_grade(unit, grade, year=2026, score=52.5, reason="本年度被确认严重问题3项以上，评为不合格。最终等次：不合格。"):
    from inspect_api.assessment.models import GradeRun, SurveyDraw, UnitGrade

    author = make_user("office")
    draw = SurveyDraw(year=year, source="ratings", per_unit=20, status="drawn", created_by=author.id)
    db.session.add(draw)
    db.session.flush()
    run = GradeRun(year=year, status="approved", survey_draw_id=draw.id, policy={}, policy_version=1,
                   inputs_digest="0" * 64, created_by=author.id)
    db.session.add(run)
    db.session.flush()
    db.session.add(UnitGrade(run_id=run.id, unit_id=unit.id, year=year, grade=grade, score=score, raters=20,
                             inputs={}, steps=[], reason=reason, in_force=True))
    db.session.flush()


def test_a_criticism_notice_rests_on_a_fail_grade_and_states_its_explanation(client, office_pair):
    from inspect_api.documents import context as ctxmod
    from inspect_api.documents import services as documents
    from inspect_api.documents.render import render_html, validate_context

    author, _ = office_pair
    poor, fine = make_unit(name="县市场监管局"), make_unit(name="县行政审批局")
    _approved_grade(poor, "fail")
    _approved_grade(fine, "pass", score=80.0, reason="最终等次：合格。")
    refused = client.post("/api/v1/documents", headers=author, json={
        "kind": "criticism", "selection": {"grades": [{"unit_id": fine.id, "year": 2026}]}})
    assert refused.status_code == 422 and "grades" in field_errors(refused)
    none_yet = client.post("/api/v1/documents", headers=author, json={
        "kind": "criticism", "selection": {"grades": [{"unit_id": poor.id, "year": 2025}]}})
    assert none_yet.status_code == 422
    resp = client.post("/api/v1/documents", headers=author, json={
        "kind": "criticism", "selection": {"finding_ids": [], "grades": [{"unit_id": poor.id, "year": 2026}]}})
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["selection"]["grades"] == [{"unit_id": poor.id, "year": 2026}]
    assert "县市场监管局2026年度" in doc["title"] and "不合格" in doc["title"]
    ctx = ctxmod.build(documents.get(doc["id"]), documents.policy(), today=date(2026, 11, 23))
    validate_context(ctx)
    html = flat(render_html(ctx))
    assert "县市场监管局2026年度“三项制度”综合考评等次为不合格（综合得分52.5分）" in html
    assert "本年度被确认严重问题3项以上，评为不合格。" in html
    assert ctxmod.named_units(ctx) == {poor.id}  # the unit's liaison reads it once issued


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "9999-12-31"), ("2026-11-01", "9999-12-31")])
def test_a_bulletin_period_outside_the_calendars_is_422(client, start, end):
    office = headers_for(client, "office")
    resp = client.post("/api/v1/documents", headers=office,
                       json={"kind": "bulletin", "selection": {"period_start": start, "period_end": end}})
    assert resp.status_code == 422, resp.get_json()
    assert "period_end" in str(resp.get_json()["error"]["details"])
