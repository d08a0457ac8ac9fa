"""Rankings through the API on real data: confirmed findings and ratings scored per period, no-data units
listed apart, the bottom named, special supervision flagged, a liaison's restricted view, staff with
ratings attributed by window, CSV exports, and the bulletin's ranking section built from the same module."""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from inspect_api.db import db
from inspect_api.org.models import Unit
from inspect_api.rankings.rules import BottomRule, RankingPolicy, SpecialSupervisionRule, SubjectPolicy
from inspect_api.ratings.models import Rating
from tests.api.conftest import decide, new_id
from tests.helpers import field_errors, headers_for, make_staff, make_unit

UNITS = "/api/v1/rankings/units"
STAFF = "/api/v1/rankings/staff"
NOV = {"period": "2026-11"}


@pytest.fixture()
def policy(app):
    """Small thresholds, so a handful of rows exercise every rule."""
    original = app.extensions["inspect_rankings_policy"]
    app.extensions["inspect_rankings_policy"] = RankingPolicy(
        deduction_by_severity={"minor": 2, "serious": 5, "severe": 10},
        units=SubjectPolicy(weights={"inspection": 0.7, "ratings": 0.3}, min_ratings=3,
                            tie_break=("deduction", "severe", "findings"), bottom=BottomRule(count=1, min_ranked=2)),
        staff=SubjectPolicy(weights={"inspection": 0.8, "ratings": 0.2}, min_ratings=2, tie_break=("deduction",),
                            bottom=BottomRule(count=1, min_ranked=1)),
        special_supervision=SpecialSupervisionRule(min_ratings=3, dissatisfaction_rate_above=0.2,
                                                   complaints_at_least=None))
    yield app.extensions["inspect_rankings_policy"]
    app.extensions["inspect_rankings_policy"] = original


def rate(unit, window_no: str, *scores: int, on: date = date(2026, 11, 20)) -> None:
    for score in scores:
        db.session.add(Rating(unit_id=unit.id, window_no=window_no, score=score, reasons=[], source="qr",
                              created_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC), rated_on=on))
    db.session.flush()


@dataclass
class World:
    office: dict
    hall: Unit  # 县政务服务中心: two confirmed findings (A1 minor 2 points, E1 serious 5 points) → 93
    clean: Unit  # visited, nothing found → 100
    rated: Unit  # never visited, four ratings 5 5 4 1 → mean 3.75 → 75, 差评率 25%
    few: Unit  # one rating only: no data
    county: Unit  # nothing at all: no data
    staff: object  # 周敏, window 3 of the hall, named by both findings


@pytest.fixture()
def world(clock, client, field, submitted, policy) -> World:
    office = headers_for(client, "office")
    for fid in (submitted["badge"], submitted["attitude"]):
        assert decide(client, office, fid, "confirm").status_code == 200
    county = field.unit.parent
    clean = make_unit(parent=county, name="县不动产登记中心", kind="window")
    vid = new_id()
    body = field.visit(unit_id=clean.id, staff_id=None, window_no="1", responses=[{"item_code": "A2", "answer": "yes"}])
    assert client.put(f"/api/v1/visits/{vid}", json=body, headers=field.ha).status_code == 201
    assert client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).status_code == 200
    rated = make_unit(parent=county, name="县医疗保障局")
    rate(rated, "1", 5, 5, 4, 1)
    rate(rated, "1", 1, on=date(2026, 10, 31))  # another month
    few = make_unit(parent=county, name="县民政局")
    rate(few, "1", 2)
    rate(field.unit, "3", 5, 5)  # too few for the unit, enough for the one member of staff at window 3
    return World(office, field.unit, clean, rated, few, county, field.staff)


def ranking(client, url: str, query: dict | None = None, headers: dict | None = None) -> dict:
    """The rows (an array, as every list) and the summary of one ranking, as one dict."""
    rows = client.get(url, query_string=query or {}, headers=headers)
    summary = client.get(f"{url}/summary", query_string=query or {}, headers=headers)
    assert rows.status_code == summary.status_code == 200, (rows.get_json(), summary.get_json())
    assert isinstance(rows.get_json(), list) and "X-Pagination" in rows.headers
    return {**summary.get_json(), "items": rows.get_json()}


