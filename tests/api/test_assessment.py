"""Annual assessment end to end: the survey draw from ratings and from an imported list (commit, draw,
verify, tampering found), anonymous responses, grade runs with explanations, four-eyes approval, 不合格
→ accountability proposals for the unit and its head, 不合格 barring 优秀 on a re-run, a stale run refused,
commendation drafts, the CSV export, the liaison's view and the sampling weight."""

from __future__ import annotations

import csv
import io
import itertools
import json
import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from inspect_api.assessment import rules as assessment_rules
from inspect_api.assessment.models import SurveyDraw, SurveyRecipient, SurveyResponse, SurveySelection
from inspect_api.core.clock import now as clock_now
from inspect_api.db import db
from inspect_api.ratings.models import Rating
from inspect_api.sampling import rules as sampling_rules
from inspect_api.visits.models import Finding, Visit
from tests.helpers import bearer, headers_for, login, make_unit, make_user

B = "/api/v1/assessment"
SPRING = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
_seq = itertools.count(1)


@pytest.fixture()
def office(client, clock):
    a, b = make_user("office"), make_user("office")
    return bearer(login(client, a.username)["access_token"]), bearer(login(client, b.username)["access_token"])


def add_ratings(unit, scores, on=date(2026, 5, 1)):
    for s in scores:
        db.session.add(Rating(unit_id=unit.id, window_no="1", score=s, reasons=[], source="import",
                              external_id=f"X{next(_seq)}", created_at=SPRING, rated_on=on))
    db.session.flush()


def add_finding(unit, severity="minor", points=0, status="confirmed", when=SPRING) -> Finding:
    n = next(_seq)
    user = make_user("inspector")
    visit = Visit(id=str(uuid.uuid4()), code=f"VT{n:06d}", status="submitted", mode="covert", unit_id=unit.id,
                  checklist_code="sanxiang_covert", checklist_version=1, checklist_hash="0" * 64, created_by=user.id,
                  received_at=when, fingerprint="0" * 64, submitted_at=when, started_at=when)
    db.session.add(visit)
    db.session.flush()
    f = Finding(id=str(uuid.uuid4()), visit_id=visit.id, source="item", category="off_post", severity=severity,
                points=points, unit_id=unit.id, status=status, observed_at=when)
    db.session.add(f)
    db.session.flush()
    return f


def ok(resp, status=200):
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def new_draw(client, headers, **body) -> dict:
    d = ok(client.post(f"{B}/survey-draws", headers=headers, json={"year": 2026, **body}), 201)
    ok(client.post(f"{B}/survey-draws/{d['id']}/commit", headers=headers))
    return ok(client.post(f"{B}/survey-draws/{d['id']}/draw", headers=headers, json={"public_entropy": "07 12 19"}))


@pytest.fixture()
def units(dbsession):
    good, short, poor = (make_unit(name=n) for n in ("县行政审批局", "县医保局", "县市场监管局"))
    poor.head_name, poor.head_title = "王五", "局长"
    add_ratings(good, [5] * 25)
    add_ratings(short, [5] * 19)
    add_ratings(poor, [5] * 20)
    add_ratings(poor, [1] * 5, on=date(2025, 12, 31))  # another year: never in the pool
    severe = [add_finding(poor, "severe") for _ in range(3)]
    add_finding(poor, "minor", status="dismissed")  # never counts
    return {"good": good, "short": short, "poor": poor, "severe": severe}


