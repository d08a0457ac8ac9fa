"""Accountability end to end: confirmed findings → the rules propose → a case → approval by a second user
→ an issued referral PDF → the outcome recorded (itself a fact for the rules) → closed; the policy API."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from inspect_api.accountability import services
from inspect_api.db import db
from inspect_api.documents import worker
from inspect_api.org.models import Unit
from inspect_api.visits.models import Finding
from tests.api.conftest import decide
from tests.helpers import bearer, headers_for, login, make_user

pytestmark = pytest.mark.slow


@pytest.fixture()
def offices(client):
    a, b = make_user("office"), make_user("office")
    return bearer(login(client, a.username)["access_token"]), bearer(login(client, b.username)["access_token"])


@pytest.fixture()
def submitted(client, field, submitted):
    """The shared submitted visit, and a second visit the same morning: the staff ladder counts
    occasions, so the same person's "second time" is the cold reception seen on another visit."""
    from tests.api.conftest import new_id

    vid = new_id()
    body = field.visit(responses=[{"item_code": "A1", "answer": "yes"}, {"item_code": "E1", "answer": "cold"}],
                       started_at="2026-11-23T09:40:00+08:00", ended_at="2026-11-23T09:50:00+08:00")
    assert client.put(f"/api/v1/visits/{vid}", json=body, headers=field.ha).status_code == 201
    second = client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).get_json()
    [attitude] = [f["id"] for f in second["findings"] if f["category"] == "poor_attitude"]
    return {**submitted, "attitude": attitude, "same_visit_attitude": submitted["attitude"]}


def test_two_findings_of_one_visit_are_one_occasion_for_the_staff_ladder(client, field, submitted, offices):
    a, _ = offices
    decide(client, a, submitted["badge"], "confirm")
    decide(client, a, submitted["same_visit_attitude"], "confirm")
    assert proposals(client, a) == []  # one visit, two findings: once
    decide(client, a, submitted["attitude"], "confirm")  # another visit: twice
    [p] = proposals(client, a)
    assert p["rule_id"] == "staff_two_findings_warning" and len(p["fact_ids"]) == 3


