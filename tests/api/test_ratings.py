"""好差评 endpoints: the public page and submission (bad input, replay, forged and expired tokens, rate
limits, anonymity), 差评 follow-ups with working-day deadlines, CSV import, the QR code, the summary."""

from __future__ import annotations

import io
import json
import re
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from PIL import Image

from inspect_api.audit.models import AuditEvent
from inspect_api.core.models import FormThrottle, FormToken
from inspect_api.db import db
from inspect_api.ratings import rules as rating_rules
from inspect_api.ratings import services
from inspect_api.ratings.models import Rating, RatingFollowUp
from tests.helpers import bearer, field_errors, headers_for, login, make_staff, make_unit, make_user

POST = "/api/v1/public/ratings"


@pytest.fixture()
def window(client, clock):
    unit = make_unit(code="HALL1", name="县政务服务中心", kind="hall")
    return unit, services.window_key(unit.id, "3")


def open_page(client, key, clock, **headers) -> str:
    resp = client.get(f"/r/{key}", headers=headers)
    assert resp.status_code == 200
    assert 'lang="zh-CN"' in resp.get_data(as_text=True)
    clock.advance(seconds=5)  # a person reads the page before rating
    return re.search(r'name="token" value="([^"]+)"', resp.get_data(as_text=True)).group(1)


def rate(client, key, token, score=5, **extra):
    return client.post(POST, json={"window_key": key, "token": token, "score": score, **extra})


def test_page_shows_the_window_and_a_good_rating_is_stored(client, window, clock):
    unit, key = window
    page = client.get(f"/r/{key}").get_data(as_text=True)
    assert "县政务服务中心" in page and "3 号窗口" in page and "非常不满意" in page and "服务态度差" in page
    token = open_page(client, key, clock)
    resp = rate(client, key, token, 4, reasons=["efficient"], comment="很快")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["score_label"] == "满意"
    row = db.session.scalars(sa.select(Rating)).one()
    assert (row.unit_id, row.window_no, row.score, row.reasons, row.comment, row.source, row.rated_on) == (
        unit.id, "3", 4, ["efficient"], "很快", "qr", date(2026, 11, 23))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RatingFollowUp)) == 0


def test_unknown_or_forged_window_key_is_a_404_page(client, window):
    _, key = window
    assert client.get(f"/r/{key[:-2]}xx").status_code == 404
    assert client.get("/r/1.3.aaaaaaaaaaaaaaaaaaaaaa").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"score": 0}, "score"), ({"score": 6}, "score"), ({"score": "abc"}, "score"),
    ({"score": 3, "reasons": ["nope"]}, "reasons"), ({"score": 3, "reasons": "x" * 10}, "reasons"),
    ({"score": 3, "comment": "长" * 501}, "comment"), ({"score": 3, "extra": 1}, "extra"),
])
def test_bad_input_is_422_naming_the_field_and_stores_nothing(client, window, clock, body, field):
    _, key = window
    token = open_page(client, key, clock)
    resp = client.post(POST, json={"window_key": key, "token": token, **body})
    assert resp.status_code == 422
    assert field in field_errors(resp)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 0


def test_missing_fields_and_non_object_bodies_are_422(client, window):
    assert "token" in field_errors(client.post(POST, json={"score": 3}))
    assert client.post(POST, json=[1, 2]).status_code == 422
    assert client.post(POST, data="score=3", content_type="text/plain").status_code == 415


def test_replayed_token_is_409_and_stored_once(client, window, clock):
    _, key = window
    token = open_page(client, key, clock)
    assert rate(client, key, token).status_code == 201
    again = rate(client, key, token, 1)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "replayed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 1


def test_forged_other_window_expired_and_instant_tokens_are_422(client, window, clock):
    unit, key = window
    token = open_page(client, key, clock)
    forged = token[:-3] + "abc"
    assert rate(client, key, forged).get_json()["error"]["code"] == "token_invalid"
    other = services.window_key(unit.id, "4")
    assert rate(client, other, token).status_code == 422
    clock.advance(minutes=121)
    resp = rate(client, key, token)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "token_expired"
    fresh = services.new_token(key)
    resp = rate(client, key, fresh)
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "too_fast"
    assert rate(client, key, "not-a-token").status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 0