def test_ratings_survey_grades_approval_and_accountability(client, office, units):
    o1, o2 = office
    good, short, poor = units["good"], units["short"], units["poor"]
    ids = [good.id, short.id, poor.id]
    d = new_draw(client, o1, source="ratings", unit_ids=ids)
    assert d["status"] == "drawn" and len(d["seed_commitment"]) == 64
    by_unit = {u["unit_id"]: u for u in d["units"]}
    assert (by_unit[good.id]["eligible"], by_unit[good.id]["drawn"], by_unit[good.id]["short"]) == (25, 20, False)
    assert (by_unit[short.id]["eligible"], by_unit[short.id]["drawn"], by_unit[short.id]["short"]) == (19, 19, True)
    assert [(p["code"], p["unit_id"], p["unit_name"]) for p in d["problems"]] == [("unit_short", short.id, short.name)]
    assert ok(client.get(f"{B}/survey-draws/{d['id']}/verify", headers=o2)) == {"verified": True, "problems": []}
    # drawing again answers the stored draw
    again = ok(client.post(f"{B}/survey-draws/{d['id']}/draw", headers=o1, json={}))
    assert again["result_digest"] == d["result_digest"] and again["public_entropy"] == "07 12 19"
    drawn = ok(client.get(f"{B}/survey-draws/{d['id']}/recipients?unit_id={good.id}", headers=o1))
    assert len(drawn) == 20 and all(r["rating"] and r["recipient"] is None for r in drawn)
    assert [r["position"] for r in drawn] == list(range(1, 21))

    implied = client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026})
    assert implied.status_code == 422 and f"#{d['id']}" in implied.get_json()["error"]["details"]["fields"][
        "survey_draw_id"][0]  # the draw is named, never implied
    run = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": d["id"]}), 201)
    assert run["status"] == "draft" and run["survey_draw_id"] == d["id"] and run["policy_version"] == 1
    grades = {g["unit_id"]: g for g in run["grades"]}
    assert grades[good.id]["grade"] == "excellent" and grades[good.id]["score"] == 100.0
    assert grades[short.id]["grade"] == "not_assessable" and grades[short.id]["raters"] == 19
    assert "有效评议人数 19 人，少于 20 人" in grades[short.id]["reason"]
    g = grades[poor.id]
    assert g["grade"] == "fail" and g["grade_label"] == "不合格"
    assert g["inputs"]["findings"]["by_severity"] == {"minor": 0, "serious": 0, "severe": 3}
    assert g["inputs"]["survey"]["raters"] == 20 and g["inputs"]["survey"]["mean"] == 5
    assert sorted(g["inputs"]["finding_ids"]) == sorted(f.id for f in units["severe"])
    assert [s["rule"] for s in g["steps"]][:5] == ["raters", "inspection", "survey", "total", "threshold"]
    assert "本年度被确认严重问题3项以上，评为不合格" in g["reason"] and g["reason"].endswith("最终等次：不合格。")
    assert run["commendation_candidates"] == [{"unit_id": good.id, "unit_name": "县行政审批局", "score": 100.0}]
    assert run["counts"] == {"excellent": 1, "pass": 0, "fail": 1, "not_assessable": 1}

    early = client.post(f"{B}/survey-draws/{d['id']}/reveal", headers=o1)  # the grades are not approved yet
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_graded"
    assert client.get(f"{B}/survey-draws/{d['id']}/publication", headers=o1).status_code == 404
    assert ok(client.get(f"{B}/survey-draws/{d['id']}", headers=o1))["seed"] is None
    own = client.post(f"{B}/grade-runs/{run['id']}/approve", headers=o1)
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "own_run"
    approved = ok(client.post(f"{B}/grade-runs/{run['id']}/approve", headers=o2))
    assert approved["status"] == "approved"
    made = {(p["subject_id"], p["action"]) for p in approved["proposals"]}
    assert {(poor.id, "circulated_criticism"), (poor.id, "head_accountability")} <= made
    again = client.post(f"{B}/grade-runs/{run['id']}/approve", headers=o1)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_transition"
    # the grades stand: the seed is published, and the draw re-runs from the publication alone
    revealed = ok(client.post(f"{B}/survey-draws/{d['id']}/reveal", headers=o1))
    assert revealed["revealed_at"] and sampling_rules.check_commitment(revealed["seed"], d["seed_commitment"])
    pub = ok(client.get(f"{B}/survey-draws/{d['id']}/publication", headers=headers_for(client, "leader")))
    assert pub["effective_seed"] == f"{revealed['seed']}:07 12 19"
    plan, pool = assessment_rules.survey_inputs_from_dict(pub["inputs"])
    rerun_draw = assessment_rules.draw_survey(plan, pool, pub["effective_seed"])
    assert assessment_rules.survey_result_digest(rerun_draw) == pub["result_digest"] == d["result_digest"]
    assert ok(client.post(f"{B}/survey-draws/{d['id']}/reveal", headers=o2))["revealed_at"] == revealed["revealed_at"]
    assert "phone" not in json.dumps(pub) and "name" not in json.dumps(pub["inputs"])

    listed = ok(client.get(f"/api/v1/accountability/proposals?subject_type=unit&subject_id={poor.id}", headers=o1))
    by_rule = {p["rule_id"]: p for p in listed}
    assert by_rule["annual_grade_fail_criticism"]["action_label"] == "通报批评"
    head = by_rule["annual_grade_fail_head_accountability"]
    assert head["action"] == "head_accountability" and head["fact_ids"] == [f"grade:{poor.id}:2026"]
    assert "县市场监管局 2026年度考评等次为不合格（主要负责人：王五 局长）" in head["reason"]
    assert not [p for p in ok(client.get("/api/v1/accountability/proposals", headers=o1))
                if p["subject_id"] in (good.id, short.id)]
    # the head's accountability goes to a case on the proposal alone (no finding needed) and is sent
    case = ok(client.post("/api/v1/accountability/cases", headers=o1, json={
        "subject_type": "unit", "subject_id": poor.id, "proposal_ids": [head["id"]],
        "title": "关于追究县市场监管局主要负责人责任的建议", "summary": "年度考评不合格"}), 201)
    assert case["finding_ids"] == [] and case["status"] == "open"
    ok(client.post(f"/api/v1/accountability/cases/{case['id']}/approve", headers=o2))
    sent = ok(client.post(f"/api/v1/accountability/cases/{case['id']}/send", headers=o2), 202)
    assert sent["document_id"]  # the referral (问责建议) is rendered off the request path

    # the findings behind the 不合格 are withdrawn later: a re-run scores 优秀, but 不合格 bars it this year
    for f in units["severe"]:
        f.status = "withdrawn"
    db.session.commit()
    rerun = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": d["id"]}), 201)
    assert rerun["previous_run_id"] == run["id"]
    g2 = next(x for x in rerun["grades"] if x["unit_id"] == poor.id)
    assert g2["score"] == 100.0 and g2["grade"] == "pass"
    bar = g2["steps"][-1]
    assert bar["rule"] == "earlier_fail" and bar["changed"] and bar["data"]["run_id"] == run["id"]
    assert f"本年度已被评为不合格（考评批次 #{run['id']}" in g2["reason"] and "不得评为优秀" in g2["reason"]
    stale = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": d["id"]}), 201)
    ok(client.post(f"{B}/grade-runs/{rerun['id']}/approve", headers=o2))
    assert ok(client.get(f"{B}/grade-runs/{run['id']}", headers=o1))["status"] == "superseded"
    refused = client.post(f"{B}/grade-runs/{stale['id']}/approve", headers=o2)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "stale_run"
    # the 不合格 is gone: its open proposals are withdrawn, the one already in a case is left to re-judge
    assert not [p for p in ok(client.get(f"/api/v1/accountability/proposals?subject_type=unit&subject_id={poor.id}",
                                         headers=o1)) if f"grade:{poor.id}:2026" in p["fact_ids"]]
    rejudge = [n for n in ok(client.get("/api/v1/me/notifications", headers=o1))
               if n["kind"] == "accountability.rejudge"]
    assert len(rejudge) == 1 and f"#{case['id']}" in rejudge[0]["body"]

    # the year's grades, as JSON and as CSV (UTF-8 with BOM)
    year = ok(client.get(f"{B}/grades?year=2026", headers=o1))
    assert year["run_id"] == rerun["id"] and len(year["grades"]) == 3
    resp = client.get(f"{B}/grades?year=2026&format=csv", headers=headers_for(client, "leader"))
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff单位编码,单位名称,年度,等次,综合得分")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert {r[1]: r[3] for r in rows[1:]} == {"县行政审批局": "优秀", "县医保局": "不予评定", "县市场监管局": "合格"}
    old = list(csv.reader(io.StringIO(client.get(f"{B}/grades?year=2026&run_id={run['id']}&format=csv",
                                                 headers=o1).get_data(as_text=True).lstrip("\ufeff"))))
    assert {r[1]: r[3] for r in old[1:]}["县市场监管局"] == "不合格"

    # 优秀 → a draft 通报表扬
    doc = ok(client.post(f"{B}/grade-runs/{rerun['id']}/commendation", headers=o1), 201)
    full = ok(client.get(f"/api/v1/documents/{doc['document_id']}", headers=o1))
    assert full["kind"] == "commendation" and full["status"] == "draft"
    assert [e["unit_id"] for e in full["selection"]["entries"]] == [good.id]
    assert client.post(f"{B}/grade-runs/{stale['id']}/commendation", headers=o1).status_code == 409