def by_name(body: dict) -> dict:
    return {row["name"]: row for row in body["items"]}


# --- units ----------------------------------------------------------------------------------------------

def test_units_are_ranked_with_explained_scores_and_units_without_data_come_last(client, world):
    body = ranking(client, UNITS, NOV, world.office)
    assert body["period"] == {"from": "2026-11-01", "to": "2026-11-30", "days": 30, "key": "2026-11",
                              "label": "2026年11月"}
    assert body["compared_with"]["key"] == "2026-10"
    assert [(r["rank"], r["name"], r["score"]) for r in body["items"][:3]] == [
        (1, "县不动产登记中心", 100.0), (2, "县政务服务中心", 93.0), (3, "县医疗保障局", 75.0)]
    assert {r["name"] for r in body["items"][3:]} == {"县民政局", world.county.name}
    assert all(r["status"] == "no_data" and r["rank"] is None and r["score"] is None for r in body["items"][3:])
    assert (body["ranked_count"], body["no_data_count"]) == (3, 2)

    hall = by_name(body)["县政务服务中心"]
    assert (hall["visits"], hall["findings"], hall["by_severity"], hall["deduction"]) == (
        1, 2, {"minor": 1, "serious": 1, "severe": 0}, 7.0)
    assert hall["ratings"] == 2 and hall["satisfaction_rate"] == 1.0
    [insp, ratings] = hall["explanation"]["components"]
    assert (insp["counted"], insp["score"], insp["share"]) == (True, 93.0, 1.0)
    assert not ratings["counted"] and "评价2条，不足3条" in ratings["note"]
    assert "检查表分值7" in hall["explanation"]["text"]
    assert [t["key"] for t in hall["explanation"]["tie_break"]] == ["deduction", "severe", "findings"]

    rated = by_name(body)["县医疗保障局"]
    assert (rated["ratings"], rated["rating_mean"], rated["dissatisfaction_rate"]) == (4, 3.75, 0.25)
    assert "本期未受检查" in rated["explanation"]["text"] and "评价4条共15分，15 ÷ 4 × 20 = 75.0" in rated["explanation"]["text"]
    assert "评价1条，不足3条" in by_name(body)["县民政局"]["explanation"]["text"]
    assert "两项均不计入" in body["method"] and body["policy"]["bottom"]["count"] == 1


def test_the_bottom_is_named_per_policy_and_high_dissatisfaction_flags_special_supervision(client, world):
    body = ranking(client, UNITS, NOV, world.office)
    assert [n["name"] for n in body["bottom"]["named"]] == ["县医疗保障局"]  # a 差评 that counted is a problem
    assert by_name(body)["县医疗保障局"]["bottom"] and not by_name(body)["县政务服务中心"]["bottom"]
    [special] = body["special_supervision"]
    assert special["name"] == "县医疗保障局" and special["reasons"][0]["code"] == "dissatisfaction"
    assert "25.0%" in special["reasons"][0]["label"]
    # fewer ranked units than the policy's minimum: nobody is named
    alone = ranking(client, UNITS, {**NOV, "under": world.clean.id}, world.office)
    assert alone["ranked_count"] == 1 and alone["bottom"]["named"] == [] and "少于2个" in alone["bottom"]["note"]


def test_only_confirmed_findings_of_the_period_count(client, clock, field, submitted, policy):
    office = headers_for(client, "office")
    pending = by_name(ranking(client, UNITS, NOV, office))["县政务服务中心"]
    assert (pending["score"], pending["findings"], pending["visits"]) == (100.0, 0, 1)  # visited, nothing confirmed
    assert decide(client, office, submitted["badge"], "confirm").status_code == 200
    assert decide(client, office, submitted["attitude"], "dismiss", reason="不属实").status_code == 200
    for period in ("2026-11", "2026-Q4", "2026"):
        row = by_name(ranking(client, UNITS, {"period": period}, office))["县政务服务中心"]
        assert (row["score"], row["findings"]) == (98.0, 1), period
    october = ranking(client, UNITS, {"period": "2026-10"}, office)
    assert october["ranked_count"] == 0 and all(r["status"] == "no_data" for r in october["items"])
    dates = ranking(client, UNITS, {"from": "2026-11-23", "to": "2026-11-23"}, office)
    assert dates["period"]["key"] is None and dates["ranked_count"] == 1