def proposals(client, headers, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return client.get(f"/api/v1/accountability/proposals?{qs}", headers=headers).get_json()


def test_from_confirmed_findings_to_an_issued_referral_and_an_outcome(client, field, submitted, offices):
    a, b = offices
    decide(client, a, submitted["badge"], "confirm")
    assert proposals(client, a) == []  # one finding: nothing yet
    decide(client, a, submitted["attitude"], "confirm")  # the same staff member, twice within 12 months
    [p] = proposals(client, a)
    assert p["rule_id"] == "staff_two_findings_warning" and p["action"] == "efficiency_warning"
    assert p["subject_type"] == "staff" and p["subject_id"] == field.staff.id and p["policy_version"] == 1
    assert sorted(p["fact_ids"]) == sorted([f"finding:{submitted['badge']}", f"finding:{submitted['attitude']}"])
    assert "周敏" in p["reason"] and "staff_two_findings_warning" in p["reason"]
    # the staff member named as the office knows them: their unit's name first (only the units the facts
    # name are read for it, not the whole county's)
    assert p["reason"].startswith(f"{db.session.get(Unit, field.staff.unit_id).name}周敏")
    # running again proposes nothing new for the same facts
    assert client.post("/api/v1/accountability/run", headers=a).get_json() == []
    assert len(proposals(client, a)) == 1

    case = client.post("/api/v1/accountability/cases", headers=a, json={
        "subject_type": "staff", "subject_id": field.staff.id, "proposal_ids": [p["id"]],
        "title": "关于周敏同志效能问题的移送函", "summary": "建议对周敏同志予以效能告诫。"})
    assert case.status_code == 201, case.get_json()
    case = case.get_json()
    assert sorted(case["finding_ids"]) == sorted([submitted["badge"], submitted["attitude"]])
    assert proposals(client, a) == [] and proposals(client, a, status="accepted")[0]["case_id"] == case["id"]
    url = f"/api/v1/accountability/cases/{case['id']}"
    assert client.post(f"{url}/send", headers=a).status_code == 409  # not approved
    own = client.post(f"{url}/approve", headers=a)
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "own_case"
    assert client.post(f"{url}/approve", headers=b).get_json()["status"] == "approved"
    sent = client.post(f"{url}/send", headers=b)
    assert sent.status_code == 202 and sent.get_json()["document_number"] == "清效督〔2026〕1号"
    while worker.run_once():
        pass
    case = client.get(url, headers=a).get_json()
    assert case["document_status"] == "issued"
    pdf = client.get(f"/api/v1/documents/{case['document_id']}/pdf", headers=a)
    text = "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert "关于周敏同志效能问题的移送函" in text and "清效督〔2026〕1号" in text and "县纪委监委" in text
    assert "建议对周敏同志予以效能告诫" in text and "县政务服务中心" in text
    # the referral goes to the discipline authority, not to the unit
    liaison = headers_for(client, "unit_liaison", field.unit)
    assert client.get("/api/v1/unit/documents", headers=liaison).get_json() == []

    assert client.post(f"{url}/outcome", headers=a, json={"outcome": "诫勉"}).status_code == 422
    done = client.post(f"{url}/outcome", headers=a, json={"outcome": "admonishment_talk", "note": "县纪委诫勉谈话"})
    assert done.get_json()["outcome_label"] == "诫勉谈话"
    # the outcome is a fact: one 诫勉 → written self-criticism is proposed
    [ladder] = proposals(client, a)
    assert ladder["rule_id"] == "admonishment_once_self_criticism" and ladder["action"] == "written_self_criticism"
    closed = client.post(f"{url}/close", headers=a).get_json()
    assert closed["status"] == "closed"
    assert [h["action"] for h in closed["history"]] == ["case.open", "case.approve", "case.send", "case.outcome",
                                                        "case.close"]

    history = client.get(f"/api/v1/accountability/history/staff/{field.staff.id}", headers=a).get_json()
    kinds = [e["kind"] for e in history["events"]]
    assert kinds.count("finding") == 2 and kinds.count("proposal") == 2 and kinds.count("outcome") == 1
    rows = list(csv.reader(io.StringIO(client.get(
        f"/api/v1/accountability/history/staff/{field.staff.id}?format=csv", headers=a).data.decode("utf-8-sig"))))
    assert rows[0] == ["日期", "类型", "事项", "编号", "详情"] and len(rows) == 6
    assert client.get(f"/api/v1/accountability/history/unit/{field.unit.id}", headers=a).status_code == 200
    assert client.get("/api/v1/accountability/history/planet/1", headers=a).status_code == 404
    assert client.get(f"/api/v1/accountability/history/staff/{field.staff.id}", headers=liaison).status_code == 403


def test_a_dismissed_finding_counts_for_nothing_and_a_dismissed_proposal_stays_dismissed(client, field, submitted,
                                                                                          offices):
    a, _ = offices
    decide(client, a, submitted["badge"], "confirm")
    decide(client, a, submitted["attitude"], "dismiss", reason="证据不足")
    assert proposals(client, a) == []
    decide(client, a, submitted["attitude"], "reopen", reason="新证据")
    decide(client, a, submitted["attitude"], "confirm")
    [p] = proposals(client, a)
    resp = client.post(f"/api/v1/accountability/proposals/{p['id']}/dismiss", headers=a, json={"reason": "情节轻微"})
    assert resp.get_json()["status"] == "dismissed"
    assert client.post("/api/v1/accountability/run", headers=a).get_json() == []  # not proposed again
    assert client.post(f"/api/v1/accountability/proposals/{p['id']}/dismiss", headers=a,
                       json={"reason": "x"}).status_code == 409


def test_the_policy_is_versioned_validated_and_never_rewrites_the_past(client, field, submitted, offices, clock):
    a, _ = offices
    admin = headers_for(client, "admin")
    current = client.get("/api/v1/accountability/policy", headers=a).get_json()
    assert current["version"] == 1 and any(r["id"] == "staff_two_findings_warning" for r in current["rules"])
    decide(client, a, submitted["badge"], "confirm")
    decide(client, a, submitted["attitude"], "confirm")
    [old] = proposals(client, a)
    clock.advance(days=3)  # the new version is adopted on Thursday; the findings were seen on Monday
    a = headers_for(client, "office")
    admin = headers_for(client, "admin")

    same = client.put("/api/v1/accountability/policy", headers=admin, json={"text": current["text"]})
    assert same.status_code == 422  # the version must increase
    broken = client.put("/api/v1/accountability/policy", headers=admin,
                        json={"text": current["text"].replace("version: 1", "version: 2").replace(
                            "propose: efficiency_warning", "propose: firing_squad", 1)})
    assert broken.status_code == 422 and "firing_squad" in broken.get_json()["error"]["message"]
    assert client.put("/api/v1/accountability/policy", headers=a, json={"text": "x"}).status_code == 403
    # version 2: one finding in 12 months is already enough for a warning (a new rule id)
    text = current["text"].replace("version: 1", "version: 2") + (
        "  - id: staff_one_finding_warning\n    name: 同一工作人员12个月内被确认问题1次予以效能告诫\n"
        "    subject: staff\n    when: {confirmed_findings: {count: 1, window_days: 365}}\n"
        "    propose: efficiency_warning\n")
    saved = client.put("/api/v1/accountability/policy", headers=admin, json={"text": text})
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["version"] == 2
    # past facts are not re-judged under the new version; the old proposal keeps its version
    assert client.post("/api/v1/accountability/run", headers=a).get_json() == []
    [still] = proposals(client, a)
    assert still["id"] == old["id"] and still["policy_version"] == 1


def test_a_bulk_confirmation_runs_the_rules_once_for_the_selection(client, field, submitted, offices):
    a, _ = offices
    resp = client.post("/api/v1/review/decisions", headers=a, json={
        "finding_ids": [submitted["badge"], submitted["attitude"]], "action": "confirm"})
    assert [r["status"] for r in resp.get_json()["results"]] == [200, 200]
    [p] = proposals(client, a)
    assert p["rule_id"] == "staff_two_findings_warning" and len(p["fact_ids"]) == 2


def test_a_confirmation_judges_its_own_unit_and_staff_only_and_agrees_with_a_full_run(client, field, submitted,
                                                                                       offices):
    a, _ = offices
    for fid in (submitted["badge"], submitted["attitude"]):  # confirmed without the rules running (as if imported)
        db.session.get(Finding, fid).status = "confirmed"
    db.session.commit()
    other_unit = field.unit.parent.id
    assert services.run_rules(only=services.Subjects(units=frozenset({other_unit}))) == []  # not judged here
    # judged with its staff member: all of that person's facts are read, as a full run would
    [p] = services.run_rules(only=services.Subjects(staff=frozenset({field.staff.id})))
    assert p.rule_id == "staff_two_findings_warning" and p.subject_id == field.staff.id
    db.session.commit()
    assert client.post("/api/v1/accountability/run", headers=a).get_json() == []  # the full run agrees


def test_a_new_policy_version_is_checked_without_being_saved(client):
    admin = headers_for(client, "admin")
    current = client.get("/api/v1/accountability/policy", headers=admin).get_json()
    url = "/api/v1/accountability/policy/validate"
    same = client.post(url, headers=admin, json={"text": current["text"]}).get_json()
    assert same["valid"] is False and same["current_version"] == 1
    assert any("version" in p for p in same["problems"])
    broken = client.post(url, headers=admin, json={"text": current["text"].replace("version: 1", "version: 2").replace(
        "propose: efficiency_warning", "propose: firing_squad", 1)}).get_json()
    assert broken["valid"] is False and any("firing_squad" in p for p in broken["problems"])
    good = client.post(url, headers=admin, json={"text": current["text"].replace("version: 1", "version: 2")})
    assert good.status_code == 200
    assert good.get_json()["valid"] is True and good.get_json()["version"] == 2 and good.get_json()["problems"] == []
    assert [r["id"] for r in good.get_json()["rules"]] == [r["id"] for r in current["rules"]]
    # nothing was saved
    assert client.get("/api/v1/accountability/policy", headers=admin).get_json()["version"] == 1
    assert client.post(url, headers=admin, json={}).status_code == 422
    assert client.post(url, headers=headers_for(client, "office"), json={"text": "x"}).status_code == 403


def test_saving_over_a_version_saved_meanwhile_is_refused_with_412(client):
    admin = headers_for(client, "admin")
    text = client.get("/api/v1/accountability/policy", headers=admin).get_json()["text"]
    url = "/api/v1/accountability/policy"
    first = client.put(url, headers={**admin, "If-Match": '"v1"'}, json={"text": text.replace("version: 1", "version: 2")})
    assert first.status_code == 201, first.get_json()
    late = client.put(url, headers={**admin, "If-Match": '"v1"'}, json={"text": text.replace("version: 1", "version: 3")})
    assert late.status_code == 412 and late.get_json()["error"]["details"]["current_version"] == 2
    assert client.put(url, headers={**admin, "If-Match": '"v2"'},
                      json={"text": text.replace("version: 1", "version: 3")}).status_code == 201


def test_a_decision_is_committed_before_the_rules_judge_it_and_they_read_without_the_write_lock(
        client, field, submitted, offices, monkeypatch):
    """The phones' writes wait on SQLite's one write lock: a review decision commits first, and the
    rules read every fact of the unit and the person outside any write transaction, taking the lock
    only to store the proposal (one decision and one bulk decision)."""
    from inspect_api.db import write_intent

    a, _ = offices
    real, seen = services._judge, []

    def judging(only):
        finding_status = db.session.get(Finding, submitted["attitude"]).status
        seen.append((write_intent.get(), finding_status))
        return real(only)

    monkeypatch.setattr(services, "_judge", judging)
    decide(client, a, submitted["badge"], "confirm")
    resp = client.post("/api/v1/review/decisions", headers=a, json={
        "finding_ids": [submitted["same_visit_attitude"], submitted["attitude"]], "action": "confirm"})
    assert [r["status"] for r in resp.get_json()["results"]] == [200, 200]
    assert [w for w, _ in seen] == [False, False]  # both judged in a read phase
    assert seen[1][1] == "confirmed"  # what they judged was committed already
    [p] = proposals(client, a)  # and the proposal was stored, under the lock
    assert p["rule_id"] == "staff_two_findings_warning" and len(p["fact_ids"]) == 3


def test_a_decision_stands_when_the_rules_after_it_fail(client, field, submitted, offices, monkeypatch, caplog):
    """Judging runs after the decision's commit: if it fails, the decision is answered and kept, the
    failure is logged, and the next run (the nightly one) judges again and proposes once."""
    a, _ = offices

    def broken(only):
        raise RuntimeError("judging failed")

    decide(client, a, submitted["badge"], "confirm")
    decide(client, a, submitted["same_visit_attitude"], "confirm")
    monkeypatch.setattr(services, "_judge", broken)
    resp = decide(client, a, submitted["attitude"], "confirm")
    assert resp.status_code == 200 and resp.get_json()["status"] == "confirmed"
    assert "escalation rules after a review decision failed" in caplog.text
    db.session.expire_all()
    assert db.session.get(Finding, submitted["attitude"]).status == "confirmed"
    assert proposals(client, a) == []
    monkeypatch.undo()
    [p] = services.run_rules()  # the nightly run
    db.session.commit()
    assert p.rule_id == "staff_two_findings_warning"
    assert services.run_rules() == []  # and only once