def test_a_liaison_reads_its_own_units_approved_grade_and_nothing_else(client, office, units):
    o1, o2 = office
    good, poor = units["good"], units["poor"]
    d = new_draw(client, o1, source="ratings", unit_ids=[good.id, poor.id])
    run = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": d["id"]}), 201)
    liaison = headers_for(client, "unit_liaison", poor)
    assert ok(client.get(f"{B}/units/{poor.id}/grades", headers=liaison)) == []  # nothing before approval
    ok(client.post(f"{B}/grade-runs/{run['id']}/approve", headers=o2))
    [mine] = ok(client.get(f"{B}/units/{poor.id}/grades", headers=liaison))
    assert mine["grade"] == "fail" and mine["steps"] and mine["reason"] and mine["year"] == 2026
    body = json.dumps(mine, ensure_ascii=False)
    assert "created_by" not in body and "approved_by" not in body and "inspector" not in body
    assert client.get(f"{B}/units/{good.id}/grades", headers=liaison).status_code == 404
    assert client.get(f"{B}/units/999999/grades", headers=liaison).status_code == 404
    for url in (f"{B}/grade-runs", f"{B}/grade-runs/{run['id']}", f"{B}/grades?year=2026", f"{B}/survey-draws"):
        assert client.get(url, headers=liaison).status_code == 403
    leader = headers_for(client, "leader")
    assert ok(client.get(f"{B}/units/{good.id}/grades", headers=leader))[0]["grade"] == "excellent"
    assert client.post(f"{B}/grade-runs", headers=leader, json={"year": 2026}).status_code == 403
    notes = ok(client.get("/api/v1/me/notifications", headers=liaison))
    assert any(n["title"] == "2026年度考评结果：不合格" for n in notes)