@pytest.mark.parametrize(("query", "field_name"), [
    ({"period": "2026-13"}, "period"), ({"period": "2026-11", "from": "2026-11-01"}, "period"),
    ({"from": "2026-11-30", "to": "2026-11-01"}, "to"), ({"status": "best"}, "status"), ({"under": 0}, "under")])
def test_bad_queries_are_422_naming_the_field(client, policy, query, field_name):
    resp = client.get(UNITS, query_string=query, headers=headers_for(client, "office"))
    assert resp.status_code == 422 and field_name in field_errors(resp)


def test_rows_are_paginated_and_filtered_by_status(client, world):
    resp = client.get(UNITS, query_string={**NOV, "page_size": 2, "page": 2}, headers=world.office)
    assert json.loads(resp.headers["X-Pagination"])["total"] == 5
    assert [r["rank"] for r in resp.get_json()] == [3, None]
    no_data = ranking(client, UNITS, {**NOV, "status": "no_data"}, world.office)
    assert {r["status"] for r in no_data["items"]} == {"no_data"} and len(no_data["items"]) == 2


def test_a_liaison_sees_ended_months_quarters_and_years_only(client, clock, world):
    liaison = headers_for(client, "unit_liaison", world.hall)
    for query in (NOV, {"period": "2026-Q4"}, {"from": "2026-10-01", "to": "2026-10-15"}, {"from": "2026-10-01"}):
        resp = client.get(UNITS, query_string=query, headers=liaison)
        assert resp.status_code == 422 and "period" in field_errors(resp), query
    assert ranking(client, UNITS, None, liaison)["period"]["key"] == "2026-10"  # last month by default
    clock.advance(days=8)  # 1 December: November has ended
    body = ranking(client, UNITS, None, liaison)  # last month by default
    assert body["period"]["key"] == "2026-11" and body["items"][0]["rank"] == 2
    assert client.get(UNITS, query_string={"from": "2026-11-01", "to": "2026-11-30"}, headers=liaison).status_code == 200
    assert client.get(f"{UNITS}.csv", query_string={"period": "2026"}, headers=liaison).status_code == 422
    assert client.get(UNITS, query_string=NOV, headers=world.office).status_code == 200  # the office: any span


def test_a_liaison_sees_its_own_units_rank_among_all_but_no_other_unit(client, clock, world):
    clock.advance(days=8)
    liaison = headers_for(client, "unit_liaison", world.hall)
    body = ranking(client, UNITS, NOV, liaison)
    assert [(r["name"], r["rank"], r["visits"]) for r in body["items"]] == [("县政务服务中心", 2, None)]
    assert body["ranked_count"] == 3 and body["restricted_to_unit"] == world.hall.id
    assert body["bottom"]["named"] == [] and body["special_supervision"] == []  # not theirs to see
    assert "县医疗保障局" not in json.dumps(body, ensure_ascii=False)
    assert client.get(UNITS, query_string={"under": world.county.id}, headers=liaison).status_code == 404

    own_bottom = ranking(client, UNITS, NOV, headers_for(client, "unit_liaison", world.rated))
    assert [n["name"] for n in own_bottom["bottom"]["named"]] == ["县医疗保障局"]
    assert client.get(STAFF, query_string=NOV, headers=liaison).status_code == 403
    assert client.get(f"{STAFF}/summary", query_string=NOV, headers=liaison).status_code == 403
    assert client.get(f"{STAFF}.csv", query_string=NOV, headers=liaison).status_code == 403


