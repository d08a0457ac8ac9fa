"""The checklist template validator, the YAML reading, the canonical hash and answer semantics."""

from __future__ import annotations

import copy

import pytest

from inspect_api.checklists.rules import (
    answer_fails,
    canonical_json,
    content_hash,
    item_count,
    read_template,
    validate_template,
)

FILE = "checklists/x.yaml"


def valid() -> dict:
    return {
        "code": "demo",
        "version": 1,
        "title": "测试检查表",
        "kind": "inspection",
        "systems": [
            {"code": "first_inquiry", "label": "首问负责", "items": [
                {"code": "A1", "question": "是否佩戴工牌？", "answer_type": "yes_no", "fail_answer": "no",
                 "category": "badge_missing", "severity": "minor", "points": 2, "photo_required": True,
                 "hint": "记录窗口号", "seed": "002 §1"},
                {"code": "A2", "question": "服务态度", "answer_type": "choice",
                 "choices": [{"code": "warm", "label": "热情"}, {"code": "cold", "label": "生冷"}],
                 "fail_choices": ["cold"], "category": "poor_attitude", "severity": "serious", "points": 5},
            ]},
            {"code": "time_limit", "label": "限时办结", "items": [
                {"code": "B1", "question": "等候时间", "answer_type": "number", "unit": "分钟", "min": 0,
                 "max": 600, "fail_above": 30, "category": "overdue", "severity": "minor", "points": 1.5},
                {"code": "B2", "question": "备注", "answer_type": "text"},
            ]},
        ],
    }


def item(data: dict, code: str) -> dict:
    return next(i for s in data["systems"] for i in s["items"] if i.get("code") == code)


def setter(code: str | None, key: str, value):
    def change(data):
        (item(data, code) if code else data)[key] = value
    return change


def deleter(code: str | None, key: str):
    def change(data):
        del (item(data, code) if code else data)[key]
    return change


def second_system(key: str, value):
    def change(data):
        data["systems"][1][key] = value
    return change


# (id, change, expected error as: system, item, field, a fragment of the message)
BROKEN = [
    ("bad severity", setter("A1", "severity", "grave"),
     (None, "A1", "severity", "must be one of minor, serious, severe")),
    ("unknown category", setter("A1", "category", "badge_lost"),
     (None, "A1", "category", "unknown finding category")),
    ("category missing", deleter("A1", "category"), (None, "A1", "category", "required")),
    ("severity missing", deleter("A2", "severity"), (None, "A2", "severity", "required")),
    ("points missing", deleter("B1", "points"), (None, "B1", "points", "required")),
    ("negative points", setter("A1", "points", -1), (None, "A1", "points", ">= 0")),
    ("points as true", setter("A1", "points", True), (None, "A1", "points", ">= 0")),
    ("photo_required as text", setter("A1", "photo_required", "yes"),
     (None, "A1", "photo_required", "true or false")),
    ("fail_answer not yes/no", setter("A1", "fail_answer", "maybe"), (None, "A1", "fail_answer", '"yes" or "no"')),
    ("unknown answer type", setter("A1", "answer_type", "rating"),
     (None, "A1", "answer_type", "must be one of yes_no, choice, number, text")),
    ("question not Chinese", setter("A1", "question", "Badge worn?"), (None, "A1", "question", "Chinese")),
    ("question missing", deleter("A2", "question"), (None, "A2", "question", "required")),
    ("misspelt field", setter("A1", "serverity", "minor"), (None, "A1", "serverity", "unknown field")),
    ("choices on a yes_no item", setter("A1", "choices", [{"code": "a", "label": "是"}]),
     (None, "A1", "choices", "only for answer_type choice")),
    ("failure fields on a text item", setter("B2", "category", "overdue"),
     (None, "B2", "category", "only for items that can fail")),
    ("empty choices", setter("A2", "choices", []), (None, "A2", "choices", "non-empty list of choices")),
    ("fail choice not a choice", setter("A2", "fail_choices", ["hot"]),
     (None, "A2", "fail_choices", "not among the choices: hot")),
    ("every choice fails", setter("A2", "fail_choices", ["warm", "cold"]),
     (None, "A2", "fail_choices", "at least one choice must pass")),
    ("duplicate choice code", setter("A2", "choices", [
        {"code": "warm", "label": "热情"}, {"code": "cold", "label": "生冷"}, {"code": "warm", "label": "一般"}]),
     (None, "A2", "choices[2].code", "duplicate choice code warm")),
    ("choice without label", setter("A2", "choices", [{"code": "warm"}, {"code": "cold", "label": "生冷"}]),
     (None, "A2", "choices[0].label", "non-empty text")),
    ("min above max", setter("B1", "min", 700), (None, "B1", "min", "must not exceed max")),
    ("fail_above never reached", setter("B1", "fail_above", 600), (None, "B1", "fail_above", "must be below max")),
    ("fail_above not a number", setter("B1", "fail_above", "30"), (None, "B1", "fail_above", "must be a number")),
    ("duplicate item code", setter("B1", "code", "A1"), (None, "A1", "code", "duplicate item code, also in system first_inquiry")),
    ("item without code", deleter("A2", "code"), ("first_inquiry", "#2", "code", "required")),
    ("item code with spaces", setter("A2", "code", "A 2"), ("first_inquiry", "#2", "code", "letters, digits")),
    ("duplicate system code", second_system("code", "first_inquiry"), ("first_inquiry", None, "code", "duplicate system code")),
    ("unknown system code", second_system("code", "hygiene"), ("#2", None, "code", "must be one of first_inquiry")),
    ("system without items", second_system("items", []), ("time_limit", None, "items", "non-empty list")),
    ("system label not Chinese", second_system("label", "Time limit"), ("time_limit", None, "label", "Chinese")),
    ("code missing", deleter(None, "code"), (None, None, "code", "required")),
    ("code with capitals", setter(None, "code", "Demo"), (None, None, "code", "lowercase")),
    ("version missing", deleter(None, "version"), (None, None, "version", "required")),
    ("version as text", setter(None, "version", "1"), (None, None, "version", "whole number")),
    ("version zero", setter(None, "version", 0), (None, None, "version", "whole number >= 1")),
    ("version as true", setter(None, "version", True), (None, None, "version", "whole number")),
    ("title in English", setter(None, "title", "Checklist"), (None, None, "title", "Chinese")),
    ("unknown kind", setter(None, "kind", "audit"), (None, None, "kind", "must be one of inspection, mystery_shopper")),
    ("unknown top-level field", setter(None, "author", "王"), (None, None, "author", "unknown field")),
    ("no systems", setter(None, "systems", []), (None, None, "systems", "non-empty list")),
    ("scoring not a mapping", setter(None, "scoring", [1, 2]), (None, None, "scoring", "must be a mapping")),
]