def test_honeypot_filled_is_refused_as_spam(client, window, clock):
    _, key = window
    resp = rate(client, key, open_page(client, key, clock), website="http://buy.example")
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "spam"


def test_device_limit_is_429_with_retry_after(client, window, clock):
    _, key = window
    for _ in range(5):  # policy: device_per_hour 5
        assert rate(client, key, open_page(client, key, clock)).status_code == 201
    resp = rate(client, key, open_page(client, key, clock))
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 3600
    assert resp.get_json()["error"]["details"]["limit"] == "device"
    clock.advance(hours=1)
    assert rate(client, key, open_page(client, key, clock)).status_code == 201


def test_window_limit_holds_across_devices(app, client, window, clock):
    _, key = window
    clock.advance(seconds=60 - clock.now().second)  # start of a minute: every post lands in one bucket
    statuses = []
    for _ in range(11):  # policy: window_per_minute 10; a new browser (no cookie) each time
        fresh = app.test_client()
        token = services.new_token(key)
        clock.advance(seconds=2)
        statuses.append(rate(fresh, key, token).status_code)
        clock.advance(seconds=-2)
    assert statuses == [201] * 10 + [429]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 10


def test_nothing_identifying_the_rater_is_stored(client, window, clock):
    _, key = window
    ip, ua = "203.0.113.77", "Mozilla/5.0 (Linux; Android 14; Rater-Phone-XYZ) Mobile"
    client.set_cookie("inspect_rating_device", "device-cookie-value-4242")
    token = open_page(client, key, clock, **{"X-Forwarded-For": ip, "User-Agent": ua})
    resp = client.post(POST, json={"window_key": key, "token": token, "score": 1, "reasons": ["attitude"]},
                       headers={"X-Forwarded-For": ip, "User-Agent": ua}, environ_base={"REMOTE_ADDR": ip})
    assert resp.status_code == 201
    dumped = []
    for model in (Rating, RatingFollowUp, FormToken, FormThrottle):
        rows = db.session.execute(sa.select(model.__table__)).all()
        assert rows, model.__tablename__
        dumped += [str(v) for row in rows for v in row]
    for secret in (ip, ua, "Rater-Phone-XYZ", "device-cookie-value-4242", token):
        assert not any(secret in v for v in dumped), secret


def test_bad_rating_opens_a_follow_up_due_in_working_days(client, window, clock):
    unit, key = window
    liaison = make_user("unit_liaison", unit)
    h = bearer(login(client, liaison.username)["access_token"])
    assert rate(client, key, open_page(client, key, clock), 2, reasons=["slow"]).status_code == 201
    items = client.get("/api/v1/unit/rating-follow-ups", headers=h).get_json()
    assert len(items) == 1
    # Monday 23 Nov 2026 + 5 working days (policy) = Monday 30 Nov 2026
    assert items[0]["due_on"] == "2026-11-30" and items[0]["status"] == "open" and items[0]["score"] == 2
    assert (items[0]["days_left"], items[0]["days_left_provisional"]) == (5, False)  # "剩余 5 个工作日"
    assert items[0]["reasons"] == ["slow"] and items[0]["reason_labels"] == [rating_rules.REASONS["slow"]]
    notes = client.get("/api/v1/me/notifications", headers=h).get_json()
    assert any(n["kind"] == "rating_follow_up" for n in notes)
    url = f"/api/v1/unit/rating-follow-ups/{items[0]['id']}/close"
    assert "note" in field_errors(client.post(url, json={}, headers=h))
    closed = client.post(url, json={"note": "已约谈窗口人员并回访群众"}, headers=h)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert closed.get_json()["days_left"] is None
    assert client.post(url, json={"note": "again"}, headers=h).status_code == 409
    other = headers_for(client, "unit_liaison")
    assert client.post(url, json={"note": "x"}, headers=other).status_code == 404
    assert client.get("/api/v1/unit/rating-follow-ups", headers=other).get_json() == []


def test_no_js_form_post_gets_an_html_confirmation(client, window, clock):
    _, key = window
    token = open_page(client, key, clock)
    resp = client.post(POST, data={"window_key": key, "token": token, "score": "5", "reasons": ["efficient",
                                   "good_attitude"]}, content_type="multipart/form-data")
    assert resp.status_code == 201 and "感谢您的评价" in resp.get_data(as_text=True)
    assert db.session.scalars(sa.select(Rating)).one().reasons == ["efficient", "good_attitude"]


