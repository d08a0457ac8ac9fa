"""The office's review: decisions and their transitions, four eyes, bulk, send back, the unit's view."""

from __future__ import annotations

from inspect_api.auth import services as auth
from tests.api.conftest import decide, new_id
from tests.helpers import bearer, headers_for, login, make_photo_copies, make_unit, make_user


def test_queue_lists_findings_of_submitted_visits(client, field, submitted):
    office = headers_for(client, "office")
    queue = client.get("/api/v1/review/findings", headers=office).get_json()
    assert {f["id"] for f in queue} == {submitted["badge"], submitted["attitude"]}
    only = client.get("/api/v1/review/findings?category=poor_attitude", headers=office).get_json()
    assert [f["id"] for f in only] == [submitted["attitude"]]


def test_every_allowed_and_refused_transition(client, field, submitted):
    office = headers_for(client, "office")
    fid = submitted["attitude"]
    assert decide(client, office, fid, "dismiss").status_code == 422  # a reason is required
    assert decide(client, office, fid, "reopen", reason="x").status_code == 409  # pending: nothing to reopen
    ok = decide(client, office, fid, "confirm")
    assert ok.status_code == 200 and ok.get_json()["status"] == "confirmed"
    again = decide(client, office, fid, "confirm")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_transition"
    assert decide(client, office, fid, "dismiss", reason="重复").status_code == 409
    sev = decide(client, office, fid, "adjust_severity", reason="群众反映强烈", severity="severe")
    assert sev.status_code == 200 and sev.get_json()["severity"] == "severe"
    assert decide(client, office, fid, "adjust_severity", reason="x").status_code == 422  # no severity
    reopened = decide(client, office, fid, "reopen", reason="补充调查")
    assert reopened.get_json()["status"] == "pending_review"
    dismissed = decide(client, office, fid, "dismiss", reason="证据不足")
    assert dismissed.get_json()["status"] == "dismissed"
    assert decide(client, office, fid, "reopen", reason="新证据").get_json()["status"] == "pending_review"
    history = client.get(f"/api/v1/review/findings/{fid}/history", headers=office).get_json()["results"]
    assert [h["action"] for h in history] == ["finding.confirm", "finding.adjust_severity", "finding.reopen",
                                              "finding.dismiss", "finding.reopen"]
    assert history[0]["actor_role"] == "office" and history[0]["before"]["status"] == "pending_review"


def test_an_inspector_cannot_review_their_own_visit(client, field, submitted):
    auth.update_user(field.b, {"role": "office"})  # moved to the office later
    headers = bearer(login(client, field.b.username)["access_token"])
    resp = decide(client, headers, submitted["badge"], "confirm")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "own_visit"


def test_bulk_decisions_report_each_finding(client, field, submitted):
    office = headers_for(client, "office")
    decide(client, office, submitted["badge"], "confirm")
    resp = client.post("/api/v1/review/decisions", headers=office, json={
        "finding_ids": [submitted["badge"], submitted["attitude"], new_id()], "action": "confirm"})
    results = resp.get_json()["results"]
    assert [r["status"] for r in results] == [409, 200, 404]
    assert results[1]["finding_status"] == "confirmed"


def test_send_back_reopens_the_visit_and_resubmission_returns_it_to_the_queue(client, field, submitted):
    office = headers_for(client, "office")
    decide(client, office, submitted["badge"], "confirm")
    sent = decide(client, office, submitted["attitude"], "send_back", reason="请补充接待过程录音或照片")
    assert sent.get_json()["status"] == "returned"
    visit = client.get(f"/api/v1/visits/{submitted['visit_id']}", headers=field.ha).get_json()
    assert visit["status"] == "draft"
    assert client.get("/api/v1/review/findings", headers=office).get_json() == []  # nothing while it is edited
    notes = client.get("/api/v1/me/notifications", headers=field.ha).get_json()
    assert any(n["kind"] == "finding.returned" for n in notes)
    # the inspectors add a note and a photo, then submit again
    changed = {**submitted["body"], "notes": "补充: 当时窗口排队8人"}
    put = client.put(f"/api/v1/visits/{submitted['visit_id']}", json=changed,
                     headers={**field.ha, "If-Match": f'"v{visit["version"]}"'})
    assert put.status_code == 200, put.get_json()
    again = client.post(f"/api/v1/visits/{submitted['visit_id']}/submit", headers=field.ha).get_json()
    statuses = {f["id"]: f["status"] for f in again["findings"]}
    assert statuses[submitted["attitude"]] == "pending_review"
    assert statuses[submitted["badge"]] == "confirmed"  # the decision already taken stands
    queue = client.get("/api/v1/review/findings", headers=office).get_json()
    assert [f["id"] for f in queue] == [submitted["attitude"]]


