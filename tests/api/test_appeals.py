"""The unit's side of a confirmed finding: appeals (申辩), rectification reports, their attachments, and
deadlines counted again when a year's holiday table arrives."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from PIL import Image

from inspect_api.auth import services as auth
from inspect_api.db import db
from inspect_api.review.models import Appeal, Attachment, Rectification
from inspect_api.review.services import flag_overdue_rectifications
from tests.api.conftest import decide
from tests.helpers import bearer, field_errors, headers_for, login, make_unit, make_user
from tests.images import photo, truncated_jpeg


def pdf_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 280), (255, 255, 255)).save(buf, "PDF")
    return buf.getvalue()


def appeal(client, headers, fid, text="该窗口当日为临时替岗人员, 工牌已补办", files=()):
    data = {"text": text, "files": [(io.BytesIO(content), name, mime) for content, name, mime in files]}
    return client.post(f"/api/v1/unit/findings/{fid}/appeals", headers=headers, data=data,
                       content_type="multipart/form-data")


def report(client, headers, fid, text="已组织窗口人员培训, 全员佩戴工牌上岗", files=()):
    data = {"text": text, "files": [(io.BytesIO(content), name, mime) for content, name, mime in files]}
    return client.post(f"/api/v1/unit/findings/{fid}/reports", headers=headers, data=data,
                       content_type="multipart/form-data")


@pytest.fixture()
def confirmed(client, field, submitted, clock):
    """The attitude finding (serious: 5 working days) confirmed Monday 23 Nov 2026, 10:00 Beijing."""
    office = headers_for(client, "office")
    assert decide(client, office, submitted["attitude"], "confirm").status_code == 200
    user = make_user("unit_liaison", unit=field.unit)
    return {"fid": submitted["attitude"], "office": office, "liaison": as_user(client, user), "liaison_user": user,
            **submitted}


def as_user(client, user) -> dict:
    """A fresh login (tokens expire when a test moves the clock on by days)."""
    return bearer(login(client, user.username)["access_token"])


def notes(client, headers) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/me/notifications", headers=headers).get_json()]


def test_an_upheld_appeal_withdraws_the_finding_and_cancels_the_rectification(client, field, confirmed):
    fid, office, liaison = confirmed["fid"], confirmed["office"], confirmed["liaison"]
    pdf_sent = pdf_bytes()  # Pillow stamps the creation time: keep the bytes that were sent
    resp = appeal(client, liaison, fid, files=[(pdf_sent, "说明.pdf", "application/pdf"),
                                                (photo(seed=7), "工牌.jpg", "image/jpeg")])
    assert resp.status_code == 201, resp.get_json()
    filed = resp.get_json()
    assert filed["status"] == "pending" and "filed_by" not in filed
    assert [a["media_type"] for a in filed["attachments"]] == ["application/pdf", "image/jpeg"]
    pdf = client.get(filed["attachments"][0]["url"], headers=liaison)
    assert pdf.status_code == 200 and pdf.data == pdf_sent
    assert "appeal.filed" in notes(client, office)
    # one appeal at a time
    assert appeal(client, liaison, fid).get_json()["error"]["code"] == "appeal_pending"

    [queued] = client.get("/api/v1/review/appeals", headers=office).get_json()
    assert queued["id"] == filed["id"] and queued["filed_by"] is not None
    url = f"/api/v1/review/appeals/{filed['id']}/decision"
    assert client.post(url, headers=office, json={"action": "uphold"}).status_code == 422  # reason required
    assert client.post(url, headers=office, json={"action": "upheld", "reason": "x"}).status_code == 422
    ok = client.post(url, headers=office, json={"action": "uphold", "reason": "替岗属实, 已补办工牌"})
    assert ok.status_code == 200 and ok.get_json()["status"] == "upheld"
    again = client.post(url, headers=office, json={"action": "reject", "reason": "x"})
    assert again.status_code == 409

    detail = client.get(f"/api/v1/unit/findings/{fid}", headers=liaison).get_json()
    assert detail["status"] == "withdrawn" and detail["rectification"] is None
    assert detail["appeals"][0]["status_label"] == "申辩成立"
    assert "decided_by" not in detail["appeals"][0]
    assert "appeal.upheld" in notes(client, liaison)
    assert report(client, liaison, fid).status_code == 409  # nothing to rectify any more
    history = client.get(f"/api/v1/review/findings/{fid}/history", headers=office).get_json()["results"]
    assert [h["action"] for h in history][-3:] == ["appeal.file", "finding.withdraw", "appeal.uphold"]
    assert history[-2]["before"]["status"] == "confirmed" and history[-2]["after"]["status"] == "withdrawn"
    assert history[-3]["after"]["attachments"][0]["sha256"] == filed["attachments"][0]["sha256"]
    # a withdrawn finding can still be reopened by the office: never a dead end
    assert decide(client, office, fid, "reopen", reason="新证据").get_json()["status"] == "pending_review"


def test_a_rejected_appeal_leaves_the_finding_and_one_appeal_per_confirmation(client, field, confirmed, clock):
    fid, office, liaison = confirmed["fid"], confirmed["office"], confirmed["liaison"]
    aid = appeal(client, liaison, fid).get_json()["id"]
    resp = client.post(f"/api/v1/review/appeals/{aid}/decision", headers=office,
                       json={"action": "reject", "reason": "现场照片清楚显示未佩戴"})
    assert resp.get_json()["status"] == "rejected"
    detail = client.get(f"/api/v1/unit/findings/{fid}", headers=liaison).get_json()
    assert detail["status"] == "confirmed" and detail["rectification"]["status"] == "open"
    assert appeal(client, liaison, fid).get_json()["error"]["code"] == "already_appealed"
    assert client.get("/api/v1/review/appeals", headers=office).get_json() == []
    assert len(client.get("/api/v1/review/appeals?status=rejected", headers=office).get_json()) == 1
    # reopened and confirmed again: a new confirmation, a new window
    clock.advance(minutes=30)
    decide(client, office, fid, "reopen", reason="复核")
    decide(client, office, fid, "confirm")
    assert appeal(client, liaison, fid).status_code == 201


def test_the_appeal_window_closes_after_the_policy_days(client, field, confirmed, clock):
    fid = confirmed["fid"]
    # window: 5 working days from Monday 23 Nov → Monday 30 Nov, inclusive
    clock.advance(days=7)
    liaison = as_user(client, confirmed["liaison_user"])
    detail = client.get(f"/api/v1/unit/findings/{fid}", headers=liaison).get_json()
    assert detail["rectification"]["appeal_due_on"] == "2026-11-30"
    clock.advance(days=1)
    liaison = as_user(client, confirmed["liaison_user"])
    resp = appeal(client, liaison, fid)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "appeal_window_closed"
    assert resp.get_json()["error"]["details"]["appeal_due_on"] == "2026-11-30"


def test_only_the_unit_concerned_and_only_confirmed_findings(client, field, submitted, confirmed):
    other = headers_for(client, "unit_liaison", make_unit(name="别的单位"))
    fid = confirmed["fid"]
    for resp in (appeal(client, other, fid), report(client, other, fid),
                 client.get(f"/api/v1/unit/findings/{fid}", headers=other)):
        assert resp.status_code == 404
    # still under review: the unit does not know of it
    assert appeal(client, confirmed["liaison"], submitted["badge"]).status_code == 404
    filed = appeal(client, confirmed["liaison"], fid, files=[(photo(seed=3), "a.jpg", "image/jpeg")]).get_json()
    url = filed["attachments"][0]["url"]
    assert client.get(url, headers=other).status_code == 404
    assert client.get(url, headers=confirmed["office"]).status_code == 200
    assert client.get(url, headers=headers_for(client, "inspector")).status_code == 403


@pytest.mark.parametrize(("content", "name", "mime", "status", "code"), [
    (b"just some text", "note.txt", "text/plain", 415, "not_an_image"),
    (truncated_jpeg(), "cut.jpg", "image/jpeg", 422, "image_broken"),
    (pdf_bytes()[:-40], "cut.pdf", "application/pdf", 422, "pdf_broken"),
    (b"", "empty.pdf", "application/pdf", 422, "empty_file"),
])
def test_a_bad_attachment_refuses_the_whole_appeal(client, field, confirmed, content, name, mime, status, code):
    resp = appeal(client, confirmed["liaison"], confirmed["fid"],
                  files=[(photo(seed=5), "ok.jpg", "image/jpeg"), (content, name, mime)])
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appeal)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert appeal(client, confirmed["liaison"], confirmed["fid"]).status_code == 201  # nothing was spent


def test_appeal_form_errors(client, field, confirmed):
    resp = client.post(f"/api/v1/unit/findings/{confirmed['fid']}/appeals", headers=confirmed["liaison"],
                       data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "text" in field_errors(resp)
    many = [(photo(seed=i, width=64, height=64), f"{i}.jpg", "image/jpeg") for i in range(11)]
    assert appeal(client, confirmed["liaison"], confirmed["fid"], files=many).status_code == 422


def test_an_appeal_on_an_own_visit_is_decided_by_someone_else(client, field, confirmed):
    aid = appeal(client, confirmed["liaison"], confirmed["fid"]).get_json()["id"]
    auth.update_user(field.b, {"role": "office"})
    own = bearer(login(client, field.b.username)["access_token"])
    resp = client.post(f"/api/v1/review/appeals/{aid}/decision", headers=own, json={"action": "uphold", "reason": "x"})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "own_visit"


def test_rectification_report_accept_and_return(client, field, confirmed, clock):
    fid, office, liaison = confirmed["fid"], confirmed["office"], confirmed["liaison"]
    first = report(client, liaison, fid, files=[(photo(seed=9), "整改后.jpg", "image/jpeg")])
    assert first.status_code == 201 and first.get_json()["status"] == "submitted"
    assert report(client, liaison, fid).status_code == 409  # one report waits at a time
    clock.advance(days=10)  # past the due day (30 Nov): a reported rectification is not overdue
    assert flag_overdue_rectifications() == 0
    [queued] = client.get("/api/v1/review/reports", headers=office).get_json()
    url = f"/api/v1/review/reports/{queued['id']}/decision"
    assert client.post(url, headers=office, json={"action": "return"}).status_code == 422
    back = client.post(url, headers=office, json={"action": "return", "reason": "缺少培训签到表"})
    assert back.status_code == 200 and back.get_json()["status"] == "returned"
    assert client.post(url, headers=office, json={"action": "accept"}).status_code == 409
    liaison = as_user(client, confirmed["liaison_user"])
    detail = client.get(f"/api/v1/unit/findings/{fid}", headers=liaison).get_json()
    assert detail["rectification"]["status"] == "overdue"  # returned after its day: overdue at once
    assert "rectification.returned" in notes(client, liaison)
    second = report(client, liaison, fid, text="补充培训签到表", files=[(pdf_bytes(), "签到表.pdf", "application/pdf")])
    assert second.status_code == 201
    accept = client.post(f"/api/v1/review/reports/{second.get_json()['id']}/decision", headers=office,
                         json={"action": "accept"})
    assert accept.get_json()["status"] == "accepted"
    detail = client.get(f"/api/v1/unit/findings/{fid}", headers=liaison).get_json()
    assert detail["rectification"]["status"] == "accepted"
    assert [r["status"] for r in detail["reports"]] == ["returned", "accepted"]
    assert report(client, liaison, fid).status_code == 409
    assert flag_overdue_rectifications() == 0
    history = client.get(f"/api/v1/review/findings/{fid}/history", headers=office).get_json()["results"]
    assert [h["action"] for h in history][-4:] == ["rectification.report", "rectification.return",
                                                   "rectification.report", "rectification.accept"]


def test_a_severity_change_recounts_the_deadline_from_the_same_day(client, field, confirmed, clock):
    fid, office, liaison = confirmed["fid"], confirmed["office"], confirmed["liaison"]
    assert report(client, liaison, fid).status_code == 201
    clock.advance(days=2)
    office = headers_for(client, "office")
    decide(client, office, fid, "adjust_severity", severity="minor", reason="情节较轻")
    liaison = as_user(client, confirmed["liaison_user"])
    rect = client.get(f"/api/v1/unit/findings/{fid}", headers=liaison).get_json()["rectification"]
    # 10 working days from Monday 23 Nov (not from today), and the report already filed stands
    assert rect == {**rect, "due_on": "2026-12-07", "working_days": 10, "status": "reported"}


def test_importing_a_year_recounts_provisional_deadlines_and_tells_people(client, field, submitted, clock):
    clock.at = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 28 Dec, 10:00 Beijing
    office = headers_for(client, "office")
    decide(client, office, submitted["badge"], "confirm")  # minor: 10 working days
    liaison = headers_for(client, "unit_liaison", field.unit)
    rect = client.get(f"/api/v1/unit/findings/{submitted['badge']}", headers=liaison).get_json()["rectification"]
    # 2027 not loaded: Monday–Friday assumed, 1 Jan counted as a working day
    assert (rect["due_on"], rect["provisional"]) == ("2027-01-11", True)
    assert (rect["appeal_due_on"], rect["appeal_provisional"]) == ("2027-01-04", True)

    admin = headers_for(client, "admin")
    table = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n"
    resp = client.post("/api/v1/calendar/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(table.encode()), "2027.csv", "text/csv")})
    assert resp.status_code == 200 and resp.get_json()["deadlines_changed"] == 1
    rect = client.get(f"/api/v1/unit/findings/{submitted['badge']}", headers=liaison).get_json()["rectification"]
    assert (rect["due_on"], rect["provisional"]) == ("2027-01-12", False)
    assert (rect["appeal_due_on"], rect["appeal_provisional"]) == ("2027-01-05", False)
    for who in (liaison, office):
        recomputed = [n for n in client.get("/api/v1/me/notifications", headers=who).get_json()
                      if n["kind"] == "deadline.recomputed"]
        assert len(recomputed) == 1 and "2027-01-11 → 2027-01-12" in recomputed[0]["body"]
    history = client.get(f"/api/v1/review/findings/{submitted['badge']}/history", headers=office).get_json()
    last = history["results"][-1]
    assert last["action"] == "rectification.recompute" and last["before"]["due_on"] == "2027-01-11"
    # the same table again moves nothing and tells nobody twice
    resp = client.post("/api/v1/calendar/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(table.encode()), "2027.csv", "text/csv")})
    assert resp.get_json()["deadlines_changed"] == 0
    assert db.session.get(Rectification, submitted["badge"]).provisional is False