CSV = ("单位编码,窗口号,评分,原因,评价内容,评价日期,外部编号\n"
       "HALL1,3,5,,很好,2026-11-02,P-001\n"
       "HALL1,4,不满意,服务态度差；slow,态度生硬,2026-11-03,P-002\n")


def _upload(client, h, text, name="ratings.csv"):
    return client.post("/api/v1/ratings/import", headers=h, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(text.encode("utf-8")), name)})


def test_import_is_all_or_nothing_and_idempotent(client, window, clock):
    h = headers_for(client, "office")
    bad = _upload(client, h, CSV + "NOPE,3,9,,,2026-13-01,P-003\n")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "import_failed"
    errors = bad.get_json()["error"]["details"]["errors"]
    assert {e["row"] for e in errors} == {4} and {e["column"] for e in errors} == {"评分", "评价日期"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 0
    first = _upload(client, h, CSV)
    assert first.status_code == 200 and first.get_json() == {"rows": 2, "created": 2, "unchanged": 0}
    again = _upload(client, h, CSV)
    assert again.get_json() == {"rows": 2, "created": 0, "unchanged": 2}
    rows = db.session.scalars(sa.select(Rating).order_by(Rating.external_id)).all()
    assert [(r.score, r.reasons, r.source) for r in rows] == [(5, [], "import"), (2, ["attitude", "slow"], "import")]
    follow = db.session.scalars(sa.select(RatingFollowUp)).one()  # the imported 差评, due from the import day
    assert follow.rating_id == rows[1].id and follow.due_on == date(2026, 11, 30)
    dup = _upload(client, h, CSV + "HALL1,3,5,,,2026-11-04,P-001\n")
    assert dup.status_code == 422


def test_list_and_summary_filter_and_scope(client, window, clock):
    unit, key = window
    h = headers_for(client, "office")
    assert _upload(client, h, CSV).status_code == 200
    listed = client.get("/api/v1/ratings?score=2", headers=h)
    assert listed.status_code == 200 and [r["external_id"] for r in listed.get_json()] == ["P-002"]
    assert listed.get_json()[0]["reason_labels"] == ["服务态度差", "办理效率低、等候时间长"]
    s = client.get(f"/api/v1/ratings/summary?unit_id={unit.id}&from=2026-11-01&to=2026-11-30", headers=h).get_json()
    assert (s["count"], s["average"], s["satisfaction_rate"], s["bad_count"]) == (2, 3.5, 0.5, 1)
    assert {r["code"]: r["count"] for r in s["by_reason"]}["attitude"] == 1
    assert client.get("/api/v1/ratings/summary?from=2026-12-01", headers=h).get_json()["count"] == 0
    own = headers_for(client, "unit_liaison", unit)
    assert client.get("/api/v1/ratings", headers=own).get_json() == []  # one rating a day: totals only
    assert client.get("/api/v1/ratings/summary", headers=own).get_json()["count"] == 2
    stranger = headers_for(client, "unit_liaison")
    assert client.get("/api/v1/ratings", headers=stranger).get_json() == []
    assert client.get(f"/api/v1/ratings?unit_id={unit.id}", headers=stranger).status_code == 404
    assert "score" in field_errors(client.get("/api/v1/ratings?score=7", headers=h))


def test_qr_code_is_a_printable_png_of_the_page_url(client, window):
    unit, key = window
    make_staff(unit, window_no="3")
    h = headers_for(client, "office")
    resp = client.get(f"/api/v1/ratings/qr/{unit.id}/3.png", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.headers["X-Rating-Url"].endswith(f"/r/{key}")
    img = Image.open(io.BytesIO(resp.data))
    assert img.format == "PNG" and 400 <= img.width <= 2000 and img.height > img.width
    assert client.get(f"/api/v1/ratings/qr/{unit.id}/3号.png", headers=h).status_code == 422
    assert client.get("/api/v1/ratings/qr/999999/3.png", headers=h).status_code == 404
    assert client.get(f"/api/v1/ratings/qr/{unit.id}/3.png", headers=headers_for(client, "leader")).status_code == 403


def test_qr_codes_print_the_public_address_when_configured(client, window, app):
    unit, key = window
    make_staff(unit, window_no="3")
    app.config["INSPECT_PUBLIC_BASE_URL"] = "https://xn.qingchuan.gov.cn/"
    try:
        resp = client.get(f"/api/v1/ratings/qr/{unit.id}/3.png", headers=headers_for(client, "office"))
    finally:
        app.config["INSPECT_PUBLIC_BASE_URL"] = ""
    assert resp.headers["X-Rating-Url"] == f"https://xn.qingchuan.gov.cn/r/{key}"


def _trail(entity_type: str) -> list[dict]:
    """The trail's events about one kind of thing, oldest first, as stored (action, entity_id, after...)."""
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == entity_type)
                                .order_by(AuditEvent.seq)).all()
    return [json.loads(e.payload) for e in events]


