"""Statistics: exact figures over a small known data set built through the API.

The tree: county C -> hall H (the field fixture's unit) -> window W; C -> department D.
Visits (local times, Asia/Shanghai), each by the field fixture's two inspectors:

    V5  H  2026-10-31 23:59:59  poor_attitude (serious, 5 pts) confirmed
    V1  H  2026-11-01 00:00     poor_attitude confirmed; late_or_early (minor) left pending
    V4  D  2026-11-16 07:30     overt; poor_attitude confirmed; badge_missing (minor, manual) confirmed
    V2  W  2026-11-30 23:59     unequal_treatment (serious, 5 pts) confirmed; off_post (minor) dismissed
    V3  W  2026-12-01 00:00     poor_attitude confirmed
    V6  H  draft, never submitted, one poor_attitude finding

Everything is confirmed on Wednesday 2 December: serious findings are due 9 December, minor ones 16
December; the figures are asked for on 10 December, when the serious rectifications are overdue.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inspect_api.core.clock import now as clock_now
from inspect_api.db import db
from inspect_api.ratings.models import Rating
from tests.api.conftest import new_id
from tests.helpers import bearer, field_errors, headers_for, login, make_unit

CST = ZoneInfo("Asia/Shanghai")
NOVEMBER = "from=2026-11-01&to=2026-11-30"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


def _submit(client, field, clock, when, unit, responses, findings=(), mode="covert", submit=True) -> dict:
    clock.at = when.astimezone(UTC)
    headers = bearer(login(client, field.a.username)["access_token"])
    vid = new_id()
    body = field.visit(unit_id=unit.id, staff_id=None, mode=mode, responses=responses, findings=list(findings),
                       started_at=(when - timedelta(minutes=30)).isoformat(),
                       ended_at=(when - timedelta(minutes=5)).isoformat(), device_time=when.isoformat())
    put = client.put(f"/api/v1/visits/{vid}", json=body, headers=headers)
    assert put.status_code == 201, put.get_json()
    if not submit:
        return {}
    v = client.post(f"/api/v1/visits/{vid}/submit", headers=headers).get_json()
    assert v["status"] == "submitted", v
    return {f["category"]: f["id"] for f in v["findings"]}


def _manual(category: str, severity: str = "minor") -> dict:
    return {"id": new_id(), "category": category, "severity": severity, "description": "现场发现"}


COLD = [{"item_code": "E1", "answer": "cold"}]
UNEQUAL = [{"item_code": "E2", "answer": "yes"}]


@pytest.fixture()
def data(client, field, clock):
    county = field.unit.parent
    hall = field.unit
    window = make_unit(code="ZW", parent=hall, kind="window", name="3号窗口")
    dept = make_unit(code="ZD", parent=county, name="县市场监管局")
    v5 = _submit(client, field, clock, at(2026, 10, 31, 23, 59, 59), hall, COLD)
    v1 = _submit(client, field, clock, at(2026, 11, 1, 0, 0), hall, COLD, [_manual("late_or_early")])
    v4 = _submit(client, field, clock, at(2026, 11, 16, 7, 30), dept, COLD, [_manual("badge_missing")],
                 mode="overt")
    v2 = _submit(client, field, clock, at(2026, 11, 30, 23, 59), window, UNEQUAL, [_manual("off_post")])
    v3 = _submit(client, field, clock, at(2026, 12, 1, 0, 0), window, COLD)
    _submit(client, field, clock, at(2026, 12, 1, 9, 0), hall, COLD, submit=False)

    clock.at = at(2026, 12, 2, 10, 0).astimezone(UTC)
    office = headers_for(client, "office")
    for fid in (v5["poor_attitude"], v1["poor_attitude"], v4["poor_attitude"], v4["badge_missing"],
                v2["unequal_treatment"], v3["poor_attitude"]):
        resp = client.post(f"/api/v1/review/findings/{fid}/decision", json={"action": "confirm"}, headers=office)
        assert resp.status_code == 200, resp.get_json()
    resp = client.post(f"/api/v1/review/findings/{v2['off_post']}/decision",
                       json={"action": "dismiss", "reason": "不属于工作时间"}, headers=office)
    assert resp.status_code == 200

    clock.at = at(2026, 12, 10, 12, 0).astimezone(UTC)
    return {"county": county, "hall": hall, "window": window, "dept": dept,
            "office": headers_for(client, "office"), "leader": headers_for(client, "leader")}


def get(client, headers, path, status=200):
    resp = client.get(f"/api/v1/stats/{path}", headers=headers)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def _keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


# --- summary ----------------------------------------------------------------------------------------

def test_summary_of_a_month_counts_submitted_visits_their_findings_and_rectifications(client, data):
    s = get(client, data["leader"], f"summary?{NOVEMBER}")
    assert s["period"] == {"from": "2026-11-01", "to": "2026-11-30", "days": 30}
    assert s["compared_with"] == {"from": "2026-10-01", "to": "2026-10-31", "days": 31}  # the month before
    assert s["as_of"] == "2026-12-10"
    cur = s["current"]
    assert (cur["visits"], cur["units_visited"]) == (3, 3)  # V1, V4, V2; V3 is December, V6 a draft
    assert cur["findings"] == {"total": 6, "by_status": {
        "pending_review": 1, "confirmed": 4, "dismissed": 1, "returned": 0, "withdrawn": 0}}
    confirmed = cur["confirmed"]
    assert (confirmed["total"], confirmed["points"]) == (4, 15)
    assert {k: v for k, v in confirmed["by_category"].items() if v} == {
        "poor_attitude": 2, "unequal_treatment": 1, "badge_missing": 1}
    assert confirmed["by_category"]["off_post"] == 0  # every category is listed, for the charts
    assert confirmed["by_severity"] == {"minor": 1, "serious": 3, "severe": 0}
    # serious ones were due 9 December (overdue today, though the nightly job has not run), minor 16th
    assert {k: v for k, v in cur["rectifications"].items() if v} == {"overdue": 3, "open": 1}

    prev = s["previous"]  # October: V5 alone, one second before midnight
    assert (prev["visits"], prev["findings"]["total"], prev["confirmed"]["points"]) == (1, 1, 5)
    change = s["change"]
    assert change["visits"] == {"absolute": 2, "percent": 200.0}
    assert change["confirmed"]["total"] == {"absolute": 3, "percent": 300.0}
    assert change["confirmed"]["by_category"]["unequal_treatment"] == {"absolute": 1, "percent": None}
    assert change["confirmed"]["by_category"]["poor_attitude"] == {"absolute": 1, "percent": 100.0}
    assert change["rectifications"]["overdue"] == {"absolute": 2, "percent": 200.0}


def test_the_last_minute_of_the_last_day_is_inside_and_midnight_after_is_outside(client, data):
    last_day = get(client, data["office"], "summary?from=2026-11-30&to=2026-11-30")
    assert last_day["current"]["visits"] == 1  # V2 at 23:59
    assert last_day["current"]["confirmed"]["by_category"]["unequal_treatment"] == 1
    assert last_day["compared_with"] == {"from": "2026-11-29", "to": "2026-11-29", "days": 1}
    next_day = get(client, data["office"], "summary?from=2026-12-01&to=2026-12-01")
    assert next_day["current"]["visits"] == 1  # V3 at 00:00 (16:00 UTC the day before)
    assert next_day["current"]["confirmed"]["by_category"]["unequal_treatment"] == 0
    assert next_day["previous"]["visits"] == 1  # 30 November
    first_day = get(client, data["office"], "summary?from=2026-11-01&to=2026-11-01")
    assert (first_day["current"]["visits"], first_day["previous"]["visits"]) == (1, 1)  # V1 | V5


def test_year_ago_comparison_and_a_period_that_is_not_whole_months(client, data):
    s = get(client, data["office"], f"summary?{NOVEMBER}&compare=year_ago")
    assert s["comparison"] == "year_ago"
    assert s["compared_with"] == {"from": "2025-11-01", "to": "2025-11-30", "days": 30}
    assert s["change"]["visits"] == {"absolute": 3, "percent": None}
    ten_days = get(client, data["office"], "summary?from=2026-11-25&to=2026-12-04")
    assert ten_days["compared_with"] == {"from": "2026-11-15", "to": "2026-11-24", "days": 10}
    assert (ten_days["current"]["visits"], ten_days["previous"]["visits"]) == (2, 1)  # V2, V3 | V4


def test_a_subtree_counts_the_unit_and_the_units_below_it(client, data):
    hall = get(client, data["office"], f"summary?{NOVEMBER}&under={data['hall'].id}")
    assert hall["filters"]["under"] == data["hall"].id
    assert (hall["current"]["visits"], hall["current"]["findings"]["total"]) == (2, 4)  # V1 at H, V2 at W
    assert hall["current"]["confirmed"]["points"] == 10
    window = get(client, data["office"], f"summary?{NOVEMBER}&under={data['window'].id}")
    assert (window["current"]["visits"], window["current"]["confirmed"]["total"]) == (1, 1)
    county = get(client, data["office"], f"summary?{NOVEMBER}&under={data['county'].id}")
    assert county["current"]["visits"] == 3


def test_category_severity_and_mode_filter_findings(client, data):
    s = get(client, data["office"], f"summary?{NOVEMBER}&category=poor_attitude")
    assert s["current"]["visits"] == 3  # visits are not filtered by a finding's category
    assert (s["current"]["findings"]["total"], s["current"]["confirmed"]["points"]) == (2, 10)
    assert s["current"]["rectifications"]["overdue"] == 2
    minor = get(client, data["office"], f"summary?{NOVEMBER}&severity=minor")
    assert minor["current"]["findings"]["by_status"] == {
        "pending_review": 1, "confirmed": 1, "dismissed": 1, "returned": 0, "withdrawn": 0}
    overt = get(client, data["office"], f"summary?{NOVEMBER}&mode=overt")
    assert (overt["current"]["visits"], overt["current"]["confirmed"]["total"]) == (1, 2)  # V4


def test_without_dates_the_current_month_to_today(client, data):
    s = get(client, data["office"], "summary")
    assert s["period"] == {"from": "2026-12-01", "to": "2026-12-10", "days": 10}
    assert s["current"]["visits"] == 1  # V3


def test_a_liaison_sees_its_own_subtree_without_visits_or_unconfirmed_findings(client, data):
    liaison = headers_for(client, "unit_liaison", data["hall"])
    s = get(client, liaison, f"summary?{NOVEMBER}")
    assert s["filters"]["under"] == data["hall"].id
    cur = s["current"]
    assert cur["visits"] is None and cur["units_visited"] is None
    assert cur["findings"] == {"total": 2, "by_status": {
        "pending_review": None, "confirmed": 2, "dismissed": None, "returned": None, "withdrawn": 0}}
    assert cur["confirmed"]["points"] == 10
    assert s["change"]["visits"] is None
    assert not _keys(s) & {"team", "inspectors", "inspector_id", "created_by", "submitted_by", "user_id"}
    below = get(client, liaison, f"summary?{NOVEMBER}&under={data['window'].id}")
    assert below["current"]["confirmed"]["total"] == 1
    outside = get(client, liaison, f"summary?{NOVEMBER}&under={data['dept'].id}", 404)
    assert outside["error"]["code"] == "not_found"
    get(client, liaison, f"summary?{NOVEMBER}&under={data['county'].id}", 404)  # above it: outside too


def test_inspectors_are_refused(client, data, field):
    resp = client.get(f"/api/v1/stats/summary?{NOVEMBER}", headers=field.ha)
    assert resp.status_code == 403
    inspector = headers_for(client, "inspector")
    for path in ("summary", "trend", "units"):
        assert client.get(f"/api/v1/stats/{path}", headers=inspector).status_code == 403


@pytest.mark.parametrize("query,field_name", [
    ("from=2026-11-30&to=2026-11-01", "to"),
    ("from=2026-13-01", "from"),
    ("from=yesterday", "from"),
    ("from=2020-01-01&to=2025-01-02", "from"),  # more than five years
    ("from=1999-12-31", "from"),
    ("under=0", "under"),
    ("category=rudeness", "category"),
    ("compare=last_week", "compare"),
])
def test_bad_parameters_are_422_naming_the_field(client, data, query, field_name):
    resp = client.get(f"/api/v1/stats/summary?{query}", headers=data["office"])
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["code"] == "validation_error"
    assert field_name in field_errors(resp)


def test_five_years_is_allowed_and_an_unknown_unit_is_404(client, data):
    get(client, data["office"], "summary?from=2021-12-11&to=2026-12-10")
    assert get(client, data["office"], "summary?under=999999", 404)["error"]["code"] == "not_found"
    assert get(client, data["office"], "units?under=999999", 404)["error"]["code"] == "not_found"


# --- trend ------------------------------------------------------------------------------------------

def _series(trend, *fields):
    return [(b["key"], *(b[f] for f in fields)) for b in trend["buckets"]]


def test_monthly_trend_buckets_by_local_month(client, data):
    t = get(client, data["leader"], "trend?from=2026-10-01&to=2026-12-31&granularity=month")
    # V5 (31 Oct 23:59:59) and V1 (1 Nov 00:00, still 31 Oct in UTC) and V3 (1 Dec 00:00, 30 Nov UTC)
    assert _series(t, "visits", "findings", "confirmed", "points", "rectifications_overdue",
                   "rectifications_open") == [
        ("2026-10", 1, 1, 1, 5, 1, 0),
        ("2026-11", 3, 6, 4, 15, 3, 1),
        ("2026-12", 1, 1, 1, 5, 1, 0),
    ]
    assert t["buckets"][0]["start"] == "2026-10-01" and t["buckets"][-1]["end"] == "2026-12-31"


def test_weekly_trend_uses_iso_weeks_in_local_time_and_clips_the_ends(client, data):
    t = get(client, data["office"], "trend?from=2026-10-28&to=2026-12-03&granularity=week")
    assert _series(t, "visits") == [
        ("2026-W44", 2),  # V5 Saturday, V1 Sunday
        ("2026-W45", 0), ("2026-W46", 0),
        ("2026-W47", 1),  # V4 Monday 07:30, still Sunday in UTC
        ("2026-W48", 0),
        ("2026-W49", 2),  # V2 Monday 30 Nov, V3 Tuesday 1 Dec
    ]
    assert (t["buckets"][0]["start"], t["buckets"][0]["end"]) == ("2026-10-28", "2026-11-01")
    assert (t["buckets"][-1]["start"], t["buckets"][-1]["end"]) == ("2026-11-30", "2026-12-03")


def test_quarterly_trend_and_its_default_period(client, data):
    t = get(client, data["office"], "trend?from=2026-09-15&to=2026-12-31&granularity=quarter")
    assert _series(t, "visits", "confirmed") == [("2026-Q3", 0, 0), ("2026-Q4", 5, 6)]
    assert t["buckets"][0]["start"] == "2026-09-15"
    default = get(client, data["office"], "trend")
    assert default["period"] == {"from": "2026-01-01", "to": "2026-12-10", "days": 344}
    assert [b["key"] for b in default["buckets"]][:2] == ["2026-01", "2026-02"]
    assert len(default["buckets"]) == 12


def test_a_liaisons_trend_has_no_visit_counts(client, data):
    liaison = headers_for(client, "unit_liaison", data["window"])
    t = get(client, liaison, "trend?from=2026-11-01&to=2026-12-31")
    assert _series(t, "visits", "confirmed") == [("2026-11", None, 1), ("2026-12", None, 1)]
    get(client, liaison, f"trend?under={data['hall'].id}", 404)


# --- per unit ---------------------------------------------------------------------------------------

def test_unit_rows_sorted_by_points_and_by_other_figures(client, data):
    rows = get(client, data["office"], f"units?{NOVEMBER}&under={data['county'].id}")
    by_id = {r["unit_id"]: r for r in rows}
    assert set(by_id) == {data["county"].id, data["hall"].id, data["window"].id, data["dept"].id}
    dept = by_id[data["dept"].id]
    assert {k: dept[k] for k in ("visits", "findings", "confirmed", "points", "rectifications_open",
                                 "rectifications_overdue")} == {
        "visits": 1, "findings": 2, "confirmed": 2, "points": 5, "rectifications_open": 1,
        "rectifications_overdue": 1}
    assert by_id[data["county"].id]["visits"] == 0
    assert rows[-1]["unit_id"] == data["county"].id  # no points: last
    assert [r["points"] for r in rows] == [5, 5, 5, 0]
    by_confirmed = get(client, data["office"], f"units?{NOVEMBER}&under={data['county'].id}&sort=confirmed")
    assert by_confirmed[0]["unit_id"] == data["dept"].id
    by_code = get(client, data["office"], f"units?{NOVEMBER}&under={data['county'].id}&sort=code&order=desc")
    assert [r["code"] for r in by_code][:2] == ["ZW", "ZD"]


def test_unit_rows_rolled_up_one_level_below_the_county(client, data):
    rows = get(client, data["leader"], f"units?{NOVEMBER}&under={data['county'].id}&depth=1&rollup=true")
    assert [(r["unit_id"], r["visits"], r["findings"], r["confirmed"], r["points"], r["rectifications_overdue"])
            for r in rows] == [(data["hall"].id, 2, 4, 2, 10, 2), (data["dept"].id, 1, 2, 2, 5, 1)]
    top = get(client, data["leader"], f"units?{NOVEMBER}&under={data['county'].id}&depth=0&rollup=true")
    assert [(r["unit_id"], r["visits"], r["confirmed"]) for r in top] == [(data["county"].id, 3, 4)]


def test_unit_rows_are_paginated(client, data):
    resp = client.get(f"/api/v1/stats/units?{NOVEMBER}&under={data['county'].id}&page=2&page_size=3",
                      headers=data["office"])
    assert resp.status_code == 200
    assert len(resp.get_json()) == 1
    assert '"total": 4' in resp.headers["X-Pagination"]
    beyond = client.get(f"/api/v1/stats/units?{NOVEMBER}&under={data['county'].id}&page=5&page_size=3",
                        headers=data["office"])
    assert beyond.get_json() == [] and '"total": 4' in beyond.headers["X-Pagination"]


def test_a_liaison_gets_its_own_units_without_visits(client, data):
    liaison = headers_for(client, "unit_liaison", data["hall"])
    rows = get(client, liaison, f"units?{NOVEMBER}")
    assert {r["unit_id"]: (r["visits"], r["confirmed"]) for r in rows} == {
        data["hall"].id: (None, 1), data["window"].id: (None, 1)}
    resp = client.get(f"/api/v1/stats/units?{NOVEMBER}&sort=visits", headers=liaison)
    assert resp.status_code == 422 and "sort" in field_errors(resp)


def test_an_inactive_unit_without_figures_is_left_out(client, data):
    from inspect_api.org import services as org

    idle = make_unit(code="ZZ", parent=data["county"])
    org.set_active(idle, False)
    rows = get(client, data["office"], f"units?{NOVEMBER}&under={data['county'].id}")
    assert idle.id not in {r["unit_id"] for r in rows}


def test_the_nightly_overdue_flag_changes_no_figure(client, data):
    from inspect_api.review.services import flag_overdue_rectifications

    before = get(client, data["office"], f"summary?{NOVEMBER}")["current"]["rectifications"]
    assert flag_overdue_rectifications() == 5  # every serious one (V3's in December too)
    after = get(client, data["office"], f"summary?{NOVEMBER}")["current"]["rectifications"]
    assert after == before


def test_summary_carries_the_periods_ratings_in_the_same_scope(client, data):
    def rating(unit, score, day):
        db.session.add(Rating(unit_id=unit.id, window_no="3", score=score, reasons=[], source="import",
                              external_id=f"S-{unit.id}-{day}-{score}", created_at=clock_now(), rated_on=day))

    rating(data["window"], 5, date(2026, 11, 1))
    rating(data["window"], 2, date(2026, 11, 30))
    rating(data["hall"], 3, date(2026, 11, 15))
    rating(data["hall"], 1, date(2026, 10, 31))  # the previous month
    rating(data["dept"], 4, date(2026, 11, 15))  # outside the hall's subtree
    rating(data["window"], 5, date(2026, 12, 1))  # after the period
    db.session.commit()
    s = get(client, data["office"], f"summary?{NOVEMBER}&under={data['hall'].id}&category=poor_attitude")
    assert s["ratings"]["current"] == {"count": 3, "average": 3.33, "satisfaction_rate": 0.6667, "bad_count": 1}
    assert s["ratings"]["previous"] == {"count": 1, "average": 1.0, "satisfaction_rate": 0.0, "bad_count": 1}
    county = get(client, data["office"], f"summary?{NOVEMBER}")["ratings"]["current"]
    assert (county["count"], county["average"]) == (4, 3.5)
    liaison = headers_for(client, "unit_liaison", data["window"])
    mine = get(client, liaison, f"summary?{NOVEMBER}")["ratings"]
    assert mine["current"]["count"] == 2 and mine["previous"] == {
        "count": 0, "average": None, "satisfaction_rate": None, "bad_count": 0}
