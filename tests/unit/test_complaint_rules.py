"""投诉举报 rules: the status machine, what a complaint must contain, deadlines of seed 003 第五篇 三(四)
on the official calendar (a holiday, an unloaded year), query codes and form keys."""

from __future__ import annotations

from datetime import date, time

import pytest

from inspect_api.complaints import rules
from inspect_api.complaints.policy import parse
from inspect_api.core import form_tokens
from inspect_api.core.calendar import WorkingCalendar
from inspect_api.core.deadlines import LimitOutOfRange
from inspect_api.errors import InvalidTransition, Unprocessable
from inspect_api.review.policy import PolicyError

TODAY = date(2026, 11, 23)
ALL_STATUSES = list(rules.STATUS_LABELS)


@pytest.mark.parametrize("action", list(rules.TRANSITIONS))
def test_every_action_is_allowed_exactly_from_its_states_and_409_names_them(action):
    for status in ALL_STATUSES:
        allowed = rules.TRANSITIONS[action]
        if status in allowed:
            assert rules.next_status(status, action) == allowed[status]
            continue
        with pytest.raises(InvalidTransition) as caught:
            rules.next_status(status, action)
        assert caught.value.status == 409 and caught.value.code == "invalid_transition"
        assert caught.value.details["allowed_from"] == sorted(allowed)
        assert "只能在" in caught.value.message


def test_the_happy_paths_lead_to_closed():
    s = "received"
    for action in ("assign", "forward", "unit_report", "answer"):
        s = rules.next_status(s, action)
    assert s == "answered" and rules.check_close(s, has_contact=True) == "closed"
    assert rules.check_close(rules.next_status("assigned", "investigate"), has_contact=False) == "closed"


def test_a_complainant_who_left_a_contact_is_answered_before_closing():
    with pytest.raises(InvalidTransition) as caught:
        rules.check_close("investigated", has_contact=True)
    assert caught.value.code == "answer_required" and caught.value.details["allowed_from"] == ["answered"]
    with pytest.raises(InvalidTransition):
        rules.check_close("closed", has_contact=False)


def test_answer_channel_needs_the_contact_it_uses():
    rules.check_answer_channel("online", None, None)
    rules.check_answer_channel("letter", None, None)
    rules.check_answer_channel("phone", "13800000000", None)
    for channel, phone, email in (("phone", None, "a@b.cn"), ("sms", None, None), ("email", "138000", None)):
        with pytest.raises(Unprocessable) as caught:
            rules.check_answer_channel(channel, phone, email)
        assert "channel" in caught.value.details["fields"]


def test_a_good_complaint_is_normalised():
    value = rules.validate(content="  窗口人员玩手机不理人  ", category="other", window_no="5",
                           occurred_on="2026-11-20", occurred_time="9:05", contact_name=" 王先生 ",
                           contact_phone="138-0000 0000", contact_email=None, today=TODAY)
    assert value.content == "窗口人员玩手机不理人" and value.category is None and value.window_no == "5"
    assert (value.occurred_on, value.occurred_time) == (date(2026, 11, 20), time(9, 5))
    assert value.contact_name == "王先生" and value.has_contact
    assert not rules.validate(content="办事要跑五六趟", contact_name="匿名", today=TODAY).has_contact


@pytest.mark.parametrize(("fields", "bad"), [
    ({"content": "短"}, "content"),
    ({"content": None}, "content"),
    ({"content": 12345}, "content"),
    ({"content": "长" * 2001}, "content"),
    ({"content": "详见 www.example.com 办理"}, "content"),
    ({"category": "bribery"}, "category"),
    ({"window_no": "5号窗口"}, "window_no"),
    ({"occurred_on": "2026-13-01"}, "occurred_on"),
    ({"occurred_on": "2026-11-24"}, "occurred_on"),
    ({"occurred_time": "25:00", "occurred_on": "2026-11-20"}, "occurred_time"),
    ({"occurred_time": "09:00"}, "occurred_on"),
    ({"contact_phone": "abc"}, "contact_phone"),
    ({"contact_phone": "12"}, "contact_phone"),
    ({"contact_email": "not-an-address"}, "contact_email"),
    ({"contact_name": "名" * 33}, "contact_name"),
])
def test_bad_fields_are_named(fields, bad):
    body = {"content": "窗口工作人员态度生硬，不一次性告知材料", **fields}
    with pytest.raises(Unprocessable) as caught:
        rules.validate(**body, today=TODAY)
    assert bad in caught.value.details["fields"]


def test_links_are_refused_from_the_public_only():
    text = "网上办事大厅 www.example.cn 一直打不开，窗口让我回去网上办"
    assert rules.validate(content=text, today=TODAY, allow_links=True).content == text
    with pytest.raises(Unprocessable):
        rules.validate(content=text, today=TODAY)


def test_a_conclusion_names_a_finding_only_when_substantiated():
    rules.check_conclusion("substantiated", "poor_attitude", "serious", "经调取监控属实")
    rules.check_conclusion("unsubstantiated", None, None, "经核实，当日该窗口正常办理")
    for args, bad in ((("substantiated", None, "minor", "属实"), "category"),
                      (("substantiated", "poor_attitude", None, "属实"), "severity"),
                      (("unsubstantiated", "poor_attitude", None, "不属实"), "category"),
                      (("maybe", None, None, "?"), "outcome"),
                      (("unsubstantiated", None, None, " "), "reason")):
        with pytest.raises(Unprocessable) as caught:
            rules.check_conclusion(*args)
        assert bad in caught.value.details["fields"]


