"""投诉举报 endpoints: the public form (bad input, replay, forged tokens, rate limits, anonymity), the
public status page, the office's handling to the end, the unit's side (never who complained), the
finding a substantiated complaint becomes, deadlines and their recount, the overdue job, the sampling
weight."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent
from inspect_api.complaints import jobs
from inspect_api.complaints import services as complaints
from inspect_api.complaints.models import Complaint
from inspect_api.core.models import FormThrottle, FormToken
from inspect_api.db import db
from inspect_api.notifications.models import Notification
from inspect_api.ratings import services as ratings
from inspect_api.review.models import Rectification
from inspect_api.visits.models import Finding
from tests.helpers import bearer, field_errors, headers_for, login, make_staff, make_unit, make_user

POST = "/api/v1/public/complaints"
PHONE = "13912345678"
CONTENT = "11月20日上午在5号窗口办理营业执照，工作人员一直玩手机，问了三遍才抬头，说材料不全让回去，没有告知缺什么。"


@pytest.fixture()
def org(client, clock):
    county = make_unit(kind="county", name="清川县")
    dept = make_unit(parent=county, name="县市场监督管理局", kind="department")
    window = make_unit(parent=dept, name="市场监管登记窗口", kind="window")
    other = make_unit(parent=county, name="县人力资源和社会保障局")
    staff = make_staff(window, window_no="5", name="李某某")
    office, office2 = make_user("office"), make_user("office")
    liaison, stranger = make_user("unit_liaison", dept), make_user("unit_liaison", other)

    def h(user):
        return bearer(login(client, user.username)["access_token"])

    return SimpleNamespace(county=county, dept=dept, window=window, other=other, staff=staff, office=office,
                           office2=office2, liaison=liaison, h_office=h(office), h_office2=h(office2),
                           h_liaison=h(liaison), h_stranger=h(stranger))


def open_page(client, clock, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert 'lang="zh-CN"' in resp.get_data(as_text=True)
    clock.advance(seconds=10)  # a person writes the complaint before sending it
    return re.search(r'name="token" value="([^"]+)"', resp.get_data(as_text=True)).group(1)


def window_key(unit, window_no="5") -> str:
    return ratings.window_key(unit.id, window_no)


def submit(client, token, **body):
    return client.post(POST, json={"token": token, **body})


def file_public(client, clock, org, **extra):
    key = window_key(org.window)
    token = open_page(client, clock, f"/c/{key}")
    resp = submit(client, token, window_key=key, content=CONTENT, category="poor_attitude", **extra)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def hotline(client, org, headers=None, **extra):
    body = {"channel": "hotline", "unit_id": org.window.id, "window_no": "5", "content": CONTENT,
            "category": "poor_attitude", "occurred_on": "2026-11-20", "occurred_time": "10:30",
            "contact_name": "王先生", "contact_phone": PHONE, **extra}
    resp = client.post("/api/v1/complaints", json=body, headers=headers or org.h_office)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def act(client, org, cid, action, headers=None, **body):
    return client.post(f"/api/v1/complaints/{cid}/{action}", json=body, headers=headers or org.h_office)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- the public form -----------------------------------------------------------------------------------

def test_window_page_takes_a_complaint_and_gives_a_tracking_number_and_code(client, clock, org):
    page = client.get(f"/c/{window_key(org.window)}").get_data(as_text=True)
    assert "市场监管登记窗口" in page and "5 号窗口" in page and "推诿扯皮" in page
    body = file_public(client, clock, org, contact_phone=PHONE)
    assert re.fullmatch(r"TS2026-\d{6}", body["tracking_no"]) and len(body["query_code"]) == 10
    assert body["due_on"] == "2026-11-30" and body["provisional"] is False  # Mon 23 Nov + 5 working days
    row = db.session.scalars(sa.select(Complaint)).one()
    assert (row.unit_id, row.window_no, row.channel, row.status, row.category) == (
        org.window.id, "5", "web", "received", "poor_attitude")
    assert row.contact_phone == PHONE and row.created_by is None
    notes = client.get("/api/v1/me/notifications", headers=org.h_office).get_json()
    assert any(n["kind"] == "complaint.received" and body["tracking_no"] in n["title"] for n in notes)


def test_general_page_lists_units_and_takes_a_chosen_one(client, clock, org):
    page = client.get("/complaints/new").get_data(as_text=True)
    assert "县市场监督管理局" in page and "县人力资源和社会保障局" in page
    token = open_page(client, clock, "/complaints/new")
    resp = submit(client, token, unit_id=org.other.id, window_no="A-2", content="社保窗口中午提前半小时下班，群众排队无人办理")
    assert resp.status_code == 201
    row = db.session.scalars(sa.select(Complaint)).one()
    assert (row.unit_id, row.window_no, row.contact_phone) == (org.other.id, "A-2", None)
    assert "unit_id" in field_errors(submit(client, open_page(client, clock, "/complaints/new"), content=CONTENT))


def test_unknown_window_key_is_a_404_page(client, org):
    assert client.get(f"/c/{window_key(org.window)[:-2]}xx").status_code == 404
    assert client.get("/c/1.3.aaaaaaaaaaaaaaaaaaaaaa").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"content": "短"}, "content"), ({"content": "见 http://x.cn/a"}, "content"), ({"category": "bribe"}, "category"),
    ({"occurred_on": "2026-11-24"}, "occurred_on"), ({"occurred_time": "9点"}, "occurred_time"),
    ({"contact_phone": "call me"}, "contact_phone"), ({"contact_email": "x@"}, "contact_email"),
    ({"extra": 1}, "extra"), ({"unit_id": "abc"}, "unit_id"),
])
def test_bad_input_is_422_naming_the_field_and_stores_nothing(client, clock, org, body, field):
    key = window_key(org.window)
    token = open_page(client, clock, f"/c/{key}")
    resp = submit(client, token, **{"window_key": key, "content": CONTENT, **body})
    assert resp.status_code == 422, resp.get_json()
    assert field in field_errors(resp)
    assert count(Complaint) == 0
    assert submit(client, token, window_key=key, content=CONTENT).status_code == 201  # the token was not spent


def test_missing_fields_and_non_object_bodies_are_422(client, org):
    assert {"token", "content"} <= set(field_errors(client.post(POST, json={})))
    assert client.post(POST, json=["x"]).status_code == 422
    assert client.post(POST, data="content=x", content_type="text/plain").status_code == 415


def test_replayed_token_is_409_and_stored_once(client, clock, org):
    key = window_key(org.window)
    token = open_page(client, clock, f"/c/{key}")
    assert submit(client, token, window_key=key, content=CONTENT).status_code == 201
    again = submit(client, token, window_key=key, content=CONTENT + "（再次提交）")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "replayed"
    assert count(Complaint) == 1


def test_forged_expired_instant_and_rating_tokens_are_422(client, clock, org):
    key = window_key(org.window)
    token = open_page(client, clock, f"/c/{key}")
    forged = submit(client, token[:-3] + "abc", window_key=key, content=CONTENT)
    assert forged.get_json()["error"]["code"] == "token_invalid"
    assert submit(client, token, content=CONTENT, unit_id=org.window.id).status_code == 422  # a window's token
    rating_token = ratings.new_token(key)
    clock.advance(seconds=10)
    assert submit(client, rating_token, window_key=key, content=CONTENT).status_code == 422
    clock.advance(minutes=241)
    expired = submit(client, token, window_key=key, content=CONTENT)
    assert expired.status_code == 422 and expired.get_json()["error"]["code"] == "token_expired"
    instant = submit(client, complaints.new_token(key), window_key=key, content=CONTENT)
    assert instant.get_json()["error"]["code"] == "too_fast"
    assert count(Complaint) == 0


def test_honeypot_filled_is_refused_as_spam(client, clock, org):
    key = window_key(org.window)
    resp = submit(client, open_page(client, clock, f"/c/{key}"), window_key=key, content=CONTENT, website="x")
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "spam"


def test_device_limit_is_429_with_retry_after(client, clock, org):
    for _ in range(3):  # policy: device_per_hour 3
        file_public(client, clock, org)
    key = window_key(org.window)
    resp = submit(client, open_page(client, clock, f"/c/{key}"), window_key=key, content=CONTENT)
    assert resp.status_code == 429 and resp.get_json()["error"]["details"]["limit"] == "complaint-device"
    assert 0 < int(resp.headers["Retry-After"]) <= 3600
    assert count(Complaint) == 3
    clock.advance(hours=1)
    file_public(client, clock, org)


def test_global_limit_holds_across_devices_without_any_address(app, client, clock, org):
    key = window_key(org.window)
    clock.advance(seconds=60 - clock.now().second)  # the start of a minute: every post in one bucket
    statuses = []
    for _ in range(21):  # policy: global_per_minute 20; a new browser (no cookie) each time
        token = complaints.new_token(key)
        clock.advance(seconds=6)
        statuses.append(submit(app.test_client(), token, window_key=key, content=CONTENT).status_code)
        clock.advance(seconds=-6)
    assert statuses == [201] * 20 + [429]
    assert count(Complaint) == 20


def test_nothing_identifying_the_complainant_is_stored_but_the_contact_they_left(client, clock, org):
    ip, ua = "203.0.113.77", "Mozilla/5.0 (Linux; Android 14; Complainer-Phone-XYZ) Mobile"
    client.set_cookie("inspect_complaint_device", "device-cookie-value-4242")
    key = window_key(org.window)
    token = open_page(client, clock, f"/c/{key}")
    resp = client.post(POST, json={"token": token, "window_key": key, "content": CONTENT, "contact_phone": PHONE},
                       headers={"X-Forwarded-For": ip, "User-Agent": ua}, environ_base={"REMOTE_ADDR": ip})
    assert resp.status_code == 201
    code = resp.get_json()["query_code"]
    dumped = []
    for model in (Complaint, FormToken, FormThrottle):
        rows = db.session.execute(sa.select(model.__table__)).all()
        assert rows, model.__tablename__
        dumped += [str(v) for row in rows for v in row]
    for secret in (ip, ua, "Complainer-Phone-XYZ", "device-cookie-value-4242", token, code):
        assert not any(secret in v for v in dumped), secret
    # the contact is kept for the office, but neither the trail nor notifications repeat it
    trail = [str(v) for row in db.session.execute(sa.select(AuditEvent.payload)).all() for v in row]
    notes = [str(v) for row in db.session.execute(sa.select(Notification.title, Notification.body)).all() for v in row]
    assert not any(PHONE in v or code in v for v in trail + notes)


def test_no_js_form_post_gets_html_with_the_tracking_number_and_errors_keep_the_text(client, clock, org):
    token = open_page(client, clock, "/complaints/new")
    bad = client.post(POST, data={"token": token, "unit_id": str(org.dept.id), "content": "短",
                                  "contact_name": "<b>王</b>"}, content_type="multipart/form-data")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "投诉内容有误" in page and "&lt;b&gt;王&lt;/b&gt;" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    clock.advance(seconds=10)
    ok = client.post(POST, data={"token": token, "unit_id": str(org.dept.id), "content": CONTENT, "category": "other",
                                 "occurred_on": "", "contact_phone": ""}, content_type="multipart/form-data")
    page = ok.get_data(as_text=True)
    assert ok.status_code == 201 and "投诉已受理" in page
    row = db.session.scalars(sa.select(Complaint)).one()
    assert row.tracking_no in page and row.category is None and row.occurred_on is None


# --- the public status page ----------------------------------------------------------------------------------

def _lookup(client, number, code):
    return client.post("/api/v1/public/complaints/status", json={"tracking_no": number, "code": code})


def test_status_needs_the_right_code_and_shows_no_internals(client, clock, org):
    filed = file_public(client, clock, org)
    url = f"/api/v1/public/complaints/{filed['tracking_no']}"
    wrong = _lookup(client, filed["tracking_no"], "AAAAAAAAAA")
    unknown = _lookup(client, "TS2026-999999", filed["query_code"])
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.get_json()["error"]["message"] == unknown.get_json()["error"]["message"]
    assert client.get(url).status_code == 422  # no code at all
    cid = db.session.scalars(sa.select(Complaint.id)).one()
    act(client, org, cid, "assign")
    act(client, org, cid, "forward", note="请调取5号窗口11月20日监控核实")
    client.post(f"/api/v1/unit/complaints/{cid}/report", json={"text": "经查李某某当日确有玩手机情况"},
                headers=org.h_liaison)
    act(client, org, cid, "investigation", note="监控显示属实，窗口负责人张三已约谈")
    act(client, org, cid, "answer", text="您反映的问题经查属实，已责令整改。", channel="online")
    resp = _lookup(client, filed["tracking_no"], filed["query_code"].lower())
    body = resp.get_json()
    assert resp.status_code == 200
    assert body["status"] == "answered" and body["answer"]["text"] == "您反映的问题经查属实，已责令整改。"
    assert body["unit_name"] == "市场监管登记窗口" and body["due_on"] == "2026-11-30"
    text = resp.get_data(as_text=True)
    for internal in ("玩手机情况", "张三", "监控", org.office.username, "handler", "unit_report", "content"):
        assert internal not in text, internal
    by_header = client.get(url, headers={"X-Query-Code": filed["query_code"]})
    assert by_header.status_code == 200 and by_header.get_json() == body
    page = client.post("/complaints/status", data={"tracking_no": filed["tracking_no"],
                                                   "code": filed["query_code"]}, content_type="multipart/form-data")
    assert page.status_code == 200 and "已责令整改" in page.get_data(as_text=True)
    assert 'method="post" action="/complaints/status"' in client.get("/complaints/status").get_data(as_text=True)


def test_a_query_code_in_a_url_is_refused_unread(client, clock, org):
    filed = file_public(client, clock, org)
    number, code = filed["tracking_no"], filed["query_code"]
    api = client.get(f"/api/v1/public/complaints/{number}?code={code}")
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "code_in_url"
    page = client.get(f"/complaints/status?tracking_no={number}&code={code}")
    assert page.status_code == 303 and page.headers["Location"] == f"/complaints/status?tracking_no={number}"
    assert filed["status_url"] == f"/complaints/status?tracking_no={number}"  # the link after filing: no code


def test_wrong_codes_are_limited_and_the_limit_holds_for_a_right_code_too(client, clock, org):
    filed = file_public(client, clock, org)
    client.set_cookie("inspect_complaint_device", "guesser")
    for i in range(10):  # policy: lookup_number_per_hour 10
        assert _lookup(client, filed["tracking_no"], f"WRONG{i:05d}").status_code == 404
    refused = _lookup(client, filed["tracking_no"], filed["query_code"])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    other_device = client.application.test_client()
    assert _lookup(other_device, filed["tracking_no"], filed["query_code"]).status_code == 429  # per number
    clock.advance(hours=1)
    assert _lookup(other_device, filed["tracking_no"], filed["query_code"]).status_code == 200


def test_a_device_guessing_many_numbers_is_stopped_by_its_own_limit(client, clock, org):
    filed = file_public(client, clock, org)
    client.set_cookie("inspect_complaint_device", "guesser")
    for i in range(20):  # policy: lookup_device_per_hour 20, each on another number
        assert _lookup(client, f"TS2026-{900000 + i}", "WRONG00000").status_code == 404
    assert _lookup(client, f"TS2026-{900100}", "WRONG00000").status_code == 429
    assert _lookup(client.application.test_client(), filed["tracking_no"], filed["query_code"]).status_code == 200


def test_a_cookieless_script_guessing_other_numbers_cannot_block_a_rightful_lookup(client, clock, org):
    filed = file_public(client, clock, org)
    script = client.application.test_client()
    for i in range(200):  # far beyond the old shared limit of 60 a minute
        script.delete_cookie("inspect_complaint_device")
        assert _lookup(script, f"TS2026-{900000 + i}", "WRONG00000").status_code == 404
    complainant = client.application.test_client()
    resp = _lookup(complainant, filed["tracking_no"], filed["query_code"])
    assert resp.status_code == 200 and resp.get_json()["tracking_no"] == filed["tracking_no"]


# --- the office's handling, the unit's side and the finding --------------------------------------------------

def test_substantiated_complaint_becomes_a_confirmed_finding_the_unit_rectifies(client, clock, org):
    made = hotline(client, org, staff_id=org.staff.id)
    cid, code = made["id"], made["query_code"]
    assert made["channel"] == "hotline" and made["contact_phone"] == PHONE and len(code) == 10
    assert made["due_on"] == "2026-11-30" and made["status"] == "received"
    assigned = act(client, org, cid, "assign", handler_id=org.office2.id, level="citizen_heavy").get_json()
    assert assigned["status"] == "assigned" and assigned["handler_id"] == org.office2.id
    assert (assigned["level"], assigned["working_days"], assigned["due_on"]) == ("citizen_heavy", 10, "2026-12-07")
    assert any(n["kind"] == "complaint.assigned" for n in client.get("/api/v1/me/notifications",
                                                                       headers=org.h_office2).get_json())
    fwd = act(client, org, cid, "forward", unit_id=org.dept.id, note="请核实窗口人员服务态度问题",
              unit_content="11月20日上午5号窗口工作人员玩手机、未一次性告知所缺材料。").get_json()
    assert fwd["status"] == "investigating" and fwd["forwarded_unit_id"] == org.dept.id

    # the unit: what happened, when and where; never who complained, how to reach them, or the number
    listed = client.get("/api/v1/unit/complaints", headers=org.h_liaison).get_json()
    assert [c["id"] for c in listed] == [cid]
    seen = client.get(f"/api/v1/unit/complaints/{cid}", headers=org.h_liaison)
    text = seen.get_data(as_text=True)
    for hidden in (PHONE, "王先生", made["tracking_no"], code, "contact", "handler", "channel", "answer"):
        assert hidden not in text, hidden
    body = seen.get_json()
    assert body["content"].startswith("11月20日上午5号窗口") and body["window_no"] == "5"
    assert body["occurred_on"] == "2026-11-20" and body["due_on"] == "2026-12-07"
    assert any(n["kind"] == "complaint.forwarded" for n in client.get("/api/v1/me/notifications",
                                                                        headers=org.h_liaison).get_json())
    report = client.post(f"/api/v1/unit/complaints/{cid}/report", json={"text": "经调取监控，李某某当日确有玩手机情况"},
                         headers=org.h_liaison)
    assert report.status_code == 200 and report.get_json()["status"] == "investigated"
    assert client.post(f"/api/v1/unit/complaints/{cid}/report", json={"text": "again"},
                       headers=org.h_liaison).status_code == 409

    refused = act(client, org, cid, "close", outcome="substantiated", reason="属实", category="poor_attitude",
                  severity="severe")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "answer_required"
    assert "channel" in field_errors(act(client, org, cid, "answer", text="已处理", channel="email"))  # no email left
    answered = act(client, org, cid, "answer", text="王先生您好，经查属实，已责令整改并约谈相关人员。", channel="phone")
    assert answered.get_json()["status"] == "answered" and answered.get_json()["answer_channel"] == "phone"
    closed = act(client, org, cid, "close", outcome="substantiated", reason="经调取监控，投诉属实",
                 category="poor_attitude", severity="severe", description="窗口工作人员上班玩手机，对办事群众不理不睬")
    assert closed.status_code == 200, closed.get_json()
    done = closed.get_json()
    assert done["status"] == "closed" and done["outcome"] == "substantiated" and done["finding_id"]
    assert [h["action"] for h in done["history"]] == [
        "complaint.receive", "complaint.assign", "complaint.forward", "complaint.unit_report", "complaint.answer",
        "complaint.close"]

    finding = db.session.get(Finding, done["finding_id"])
    assert (finding.status, finding.source, finding.visit_id, finding.complaint_id) == ("confirmed", "complaint",
                                                                                         None, cid)
    assert (finding.unit_id, finding.staff_id, finding.window_no, finding.category, finding.severity) == (
        org.window.id, org.staff.id, "5", "poor_attitude", "severe")
    rect = db.session.get(Rectification, finding.id)
    assert rect.status == "open" and rect.working_days == 3 and rect.due_on == date(2026, 11, 26)  # severe: 3

    # the liaison sees it with its rectification, the complaint as evidence, and may read that complaint
    unit_findings = client.get("/api/v1/unit/findings", headers=org.h_liaison).get_json()
    mine = [f for f in unit_findings if f["id"] == finding.id]
    assert mine and mine[0]["complaint_id"] == cid
    assert mine[0]["rectification"]["due_on"] == "2026-11-26" and mine[0]["photos"] == []
    assert client.get(mine[0]["complaint_url"], headers=org.h_liaison).get_json()["finding_id"] == finding.id
    detail = client.get(f"/api/v1/unit/findings/{finding.id}", headers=org.h_liaison).get_json()
    assert detail["description"] == "窗口工作人员上班玩手机，对办事群众不理不睬"
    assert any(n["kind"] == "finding.confirmed" for n in client.get("/api/v1/me/notifications",
                                                                      headers=org.h_liaison).get_json())
    filed = client.post(f"/api/v1/unit/findings/{finding.id}/reports", headers=org.h_liaison,
                        content_type="multipart/form-data", data={"text": "已对李某某批评教育，全员重申工作纪律"})
    assert filed.status_code == 201

    # the escalation rules ran on it (a severe finding about a member of staff → a referral proposal)
    proposals = client.get("/api/v1/accountability/proposals", headers=org.h_office).get_json()
    assert any(f"finding:{finding.id}" in p["fact_ids"] for p in proposals)
    # the office's queue shows it, the complainant reads the conclusion
    queue = client.get("/api/v1/review/findings?status=confirmed", headers=org.h_office).get_json()
    assert any(f["id"] == finding.id and f["complaint_id"] == cid and f["visit_id"] is None for f in queue)
    public = _lookup(client, made["tracking_no"], code).get_json()
    assert public["status"] == "closed" and public["outcome_label"] == "投诉成立"


def test_unsubstantiated_complaint_makes_no_finding_and_stays_with_the_office(client, clock, org):
    made = hotline(client, org, contact_phone=None, contact_name=None)
    cid = made["id"]
    act(client, org, cid, "assign")
    act(client, org, cid, "investigation", note="模拟办事复查，窗口一次性告知到位")
    bad = act(client, org, cid, "close", outcome="unsubstantiated", reason="不属实", category="poor_attitude")
    assert "category" in field_errors(bad)
    closed = act(client, org, cid, "close", outcome="unsubstantiated", reason="经复查，投诉反映情况不属实")
    assert closed.status_code == 200 and closed.get_json()["finding_id"] is None  # no contact: no answer needed
    assert count(Finding) == 0 and count(Rectification) == 0
    assert client.get("/api/v1/unit/complaints", headers=org.h_liaison).get_json() == []
    assert client.get(f"/api/v1/unit/complaints/{cid}", headers=org.h_liaison).status_code == 404


def test_invalid_transitions_are_409_naming_the_allowed_states(client, clock, org):
    cid = hotline(client, org)["id"]
    for action, body in (("forward", {"note": "x"}), ("investigation", {"note": "x"}),
                         ("answer", {"text": "x", "channel": "phone"}),
                         ("close", {"outcome": "unsubstantiated", "reason": "x"})):
        resp = act(client, org, cid, action, **body)
        err = resp.get_json()["error"]
        assert resp.status_code == 409 and err["code"] == "invalid_transition", (action, err)
        assert err["details"]["status"] == "received" and err["details"]["allowed_from"]
        assert "已受理" in err["message"]
    assert client.post(f"/api/v1/unit/complaints/{cid}/report", json={"text": "x"},
                       headers=org.h_liaison).status_code == 404  # not forwarded: not the unit's
    act(client, org, cid, "assign")
    resp = client.post(f"/api/v1/unit/complaints/{cid}/report", json={"text": "x"}, headers=org.h_liaison)
    assert resp.status_code == 404
    act(client, org, cid, "forward", note="请核实")
    assert act(client, org, cid, "answer", text="x", channel="phone").get_json()["error"]["details"][
        "allowed_from"] == ["investigated"]
    act(client, org, cid, "investigation", note="属实")
    act(client, org, cid, "answer", text="已答复", channel="phone")
    act(client, org, cid, "close", outcome="unsubstantiated", reason="不属实")
    for action, body in (("assign", {}), ("forward", {"note": "x"}), ("close", {"outcome": "unsubstantiated",
                                                                                 "reason": "x"})):
        assert act(client, org, cid, action, **body).status_code == 409
    assert act(client, org, 999999, "assign").status_code == 404


def test_bad_office_input_is_422(client, clock, org):
    for body, field in (({"unit_id": 999999}, "unit_id"), ({"channel": "web"}, "channel"),
                        ({"staff_id": 999999}, "staff_id"), ({"level": "urgent"}, "level"),
                        ({"level": "citizen_routine", "days": 6}, "days"), ({"content": "x"}, "content")):
        base = {"unit_id": org.window.id, "content": CONTENT}
        resp = client.post("/api/v1/complaints", json={**base, **body}, headers=org.h_office)
        assert resp.status_code == 422 and field in field_errors(resp), (body, resp.get_json())
    cid = hotline(client, org)["id"]
    assert "handler_id" in field_errors(act(client, org, cid, "assign", handler_id=org.liaison.id))
    assert count(Complaint) == 1


def test_roles_and_scope(client, clock, org):
    cid = hotline(client, org)["id"]
    act(client, org, cid, "assign")
    act(client, org, cid, "forward", note="请核实")  # to the window's own unit, under the liaison's department
    for role in ("inspector", "leader", "unit_liaison"):
        h = headers_for(client, role)
        assert client.get("/api/v1/complaints", headers=h).status_code == 403
        assert client.get(f"/api/v1/complaints/{cid}", headers=h).status_code == 403
    assert client.get("/api/v1/unit/complaints", headers=org.h_office).status_code == 403
    # a liaison of the unit above sees it; one of another unit gets 404, never 403
    assert [c["id"] for c in client.get("/api/v1/unit/complaints", headers=org.h_liaison).get_json()] == [cid]
    assert client.get("/api/v1/unit/complaints", headers=org.h_stranger).get_json() == []
    assert client.get(f"/api/v1/unit/complaints/{cid}", headers=org.h_stranger).status_code == 404
    assert client.post(f"/api/v1/unit/complaints/{cid}/report", json={"text": "x"},
                       headers=org.h_stranger).status_code == 404
    window_liaison = headers_for(client, "unit_liaison", org.window)
    assert client.post(f"/api/v1/unit/complaints/{cid}/report", json={"text": "已核实"},
                       headers=window_liaison).status_code == 200
    admin = headers_for(client, "admin")
    assert client.get(f"/api/v1/complaints/{cid}", headers=admin).get_json()["contact_phone"] == PHONE


def test_office_list_filters_and_pages(client, clock, org):
    first = hotline(client, org)["id"]
    second = hotline(client, org, unit_id=org.other.id, window_no=None, channel="letter")["id"]
    act(client, org, first, "assign")
    h = org.h_office
    listed = client.get("/api/v1/complaints?page_size=1", headers=h)
    assert [c["id"] for c in listed.get_json()] == [second] and '"total": 2' in listed.headers["X-Pagination"]
    assert [c["id"] for c in client.get("/api/v1/complaints?status=assigned", headers=h).get_json()] == [first]
    assert [c["id"] for c in client.get(f"/api/v1/complaints?under={org.dept.id}", headers=h).get_json()] == [first]
    assert [c["id"] for c in client.get("/api/v1/complaints?channel=letter", headers=h).get_json()] == [second]
    assert client.get("/api/v1/complaints?overdue=true", headers=h).get_json() == []
    assert "status" in field_errors(client.get("/api/v1/complaints?status=lost", headers=h))
    assert client.get("/api/v1/complaints?under=999999", headers=h).status_code == 404


def test_the_inbox_lists_open_complaints_earliest_deadline_first(client, clock, org):
    late = hotline(client, org, level="citizen_multi_department")["id"]
    soon = hotline(client, org, level="citizen_routine", days=1)["id"]
    done = hotline(client, org, level="citizen_routine", days=2)["id"]
    act(client, org, done, "assign")
    assert act(client, org, done, "investigation", note="核实无此事").status_code == 200
    assert act(client, org, done, "answer", text="经核实，反映的问题不属实。", channel="phone").status_code == 200
    assert act(client, org, done, "close", outcome="unsubstantiated", reason="经核实不属实").status_code == 200
    h = org.h_office
    inbox = client.get("/api/v1/complaints?sort=due&open=true", headers=h).get_json()
    assert [c["id"] for c in inbox] == [soon, late]
    closed = client.get("/api/v1/complaints?open=false", headers=h).get_json()
    assert [(c["id"], c["days_left"]) for c in closed] == [(done, None)]
    assert [c["id"] for c in client.get("/api/v1/complaints", headers=h).get_json()] == [done, soon, late]
    assert "sort" in field_errors(client.get("/api/v1/complaints?sort=name", headers=h))


# --- deadlines, the overdue job, recounts -----------------------------------------------------------------

def test_levels_set_the_deadline_at_entry(client, clock, org):
    multi = hotline(client, org, level="citizen_multi_department")
    assert (multi["working_days"], multi["due_on"], multi["level_label"]) == (30, "2027-01-04", "群众反映问题（涉及多个部门）")
    assert multi["provisional"] is True  # crosses 2027, whose holidays are not loaded
    routine = hotline(client, org, level="citizen_routine", days=2)
    assert (routine["working_days"], routine["due_on"], routine["provisional"]) == (2, "2026-11-25", False)
    # counted today (Monday 23 Nov 2026): what the unit reads as "剩余 N 个工作日"
    assert (routine["days_left"], routine["days_left_provisional"]) == (2, False)
    assert multi["days_left"] == 30 and multi["days_left_provisional"] is True


def test_overdue_is_flagged_once_and_the_office_told(client, clock, org):
    cid = hotline(client, org)["id"]
    act(client, org, cid, "assign")
    act(client, org, cid, "forward", note="请核实")
    closed = hotline(client, org, contact_phone=None)["id"]
    act(client, org, closed, "assign")
    act(client, org, closed, "investigation", note="x")
    act(client, org, closed, "close", outcome="unsubstantiated", reason="不属实")
    clock.at = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 1 Dec local: the day after the deadline
    assert jobs.flag_overdue_complaints() == 1
    assert jobs.flag_overdue_complaints() == 0
    row = db.session.get(Complaint, cid)
    assert row.overdue and row.flagged_overdue_at is not None and not db.session.get(Complaint, closed).overdue
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "complaint.overdue"))
    assert events == 1
    for h in (org.h_office, org.h_office2, org.h_liaison):  # the unit it waits on is told too
        kinds = [n["kind"] for n in client.get("/api/v1/me/notifications", headers=h).get_json()]
        assert kinds.count("complaint.overdue") == 1
    assert [c["id"] for c in client.get("/api/v1/complaints?overdue=true", headers=org.h_office).get_json()] == [cid]
    from inspect_api.scheduler import JOBS

    assert JOBS["complaints.flag_overdue"][0] == "inspect_api.complaints.jobs:flag_overdue_complaints"


def test_a_provisional_deadline_is_recounted_when_the_year_is_imported(client, clock, org):
    clock.at = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 28 Dec 2026
    office = bearer(login(client, org.office.username)["access_token"])  # a month on: log in again
    made = hotline(client, org, headers=office)
    assert (made["due_on"], made["provisional"]) == ("2027-01-04", True)
    act(client, org, made["id"], "assign", headers=office)
    admin = headers_for(client, "admin")
    csv = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n" \
          "2027-01-04,holiday,元旦调休\n"
    resp = client.post("/api/v1/calendar/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv.encode()), "2027.csv", "text/csv")})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["deadlines_changed"] >= 1
    row = db.session.get(Complaint, made["id"])
    assert (row.due_on, row.provisional) == (date(2027, 1, 6), False)  # 29, 30, 31 Dec, 5, 6 Jan
    detail = client.get(f"/api/v1/complaints/{made['id']}", headers=office).get_json()
    assert detail["history"][-1]["action"] == "complaint.recompute"
    assert any(n["kind"] == "deadline.recomputed" for n in client.get("/api/v1/me/notifications",
                                                                        headers=office).get_json())


# --- elsewhere: sampling weight, review, documents, statistics -------------------------------------------------

def _substantiate(client, org, **close):
    cid = hotline(client, org, contact_phone=None)["id"]
    act(client, org, cid, "assign")
    act(client, org, cid, "investigation", note="属实")
    resp = act(client, org, cid, "close", outcome="substantiated", reason="经核实属实", category="shirking",
               severity=close.pop("severity", "minor"), **close)
    assert resp.status_code == 200, resp.get_json()
    return cid, resp.get_json()["finding_id"]


def test_substantiated_complaints_raise_the_sampling_weight(client, clock, org):
    from inspect_api.sampling import services as sampling

    _substantiate(client, org)
    _substantiate(client, org)
    unsub = hotline(client, org, unit_id=org.other.id, contact_phone=None)["id"]
    act(client, org, unsub, "assign")
    act(client, org, unsub, "investigation", note="不属实")
    act(client, org, unsub, "close", outcome="unsubstantiated", reason="不属实")
    plan = sampling.create_plan({"code": "P-C", "title": "投诉加权", "period_start": date(2026, 12, 1),
                                 "period_end": date(2026, 12, 31), "pool": {"under": [org.county.id]},
                                 "sample_size": 1, "min_per_stratum": 0}, org.office)
    _, units, *_ = sampling.build_inputs(plan, clock.now())
    factors = {u.id: u.weight_factors for u in units}
    assert factors[org.window.id]["complaints"] == 2 and factors[org.other.id]["complaints"] == 0
    assert factors[org.window.id]["confirmed_findings"] == 2
    clock.at = datetime(2027, 6, 1, tzinfo=UTC)  # beyond the policy's 180 days
    _, units, *_ = sampling.build_inputs(plan, clock.now())
    assert {u.id: u.weight_factors for u in units}[org.window.id]["complaints"] == 0


def test_complaint_findings_live_in_review_documents_and_statistics(client, clock, org, app):
    from inspect_api.documents import context as documents
    from inspect_api.stats import services as stats

    cid, fid = _substantiate(client, org, severity="serious")
    reopened = client.post(f"/api/v1/review/findings/{fid}/decision", headers=org.h_office,
                           json={"action": "reopen", "reason": "补充核实"})
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "pending_review"
    assert fid in [f["id"] for f in client.get("/api/v1/review/findings", headers=org.h_office).get_json()]
    back = client.post(f"/api/v1/review/findings/{fid}/decision", headers=org.h_office,
                       json={"action": "send_back", "reason": "补证据"})
    assert back.status_code == 409 and back.get_json()["error"]["code"] == "no_visit"
    again = client.post(f"/api/v1/review/findings/{fid}/decision", headers=org.h_office, json={"action": "confirm"})
    assert again.status_code == 200 and again.get_json()["status"] == "confirmed"
    appeal = client.post(f"/api/v1/unit/findings/{fid}/appeals", headers=org.h_liaison,
                         content_type="multipart/form-data", data={"text": "当日系群众误解"})
    assert appeal.status_code == 201, appeal.get_json()
    rejected = client.post(f"/api/v1/review/appeals/{appeal.get_json()['id']}/decision", headers=org.h_office,
                           json={"action": "reject", "reason": "监控证实"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    history = client.get(f"/api/v1/accountability/history/unit/{org.window.id}", headers=org.h_office)
    assert history.status_code == 200 and any(e["id"] == fid for e in history.get_json()["events"])
    naming = app.extensions["inspect_document_policy"]["staff_naming"]["criticism"]
    items = documents.finding_items([fid], naming)
    assert items[0]["unit_name"] == "市场监管登记窗口" and items[0]["photos"] == []
    typical = documents.bulletin_data({"period_start": "2026-11-01", "period_end": "2026-11-30"},
                                      app.extensions["inspect_document_policy"])["typical_finding_ids"]
    assert fid in typical
    figures = stats.summary(SimpleNamespace(role="office", unit_id=None),
                            {"start": date(2026, 11, 1), "end": date(2026, 11, 30), "under": None})
    assert figures["current"]["visits"] == 0  # statistics count visits; a complaint finding does not break them
    resp = client.post("/api/v1/documents", headers=org.h_office,
                       json={"kind": "criticism", "selection": {"finding_ids": [fid]}})
    assert resp.status_code == 201, resp.get_json()