def test_overdue_follow_ups_are_flagged_once_listed_for_the_office_and_closed_late(client, window, clock):
    unit, key = window
    liaison = headers_for(client, "unit_liaison", unit)
    office = headers_for(client, "office")
    assert rate(client, key, open_page(client, key, clock), 1).status_code == 201
    assert rate(client, key, open_page(client, key, clock), 2).status_code == 201
    first, second = client.get("/api/v1/ratings/follow-ups", headers=office).get_json()
    assert first["due_on"] == "2026-11-30" and first["overdue"] is False
    assert client.post(f"/api/v1/unit/rating-follow-ups/{second['id']}/close", headers=liaison,
                       json={"note": "已整改"}).status_code == 200

    assert services.flag_overdue_follow_ups() == 0  # not yet due
    clock.at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 1 Dec: past Monday 30 Nov
    assert services.flag_overdue_follow_ups() == 1  # the closed one is not overdue
    assert services.flag_overdue_follow_ups() == 0  # a second run changes nothing
    db.session.commit()
    late = client.get("/api/v1/ratings/follow-ups?overdue=true", headers=office).get_json()
    assert [f["id"] for f in late] == [first["id"]] and late[0]["overdue"] is True
    on_time = client.get("/api/v1/ratings/follow-ups?overdue=false", headers=office).get_json()
    assert [f["id"] for f in on_time] == [second["id"]]
    assert [f["id"] for f in client.get(f"/api/v1/ratings/follow-ups?unit_id={unit.id}&status=open",
                                        headers=headers_for(client, "leader")).get_json()] == [first["id"]]
    for who in (office, liaison):
        notes = [n for n in client.get("/api/v1/me/notifications", headers=who).get_json()
                 if n["kind"] == "rating_follow_up.overdue"]
        assert len(notes) == 1 and "2026-11-30" in notes[0]["body"]
    assert client.get("/api/v1/ratings/follow-ups", headers=liaison).status_code == 403
    assert client.get("/api/v1/unit/rating-follow-ups?overdue=true", headers=liaison).get_json()[0]["id"] == first["id"]
    assert client.get("/api/v1/ratings/follow-ups?overdue=maybe", headers=office).status_code == 422

    assert client.post(f"/api/v1/unit/rating-follow-ups/{first['id']}/close", headers=liaison,
                       json={"note": "已回访"}).status_code == 200
    actions = [(e["action"], e["entity_id"], (e["after"] or {}).get("late")) for e in _trail("rating_follow_up")]
    assert actions == [("rating_follow_up.close", str(second["id"]), False),
                       ("rating_follow_up.overdue", str(first["id"]), None),
                       ("rating_follow_up.close", str(first["id"]), True)]


def test_an_import_is_on_the_trail_once_and_names_its_file(client, window, clock):
    h = headers_for(client, "office")
    assert _upload(client, h, CSV, name="省平台导出.csv").status_code == 200
    assert _upload(client, h, CSV, name="省平台导出.csv").get_json()["created"] == 0
    events = _trail("rating_import")
    assert len(events) == 1  # the second import changed nothing, so it is not an event
    assert events[0]["action"] == "rating.import" and events[0]["entity_id"] == "省平台导出.csv"
    assert events[0]["after"] == {"rows": 2, "created": 2, "unchanged": 0}
    assert events[0]["actor_role"] == "office"


