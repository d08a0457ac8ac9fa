"""The shipped templates in checklists/, and reading a template directory (files only, no app)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect_api.checklists.loader import ChecklistTemplatesInvalid, check_directory, load_directory
from inspect_api.checklists.rules import answer_fails, categories_used, iter_items
from inspect_api.core.categories import CATEGORIES

REPO_CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"

MINIMAL = """\
code: {code}
version: {version}
title: 测试检查表
kind: inspection
systems:
  - code: conduct
    label: 工作纪律
    items:
      - code: D1
        question: 窗口是否有人在岗？
        answer_type: yes_no
        fail_answer: "no"
        category: off_post
        severity: serious
        points: 3
"""


@pytest.fixture(scope="module")
def shipped():
    result = load_directory(REPO_CHECKLISTS)
    assert result.errors == [], "\n".join(str(e) for e in result.errors)
    return {(t.code if t.version == 1 else f"{t.code}@{t.version}"): t for t in result.templates}


def _items(template) -> dict:
    return {item["code"]: item for _, item in iter_items(template.data)}


def test_shipped_templates_validate(shipped):
    assert set(shipped) == {"sanxiang_covert", "mystery_shopper", "mystery_shopper@2", "mystery_shopper@3"}
    covert, shopper = shipped["sanxiang_covert"], shipped["mystery_shopper"]
    assert (covert.title, covert.kind) == ("三项制度落实情况暗访检查表", "inspection")
    assert shopper.kind == "mystery_shopper" and "模拟办事" in shopper.title


def test_covert_checklist_covers_every_finding_category_but_the_shoppers_own(shipped):
    # Only an applicant is asked for materials: an invented requirement is found by the shopper's
    # record (scored by the mystery-shopper template), never by looking at a window.
    assert categories_used(shipped["sanxiang_covert"].data) == set(CATEGORIES) - {"extra_requirement"}
    assert "extra_requirement" in shipped["mystery_shopper@3"].data["scoring"]
    assert len(CATEGORIES) == 16


def test_mystery_shopper_records_the_visit_from_queue_to_evaluation(shipped):
    shopper = shipped["mystery_shopper"]
    items = list(_items(shopper).values())
    by_category = {}
    for item in items:
        by_category.setdefault(item.get("category"), []).append(item)
    for category in ("badge_missing", "shirking", "incomplete_notice", "no_receipt", "poor_attitude", "overdue"):
        assert category in by_category, category

    [wait] = [i for i in items if i["answer_type"] == "number" and i.get("unit") == "分钟"]
    assert "等候" in wait["question"]

    [attitude] = by_category["poor_attitude"]
    labels = {c["code"]: c["label"] for c in attitude["choices"]}
    assert list(labels.values()) == ["热情", "一般", "生冷", "粗暴"]
    failing = {labels[c] for c in labels if answer_fails(attitude, c)}
    assert failing == {"生冷", "粗暴"}
    assert any("改日再来" in i["question"] for i in items)
    assert "scoring" not in shopper.data  # version 1: the inspector judges each point by hand


def test_mystery_shopper_v2_leaves_the_judging_to_the_scoring_rules(shipped):
    from inspect_api.shopper.rules import RULE_CATEGORIES, policy_from_template

    v2 = shipped["mystery_shopper@2"]
    policy = policy_from_template(v2.data["scoring"])
    assert policy.attitude == {"cold": "minor", "rude": "serious"}
    assert [t for t, _ in policy.untold_severity] == [0.5, 0.2, 0.0]
    # what the rules decide is not asked again as an item, so nothing is raised twice
    assert not categories_used(v2.data) & set(RULE_CATEGORIES)


def test_shipped_items_cite_a_seed_when_they_raise_a_finding(shipped):
    for template in shipped.values():
        for _, item in iter_items(template.data):
            if "category" in item:
                assert item.get("seed"), f"{template.code} {item['code']} cites no seed"


def test_directory_errors_name_each_file(tmp_path):
    (tmp_path / "good.yaml").write_text(MINIMAL.format(code="good", version=1), encoding="utf-8")
    (tmp_path / "bad_severity.yaml").write_text(
        MINIMAL.format(code="bad", version=1).replace("severity: serious", "severity: grave"), encoding="utf-8")
    (tmp_path / "bad_syntax.yaml").write_text("code: x\nsystems: [\n", encoding="utf-8")
    result = load_directory(tmp_path)
    assert [t.code for t in result.templates] == ["good"]
    texts = [str(e) for e in result.errors]
    assert texts[0] == (f"{tmp_path}/bad_severity.yaml: item D1: field severity: "
                        "须为以下之一: minor, serious, severe (must be one of minor, serious, severe)")
    assert texts[1].startswith(f"{tmp_path}/bad_syntax.yaml:3: YAML 语法错误")
    assert len(texts) == 2


def test_same_code_and_version_in_two_files_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text(MINIMAL.format(code="demo", version=1), encoding="utf-8")
    (tmp_path / "b.yml").write_text(MINIMAL.format(code="demo", version=1), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(MINIMAL.format(code="demo", version=2), encoding="utf-8")
    [error] = load_directory(tmp_path).errors
    assert error.file == f"{tmp_path}/b.yml" and error.field == "version"
    assert f"also defined in {tmp_path}/a.yaml" in error.message


def test_sub_folders_and_other_files_are_left_alone(tmp_path):
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "deadlines.yaml").write_text("serious: 10\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("说明", encoding="utf-8")
    assert load_directory(tmp_path).ok and load_directory(tmp_path).templates == []


def test_missing_directory_and_non_utf8_file_are_errors(tmp_path):
    assert "directory not found" in str(load_directory(tmp_path / "nowhere").errors[0])
    (tmp_path / "gbk.yaml").write_bytes(MINIMAL.format(code="gbk", version=1).encode("gbk"))
    assert "UTF-8" in str(load_directory(tmp_path).errors[0])


def test_check_directory_raises_with_every_problem_listed(tmp_path):
    (tmp_path / "a.yaml").write_text(MINIMAL.format(code="demo", version=1).replace("off_post", "napping"),
                                     encoding="utf-8")
    with pytest.raises(ChecklistTemplatesInvalid) as caught:
        check_directory(tmp_path)
    assert f"{tmp_path}/a.yaml: item D1: field category:" in caught.value.format_message()
    assert caught.value.exit_code == 1