def test_a_poor_grade_weighs_in_the_next_inspection_draw(client, office, units):
    from inspect_api.sampling import services as sampling

    o1, o2 = office
    poor, good = units["poor"], units["good"]
    d = new_draw(client, o1, source="ratings", unit_ids=[good.id, poor.id])
    run = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": d["id"]}), 201)
    plan = ok(client.post("/api/v1/sampling/plans", headers=o1, json={
        "code": "P-ASSESS", "title": "抽查", "period_start": "2026-12-01", "period_end": "2026-12-31",
        "pool": {"under": [poor.id, good.id]}, "sample_size": 1}), 201)
    factors = lambda: {u.id: u.weight_factors["poor_grade"] for u in  # noqa: E731
                       sampling.build_inputs(sampling.get_plan(plan["id"]), clock_now())[1]}
    assert factors() == {poor.id: 0, good.id: 0}  # a draft run is no grade yet
    ok(client.post(f"{B}/grade-runs/{run['id']}/approve", headers=o2))
    assert factors() == {poor.id: 1, good.id: 0}


def test_workflow_refusals(client, office, units):
    o1, _ = office
    assert client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026}).status_code == 422  # no draw named
    d = ok(client.post(f"{B}/survey-draws", headers=o1, json={"year": 2026, "source": "ratings"}), 201)
    draw = client.post(f"{B}/survey-draws/{d['id']}/draw", headers=o1, json={})
    assert draw.status_code == 409 and draw.get_json()["error"]["code"] == "draw_not_committed"
    few = client.post(f"{B}/survey-draws", headers=o1, json={"year": 2026, "source": "ratings", "per_unit": 19})
    assert few.status_code == 422
    unknown = client.post(f"{B}/survey-draws", headers=o1, json={"year": 2026, "source": "ratings",
                                                                 "unit_ids": [999999]})
    assert unknown.status_code == 422
    assert client.post(f"{B}/survey-draws", headers=o1, json={"year": 2026, "source": "x"}).status_code == 422
    assert client.get(f"{B}/survey-draws/999999", headers=o1).status_code == 404
    assert client.get(f"{B}/grade-runs/999999", headers=o1).status_code == 404
    # without unit_ids the policy's unit kinds are the pool (the fixture's units are departments)
    drawn = new_draw(client, o1, source="ratings")
    assert {units["good"].id, units["short"].id, units["poor"].id} <= {u["unit_id"] for u in drawn["units"]}
    resp = client.post(f"{B}/survey-draws/{drawn['id']}/responses", headers=o1,
                       json={"responses": [{"recipient_id": 1, "score": 5}]})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_a_recipient_survey"