def test_the_unit_sees_confirmed_findings_and_only_watermarked_photos(client, field, submitted):
    liaison_user = make_user("unit_liaison", unit=field.unit)
    liaison = bearer(login(client, liaison_user.username)["access_token"])
    assert client.get("/api/v1/unit/findings", headers=liaison).get_json() == []
    office = headers_for(client, "office")
    decide(client, office, submitted["badge"], "confirm")
    mine = client.get("/api/v1/unit/findings", headers=liaison).get_json()
    assert [f["id"] for f in mine] == [submitted["badge"]]
    assert set(mine[0]) == {"id", "category", "severity", "status", "unit_id", "staff_id", "badge_no", "window_no",
                            "observed_at", "observed_on", "observed_half_day", "description", "photos",
                            "rectification", "complaint_id", "complaint_url"}
    assert mine[0]["complaint_id"] is None  # a visit's finding: how it was found stays unsaid
    [link] = mine[0]["photos"]
    assert link.endswith("/watermarked")
    assert client.get(link, headers=liaison).status_code == 202  # the media worker has not made it yet
    make_photo_copies()
    assert client.get(link, headers=liaison).status_code == 200
    assert client.get(submitted["evidence"]["links"]["original"], headers=liaison).status_code == 404
    notes = client.get("/api/v1/me/notifications", headers=liaison).get_json()
    assert [n["kind"] for n in notes] == ["finding.confirmed"]
    other = headers_for(client, "unit_liaison", make_unit(name="别的单位"))
    assert client.get("/api/v1/unit/findings", headers=other).get_json() == []
    assert client.get(link, headers=other).status_code == 404


def test_findings_of_a_visit_being_edited_wait_outside_the_queue(client, field, submitted):
    office = headers_for(client, "office")
    decide(client, office, submitted["attitude"], "send_back", reason="补充证据")
    # the badge finding is still pending, but its visit is a draft again
    assert client.get("/api/v1/review/findings", headers=office).get_json() == []
    returned = client.get("/api/v1/review/findings?status=returned", headers=office).get_json()
    assert [f["id"] for f in returned] == [submitted["attitude"]]
    visit = client.get(f"/api/v1/visits/{submitted['visit_id']}", headers=field.ha).get_json()
    client.post(f"/api/v1/visits/{visit['id']}/submit", headers=field.ha)
    queue = client.get("/api/v1/review/findings", headers=office).get_json()
    assert {f["id"] for f in queue} == {submitted["badge"], submitted["attitude"]}


def test_confirmation_sets_a_rectification_deadline_by_severity_and_the_job_flags_it_overdue(
        client, field, submitted, clock):
    from datetime import date

    from inspect_api.review.services import flag_overdue_rectifications

    liaison = headers_for(client, "unit_liaison", field.unit)
    office = headers_for(client, "office")
    decide(client, office, submitted["attitude"], "confirm")  # serious: 5 working days (policy file)
    [finding] = client.get("/api/v1/unit/findings", headers=liaison).get_json()
    # confirmed Monday 23 Nov 2026 (Beijing time): five working days later is Monday 30 Nov
    assert finding["rectification"] == {"due_on": "2026-11-30", "provisional": False, "status": "open",
                                        "status_label": "整改中", "working_days": 5,
                                        "days_left": 5, "days_left_provisional": False,
                                        "appeal_due_on": "2026-11-30", "appeal_provisional": False,
                                        "appeal_days_left": 5}
    clock.advance(days=7)  # Monday 30 Nov: due today, not yet overdue
    assert flag_overdue_rectifications() == 0
    clock.advance(days=1)
    assert flag_overdue_rectifications() == 1
    assert flag_overdue_rectifications() == 0  # twice is once
    liaison = headers_for(client, "unit_liaison", field.unit)  # a fresh login a week on
    [finding] = client.get("/api/v1/unit/findings", headers=liaison).get_json()
    assert finding["rectification"]["status"] == "overdue"
    office = headers_for(client, "office")
    decide(client, office, submitted["attitude"], "reopen", reason="单位提出异议")
    assert client.get("/api/v1/unit/findings", headers=liaison).get_json() == []
    assert date(2026, 11, 30).weekday() == 0


def test_a_december_confirmation_gets_a_provisional_deadline(client, field, submitted, clock):
    from datetime import UTC, datetime

    clock.at = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
    office = headers_for(client, "office")
    decide(client, office, submitted["badge"], "confirm")  # minor: 10 working days, into 2027
    liaison = headers_for(client, "unit_liaison", field.unit)
    [finding] = client.get("/api/v1/unit/findings", headers=liaison).get_json()
    assert finding["rectification"]["provisional"] is True
    assert finding["rectification"]["due_on"] > "2027-01-01"