def test_the_valid_template_has_no_error():
    assert validate_template(valid(), FILE) == []


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_each_broken_template_names_file_item_and_field(change, expected):
    data = valid()
    change(data)
    errors = validate_template(data, FILE)
    system, item_code, field, fragment = expected
    assert len(errors) == 1, [str(e) for e in errors]
    error = errors[0]
    assert (error.file, error.system, error.item, error.field) == (FILE, system, item_code, field)
    assert fragment in error.message
    text = str(error)
    assert text.startswith(f"{FILE}: ")
    if item_code:
        assert f"item {item_code}: field {field}: " in text


def test_error_text_reads_file_item_field_message():
    data = valid()
    item(data, "A1")["severity"] = "grave"
    [error] = validate_template(data, FILE)
    assert str(error) == (f"{FILE}: item A1: field severity: 须为以下之一: minor, serious, severe "
                          "(must be one of minor, serious, severe)")


def test_every_problem_is_reported_not_only_the_first():
    data = valid()
    item(data, "A1")["severity"] = "grave"
    item(data, "A2")["fail_choices"] = ["hot"]
    data["version"] = 0
    fields = {(e.item, e.field) for e in validate_template(data, FILE)}
    assert fields == {("A1", "severity"), ("A2", "fail_choices"), (None, "version")}


def test_record_only_items_need_no_failure_fields():
    data = valid()
    data["systems"][1]["items"].append(
        {"code": "B3", "question": "排队人数", "answer_type": "number", "min": 0})
    data["systems"][1]["items"].append({"code": "B4", "question": "是否被要求改日再来？", "answer_type": "yes_no"})
    assert validate_template(data, FILE) == []


def test_a_loose_scoring_section_is_accepted():
    data = valid()
    data["kind"] = "mystery_shopper"
    data["scoring"] = {"base": 100, "bands": [{"min": 90, "label": "优秀"}], "note": None}
    assert validate_template(data, FILE) == []


# --- YAML -------------------------------------------------------------------------------------------
VALID_YAML = """\
code: demo
version: 1
title: 测试检查表
kind: inspection
systems:
  - code: first_inquiry
    label: 首问负责
    items:
      - code: A1
        question: 是否佩戴工牌？
        answer_type: yes_no
        fail_answer: no
        category: badge_missing
        severity: minor
        points: 2
"""


