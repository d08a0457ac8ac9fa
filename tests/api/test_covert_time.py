"""When a covert visit happened, as the unit sees it: the date and 上午/下午 by default (the policy
value covert_time_for_units), in the findings it reads and on its watermarked photos; the office
sees the minute."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from inspect_api.core.clock import time_label
from inspect_api.review.rules import time_for_unit
from tests.api.conftest import decide, new_id
from tests.helpers import bearer, headers_for, login, make_user

AT = datetime(2026, 11, 23, 9, 41)  # local


@pytest.mark.parametrize("precision,at,on,half,label", [
    ("minute", AT, "2026-11-23", "上午", "2026-11-23 09:41"),
    ("half_day", AT, "2026-11-23", "上午", "2026-11-23 上午"),
    ("half_day", AT.replace(hour=14), "2026-11-23", "下午", "2026-11-23 下午"),
    ("date", AT, "2026-11-23", None, "2026-11-23"),
])
def test_time_for_unit_by_precision(precision, at, on, half, label):
    shown = time_for_unit(at, precision)
    assert (shown["observed_at"] is not None) == (precision == "minute")
    assert shown["observed_on"].isoformat() == on and shown["observed_half_day"] == half
    assert time_label(at, precision) == label


def _confirmed_covert_finding(client, field):
    fid = new_id()
    body = field.visit(responses=[{"item_code": "A1", "answer": "yes"}, {"item_code": "A2", "answer": "yes"},
                                  {"item_code": "E1", "answer": "warm"}], findings=[{
        "id": fid, "category": "unrelated_activity", "severity": "serious", "window_no": "3",
        "badge_no": "QC-0301", "observed_at": "2026-11-23T09:41:00+08:00", "description": "上班时间玩手机游戏"}])
    vid = new_id()
    assert client.put(f"/api/v1/visits/{vid}", json=body, headers=field.ha).status_code == 201
    assert client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).status_code == 200
    assert decide(client, headers_for(client, "office"), fid, "confirm").status_code == 200
    return vid, fid


def test_the_unit_sees_a_covert_findings_date_and_half_day_and_the_office_the_minute(client, field):
    vid, fid = _confirmed_covert_finding(client, field)
    liaison = bearer(login(client, make_user("unit_liaison", unit=field.unit).username)["access_token"])
    [seen] = client.get("/api/v1/unit/findings", headers=liaison).get_json()
    assert seen["id"] == fid
    assert seen["observed_at"] is None and seen["observed_on"] == "2026-11-23" and seen["observed_half_day"] == "上午"
    office = client.get(f"/api/v1/visits/{vid}", headers=headers_for(client, "office")).get_json()
    [manual] = [f for f in office["findings"] if f["id"] == fid]
    assert datetime.fromisoformat(manual["observed_at"]).astimezone(UTC) == datetime(2026, 11, 23, 1, 41, tzinfo=UTC)


def test_the_policy_can_show_the_minute_or_only_the_date(app, client, field):
    _, fid = _confirmed_covert_finding(client, field)
    liaison = bearer(login(client, make_user("unit_liaison", unit=field.unit).username)["access_token"])
    original = app.extensions["inspect_review_policy"]
    try:
        app.extensions["inspect_review_policy"] = replace(original, covert_time_for_units="date")
        [seen] = client.get("/api/v1/unit/findings", headers=liaison).get_json()
        assert seen["observed_at"] is None and seen["observed_half_day"] is None
        app.extensions["inspect_review_policy"] = replace(original, covert_time_for_units="minute")
        [seen] = client.get("/api/v1/unit/findings", headers=liaison).get_json()
        assert seen["observed_at"] is not None
    finally:
        app.extensions["inspect_review_policy"] = original


def test_a_covert_visits_watermark_shows_no_minute(app, client, field):
    from inspect_api.db import db
    from inspect_api.visits import services
    from inspect_api.visits.models import Visit

    vid, _ = _confirmed_covert_finding(client, field)
    visit = db.session.get(Visit, vid)
    taken = datetime(2026, 11, 23, 1, 41, tzinfo=UTC)
    assert services.watermark_lines(visit, taken, None, None)[0] == "拍摄时间 2026-11-23 上午"
    visit.mode = "overt"  # an announced visit: its time is no secret
    assert services.watermark_lines(visit, taken, None, None)[0] == "拍摄时间 2026-11-23 09:41"
