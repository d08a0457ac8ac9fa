"""督查督办 endpoints: registering matters of the three kinds, the units' side (a co-unit's liaison sees
the matter, a stranger gets 404; progress and result with files; extensions refused past a statutory
limit, decided with four eyes), the office's inbox by due, the reminder and overdue jobs (once each),
an overdue matter turning into an escalation proposal, the recount after a calendar import, statistics
and their exports."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from inspect_api.accountability.models import Proposal
from inspect_api.db import db
from inspect_api.matters import jobs
from inspect_api.matters.models import SupervisedMatter
from inspect_api.notifications.models import Notification
from tests.helpers import bearer, headers_for, login, make_unit, make_user
from tests.images import photo


@pytest.fixture()
def org(client, clock):
    county = make_unit(kind="county", name="清川县")
    lead = make_unit(parent=county, name="县住房和城乡建设局")
    co = make_unit(parent=county, name="县自然资源局")
    other = make_unit(parent=county, name="县教育局")
    office, office2 = make_user("office"), make_user("office")
    lead_l, co_l, stranger = (make_user("unit_liaison", lead), make_user("unit_liaison", co),
                              make_user("unit_liaison", other))

    def h(user):
        return bearer(login(client, user.username)["access_token"])

    return SimpleNamespace(county=county, lead=lead, co=co, other=other, office=office, office2=office2,
                           h_office=h(office), h_office2=h(office2), h_lead=h(lead_l), h_co=h(co_l),
                           h_stranger=h(stranger), h_leader=headers_for(client, "leader"), h=h,
                           users=SimpleNamespace(office=office, lead=lead_l, co=co_l))


def assign(client, org, headers=None, **extra):
    body = {"kind": "leader_assigned", "title": "城关镇老旧小区漏水问题", "content": "请住建局牵头，三日内拿出解决方案。",
            "leader_name": "林振华", "leader_title": "县长", "principal_leader": True, "lead_unit_id": org.lead.id,
            "lead_duty": "牵头制定维修方案", "co_units": [{"unit_id": org.co.id, "duty": "配合核查用地手续"}],
            "level": "important", **extra}
    resp = client.post("/api/v1/matters", json=body, headers=headers or org.h_office)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def kinds_of(client, headers) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/me/notifications", headers=headers).get_json()]


def test_leader_assigned_matter_gets_its_deadline_and_the_units_are_told(client, org):
    m = assign(client, org)
    # Monday 23 Nov 10:00 + 3 working days (要件 default)
    assert (m["due_on"], m["due_by_noon"], m["working_days"], m["level_label"]) == ("2026-11-26", False, 3.0, "要件")
    assert m["co_units"] == [{"unit_id": org.co.id, "unit_name": "县自然资源局", "duty": "配合核查用地手续"}]
    assert m["history"][0]["action"] == "matter.create"
    assert "matter.assigned" in kinds_of(client, org.h_lead) and "matter.assigned" in kinds_of(client, org.h_co)
    urgent = assign(client, org, level="urgent", title="急件")
    assert (urgent["due_on"], urgent["due_by_noon"]) == ("2026-11-23", False)  # morning: end of the day


def test_level_days_outside_the_range_are_refused_naming_the_field(client, org):
    resp = client.post("/api/v1/matters", headers=org.h_office, json={
        "kind": "leader_assigned", "title": "t", "content": "c", "leader_name": "林振华", "lead_unit_id": org.lead.id,
        "level": "urgent", "days": "2"})
    assert resp.status_code == 422 and "days" in resp.get_json()["error"]["details"]["fields"]
    resp = client.post("/api/v1/matters", headers=org.h_office, json={
        "kind": "leader_assigned", "title": "t", "content": "c", "lead_unit_id": org.lead.id, "level": "urgent"})
    assert resp.status_code == 422 and "leader_name" in resp.get_json()["error"]["details"]["fields"]
    assert client.post("/api/v1/matters", headers=org.h_lead, json={}).status_code == 403


def test_a_co_units_liaison_sees_the_matter_and_a_strangers_gets_404(client, org):
    m = assign(client, org)
    assert [x["id"] for x in client.get("/api/v1/unit/matters", headers=org.h_co).get_json()] == [m["id"]]
    seen = client.get(f"/api/v1/unit/matters/{m['id']}", headers=org.h_co)
    assert seen.status_code == 200 and "history" not in seen.get_json()
    assert client.get(f"/api/v1/unit/matters/{m['id']}", headers=org.h_stranger).status_code == 404
    assert client.get("/api/v1/unit/matters", headers=org.h_stranger).get_json() == []
    report = client.post(f"/api/v1/unit/matters/{m['id']}/reports", headers=org.h_stranger,
                         data={"kind": "progress", "text": "x"}, content_type="multipart/form-data")
    assert report.status_code == 404


def test_progress_and_result_with_files_then_closed_on_time(client, org):
    m = assign(client, org)
    progress = client.post(f"/api/v1/unit/matters/{m['id']}/reports", headers=org.h_co,
                           content_type="multipart/form-data",
                           data={"kind": "progress", "text": "已完成用地手续核查",
                                 "files": [(io.BytesIO(photo(seed=3)), "现场.jpg", "image/jpeg")]})
    assert progress.status_code == 201, progress.get_json()
    att = progress.get_json()["attachments"][0]
    assert client.get(att["url"], headers=org.h_lead).status_code == 200
    assert client.get(att["url"], headers=org.h_stranger).status_code == 404
    result = client.post(f"/api/v1/unit/matters/{m['id']}/reports", headers=org.h_co,
                         data={"kind": "result", "text": "x"}, content_type="multipart/form-data")
    assert result.status_code == 403 and result.get_json()["error"]["code"] == "lead_unit_only"
    result = client.post(f"/api/v1/unit/matters/{m['id']}/reports", headers=org.h_lead,
                         data={"kind": "result", "text": "维修方案已制定，本周开工"}, content_type="multipart/form-data")
    assert result.status_code == 201
    assert "matter.result_reported" in kinds_of(client, org.h_office)
    closed = client.post(f"/api/v1/matters/{m['id']}/close", headers=org.h_office, json={"outcome": "finished"})
    assert closed.status_code == 200
    body = closed.get_json()
    assert (body["verdict"], body["verdict_label"], body["status"]) == ("done", "办结", "closed")
    actions = [e["action"] for e in body["history"]]
    assert actions == ["matter.create", "matter.report.progress", "matter.report.result", "matter.close"]
    again = client.post(f"/api/v1/matters/{m['id']}/close", headers=org.h_office, json={"outcome": "finished"})
    assert again.status_code == 409


def test_extension_past_the_statutory_limit_is_refused(client, org):
    m = assign(client, org, days=3, statutory_days=10)  # statutory 10 working days: 2026-12-07
    assert m["due_on"] == "2026-11-26"
    url = f"/api/v1/unit/matters/{m['id']}/extensions"
    past = client.post(url, headers=org.h_lead, json={"new_due_on": "2026-12-08", "reason": "需现场勘测"})
    assert past.status_code == 422
    assert past.get_json()["error"]["code"] == "extension_beyond_statutory"
    assert "new_due_on" in past.get_json()["error"]["details"]["fields"]
    assert client.post(url, headers=org.h_co, json={"new_due_on": "2026-12-01", "reason": "x"}).status_code == 403
    ok = client.post(url, headers=org.h_lead, json={"new_due_on": "2026-12-07", "reason": "需现场勘测"})
    assert ok.status_code == 201
    decision = f"/api/v1/matters/extensions/{ok.get_json()['id']}/decision"
    own = client.post(decision, headers=org.h_office, json={"action": "approve"})
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "own_matter"
    done = client.post(decision, headers=org.h_office2, json={"action": "approve", "note": "同意"})
    assert done.status_code == 200 and done.get_json()["status"] == "approved"
    detail = client.get(f"/api/v1/matters/{m['id']}", headers=org.h_office).get_json()
    assert (detail["due_on"], detail["original_due_on"]) == ("2026-12-07", "2026-11-26")
    assert "matter.extension_approved" in kinds_of(client, org.h_lead)


def test_refusing_an_extension_needs_a_reason(client, org):
    m = assign(client, org)
    ext = client.post(f"/api/v1/unit/matters/{m['id']}/extensions", headers=org.h_lead,
                      json={"new_due_on": "2026-12-10", "reason": "需协调"}).get_json()
    url = f"/api/v1/matters/extensions/{ext['id']}/decision"
    assert client.post(url, headers=org.h_office2, json={"action": "refuse"}).status_code == 422
    refused = client.post(url, headers=org.h_office2, json={"action": "refuse", "note": "请按期办结"})
    assert refused.get_json()["status"] == "refused"
    assert client.get(f"/api/v1/matters/{m['id']}", headers=org.h_office).get_json()["due_on"] == "2026-11-26"


def test_inbox_is_ordered_by_what_is_due(client, org):
    late = assign(client, org, level="ordinary", title="普件")
    soon = assign(client, org, level="urgent", title="急件")
    meeting = assign(client, org, kind="meeting_decision", level=None, title="会议", meeting_name="县政府第12次常务会议",
                     meeting_on="2026-11-20", meeting_kind="standing")
    inbox = client.get("/api/v1/matters", headers=org.h_leader).get_json()
    assert [x["id"] for x in inbox] == [soon["id"], late["id"], meeting["id"]]
    assert meeting["due_on"] is None


def test_reminder_and_overdue_flag_once_and_the_overdue_matter_becomes_an_escalation_proposal(client, clock, org):
    m = assign(client, org)  # due Thu 26 Nov
    clock.at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # Wed 09:00, one working day before
    assert jobs.remind_due_matters() == 1 and jobs.remind_due_matters() == 0
    db.session.commit()
    clock.at = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Thu 23:00: still the deadline's day
    assert jobs.flag_overdue_matters() == 0
    clock.at = datetime(2026, 11, 26, 16, 55, tzinfo=UTC)  # Fri 00:55
    assert jobs.flag_overdue_matters() == 1 and jobs.flag_overdue_matters() == 0
    db.session.commit()
    row = db.session.get(SupervisedMatter, m["id"])
    assert row.overdue and row.flagged_overdue_at is not None
    proposals = db.session.scalars(sa.select(Proposal).where(Proposal.rule_id == "overdue_matter_escalation")).all()
    assert [(p.subject_type, p.subject_id, p.action) for p in proposals] == [("unit", org.lead.id, "escalation")]
    assert proposals[0].fact_ids == [f"matter:{m['id']}:2026-11-26"]
    assert "督办事项" in proposals[0].reason
    kinds = db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == org.users.lead.id)).all()
    assert kinds.count("matter.due_soon") == 1 and kinds.count("matter.overdue") == 1
    # closing it unfinished later proposes nothing new (one fact per matter and day)
    office = bearer(login(client, org.office.username)["access_token"])
    closed = client.post(f"/api/v1/matters/{m['id']}/close", headers=office, json={"outcome": "unfinished"})
    assert closed.get_json()["verdict"] == "unfinished"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)
                             .where(Proposal.rule_id == "overdue_matter_escalation")) == 1


def test_half_day_matter_is_flagged_after_noon(client, clock, org):
    clock.at = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00
    m = assign(client, org, level="urgent")
    assert (m["due_on"], m["due_by_noon"]) == ("2026-11-24", True)
    clock.at = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 12:00 exactly
    assert jobs.flag_overdue_matters() == 0
    clock.at = datetime(2026, 11, 24, 4, 5, tzinfo=UTC)  # 12:05
    assert jobs.flag_overdue_matters() == 1


def test_result_after_the_deadline_closes_as_done_late(client, clock, org):
    m = assign(client, org)
    clock.at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    client.post(f"/api/v1/unit/matters/{m['id']}/reports", headers=org.h_lead, data={"kind": "result", "text": "已办"},
                content_type="multipart/form-data")
    closed = client.post(f"/api/v1/matters/{m['id']}/close", headers=org.h_office, json={"outcome": "finished"})
    assert closed.get_json()["verdict"] == "done_late"
    stats = client.get("/api/v1/matters/stats", headers=org.h_leader).get_json()
    row = next(r for r in stats if r["unit_id"] == org.lead.id and r["level"] == "important")
    assert (row["closed"], row["late"], row["on_time_rate"]) == (1, 1, 0.0)
    csv = client.get("/api/v1/matters/stats.csv", headers=org.h_office)
    assert csv.status_code == 200 and "按期办结率" in csv.get_data(as_text=True)
    assert "县住房和城乡建设局,要件,1,0,1,0,0.0%" in csv.get_data(as_text=True)
    xlsx = client.get("/api/v1/matters/stats.xlsx", headers=org.h_office)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/api/v1/matters/stats", headers=org.h_lead).status_code == 403


def test_provisional_deadline_is_recounted_when_the_year_is_imported(client, clock, org):
    clock.at = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 28 Dec 2026
    office = bearer(login(client, org.office.username)["access_token"])
    m = assign(client, org, headers=office, level="ordinary")
    assert (m["due_on"], m["provisional"]) == ("2027-01-04", True)
    csv = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n" \
          "2027-01-04,holiday,元旦调休\n"
    resp = client.post("/api/v1/calendar/import", headers=headers_for(client, "admin"),
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv.encode()), "2027.csv", "text/csv")})
    assert resp.status_code == 200 and resp.get_json()["deadlines_changed"] >= 1
    row = db.session.get(SupervisedMatter, m["id"])
    assert (row.due_on, row.provisional, row.original_due_on) == (date(2027, 1, 6), False, date(2027, 1, 6))
    detail = client.get(f"/api/v1/matters/{m['id']}", headers=office).get_json()
    assert detail["history"][-1]["action"] == "matter.recompute"


def test_meeting_bulletin_lists_each_decisions_state_and_is_issued_through_the_workflow(client, clock, org):
    from flask import current_app

    from inspect_api.documents import context as ctxmod
    from inspect_api.documents.models import Document
    from inspect_api.documents.render import render_html

    meeting = {"kind": "meeting_decision", "level": None, "meeting_kind": "standing", "meeting_name": "县政府第12次常务会议",
               "meeting_on": "2026-11-20", "principal_leader": False}
    done = assign(client, org, **meeting, title="老旧小区改造资金拨付", due_on="2026-11-24")
    late = assign(client, org, **meeting, title="城区停车位规划", due_on="2026-11-25")
    ongoing = assign(client, org, **meeting, title="农贸市场提升改造")  # no deadline: progress from time to time
    assign(client, org, title="另一件批办事项")  # not of the meeting
    client.post(f"/api/v1/unit/matters/{done['id']}/reports", headers=org.h_lead, content_type="multipart/form-data",
                data={"kind": "result", "text": "资金已全部拨付到位"})
    client.post(f"/api/v1/matters/{done['id']}/close", headers=org.h_office, json={"outcome": "finished"})
    client.post(f"/api/v1/unit/matters/{ongoing['id']}/reports", headers=org.h_co, content_type="multipart/form-data",
                data={"kind": "progress", "text": "已完成设计招标"})
    clock.at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    office = bearer(login(client, org.office.username)["access_token"])
    resp = client.post("/api/v1/documents", headers=office, json={
        "kind": "meeting_bulletin", "selection": {"meeting_name": "县政府第12次常务会议", "period_start": "2026-10-01",
                                                  "period_end": "2026-12-31"}})
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["kind_label"] == "督查通报（会议议定事项）" and "第四季度" in doc["title"]
    ctx = ctxmod.build(db.session.get(Document, doc["id"]), current_app.extensions["inspect_document_policy"],
                       today=date(2026, 11, 27))
    states = {m["title"]: m["state_label"] for m in ctx["matters"]}
    assert states == {"老旧小区改造资金拨付": "办结", "城区停车位规划": "逾期未办结", "农贸市场提升改造": "正在办理"}
    assert ctx["summary"] == {"total": 3, "done": 1, "done_late": 0, "unfinished": 0, "in_progress": 2, "overdue": 1}
    progress = {m["title"]: m["progress"] for m in ctx["matters"]}
    assert progress["农贸市场提升改造"] == "已完成设计招标"
    html = render_html(ctx)
    assert "逾期未办结" in html and "县住房和城乡建设局" in html and "县自然资源局" in html
    assert late["id"] != ongoing["id"]
    # the ordinary workflow: a second office user approves and issues it; the units named can read it
    approve = client.post(f"/api/v1/documents/{doc['id']}/approve", headers=org.h_office2)
    assert approve.status_code == 200, approve.get_json()
    issue = client.post(f"/api/v1/documents/{doc['id']}/issue", headers=org.h_office2)
    assert issue.status_code == 202, issue.get_json()
    from inspect_api.documents.models import DocumentUnit

    named = set(db.session.scalars(sa.select(DocumentUnit.unit_id).where(DocumentUnit.document_id == doc["id"])))
    assert named == {org.lead.id, org.co.id}  # their liaisons read it once the PDF is out; others never
    issued = db.session.get(Document, doc["id"]).issued_context
    assert [m["state_label"] for m in ctxmod.thaw(issued)["matters"]] == ["办结", "逾期未办结", "正在办理"]


def test_one_bulletin_per_leader_assigned_matter_and_a_key_work_summary(client, org):
    m = assign(client, org)
    one = client.post("/api/v1/documents", headers=org.h_office, json={"kind": "matter_bulletin",
                                                                        "selection": {"matter_id": m["id"]}})
    assert one.status_code == 201 and "县长林振华批办事项" in one.get_json()["title"]
    key = assign(client, org, kind="key_work", level=None, title="全年新增城镇就业3000人", target_year=2026)
    assert key["due_on"] == "2026-12-31"
    summary = client.post("/api/v1/documents", headers=org.h_office, json={
        "kind": "keywork_summary", "selection": {"period_start": "2026-10-01", "period_end": "2026-12-31"}})
    assert summary.status_code == 201 and "2026年度重点工作" in summary.get_json()["title"]
    meeting = client.post("/api/v1/documents", headers=org.h_office, json={
        "kind": "meeting_bulletin", "selection": {"meeting_name": "不存在的会议", "period_start": "2026-10-01",
                                                  "period_end": "2026-12-31"}})
    assert meeting.status_code == 422 and "meeting_name" in meeting.get_json()["error"]["details"]["fields"]