def test_inspectors_get_no_ranking_and_leaders_get_both(client, world):
    inspector = headers_for(client, "inspector")
    for url in (UNITS, f"{UNITS}.csv", f"{UNITS}/summary", STAFF, f"{STAFF}.csv", f"{STAFF}/summary"):
        assert client.get(url, headers=inspector).status_code == 403
    leader = headers_for(client, "leader")
    assert client.get(STAFF, query_string=NOV, headers=leader).status_code == 200


# --- staff ----------------------------------------------------------------------------------------------

def test_staff_are_ranked_by_findings_naming_them_and_their_windows_ratings(client, world):
    make_staff(world.rated, name="甲", window_no="7")
    make_staff(world.rated, name="乙", window_no="7")
    rate(world.rated, "7", 1, 1, 1)  # a shared window: nobody's
    body = ranking(client, STAFF, NOV, world.office)
    [row] = body["items"]  # staff with nothing in the period are not listed
    assert (row["name"], row["badge_no"], row["unit_name"], row["rank"]) == ("周敏", "QC-0301", "县政务服务中心", 1)
    assert (row["findings"], row["ratings"], row["visits"]) == (2, 2, 1)
    assert row["score"] == 94.4  # (93 × 0.8 + 100 × 0.2) ÷ 1
    assert "(93.0 × 0.8 + 100.0 × 0.2) ÷ 1 = 94.4" in row["explanation"]["text"]
    assert "本期2条" in body["method"] and "多人共用的窗口（1个）" in body["method"]
    assert [n["name"] for n in body["bottom"]["named"]] == ["周敏"] and row["bottom"]


# --- CSV ------------------------------------------------------------------------------------------------

def read_csv(resp) -> list[list[str]]:
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_the_unit_ranking_as_csv_has_every_row_and_explains_each_score(client, clock, world):
    resp = client.get(f"{UNITS}.csv", query_string={**NOV, "page_size": 1}, headers=world.office)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="rankings-units-2026-11.csv"'
    rows = read_csv(resp)
    assert rows[0][:5] == ["排名", "单位编码", "单位", "综合得分", "名次变化"] and rows[0][-1] == "得分说明"
    assert [(r[0], r[2], r[3]) for r in rows[1:4]] == [("1", "县不动产登记中心", "100.0"), ("2", "县政务服务中心", "93.0"),
                                                      ("3", "县医疗保障局", "75.0")]
    assert len(rows) == 6 and rows[4][0] == rows[5][0] == "无数据"
    header = rows[0]
    rated = rows[3]
    assert rated[header.index("末位")] == "是" and "差评率25.0%" in rated[header.index("专项督查")]
    assert rated[header.index("满意率")] == "75.0%" and rated[header.index("检查次数")] == "0"

    clock.advance(days=8)
    liaison = read_csv(client.get(f"{UNITS}.csv", query_string=NOV,
                                  headers=headers_for(client, "unit_liaison", world.hall)))
    assert len(liaison) == 2 and liaison[1][2] == "县政务服务中心" and liaison[1][header.index("检查次数")] == ""


def test_the_staff_ranking_as_csv(client, world):
    rows = read_csv(client.get(f"{STAFF}.csv", query_string=NOV, headers=world.office))
    assert rows[0][:5] == ["排名", "工牌号", "姓名", "单位", "窗口"]
    assert rows[1][:6] == ["1", "QC-0301", "周敏", "县政务服务中心", "3", "94.4"]


# --- the bulletin ---------------------------------------------------------------------------------------

def bulletin_context(client, office) -> tuple[dict, str]:
    from inspect_api.documents import context as ctxmod
    from inspect_api.documents import services as documents
    from inspect_api.documents.models import Document

    doc = client.post("/api/v1/documents", headers=office, json={
        "kind": "bulletin", "selection": {"period_start": "2026-11-01", "period_end": "2026-11-30"}}).get_json()
    ctx = ctxmod.build(db.session.get(Document, doc["id"]), documents.policy(), today=date(2026, 12, 1))
    return ctx, f"/api/v1/documents/{doc['id']}"