def test_provisional_follow_up_deadlines_are_recounted_when_the_year_is_imported(client, window, clock):
    unit, key = window
    clock.at = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 28 Dec: 5 working days reach into 2027
    assert rate(client, key, open_page(client, key, clock), 1).status_code == 201
    follow = db.session.scalars(sa.select(RatingFollowUp)).one()
    assert (follow.due_on, follow.provisional) == (date(2027, 1, 4), True)  # 1 Jan assumed a working day
    admin = headers_for(client, "admin")
    table = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n"
    resp = client.post("/api/v1/calendar/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(table.encode()), "2027.csv", "text/csv")})
    assert resp.status_code == 200 and resp.get_json()["deadlines_changed"] == 1
    db.session.expire_all()
    follow = db.session.scalars(sa.select(RatingFollowUp)).one()
    assert (follow.due_on, follow.provisional) == (date(2027, 1, 5), False)
    assert [e["action"] for e in _trail("rating_follow_up")] == ["rating_follow_up.recompute"]


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_qr_sheet_is_an_a4_pdf_with_a_card_per_window(client, window, clock, tmp_path):
    unit, _ = window
    for no in ("12", "3", "3", None):
        make_staff(unit, window_no=no)
    h = headers_for(client, "office")
    resp = client.get(f"/api/v1/ratings/qr/{unit.id}.pdf", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = _pdf_text(resp.data, tmp_path)
    assert text.count("县政务服务中心") == 2 and "3 号窗口" in text and "12 号窗口" in text
    assert text.index("3 号窗口") < text.index("12 号窗口")  # natural order, each window once
    assert f"/r/{services.window_key(unit.id, '3')}" in text.replace("\n", "")
    named = client.get(f"/api/v1/ratings/qr/{unit.id}.pdf?window=3&window=3", headers=h)
    text = _pdf_text(named.data, tmp_path)
    assert "3 号窗口" in text and "12 号窗口" not in text and text.count("3 号窗口") == 1
    info = subprocess.run(["pdfinfo", "-"], input=named.data, capture_output=True, check=True).stdout.decode()
    assert "595.276 x 841.89" in info.replace("595.28 x 841.89", "595.276 x 841.89")  # A4
    bare = make_unit(name="无窗口单位")
    assert "window" in field_errors(client.get(f"/api/v1/ratings/qr/{bare.id}.pdf", headers=h))
    assert "window" in field_errors(client.get(f"/api/v1/ratings/qr/{unit.id}.pdf?window=a%20b", headers=h))
    assert client.get(f"/api/v1/ratings/qr/{unit.id}.pdf", headers=headers_for(client, "leader")).status_code == 403


def test_qr_codes_only_for_windows_somebody_works_at(client, window, clock):
    unit, _ = window
    make_staff(unit, window_no="3")
    make_staff(unit, window_no="7", is_active=False)  # left: the window is gone
    h = headers_for(client, "office")
    assert client.get(f"/api/v1/ratings/qr/{unit.id}/3.png", headers=h).status_code == 200
    for nobody in ("99", "7"):
        assert client.get(f"/api/v1/ratings/qr/{unit.id}/{nobody}.png", headers=h).status_code == 404
    sheet = client.get(f"/api/v1/ratings/qr/{unit.id}.pdf?window=3&window=99", headers=h)
    assert sheet.status_code == 422 and field_errors(sheet)["window"] == ["没有 99 号窗口"]


def test_units_above_a_window_hear_of_its_bad_rating(client, clock):
    hall = make_unit(code="HALL9", name="县政务服务中心", kind="hall")
    win = make_unit(code="WIN9", name="不动产登记窗口", kind="window", parent=hall)
    key = services.window_key(win.id, "3")
    hall_liaison, window_liaison = make_user("unit_liaison", hall), make_user("unit_liaison", win)
    stranger = make_user("unit_liaison")
    assert rate(client, key, open_page(client, key, clock), 1, reasons=["attitude"]).status_code == 201
    for who, told in ((hall_liaison, True), (window_liaison, True), (stranger, False)):
        notes = client.get("/api/v1/me/notifications", headers=bearer(login(client, who.username)["access_token"]))
        assert any(n["kind"] == "rating_follow_up" for n in notes.get_json()) is told, who.username


def test_import_matches_a_reason_label_holding_a_pause_mark_whole(client, window, clock):
    h = headers_for(client, "office")
    text = ("单位编码,窗口号,评分,原因,评价内容,评价日期,外部编号\n"
            "HALL1,3,2,办理效率低、等候时间长,,2026-11-03,P-101\n"
            "HALL1,3,2,服务态度差、办理效率低、等候时间长,,2026-11-03,P-102\n"
            "HALL1,3,1,办理效率低、等候时间长；让群众多次跑动,,2026-11-04,P-103\n")
    resp = _upload(client, h, text)
    assert resp.status_code == 200, resp.get_json()
    rows = db.session.scalars(sa.select(Rating).order_by(Rating.external_id)).all()
    assert [r.reasons for r in rows] == [["slow"], ["attitude", "slow"], ["slow", "runaround"]]


def _add(unit, window_no, score, day, comment=None, reasons=()):
    db.session.add(Rating(unit_id=unit.id, window_no=window_no, score=score, reasons=list(reasons), comment=comment,
                          source="qr", created_at=datetime(2026, 11, day, 1, 23, 45, 678901, tzinfo=UTC),
                          rated_on=date(2026, 11, day)))
    db.session.flush()


def test_a_liaison_sees_days_scores_and_reasons_never_times_and_small_days_only_as_totals(client, window, app):
    unit, _ = window
    for i, score in enumerate([5, 1, 4, 5, 3]):  # five on the 20th at window 3: the policy minimum
        _add(unit, "3", score, 20, comment=f"留言{i}", reasons=["attitude"] if score == 1 else [])
    _add(unit, "3", 1, 19, comment="态度冷淡")  # the only rating of the 19th: totals only
    _add(unit, "4", 2, 20, comment="等太久")  # the only one at window 4 that day
    liaison = headers_for(client, "unit_liaison", unit)
    listed = client.get("/api/v1/ratings", headers=liaison).get_json()
    assert [(r["rated_on"], r["window_no"], r["score"]) for r in listed] == [
        ("2026-11-20", "3", s) for s in (1, 3, 4, 5, 5)]  # by score within the day, not by arrival
    assert listed[0]["reasons"] == ["attitude"] and listed[0]["reason_labels"] == ["服务态度差"]
    for row in listed:
        assert set(row) == {"unit_id", "window_no", "score", "score_label", "reasons", "reason_labels", "rated_on",
                            "source"}, row
    text = client.get("/api/v1/ratings", headers=liaison).get_data(as_text=True)
    assert "01:23" not in text and "留言" not in text and "态度冷淡" not in text and "等太久" not in text
    summary = client.get("/api/v1/ratings/summary", headers=liaison).get_json()
    assert summary["count"] == 7 and summary["bad_count"] == 3
    office = client.get("/api/v1/ratings", headers=headers_for(client, "office")).get_json()
    assert len(office) == 7 and all("created_at" in r and "id" in r for r in office)
    follow_ups = client.get("/api/v1/unit/rating-follow-ups", headers=liaison).get_json()
    assert follow_ups == []  # added directly, no follow-ups: the policy switch below is what matters

    app.extensions["inspect_ratings_policy"] = replace(services.policy(), liaison_comments=1, liaison_min_ratings=1)
    try:
        shown = client.get("/api/v1/ratings", headers=liaison).get_json()
    finally:
        app.extensions["inspect_ratings_policy"] = replace(services.policy(), liaison_comments=0,
                                                           liaison_min_ratings=5)
    assert len(shown) == 7 and {r["comment"] for r in shown} >= {"态度冷淡", "等太久", "留言1"}
    assert all("created_at" not in r and "id" not in r for r in shown)


def test_a_liaison_reads_a_bad_ratings_follow_up_without_its_comment_or_rating_id(client, window, clock):
    unit, key = window
    assert rate(client, key, open_page(client, key, clock), 1, reasons=["attitude"],
                comment="3号窗口那位大姐态度很差").status_code == 201
    liaison = headers_for(client, "unit_liaison", unit)
    [item] = client.get("/api/v1/unit/rating-follow-ups", headers=liaison).get_json()
    assert item["comment"] is None and item["rating_id"] is None and item["reasons"] == ["attitude"]
    assert item["rated_on"] == "2026-11-23"
    [office] = client.get("/api/v1/ratings/follow-ups", headers=headers_for(client, "office")).get_json()
    assert office["comment"] == "3号窗口那位大姐态度很差" and office["rating_id"]