def test_yaml_reads_bare_no_as_text_so_fail_answer_works_unquoted():
    template, errors = read_template(VALID_YAML, FILE)
    assert errors == []
    assert template.data["systems"][0]["items"][0]["fail_answer"] == "no"
    assert (template.code, template.version, template.title, template.kind) == ("demo", 1, "测试检查表", "inspection")


def test_yaml_bare_yes_is_not_a_boolean_for_photo_required():
    _, errors = read_template(VALID_YAML + "        photo_required: yes\n", FILE)
    assert [(e.item, e.field) for e in errors] == [("A1", "photo_required")]


def test_yaml_syntax_error_names_file_and_line():
    broken = VALID_YAML.replace("        severity: minor", "       severity: [minor")
    template, errors = read_template(broken, FILE)
    assert template is None
    [error] = errors
    assert error.line == 14
    assert str(error).startswith(f"{FILE}:14: YAML 语法错误 (YAML syntax error)")


def test_yaml_key_written_twice_is_an_error_with_its_line():
    _, errors = read_template(VALID_YAML + "        severity: severe\n", FILE)
    [error] = errors
    assert error.line == 16 and "duplicate key 'severity'" in error.message


def test_empty_file_and_wrong_top_level_are_errors():
    assert "empty file" in str(read_template("# nothing\n", FILE)[1][0])
    assert "top level must be a mapping" in str(read_template("- a\n- b\n", FILE)[1][0])


def test_dates_stay_text_so_the_template_is_json():
    template, errors = read_template(VALID_YAML + "description: 2026-01-01 起施行\n", FILE)
    assert errors == []
    template, errors = read_template(VALID_YAML + "description: 2026-01-01\n", FILE)
    assert errors == [] and '"description":"2026-01-01"' in template.content


# --- canonical form and hash ------------------------------------------------------------------------
def test_hash_does_not_depend_on_key_order_comments_or_layout():
    data = valid()
    reordered = {key: data[key] for key in reversed(list(data))}
    reordered["systems"] = [{k: s[k] for k in reversed(list(s))} for s in data["systems"]]
    for system in reordered["systems"]:
        system["items"] = [{k: i[k] for k in sorted(i, reverse=True)} for i in system["items"]]
    assert list(reordered) != list(data)
    assert canonical_json(reordered) == canonical_json(data)

    reordered_yaml = "# 注释\nversion: 1\n" + VALID_YAML.replace("version: 1\n", "").replace(
        "        severity: minor\n        points: 2\n", "        points:    2\n        severity: 'minor'\n")
    first, _ = read_template(VALID_YAML, FILE)
    second, _ = read_template(reordered_yaml, FILE)
    assert first.content_hash == second.content_hash


def test_hash_changes_with_any_content_change_and_item_order():
    data = valid()
    base = content_hash(canonical_json(data))
    changed = copy.deepcopy(data)
    item(changed, "A1")["question"] = "是否佩戴工牌?"
    swapped = copy.deepcopy(data)
    swapped["systems"][0]["items"].reverse()
    assert len({base, content_hash(canonical_json(changed)), content_hash(canonical_json(swapped))}) == 3


def test_canonical_form_is_frozen():
    # Every published version's stored hash depends on this exact text: it must never change.
    data = {"title": "测试", "version": 1, "code": "demo", "systems": [{"label": "首问负责", "code": "x"}]}
    text = canonical_json(data)
    assert text == '{"code":"demo","systems":[{"code":"x","label":"首问负责"}],"title":"测试","version":1}'
    assert content_hash(text) == "c50f79f515f88034a6692e57061fcbf46e59aba2d34ab2a0300e4aa9840d5340"


def test_item_count_counts_items_of_every_system():
    assert item_count(valid()) == 4


# --- answers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "answer", "fails"), [
    ("A1", "no", True), ("A1", "yes", False), ("A1", None, False),
    ("A2", "cold", True), ("A2", "warm", False),
    ("B1", 31, True), ("B1", 30, False), ("B1", 0, False), ("B1", 30.5, True),
    ("B2", "窗口无人", False),
])
def test_answer_fails_as_the_item_says(code, answer, fails):
    assert answer_fails(item(valid(), code), answer) is fails


def test_fail_below_is_strict():
    number = {"code": "N", "answer_type": "number", "fail_below": 3}
    assert answer_fails(number, 2) and not answer_fails(number, 3)


@pytest.mark.parametrize(("code", "answer"), [("A1", "maybe"), ("A2", "hot"), ("B1", "31"), ("B1", True)])
def test_an_answer_the_item_does_not_allow_is_refused(code, answer):
    with pytest.raises(ValueError, match=code):
        answer_fails(item(valid(), code), answer)