def test_verify_detects_tampered_inputs_results_and_lists(client, office, units):
    o1, _ = office
    d = new_draw(client, o1, source="ratings", unit_ids=[units["good"].id, units["poor"].id])
    row = db.session.get(SurveyDraw, d["id"])
    original = row.inputs
    data = json.loads(original)
    data["units"][0]["candidates"][0] = 123456789
    row.inputs = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    db.session.commit()
    v = ok(client.get(f"{B}/survey-draws/{d['id']}/verify", headers=o1))
    assert not v["verified"] and any(p.startswith("输入已变化") for p in v["problems"])
    row.inputs = original
    sel = db.session.scalars(sa.select(SurveySelection).where(SurveySelection.draw_id == d["id"])).first()
    sel.position += 100
    db.session.commit()
    v = ok(client.get(f"{B}/survey-draws/{d['id']}/verify", headers=o1))
    assert v["problems"] == ["抽取名单与抽取结果不一致 (drawn list differs from the draw)"]
    sel.position -= 100
    row.result = row.result.replace('"eligible":25', '"eligible":26')
    db.session.commit()
    v = ok(client.get(f"{B}/survey-draws/{d['id']}/verify", headers=o1))
    assert "抽取结果与其摘要不符 (stored result altered)" in v["problems"]


# --- recipients imported by the office ------------------------------------------------------------------

def recipients_csv(rows) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["单位编码", "姓名", "联系电话", "服务对象编号", "备注"])
    w.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def upload(client, headers, data: bytes, year=2026, name="名单.csv"):
    return client.post(f"{B}/recipients/import?year={year}", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name)})


