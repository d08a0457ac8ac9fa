"""Visits from the phone: idempotent upsert, derived findings, expected photos, submit, concurrency."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspect_api.visits.models import Visit
from tests.api.conftest import new_id
from tests.helpers import bearer, headers_for, login, make_user
from tests.images import photo


def put(client, field, vid, body, headers=None, **extra_headers):
    return client.put(f"/api/v1/visits/{vid}", json=body, headers={**(headers or field.ha), **extra_headers})


def test_creating_a_draft_derives_findings_and_lists_missing_photos(client, field):
    vid = new_id()
    resp = put(client, field, vid, field.visit())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["ETag"] == '"v1"' and body["version"] == 1 and body["status"] == "draft"
    assert body["code"].startswith("V2026-")
    cats = sorted((f["category"], f["source"]) for f in body["findings"])
    assert cats == [("badge_missing", "item"), ("poor_attitude", "item")]
    a1 = next(f for f in body["findings"] if f["item_code"] == "A1")
    assert a1["staff_id"] == field.staff.id and a1["severity"] == "minor" and a1["points"] == 2
    assert [p["item_code"] for p in body["expected_photos"]] == ["A1"]
    assert body["expected_photos"][0]["present"] is False
    assert body["deducted_points"] > 0
    assert body["clock_skew_seconds"] is not None
    assert body["checklist"]["content_hash"]


def test_identical_resend_is_a_no_op_even_without_if_match(client, field):
    vid = new_id()
    first = put(client, field, vid, field.visit())
    # the phone's clock moved on: device_time differs, content does not
    again = put(client, field, vid, field.visit(device_time="2026-11-23T11:00:00+08:00"))
    assert again.status_code == 200
    assert again.get_json()["version"] == first.get_json()["version"] == 1
    assert again.get_json()["findings"] == first.get_json()["findings"]


def test_changing_a_draft_needs_the_current_version(client, field):
    vid = new_id()
    put(client, field, vid, field.visit())
    changed = field.visit(notes="补充: 窗口无人值守5分钟")
    missing = put(client, field, vid, changed)
    assert missing.status_code == 428 and missing.get_json()["error"]["details"]["current_version"] == 1
    ok = put(client, field, vid, changed, **{"If-Match": '"v1"'})
    assert ok.status_code == 200 and ok.get_json()["version"] == 2
    stale = put(client, field, vid, field.visit(notes="另一台手机的修改"), **{"If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.get_json()["error"]["details"]["current_version"] == 2
    assert client.get(f"/api/v1/visits/{vid}", headers=field.ha).get_json()["notes"] == "补充: 窗口无人值守5分钟"


def test_passing_an_item_removes_its_finding(client, field):
    vid = new_id()
    put(client, field, vid, field.visit())
    body = field.visit(responses=[{"item_code": "A1", "answer": "yes"}])
    resp = put(client, field, vid, body, **{"If-Match": '"v1"'})
    assert resp.get_json()["findings"] == [] and resp.get_json()["expected_photos"] == []


def test_bad_answers_are_422_naming_the_item(client, field):
    body = field.visit(responses=[{"item_code": "A1", "answer": "maybe"}, {"item_code": "ZZ9", "answer": "yes"},
                                  {"item_code": "E1", "answer": "furious"}])
    resp = put(client, field, new_id(), body)
    assert resp.status_code == 422
    problems = resp.get_json()["error"]["details"]["fields"]["responses"]
    assert set(problems) == {"A1", "ZZ9", "E1"}


def test_a_team_of_one_is_refused(client, field):
    resp = put(client, field, new_id(), field.visit(team=[field.a.id]))
    assert resp.status_code == 422 and "team" in resp.get_json()["error"]["details"]["fields"]


def test_team_members_must_be_inspectors_and_include_the_sender(client, field):
    office_user = make_user("office")
    unknown = put(client, field, new_id(), field.visit(team=[field.a.id, 999999]))
    not_inspector = put(client, field, new_id(), field.visit(team=[field.a.id, office_user.id]))
    without_me = put(client, field, new_id(), field.visit(team=[field.b.id, make_user("inspector").id]))
    for resp in (unknown, not_inspector, without_me):
        assert resp.status_code == 422 and "team" in resp.get_json()["error"]["details"]["fields"]


def test_mode_must_fit_the_checklist_kind(client, field):
    resp = put(client, field, new_id(), field.visit(mode="mystery_shopper"))
    assert resp.status_code == 422 and "checklist" in resp.get_json()["error"]["details"]["fields"]


def test_manual_finding_without_badge_adds_badge_missing(client, field):
    fid = new_id()
    body = field.visit(responses=[{"item_code": "A1", "answer": "yes"}], findings=[{
        "id": fid, "category": "unrelated_activity", "severity": "serious", "window_no": "5",
        "position": "收件岗", "observed_at": "2026-11-23T09:41:00+08:00", "description": "上班时间玩手机游戏"}])
    resp = put(client, field, new_id(), body)
    findings = {f["source"]: f for f in resp.get_json()["findings"]}
    assert findings["manual"]["id"] == fid and findings["manual"]["staff_id"] is None
    assert findings["badge"]["category"] == "badge_missing" and findings["badge"]["window_no"] == "5"


def test_manual_finding_with_badge_names_the_staff_member(client, field):
    body = field.visit(findings=[{"id": new_id(), "category": "poor_attitude", "severity": "serious",
                                  "badge_no": "QC-0301", "description": "对群众不理不睬"}])
    resp = put(client, field, new_id(), body)
    manual = next(f for f in resp.get_json()["findings"] if f["source"] == "manual")
    assert manual["staff_id"] == field.staff.id


def test_submit_is_refused_until_the_photos_are_there_then_freezes(client, field):
    vid = new_id()
    put(client, field, vid, field.visit())
    refused = client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha)
    assert refused.status_code == 409
    err = refused.get_json()["error"]
    assert err["code"] == "evidence_missing" and [m["item_code"] for m in err["details"]["missing_photos"]] == ["A1"]

    up = client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha,
                     data={"file": (__import__("io").BytesIO(photo()), "a1.jpg", "image/jpeg"), "item_code": "A1"},
                     content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    done = client.post(f"/api/v1/visits/{vid}/submit", headers=field.hb)
    assert done.status_code == 200 and done.get_json()["status"] == "submitted"
    assert {f["status"] for f in done.get_json()["findings"]} == {"pending_review"}
    again = client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha)
    assert again.status_code == 200 and again.get_json() == done.get_json()
    changed = put(client, field, vid, field.visit(notes="提交后修改"), **{"If-Match": f'"v{done.get_json()["version"]}"'})
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "visit_frozen"
    same = put(client, field, vid, field.visit())
    assert same.status_code == 200 and same.get_json()["status"] == "submitted"


def test_visits_are_visible_to_their_team_and_the_office_only(client, field):
    vid = new_id()
    put(client, field, vid, field.visit())
    outsider = headers_for(client, "inspector")
    assert client.get(f"/api/v1/visits/{vid}", headers=outsider).status_code == 404
    assert client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=outsider).status_code == 404
    assert client.get(f"/api/v1/visits/{vid}", headers=headers_for(client, "office")).status_code == 200
    assert client.get(f"/api/v1/visits/{vid}", headers=headers_for(client, "unit_liaison", field.unit)).status_code == 403
    mine = client.get("/api/v1/visits?status=draft", headers=field.hb).get_json()
    assert [v["id"] for v in mine] == [vid] and mine[0]["missing_photos"] == 1
    assert client.get("/api/v1/visits", headers=outsider).get_json() == []


def test_get_with_matching_etag_is_304(client, field):
    vid = new_id()
    etag = put(client, field, vid, field.visit()).headers["ETag"]
    # weak comparison (RFC 9110): the tag as sent, its weak form, a list holding it, and *
    for sent in (etag, f"W/{etag}", f'"v99", {etag}', "*"):
        resp = client.get(f"/api/v1/visits/{vid}", headers={**field.ha, "If-None-Match": sent})
        assert resp.status_code == 304 and resp.headers["ETag"] == etag, sent
    for sent in ('"v99"', 'W/"v99", "v2"'):
        assert client.get(f"/api/v1/visits/{vid}", headers={**field.ha, "If-None-Match": sent}).status_code == 200


def test_ids_beyond_the_integer_range_are_422_not_500(client, field):
    big = 2**40
    for key, value in (("unit_id", big), ("staff_id", big), ("assignment_id", big), ("team", [field.a.id, big])):
        resp = put(client, field, new_id(), field.visit(**{key: value}))
        assert resp.status_code == 422, key
        assert key in resp.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("via", ["put", "sync"])
def test_an_edit_is_on_the_trail_with_what_changed_before_and_after(client, field, via):
    """Also through a sync, which looks at a stored visit without its answers and findings before it
    takes the lock: the edit still compares against all of them."""
    import sqlalchemy as sa

    from inspect_api.audit import services as audit
    from inspect_api.audit.models import AuditEvent
    from inspect_api.db import db

    vid = new_id()
    first = put(client, field, vid, field.visit()).get_json()
    attitude = next(f["id"] for f in first["findings"] if f["category"] == "poor_attitude")
    body = field.visit(notes="补充说明", responses=[{"item_code": "A1", "answer": "no", "note": "3号窗口未佩戴工牌"},
                                                {"item_code": "A2", "answer": "yes"},
                                                {"item_code": "E1", "answer": "warm"}],
                       window_no="5")
    if via == "put":
        assert put(client, field, vid, body, **{"If-Match": '"v1"'}).status_code == 200
    else:
        got = client.post("/api/v1/sync", json={"visits": [{**body, "id": vid, "base_version": 1}]}, headers=field.ha)
        assert got.get_json()["results"][0]["outcome"] == "updated"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_id == vid)
                               .order_by(AuditEvent.seq.desc())).first()
    entry = audit.decode(event)
    assert entry["action"] == "visit.update" and entry["before"] == {"version": 1}
    changes = entry["after"]["changes"]
    assert changes["fields"] == {"notes": [None, "补充说明"], "window_no": ["3", "5"]}
    assert changes["responses"] == {"E1": [{"answer": "cold", "note": None}, {"answer": "warm", "note": None}]}
    assert list(changes["findings"]["removed"]) == [attitude]
    assert changes["findings"]["removed"][attitude]["category"] == "poor_attitude"
    # the badge finding stays; its window followed the visit's
    [(badge_id, delta)] = changes["findings"]["changed"].items()
    assert delta == {"window_no": ["3", "5"]}
    assert "team" not in changes and "added" not in changes["findings"]


def test_a_visit_recorded_just_after_local_midnight_on_new_years_day_is_numbered_in_the_new_year(
        client, field, clock):
    from datetime import UTC, datetime

    clock.at = datetime(2026, 12, 31, 15, 50, tzinfo=UTC)  # 23:50 on 31 December in Beijing
    inspector = bearer(login(client, field.a.username)["access_token"])  # the fixture's session ended after 30 days
    old = put(client, field, new_id(), field.visit(), headers=inspector).get_json()["code"]
    clock.at = datetime(2026, 12, 31, 16, 10, tzinfo=UTC)  # 00:10 on 1 January 2027 in Beijing
    new = put(client, field, new_id(), field.visit(), headers=inspector).get_json()["code"]
    assert old.startswith("V2026-") and new == "V2027-000001"


def test_a_failed_item_finding_carries_the_answers_note_and_the_visit_time(client, field):
    resp = put(client, field, new_id(), field.visit())
    a1 = next(f for f in resp.get_json()["findings"] if f["item_code"] == "A1")
    assert a1["description"] == "3号窗口未佩戴工牌"
    assert a1["observed_at"] == "2026-11-23T01:30:00+00:00"  # the visit started 09:30 Beijing time


def test_the_phones_own_times_win_over_the_visits(client, field):
    body = field.visit(
        responses=[{"item_code": "A1", "answer": "no", "note": "未佩戴", "answered_at": "2026-11-23T09:47:00+08:00"}],
        findings=[{"id": new_id(), "category": "poor_attitude", "severity": "serious", "badge_no": "QC-0301",
                   "observed_at": "2026-11-23T09:52:00+08:00", "description": "不理不睬"},
                  {"id": new_id(), "category": "off_post", "severity": "minor", "badge_no": "QC-0301"}])
    findings = {f["category"]: f for f in put(client, field, new_id(), body).get_json()["findings"]}
    assert findings["badge_missing"]["observed_at"] == "2026-11-23T01:47:00+00:00"
    assert findings["poor_attitude"]["observed_at"] == "2026-11-23T01:52:00+00:00"
    assert findings["off_post"]["observed_at"] == "2026-11-23T01:30:00+00:00"


def test_unit_level_findings_never_raise_badge_missing_nor_name_the_staff(client, field):
    body = field.visit(
        responses=[{"item_code": "A1", "answer": "yes"}, {"item_code": "A2", "answer": "no", "note": "无桌牌"}],
        findings=[{"id": new_id(), "category": cat, "severity": "minor", "window_no": "6",
                   "description": "公示栏缺投诉电话"} for cat in ("commitment_not_public", "no_evaluation")])
    findings = put(client, field, new_id(), body).get_json()["findings"]
    assert "badge_missing" not in {f["category"] for f in findings}
    a2 = next(f for f in findings if f["item_code"] == "A2")
    assert a2["category"] == "desk_plate_missing" and a2["staff_id"] is None and a2["description"] == "无桌牌"


def test_a_visit_dated_in_the_future_is_refused_naming_the_field(client, field, clock):
    from datetime import UTC, datetime

    clock.at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 Beijing time
    ahead = field.visit(started_at="2026-12-15T09:30:00+08:00", ended_at="2026-12-15T10:00:00+08:00")
    resp = put(client, field, new_id(), ahead)
    assert resp.status_code == 422
    assert set(resp.get_json()["error"]["details"]["fields"]) == {"started_at", "ended_at"}
    fid = new_id()
    late_finding = field.visit(findings=[{"id": fid, "category": "off_post", "severity": "minor",
                                          "badge_no": "QC-0301", "observed_at": "2026-11-23T10:11:00+08:00"}])
    resp = put(client, field, new_id(), late_finding)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["fields"] == {"findings": {fid: {"observed_at": [
        "时间晚于服务器当前时间超过 10 分钟, 请检查手机时间 (more than 10 minutes in the future)"]}}}
    # a phone whose clock runs a few minutes fast is fine
    ok = field.visit(ended_at="2026-11-23T10:09:00+08:00")
    assert put(client, field, new_id(), ok).status_code == 201


def test_a_finding_naming_the_person_of_a_failed_item_names_that_items_finding_instead_of_adding_one(
        client, field):
    vid = new_id()
    body = field.visit(findings=[
        {"id": new_id(), "item_code": "E1", "category": "poor_attitude", "severity": "serious",
         "badge_no": field.staff.badge_no, "window_no": None, "position": None, "description": None},
        {"id": new_id(), "item_code": "E1", "category": "poor_attitude", "severity": "serious",  # a second person
         "badge_no": None, "window_no": "5", "position": "综合受理", "description": "另一名工作人员"},
    ])
    resp = put(client, field, vid, body)
    assert resp.status_code == 201, resp.get_json()
    e1 = [f for f in resp.get_json()["findings"] if f["item_code"] == "E1"]
    assert sorted((f["source"], f["badge_no"], f["window_no"]) for f in e1) == [
        ("item", field.staff.badge_no, "3"), ("manual", None, "5")]
    own = next(f for f in e1 if f["source"] == "item")
    assert own["staff_id"] == field.staff.id and own["points"] > 0


def test_visit_numbers_are_six_digits_zero_padded_and_grow_past_them(client, field, dbsession):
    """The year's counter names the visit (one statement with the code's update on PostgreSQL, two
    on SQLite): zero-padded to six digits, and longer, not cut, past 999999."""
    from inspect_api.core.models import Counter

    inspector = field.ha
    first = put(client, field, new_id(), field.visit(), headers=inspector).get_json()
    number = int(first["code"].removeprefix("V2026-"))
    assert first["code"] == f"V2026-{number:06d}" and len(first["code"]) == 12
    dbsession.get(Counter, "visit:2026").value = 999_998
    dbsession.commit()
    codes = [put(client, field, vid, field.visit(), headers=inspector).get_json()["code"]
             for vid in (new_id(), new_id())]
    assert codes == ["V2026-999999", "V2026-1000000"]
    stored = dbsession.scalars(sa.select(Visit).where(Visit.code.in_(codes)).execution_options(
        populate_existing=True)).all()
    assert sorted(v.code for v in stored) == sorted(codes)
    assert all(v.updated_at >= v.created_at for v in stored)