# --- deadlines: seed 003 第五篇 三(四) on the official calendar ----------------------------------------

CAL = WorkingCalendar({})  # the official calendar only: 2026 known, 2027 assumed


@pytest.mark.parametrize(("level", "days", "due"), [
    # received Wednesday 30 Sep 2026; National Day holiday 1–7 Oct; Saturday 10 Oct is a working day (调休)
    ("citizen_routine", None, date(2026, 10, 13)),     # 5: 8, 9, 10 (Sat), 12, 13 Oct
    ("citizen_routine", 1, date(2026, 10, 8)),
    ("citizen_heavy", None, date(2026, 10, 20)),       # 10
    ("citizen_heavy", 5, date(2026, 10, 13)),
    ("citizen_multi_department", None, date(2026, 11, 17)),  # 30
])
def test_deadlines_of_the_three_levels_across_the_national_day_holiday(level, days, due):
    working_days, deadline = rules.deadline(CAL, level, date(2026, 9, 30), days)
    assert deadline.date == due and not deadline.provisional
    assert working_days == (days or {"citizen_routine": 5, "citizen_heavy": 10, "citizen_multi_department": 30}[level])


def test_a_routine_complaint_of_a_plain_week_is_due_in_five_working_days():
    assert rules.deadline(CAL, "citizen_routine", TODAY)[1].date == date(2026, 11, 30)


@pytest.mark.parametrize(("level", "days"), [("citizen_routine", 6), ("citizen_heavy", 4), ("citizen_heavy", 11),
                                             ("citizen_multi_department", 31), ("citizen_routine", 0.5)])
def test_days_outside_the_level_are_refused(level, days):
    with pytest.raises(LimitOutOfRange):
        rules.deadline(CAL, level, TODAY, days)


def test_only_the_citizen_levels_are_complaint_levels():
    with pytest.raises(Unprocessable) as caught:
        rules.deadline(CAL, "urgent", TODAY)
    assert "level" in caught.value.details["fields"]


def test_a_deadline_across_an_unloaded_year_is_provisional():
    days, deadline = rules.deadline(CAL, "citizen_routine", date(2026, 12, 28))
    assert (days, deadline.date, deadline.provisional, deadline.assumed_years) == (5, date(2027, 1, 4), True, (2027,))
    assert rules.deadline(CAL, "citizen_multi_department", date(2026, 12, 1))[1].provisional


def test_overdue_is_after_the_due_day_and_never_once_closed():
    due = date(2026, 11, 30)
    assert not rules.is_overdue("investigating", due, due)
    assert rules.is_overdue("investigating", due, date(2026, 12, 1))
    assert not rules.is_overdue("closed", due, date(2027, 1, 1))


# --- tracking numbers, query codes, form keys ----------------------------------------------------------

def test_tracking_numbers_and_query_codes():
    assert rules.tracking_no(2026, 42) == "TS2026-000042" and rules.TRACKING_RE.match("TS2026-000042")
    code = rules.new_code()
    assert len(code) == rules.CODE_LENGTH and set(code) <= set(rules.CODE_ALPHABET)
    assert rules.new_code() != code
    stored = rules.code_hash("k", "TS2026-000042", code)
    assert code not in stored and len(stored) == 64
    spaced = f"{code[:5].lower()}-{code[5:]} "
    assert rules.code_matches("k", "TS2026-000042", spaced, stored)  # as typed from a phone call
    assert not rules.code_matches("k", "TS2026-000043", code, stored)  # bound to its complaint
    assert not rules.code_matches("other-key", "TS2026-000042", code, stored)


def test_a_rating_form_token_is_no_complaint_form_token():
    key = "1.3.aaaaaaaaaaaaaaaaaaaaaa"
    rating_token = form_tokens.make_token("k", key, 1000)
    with pytest.raises(form_tokens.TokenRejected):
        form_tokens.check_token("k", rules.form_key(key), rating_token, 1100, 3600)
    general = form_tokens.make_token("k", rules.form_key(None), 1000)
    with pytest.raises(form_tokens.TokenRejected):
        form_tokens.check_token("k", rules.form_key(key), general, 1100, 3600)
    assert form_tokens.check_token("k", rules.form_key(None), general, 1100, 3600) == 1000


def test_the_policy_file_is_checked():
    text = ("token_minutes: 240\nmin_fill_seconds: 5\ndevice_per_hour: 3\nglobal_per_minute: 20\n"
            "lookup_device_per_hour: 20\nlookup_number_per_hour: 10\nsampling_window_days: 180\n")
    assert parse(text, "complaints.yaml").device_per_hour == 3
    with pytest.raises(PolicyError, match="device_per_hour"):
        parse(text.replace("device_per_hour: 3", "device_per_hour: 0"), "complaints.yaml")
    with pytest.raises(PolicyError, match="未知字段"):
        parse(text + "extra: 1\n", "complaints.yaml")