def test_recipient_survey_is_anonymous_and_grades_from_the_responses(client, office, units, app):
    o1, o2 = office
    good, short = units["good"], units["short"]
    rows = [(good.code, f"张{i}", f"1390000{i:04d}", "", "") for i in range(22)]
    rows += [(short.code, "", "", f"REF-{i}", "") for i in range(5)]
    data = recipients_csv(rows)
    assert ok(upload(client, o1, data)) == {"year": 2026, "rows": 27, "created": 27, "updated": 0, "unchanged": 0}
    assert ok(upload(client, o1, data))["unchanged"] == 27  # idempotent
    bad = upload(client, o1, recipients_csv([("NOPE", "李四", "13900001111", "", ""), (good.code, "王", "", "", "")]))
    assert bad.status_code == 422
    reasons = [e["reason"] for e in bad.get_json()["error"]["details"]["errors"]]
    assert any("NOPE" in r for r in reasons) and any("至少填写一项" in r for r in reasons)
    assert client.post(f"{B}/recipients/import", headers=o1, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "x.csv")}).status_code == 422  # no year
    listed = client.get(f"{B}/recipients?year=2026&unit_id={good.id}", headers=o1)
    assert listed.status_code == 200 and len(listed.get_json()) == 22

    d = new_draw(client, o1, source="recipients", unit_ids=[good.id, short.id])
    by_unit = {u["unit_id"]: u for u in d["units"]}
    assert by_unit[good.id]["drawn"] == 20 and by_unit[short.id]["drawn"] == 5 and by_unit[short.id]["short"]
    drawn = ok(client.get(f"{B}/survey-draws/{d['id']}/recipients?unit_id={good.id}", headers=o1))
    assert all(r["recipient"]["phone"].startswith("1390000") and not r["responded"] for r in drawn)
    for role in ("leader", "unit_liaison", "inspector"):
        assert client.get(f"{B}/survey-draws/{d['id']}/recipients", headers=headers_for(client, role)).status_code == 403
    leader_view = json.dumps(ok(client.get(f"{B}/survey-draws/{d['id']}", headers=headers_for(client, "leader"))))
    assert "1390000" not in leader_view

    ids = [r["recipient"]["id"] for r in drawn]
    undrawn = db.session.scalars(sa.select(SurveyRecipient.id).where(SurveyRecipient.unit_id == good.id,
                                                                     SurveyRecipient.id.not_in(ids))).first()
    wrong = client.post(f"{B}/survey-draws/{d['id']}/responses", headers=o1,
                        json={"responses": [{"recipient_id": undrawn, "score": 5}]})
    assert wrong.status_code == 422
    first = ok(client.post(f"{B}/survey-draws/{d['id']}/responses", headers=o1, json={"responses": [
        {"recipient_id": ids[0], "score": 2, "reasons": ["attitude"]}]}), 201)
    assert first == {"recorded": 1, "by_unit": [{"unit_id": good.id, "responses": 1}]}
    twice = client.post(f"{B}/survey-draws/{d['id']}/responses", headers=o1,
                        json={"responses": [{"recipient_id": ids[0], "score": 5}]})
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_responded"
    ok(client.post(f"{B}/survey-draws/{d['id']}/responses", headers=o1, json={"responses": [
        {"recipient_id": i, "score": 5} for i in ids[1:19]]}), 201)

    # 19 answers: not assessable; the 20th makes the unit gradable
    run = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": d["id"]}), 201)
    assert {g["unit_id"]: g["grade"] for g in run["grades"]} == {good.id: "not_assessable", short.id: "not_assessable"}
    ok(client.post(f"{B}/survey-draws/{d['id']}/responses", headers=o1, json={"responses": [
        {"recipient_id": ids[19], "score": 4}]}), 201)
    run = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": d["id"]}), 201)
    g = next(x for x in run["grades"] if x["unit_id"] == good.id)
    assert g["raters"] == 20 and g["grade"] == "excellent"
    assert g["inputs"]["survey"]["by_score"] == {"5": 18, "4": 1, "3": 0, "2": 1, "1": 0}
    assert next(s for s in drawn if s["recipient"]["id"] == ids[0])  # still listed, now marked as answered
    marked = ok(client.get(f"{B}/survey-draws/{d['id']}/recipients?unit_id={good.id}", headers=o1))
    assert all(r["responded"] for r in marked)

    # anonymity: no row of any table ties an answer to a recipient
    assert {c.name for c in SurveyResponse.__table__.columns} == {"id", "draw_id", "unit_id", "score", "reasons"}
    assert "score" not in {c.name for c in SurveySelection.__table__.columns}
    people = db.session.scalars(sa.select(SurveyRecipient).where(SurveyRecipient.unit_id == good.id)).all()
    marks = [str(p.phone) for p in people] + [f'"recipient_id": {p.id}' for p in people]
    response_ids = set(db.session.scalars(sa.select(SurveyResponse.id).where(SurveyResponse.draw_id == d["id"])))
    assert len(response_ids) == 20
    conn = db.session.connection()
    for table in db.metadata.sorted_tables:
        for row in conn.execute(sa.select(table)).mappings():
            text = json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False)
            if any(r in text for r in response_ids):
                assert table.name == "survey_responses"
                assert not any(m in text for m in marks), (table.name, text)
            if table.name == "audit_events":
                assert "recipient_id" not in text and "13900" not in text, text

    # once approved, the survey is closed
    ok(client.post(f"{B}/grade-runs/{run['id']}/approve", headers=o2))
    closed = client.post(f"{B}/survey-draws/{d['id']}/responses", headers=o1,
                         json={"responses": [{"recipient_id": ids[0], "score": 5}]})
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "survey_closed"