def test_the_bulletin_ranks_and_names_as_the_rankings_do(client, world):
    ctx, url = bulletin_context(client, world.office)
    api = ranking(client, UNITS, NOV, world.office)
    assert [(r["rank"], r["unit_name"], r["score"]) for r in ctx["ranking"]] == [
        (r["rank"], r["name"], r["score"]) for r in api["items"] if r["rank"] is not None]
    assert ctx["bottom"] == ["县医疗保障局"] and ctx["best"] == ["县不动产登记中心", "县政务服务中心"]
    assert ctx["commended_units"] == ["县不动产登记中心"]  # clean and visited; never the one at the bottom
    # staff are named as documents.yaml names them in bulletins (surname + 某)
    assert ctx["bottom_staff"] == [{"unit_id": world.hall.id, "unit_name": "县政务服务中心", "staff_label": "周某"}]
    assert "周敏" not in json.dumps(ctx["bottom_staff"], ensure_ascii=False)
    assert "0.7∶0.3" in ctx["ranking_method"]
    assert ctx["ranking"][2]["satisfaction_rate"] == 0.75 and ctx["ranking"][1]["satisfaction_rate"] is None
    rows = read_csv(client.get(f"{url}/data.csv?table=ranking", headers=world.office))
    assert rows[1:] == [["1", "县不动产登记中心", "100.0", "0", ""], ["2", "县政务服务中心", "93.0", "2", ""],
                        ["3", "县医疗保障局", "75.0", "0", ""]]


def test_the_documents_policy_can_leave_the_ranking_or_the_staff_out_of_the_bulletin(app, client, world):
    original = app.extensions["inspect_document_policy"]
    try:
        no_staff = copy.deepcopy(original)
        no_staff["bulletin"]["bottom_staff"] = False
        app.extensions["inspect_document_policy"] = no_staff
        ctx, _ = bulletin_context(client, world.office)
        assert ctx["bottom"] == ["县医疗保障局"] and ctx["bottom_staff"] == []

        no_ranking = copy.deepcopy(original)
        no_ranking["bulletin"]["ranking"] = False
        app.extensions["inspect_document_policy"] = no_ranking
        ctx, _ = bulletin_context(client, world.office)
        assert (ctx["ranking"], ctx["best"], ctx["bottom"], ctx["bottom_staff"]) == ([], [], [], [])
        assert ctx["commended_units"] == ["县不动产登记中心"]  # still commended, without a ranking
    finally:
        app.extensions["inspect_document_policy"] = original


def test_where_the_policy_weighs_supervised_matters_their_on_time_rate_joins_the_unit_score(client, world, policy,
                                                                                          app):
    from dataclasses import replace

    from inspect_api.matters.models import SupervisedMatter

    for verdict, closed in (("done", datetime(2026, 11, 10, 2, 0, tzinfo=UTC)),
                            ("done_late", datetime(2026, 11, 12, 2, 0, tzinfo=UTC)),
                            ("done_late", datetime(2026, 10, 12, 2, 0, tzinfo=UTC))):  # October: not counted
        db.session.add(SupervisedMatter(kind="leader_assigned", title="老旧小区改造", content="限期办结", lead_unit_id=world.clean.id,
                                        level="important", assigned_at=closed, status="closed", verdict=verdict,
                                        closed_at=closed))
    db.session.flush()
    before = by_name(ranking(client, UNITS, NOV, world.office))["县不动产登记中心"]
    assert before["score"] == 100.0 and "督办" not in before["explanation"]["text"]  # weight 0: nothing changes
    app.extensions["inspect_rankings_policy"] = replace(policy, units=replace(
        policy.units, weights={"inspection": 0.8, "ratings": 0.2, "matters": 0.2}))
    row = by_name(ranking(client, UNITS, NOV, world.office))["县不动产登记中心"]
    matters = [c for c in row["explanation"]["components"] if c["code"] == "matters"]
    assert matters == [{**matters[0], "label": "督办落实", "counted": True, "score": 50.0}]
    assert "牵头督办事项办结2件，按期办结1件，1 ÷ 2 × 100 = 50.0" in row["explanation"]["text"]
    assert row["score"] == 90.0  # (100 × 0.8 + 50 × 0.2) ÷ 1.0: ratings do not count for this unit
