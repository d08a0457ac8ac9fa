"""Document numbers (代字〔YYYY〕N号) and the pure formatting of documents: Chinese dates and times,
ordinals for headings, windows, staff naming by policy, and balanced title lines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_api.documents.formatting import (
    StaffNaming,
    chinese_date,
    chinese_datetime,
    chinese_numeral,
    staff_label,
    surname_of,
    title_lines,
    window_label,
)
from inspect_api.documents.numbering import DocumentNumber, format_number, next_sequence, parse_number

# --- numbers -------------------------------------------------------------------------------------


def test_number_has_hexagonal_brackets_and_no_leading_zeros():
    assert format_number("清效办", 2026, 3) == "清效办〔2026〕3号"
    assert format_number("清效办", 2026, 12) == "清效办〔2026〕12号"
    assert format_number("X效督", 2026, 100) == "X效督〔2026〕100号"


@pytest.mark.parametrize("sequence", [0, -1, -100])
def test_number_rejects_zero_and_negative_sequences(sequence):
    with pytest.raises(ValueError, match="sequence starts at 1"):
        format_number("清效办", 2026, sequence)


@pytest.mark.parametrize("sequence", ["3", "03", 3.0, True, None])
def test_number_rejects_a_sequence_that_is_not_an_integer(sequence):
    # "03" would print a leading zero; True would silently become 1.
    with pytest.raises(ValueError):
        format_number("清效办", 2026, sequence)


@pytest.mark.parametrize("short", ["", "清 效办", "清效办〔", "清效办号码过长过长过长过长过长", None])
def test_number_rejects_a_malformed_issuer_code(short):
    with pytest.raises(ValueError):
        format_number(short, 2026, 1)


@pytest.mark.parametrize("year", [26, 1948, 10000, "2026"])
def test_number_rejects_a_year_that_is_not_four_digits(year):
    with pytest.raises(ValueError):
        format_number("清效办", year, 1)


def test_parse_reads_back_a_formatted_number():
    assert parse_number("清效办〔2026〕3号") == DocumentNumber("清效办", 2026, 3)
    assert str(parse_number("X效督〔2026〕12号")) == "X效督〔2026〕12号"


@pytest.mark.parametrize(
    "text",
    [
        "清效办〔2026〕03号",  # leading zero
        "清效办〔2026〕0号",
        "清效办〔2026〕第3号",  # 第 is not used
        "清效办[2026]3号",  # ASCII brackets
        "清效办【2026】3号",  # wrong CJK brackets
        "清效办（2026）3号",
        "清效办〔26〕3号",
        "清效办〔2026〕3",  # no 号
        " 清效办〔2026〕3号",
        "〔2026〕3号",
    ],
)
def test_parse_refuses_numbers_gbt9704_does_not_allow(text):
    with pytest.raises(ValueError):
        parse_number(text)


@settings(deadline=None)  # a pause of the machine is not a failure of the function (as the other property tests)
@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=1949, max_value=9999))
def test_format_and_parse_round_trip(sequence, year):
    text = format_number("清效办", year, sequence)
    assert not text.split("〕")[1].startswith("0")
    assert parse_number(text) == DocumentNumber("清效办", year, sequence)


def test_next_sequence_follows_the_highest_issued_and_never_refills_a_gap():
    assert next_sequence([]) == 1
    assert next_sequence([1, 2, 3]) == 4
    assert next_sequence([1, 5, 2]) == 6


@pytest.mark.parametrize("used", [[0], [1, -2], [1, "2"], [True]])
def test_next_sequence_rejects_impossible_issued_sequences(used):
    with pytest.raises(ValueError):
        next_sequence(used)


# --- dates and ordinals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 11, 23), "2026年11月23日"),
        (date(2026, 1, 5), "2026年1月5日"),  # no 01, no 05
        (date(2027, 10, 1), "2027年10月1日"),
    ],
)
def test_chinese_date_uses_arabic_numerals_without_leading_zeros(value, expected):
    assert chinese_date(value) == expected


def test_chinese_date_of_an_aware_datetime_is_the_day_in_china():
    # 20:30 UTC on 22 November is 04:30 on 23 November in Beijing.
    assert chinese_date(datetime(2026, 11, 22, 20, 30, tzinfo=UTC)) == "2026年11月23日"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 5, 2, 20, tzinfo=UTC), "2026年11月5日10时20分"),
        (datetime(2026, 11, 5, 10, 5), "2026年11月5日10时5分"),  # naive: already local
        (datetime(2026, 11, 5, 9, 0, tzinfo=timezone(timedelta(hours=8))), "2026年11月5日9时"),
    ],
)
def test_chinese_datetime_is_in_china_standard_time(value, expected):
    assert chinese_datetime(value) == expected


def test_chinese_date_refuses_what_is_not_a_date():
    with pytest.raises(ValueError):
        chinese_date("2026-11-23")


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, "一"), (10, "十"), (11, "十一"), (20, "二十"), (21, "二十一"), (99, "九十九"), (100, "一百"),
     (101, "一百零一"), (110, "一百一十"), (300, "三百"), (1001, "一千零一")],
)
def test_chinese_numeral_for_headings(n, expected):
    assert chinese_numeral(n) == expected


@pytest.mark.parametrize("n", [0, -1, 10000, True])
def test_chinese_numeral_refuses_out_of_range(n):
    with pytest.raises(ValueError):
        chinese_numeral(n)


@pytest.mark.parametrize(("window", "expected"), [(3, "3号窗口"), ("03", "3号窗口"), ("导服台", "导服台"),
                                                   (None, ""), ("  ", "")])
def test_window_label(window, expected):
    assert window_label(window) == expected


# --- staff naming policy ---------------------------------------------------------------------------


def test_full_name_policy_prints_the_name():
    assert staff_label(StaffNaming.FULL_NAME, name="孙浩然", badge_no="QC-0012") == "孙浩然"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("张婷", "张某"), ("孙浩然", "孙某"), ("欧阳修文", "欧阳某"), ("司马光", "司马某"), ("欧阳", "欧某"),
     ("阿依古丽·买买提", "阿依古丽某")],
)
def test_surname_policy_keeps_only_the_surname_with_mou(name, expected):
    assert staff_label("surname", name=name) == expected


def test_badge_policy_never_prints_the_name():
    label = staff_label(StaffNaming.BADGE, name="孙浩然", badge_no="QC-0012")
    assert label == "工牌号QC-0012的工作人员"
    assert "孙" not in label


def test_naming_falls_back_to_badge_then_window_then_post():
    assert staff_label("surname", badge_no="QC-0012") == "工牌号QC-0012的工作人员"
    assert staff_label("full_name", window_no="3") == "3号窗口工作人员"
    assert staff_label("badge", name="张婷", post="登记注册审批岗") == "登记注册审批岗工作人员"
    assert staff_label("badge") == "工作人员"


def test_unknown_naming_policy_is_refused():
    with pytest.raises(ValueError):
        staff_label("nickname", name="张婷")


def test_surname_of_a_single_character_name_is_itself():
    assert surname_of("张") == "张"


# --- title lines ---------------------------------------------------------------------------------


def test_short_title_stays_on_one_line():
    assert title_lines("关于限期整改窗口服务问题的通知") == ["关于限期整改窗口服务问题的通知"]


def test_long_title_is_split_evenly_not_leaving_one_character():
    lines = title_lines("关于2026年10月全县机关效能建设督查情况的通报")
    assert len(lines) == 2
    assert "".join(lines) == "关于2026年10月全县机关效能建设督查情况的通报"
    assert min(len(line) for line in lines) >= 8
    assert not any(line.endswith("20") or line.startswith("26") for line in lines)  # 2026 stays whole


def test_title_line_never_starts_with_closing_punctuation():
    title = "关于对清川县不动产登记中心、清川县人力资源和社会保障局、清川县市场监督管理局等单位违反规定问题的通报"
    lines = title_lines(title)
    assert "".join(lines) == title
    assert all(len(line) <= 20 for line in lines)
    assert not any(line[0] in "，。、）》" for line in lines)


def test_title_breaks_written_by_the_drafter_are_kept():
    assert title_lines("关于对县不动产登记中心等单位\n违反规定问题的通报") == ["关于对县不动产登记中心等单位", "违反规定问题的通报"]


@pytest.mark.parametrize("title, words", [
    ("关于2026年11月机关效能建设督查情况的通报", ["机关效能建设", "督查情况"]),
    ("关于2026年11月全县机关效能建设督查情况的通报", ["机关效能建设"]),
    ("关于2026年第四季度清川县政务服务中心窗口服务督查情况的通报", ["清川县政务服务中心", "窗口服务"]),
    ("关于对县人力资源和社会保障局窗口服务问题的通报批评", ["县人力资源和社会保障局", "窗口服务"]),
])
def test_title_lines_never_cut_a_word_of_the_break_table(title, words):
    lines = title_lines(title, words)
    assert "".join(lines) == title and len(lines) == 2
    for word in words:
        assert any(word in line for line in lines), (word, lines)


def test_the_break_table_gives_way_only_to_a_word_longer_than_a_line():
    title = "关于" + "甲" * 25 + "的通报"
    lines = title_lines(title, ["甲" * 25])
    assert "".join(lines) == title and all(len(line) <= 20 for line in lines)