def test_the_openapi_spec_describes_the_assessment(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = [p for p in spec["paths"] if p.startswith("/api/v1/assessment")]
    assert len(paths) == 17
    approve = spec["paths"]["/api/v1/assessment/grade-runs/{run_id}/approve"]["post"]
    assert approve["x-roles"] == ["admin", "office"]
    assert "UnitGrade" in spec["components"]["schemas"] and "GradeStep" in spec["components"]["schemas"]


def test_a_run_regrading_two_units_keeps_every_other_units_grade_and_withdraws_a_lifted_fail(client, office, units):
    o1, o2 = office
    good, short, poor = units["good"], units["short"], units["poor"]
    others = [make_unit(name=f"县第{i}局") for i in range(5)]
    for u in others:
        add_ratings(u, [4] * 20)
    everyone = [good.id, short.id, poor.id, *(u.id for u in others)]
    wide = new_draw(client, o1, source="ratings", unit_ids=everyone)
    first = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": wide["id"]}), 201)
    ok(client.post(f"{B}/grade-runs/{first['id']}/approve", headers=o2))
    before = {g["unit_id"]: g["grade"] for g in ok(client.get(f"{B}/grades?year=2026", headers=o1))["grades"]}
    assert len(before) == 8 and before[poor.id] == "fail"
    fact = f"grade:{poor.id}:2026"

    def caused(status="open"):
        return [p for p in ok(client.get(f"/api/v1/accountability/proposals?subject_type=unit&subject_id={poor.id}"
                                         f"&status={status}", headers=o1)) if fact in p["fact_ids"]]

    criticism = caused()
    assert {p["rule_id"] for p in criticism} >= {"annual_grade_fail_criticism", "annual_grade_fail_head_accountability"}

    # the severe findings are withdrawn on appeal; a draw of two units re-grades just those two
    for f in units["severe"]:
        f.status = "withdrawn"
    db.session.commit()
    narrow = new_draw(client, o1, source="ratings", unit_ids=[poor.id, good.id])
    implied = client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026})
    assert implied.status_code == 422  # the narrow draw is the latest: it is never taken silently
    second = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": narrow["id"]}), 201)
    assert {g["unit_id"] for g in second["grades"]} == {poor.id, good.id}
    ok(client.post(f"{B}/grade-runs/{second['id']}/approve", headers=o2))

    after = {g["unit_id"]: (g["grade"], g["run_id"])
             for g in ok(client.get(f"{B}/grades?year=2026", headers=o1))["grades"]}
    assert len(after) == 8  # nobody lost a grade
    assert after[poor.id] == ("pass", second["id"]) and after[good.id][1] == second["id"]
    assert all(after[u][1] == first["id"] and after[u][0] == before[u] for u in everyone if u not in (poor.id, good.id))
    assert ok(client.get(f"{B}/grade-runs/{first['id']}", headers=o1))["status"] == "approved"  # still holds six
    assert ok(client.get(f"{B}/units/{short.id}/grades", headers=o1))[0]["run_id"] == first["id"]
    # the 不合格 is gone, and so are the proposals it caused
    assert caused() == []
    withdrawn = caused("dismissed")
    assert len(withdrawn) == len(criticism) and all("自动撤回" in p["decision_reason"] for p in withdrawn)

    # graded 不合格 again (the findings confirmed after all): the withdrawn proposals are open again
    for f in units["severe"]:
        f.status = "confirmed"
    db.session.commit()
    third = ok(client.post(f"{B}/grade-runs", headers=o1, json={"year": 2026, "survey_draw_id": narrow["id"]}), 201)
    ok(client.post(f"{B}/grade-runs/{third['id']}/approve", headers=o2))
    assert ok(client.get(f"{B}/grade-runs/{second['id']}", headers=o1))["status"] == "superseded"
    assert len(caused()) == len(criticism)
