"""Sampling plans through the API: commit, draw, confidentiality, release time, verify, publication."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from inspect_api.core.clock import LOCAL_TZ
from inspect_api.sampling.models import SamplingPlan
from tests.api.conftest import new_id
from tests.helpers import bearer, headers_for, login, make_unit, make_user


@pytest.fixture()
def county(client, dbsession):
    """A county with three departments of three windows each, and five inspectors."""
    root = make_unit(kind="county", name="样本县")
    depts = [make_unit(parent=root, name=f"部门{i}") for i in range(3)]
    windows = [make_unit(parent=d, kind="window", name=f"部门{i}窗口{j}") for i, d in enumerate(depts)
               for j in range(3)]
    inspectors = [make_user("inspector", unit=depts[i % 3]) for i in range(5)]
    return {"root": root, "depts": depts, "windows": windows, "inspectors": inspectors,
            "office": headers_for(client, "office")}


def plan_body(county, **extra):
    return {"code": f"P{new_id()[:8]}", "title": "2026年12月窗口暗访抽查", "period_start": "2026-12-01",
            "period_end": "2026-12-31", "pool": {"under": [county["root"].id], "kinds": ["window"]},
            "sample_size": 4, "min_per_stratum": 1, **extra}


def drawn_plan(client, county, **extra):
    office = county["office"]
    plan = client.post("/api/v1/sampling/plans", json=plan_body(county, **extra), headers=office)
    assert plan.status_code == 201, plan.get_json()
    pid = plan.get_json()["id"]
    committed = client.post(f"/api/v1/sampling/plans/{pid}/commit", headers=office).get_json()
    assert committed["status"] == "committed" and len(committed["seed_commitment"]) == 64
    assert committed["seed"] is None
    drawn = client.post(f"/api/v1/sampling/plans/{pid}/draw", json={"public_entropy": "2026156期 07 12 19 23 28 31"},
                        headers=office)
    assert drawn.status_code == 200, drawn.get_json()
    return drawn.get_json()


def test_draw_picks_units_and_conflict_free_teams(client, county, clock):
    plan = drawn_plan(client, county)
    assert plan["status"] == "drawn" and plan["problems"] == []
    assignments = plan["assignments"]
    assert len(assignments) == 4
    window_ids = {w.id for w in county["windows"]}
    home = {i.id: i.unit_id for i in county["inspectors"]}
    depts = {d.id for d in county["depts"]}
    for a in assignments:
        assert a["unit_id"] in window_ids and len(set(a["team"])) == 2
        parent = next(w for w in county["windows"] if w.id == a["unit_id"]).parent_id
        assert all(home[i] != parent for i in a["team"]), "inspector sent into their own department"
        assert a["day"].isoformat() >= "2026-12-01" if hasattr(a["day"], "isoformat") else a["day"] >= "2026-12-01"
    # each department's windows at least once (min_per_stratum = 1)
    drawn_depts = {next(w for w in county["windows"] if w.id == a["unit_id"]).parent_id for a in assignments}
    assert drawn_depts == depts
    # asking again answers the stored draw
    again = client.post(f"/api/v1/sampling/plans/{plan['id']}/draw", json={}, headers=county["office"]).get_json()
    assert again["result_digest"] == plan["result_digest"]


def test_a_committed_plan_cannot_change(client, county):
    plan = drawn_plan(client, county)
    resp = client.patch(f"/api/v1/sampling/plans/{plan['id']}", json={"sample_size": 9}, headers=county["office"])
    assert resp.status_code == 409


def test_plans_are_the_office_s_alone(client, county):
    plan = drawn_plan(client, county)
    for role in ("inspector", "leader", "unit_liaison"):
        headers = headers_for(client, role, county["windows"][0] if role == "unit_liaison" else None)
        assert client.get(f"/api/v1/sampling/plans/{plan['id']}", headers=headers).status_code == 403
        assert client.get(f"/api/v1/sampling/plans/{plan['id']}/publication", headers=headers).status_code == 404


def test_inspectors_see_assignments_only_from_release_time(client, county, clock):
    plan = drawn_plan(client, county)
    first = min(plan["assignments"], key=lambda a: (a["day"], a["start"]))
    inspector = next(i for i in county["inspectors"] if i.id in first["team"])
    clock.at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # before the period
    # signed in now: a session signed in at the suite's instant (23 November) ends after 30 days,
    # before a release drawn late in December
    h = bearer(login(client, inspector.username)["access_token"])
    assert client.get("/api/v1/me/assignments", headers=h).get_json() == []
    release = datetime.fromisoformat(first["release_at"])
    assert release.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") == f"{first['day']} 07:30"
    clock.at = release - timedelta(seconds=1)
    assert first["id"] not in [a["id"] for a in client.get("/api/v1/me/assignments", headers=h).get_json()]
    clock.at = release
    mine = client.get("/api/v1/me/assignments", headers=h).get_json()
    assert first["id"] in [a["id"] for a in mine]
    assert all(datetime.fromisoformat(a["release_at"]) <= release for a in mine)
    assert all(inspector.id in a["team"] for a in mine)


def test_a_visit_fulfils_its_assignment(client, county, clock):
    from inspect_api.checklists.services import publish_all
    from inspect_api.config import PROJECT_ROOT

    publish_all(PROJECT_ROOT / "checklists")
    plan = drawn_plan(client, county)
    a = plan["assignments"][0]
    clock.at = datetime.fromisoformat(a["release_at"])
    first, second = (next(i for i in county["inspectors"] if i.id == uid) for uid in a["team"])
    h = bearer(login(client, first.username)["access_token"])
    body = {"mode": "covert", "unit_id": a["unit_id"], "checklist": {"code": "sanxiang_covert", "version": 1},
            "team": a["team"], "assignment_id": a["id"], "responses": [{"item_code": "A2", "answer": "yes"}]}
    vid = new_id()
    resp = client.put(f"/api/v1/visits/{vid}", json=body, headers=h)
    assert resp.status_code == 201, resp.get_json()
    mine = client.get("/api/v1/me/assignments", headers=h).get_json()
    assert next(x for x in mine if x["id"] == a["id"])["visit_id"] == vid
    # an assignment for another unit is refused
    other = {**body, "unit_id": county["windows"][-1].id if county["windows"][-1].id != a["unit_id"]
             else county["windows"][0].id}
    assert client.put(f"/api/v1/visits/{new_id()}", json=other, headers=h).status_code == 422


def _released_assignments(client, county, clock):
    from inspect_api.checklists.services import publish_all
    from inspect_api.config import PROJECT_ROOT

    publish_all(PROJECT_ROOT / "checklists")
    plan = drawn_plan(client, county)
    first = plan["assignments"][0]
    # a second assignment of the same team and unit is made by hand: the draw never repeats a unit
    clock.at = datetime.fromisoformat(first["release_at"])
    inspector = next(i for i in county["inspectors"] if i.id == first["team"][0])
    h = bearer(login(client, inspector.username)["access_token"])
    body = {"mode": "covert", "unit_id": first["unit_id"], "checklist": {"code": "sanxiang_covert", "version": 1},
            "team": first["team"], "responses": [{"item_code": "A2", "answer": "yes"}]}
    return plan, first, h, body


def _claims(dbsession) -> dict:
    from inspect_api.sampling.models import SamplingAssignment
    from inspect_api.visits.models import Visit

    return {"assignments": dict(dbsession.execute(sa.select(SamplingAssignment.id, SamplingAssignment.visit_id)).all()),
            "visits": dict(dbsession.execute(sa.select(Visit.id, Visit.assignment_id)).all())}


def test_an_assignment_already_fulfilled_by_a_visit_is_refused_to_another(client, county, clock, dbsession):
    _plan, a, h, body = _released_assignments(client, county, clock)
    first = new_id()
    assert client.put(f"/api/v1/visits/{first}", json={**body, "assignment_id": a["id"]}, headers=h).status_code == 201
    resp = client.put(f"/api/v1/visits/{new_id()}", json={**body, "assignment_id": a["id"]}, headers=h)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["details"]["fields"]["assignment_id"] == ["already fulfilled by another visit"]
    claims = _claims(dbsession)
    assert claims["assignments"][a["id"]] == first
    assert [v for v, aid in claims["visits"].items() if aid == a["id"]] == [first]
    # the visit that holds it may send its content again, changed
    again = client.put(f"/api/v1/visits/{first}", headers={**h, "If-Match": '"v1"'},
                       json={**body, "assignment_id": a["id"], "notes": "补充"})
    assert again.status_code == 200, again.get_json()


def test_a_visit_moved_to_another_assignment_or_to_none_releases_the_old_one(client, county, clock, dbsession):
    from inspect_api.sampling.models import AssignmentInspector, SamplingAssignment

    _plan, a, h, body = _released_assignments(client, county, clock)
    src = dbsession.get(SamplingAssignment, a["id"])
    twin = SamplingAssignment(plan_id=src.plan_id, unit_id=src.unit_id, day=src.day, start_minute=src.start_minute,
                              end_minute=src.end_minute, release_at=src.release_at)
    twin.inspectors = [AssignmentInspector(user_id=uid) for uid in a["team"]]
    dbsession.add(twin)
    dbsession.commit()
    vid = new_id()
    assert client.put(f"/api/v1/visits/{vid}", json={**body, "assignment_id": a["id"]}, headers=h).status_code == 201
    moved = client.put(f"/api/v1/visits/{vid}", headers={**h, "If-Match": '"v1"'},
                       json={**body, "assignment_id": twin.id})
    assert moved.status_code == 200, moved.get_json()
    claims = _claims(dbsession)
    assert claims["assignments"][a["id"]] is None and claims["assignments"][twin.id] == vid
    # the released one can be fulfilled by another visit now
    other = new_id()
    assert client.put(f"/api/v1/visits/{other}", json={**body, "assignment_id": a["id"]}, headers=h).status_code == 201
    dropped = client.put(f"/api/v1/visits/{vid}", headers={**h, "If-Match": '"v2"'}, json=body)
    assert dropped.status_code == 200, dropped.get_json()
    claims = _claims(dbsession)
    assert claims["assignments"][twin.id] is None and claims["visits"][vid] is None
    assert claims["assignments"][a["id"]] == other


def test_a_visit_s_assignment_is_a_foreign_key():
    from inspect_api.visits.models import Visit

    (fk,) = Visit.__table__.c.assignment_id.foreign_keys
    assert fk.target_fullname == "sampling_assignments.id"


def test_verify_passes_then_detects_a_changed_plan(client, county, dbsession):
    plan = drawn_plan(client, county)
    ok = client.get(f"/api/v1/sampling/plans/{plan['id']}/verify", headers=county["office"]).get_json()
    assert ok == {"verified": True, "problems": []}
    dbsession.execute(sa.update(SamplingPlan).where(SamplingPlan.id == plan["id"]).values(sample_size=6))
    dbsession.commit()
    bad = client.get(f"/api/v1/sampling/plans/{plan['id']}/verify", headers=county["office"]).get_json()
    assert bad["verified"] is False and any("plan changed" in p for p in bad["problems"])


def test_verify_command_exits_1_when_the_stored_result_was_altered(app, client, county, dbsession):
    plan = drawn_plan(client, county)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["sampling", "verify", str(plan["id"])]).exit_code == 0
    row = dbsession.get(SamplingPlan, plan["id"])
    import re

    row.result = re.sub(r'"start_minute":(\d+)', lambda m: f'"start_minute":{int(m.group(1)) + 5}', row.result,
                        count=1)
    dbsession.commit()
    result = runner.invoke(args=["sampling", "verify", str(plan["id"])])
    assert result.exit_code == 1 and "altered" in result.output


def test_seed_is_revealed_only_after_the_period_and_then_published(client, county, clock):
    plan = drawn_plan(client, county)
    office = county["office"]
    early = client.post(f"/api/v1/sampling/plans/{plan['id']}/reveal", headers=office)
    assert early.status_code == 409
    clock.at = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)
    office = headers_for(client, "office")  # a month on, the old login has expired
    resp = client.post(f"/api/v1/sampling/plans/{plan['id']}/reveal", headers=office)
    assert resp.status_code == 200, resp.get_json()
    revealed = resp.get_json()
    import hashlib

    assert hashlib.sha256(revealed["seed"].encode()).hexdigest() == plan["seed_commitment"]
    liaison = headers_for(client, "unit_liaison", county["windows"][0])
    pub = client.get(f"/api/v1/sampling/plans/{plan['id']}/publication", headers=liaison)
    assert pub.status_code == 200
    body = pub.get_json()
    assert body["seed"] == revealed["seed"] and len(body["units"]) == 4
    assert "team" not in body["units"][0] and "inspector_ids" not in str(body)  # who inspected stays secret


def test_a_team_that_cannot_be_formed_is_reported_not_shrunk(client, county):
    plan = drawn_plan(client, county, team_size=6, sample_size=2, min_per_stratum=0)
    codes = {p["code"] for p in plan["problems"]}
    assert codes & {"team_larger_than_pool", "not_enough_inspectors"}
    assert all(len(a["team"]) == 6 for a in plan["assignments"])


def test_a_problem_about_a_unit_names_the_unit(client, county):
    # no session of a working day is 8 hours long: no window can be visited, and each problem says which
    plan = drawn_plan(client, county, visit_minutes=480)
    about = {p["unit_id"]: p for p in plan["problems"] if p["code"] == "no_opening_hours"}
    assert set(about) == {w.id for w in county["windows"]}
    for w in county["windows"]:
        # the recorded message names the unit by id only; the answer adds its name
        assert about[w.id]["unit_name"] == w.name and f"单位 {w.id} " in about[w.id]["message_zh"]
    assert all("unit_name" not in p for p in plan["problems"] if p.get("unit_id") is None)


def test_declared_relatives_keep_an_inspector_away(client, county):
    office = county["office"]
    target = county["windows"][0]
    for inspector in county["inspectors"]:
        resp = client.post("/api/v1/sampling/conflicts", headers=office,
                           json={"user_id": inspector.id, "unit_id": target.id, "reason": "亲属在该窗口工作"})
        assert resp.status_code == 201
    plan = drawn_plan(client, county, sample_size=9, min_per_stratum=0)
    assert target.id not in {a["unit_id"] for a in plan["assignments"]}
    assert any(p["unit_id"] == target.id for p in plan["problems"])


def test_a_conflict_declared_with_a_department_covers_its_windows(client, county):
    office = county["office"]
    dept = county["depts"][0]
    inspector = county["inspectors"][1]  # works in department 1
    resp = client.post("/api/v1/sampling/conflicts", headers=office,
                       json={"user_id": inspector.id, "unit_id": dept.id, "reason": "配偶在该部门工作"})
    assert resp.status_code == 201
    plan = drawn_plan(client, county, sample_size=9, min_per_stratum=0)
    dept_windows = {w.id for w in county["windows"] if w.parent_id == dept.id}
    drawn = {a["unit_id"]: a["team"] for a in plan["assignments"]}
    assert dept_windows <= set(drawn)
    assert all(inspector.id not in drawn[w] for w in dept_windows)


def test_declared_conflicts_are_listed_with_names_and_can_be_withdrawn(client, county):
    office = county["office"]
    a, b = county["inspectors"][:2]
    target = county["windows"][0]
    for inspector in (a, b):
        resp = client.post("/api/v1/sampling/conflicts", headers=office,
                           json={"user_id": inspector.id, "unit_id": target.id, "reason": "亲属在该窗口工作"})
        assert resp.status_code == 201
    listed = client.get("/api/v1/sampling/conflicts", headers=office)
    assert listed.status_code == 200 and '"total": 2' in listed.headers["X-Pagination"]
    row = next(r for r in listed.get_json() if r["user_id"] == a.id)
    assert (row["unit_name"], row["user_name"], row["reason"]) == (target.name, a.full_name, "亲属在该窗口工作")
    assert [r["user_id"] for r in client.get(f"/api/v1/sampling/conflicts?user_id={b.id}", headers=office)
            .get_json()] == [b.id]
    assert client.delete(f"/api/v1/sampling/conflicts/{a.id}/{target.id}", headers=office).status_code == 204
    assert client.delete(f"/api/v1/sampling/conflicts/{a.id}/{target.id}", headers=office).status_code == 404
    left = client.get("/api/v1/sampling/conflicts", headers=office).get_json()
    assert [r["user_id"] for r in left] == [b.id]
    assert client.get("/api/v1/sampling/conflicts", headers=headers_for(client, "unit_liaison")).status_code == 403


def test_bad_input_to_plans_and_conflicts_is_422(client, county):
    office = county["office"]
    inspector = county["inspectors"][0]
    conflict = client.post("/api/v1/sampling/conflicts", headers=office,
                           json={"user_id": inspector.id, "unit_id": 999999, "reason": "亲属"})
    assert conflict.status_code == 422 and "unit_id" in conflict.get_json()["error"]["details"]["fields"]
    for hours in ("18:00-09:00", "25:00-26:00"):
        resp = client.post("/api/v1/sampling/plans", headers=office, json=plan_body(county, default_opening_hours=hours))
        assert resp.status_code == 422, hours
    neither = plan_body(county)
    neither.pop("sample_size")
    assert client.post("/api/v1/sampling/plans", headers=office, json=neither).status_code == 422


def test_a_draw_over_a_year_without_a_holiday_table_says_so_and_the_import_flags_its_holiday_visits(
        client, county):
    office = county["office"]
    # the first week of January 2027: the 2027 table is not loaded, so 1 January counts as a Friday at work
    plan = drawn_plan(client, county, period_start="2027-01-01", period_end="2027-01-01", sample_size=3,
                      min_per_stratum=0)
    assert plan["calendar_provisional"] is True
    [assumed] = [p for p in plan["problems"] if p["code"] == "calendar_assumed"]
    assert assumed["details"] == {"years": [2027]} and "2027" in assumed["message_zh"]
    assert {a["day"] for a in plan["assignments"]} == {"2027-01-01"}
    office_user = make_user("office")
    admin = headers_for(client, "admin")
    table = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n"
    resp = client.post("/api/v1/calendar/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(table.encode()), "2027.csv")})
    assert resp.status_code == 200, resp.get_json()
    after = client.get(f"/api/v1/sampling/plans/{plan['id']}", headers=office).get_json()
    assert after["calendar_provisional"] is False
    flagged = [p for p in after["problems"] if p["code"] == "visit_on_non_working_day"]
    assert {p["details"]["assignment_id"] for p in flagged} == {a["id"] for a in plan["assignments"]}
    assert not any(p["code"] == "calendar_assumed" for p in after["problems"])
    mine = client.get("/api/v1/me/notifications", headers=bearer(login(client, office_user.username)["access_token"]))
    assert any(n["kind"] == "plan.calendar_changed" and plan["code"] in n["body"] for n in mine.get_json())


def test_renaming_a_plan_to_a_taken_code_is_409_and_changes_nothing(client, county):
    office = county["office"]
    first = client.post("/api/v1/sampling/plans", json=plan_body(county), headers=office).get_json()
    second = client.post("/api/v1/sampling/plans", json=plan_body(county), headers=office).get_json()
    resp = client.patch(f"/api/v1/sampling/plans/{second['id']}", json={"code": first["code"], "title": "改名"},
                        headers={**office, "If-Match": f'"v{second["version"]}"'})
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"]["details"]["fields"] == {"code": ["already exists"]}
    after = client.get(f"/api/v1/sampling/plans/{second['id']}", headers=office).get_json()
    assert (after["code"], after["title"], after["version"]) == (second["code"], second["title"], second["version"])
    same = client.patch(f"/api/v1/sampling/plans/{second['id']}", json={"code": second["code"]},
                        headers={**office, "If-Match": f'"v{second["version"]}"'})
    assert same.status_code == 200, same.get_json()  # its own code is not taken


def test_a_plan_patch_changes_only_what_it_names(client, county):
    office = county["office"]
    plan = client.post("/api/v1/sampling/plans", json=plan_body(county, team_size=3, visit_minutes=90,
                                                               release_time="08:15"), headers=office).get_json()
    resp = client.patch(f"/api/v1/sampling/plans/{plan['id']}", json={"title": "改名后的计划"},
                        headers={**office, "If-Match": f'"v{plan["version"]}"'})
    assert resp.status_code == 200, resp.get_json()
    after = resp.get_json()
    assert after["title"] == "改名后的计划" and after["version"] == plan["version"] + 1
    kept = ("sample_size", "team_size", "visit_minutes", "release_time", "pool", "min_per_stratum", "weights")
    assert {k: after[k] for k in kept} == {k: plan[k] for k in kept}


@pytest.mark.parametrize(("start", "end", "field"), [
    ("9999-12-01", "9999-12-31", "period_start"),  # was a 500 at the draw (a day past 9999-12-31)
    ("0001-01-01", "0001-01-31", "period_start"),
    ("2026-01-01", "2027-01-02", "period_end"),  # 367 days; a span of centuries drew for seconds, then a 500
])
def test_a_plan_period_outside_the_calendars_or_over_a_year_is_422(client, county, start, end, field):
    resp = client.post("/api/v1/sampling/plans", json=plan_body(county, period_start=start, period_end=end),
                       headers=county["office"])
    assert resp.status_code == 422 and field in resp.get_json()["error"]["details"]["fields"]


def test_a_plan_may_cover_a_whole_leap_year(client, county):
    resp = client.post("/api/v1/sampling/plans", json=plan_body(county, period_start="2028-01-01",
                                                               period_end="2028-12-31"), headers=county["office"])
    assert resp.status_code == 201, resp.get_json()
