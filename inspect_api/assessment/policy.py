"""The assessment policy file (`checklists/policy/assessment.yaml`): read and checked at start-up.

`parse` names every problem at once (Chinese, English in brackets), like the other policy files; the
result is a `rules.AssessmentPolicy` whose `data` is the checked mapping, stored with each grade run.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import yaml
from marshmallow import ValidationError, fields, post_load, validates_schema

from inspect_api.assessment.rules import (
    FINDING_SOURCES,
    VETO_EFFECTS,
    AssessmentPolicy,
    FindingsVeto,
    SatisfactionVeto,
    Veto,
)
from inspect_api.core import policy_schema as ps
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.policy_file import PolicyError

FILE = Path("policy") / "assessment.yaml"
UNIT_KINDS = ("county", "department", "hall", "window", "other")
VETO_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_SCORE = Decimal(1000)


class AssessmentPolicyError(PolicyError):
    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))


def parse(text: str, source: str) -> AssessmentPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AssessmentPolicyError(source, [f"YAML 格式错误 (invalid YAML): {exc}"]) from exc
    return from_data(data, source)


def from_data(data, source: str) -> AssessmentPolicy:
    policy, problems = ps.check(_Policy(), data)
    if problems:
        raise AssessmentPolicyError(source, problems)
    return policy


# --- the schema of the file -----------------------------------------------------------------------------

class _UnitKinds(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not value or not all(isinstance(k, str) and k in UNIT_KINDS for k in value) \
                or len(set(value)) != len(value):
            raise ValidationError(f"须为 {list(UNIT_KINDS)} 中不重复的非空列表 (unit kinds assessed)")
        return tuple(value)


def _score_key(key):
    return int(key) if isinstance(key, str) and key.isdigit() else key  # a run stores the policy as JSON


class _Survey(ps.PolicySchema):
    show_allowed = True
    per_unit = ps.Whole(1, 10_000, "须为 1–10000 的整数 (recipients drawn per unit)", required=True)
    unit_kinds = _UnitKinds(required=True)
    score_points = ps.Table(
        (1, 2, 3, 4, 5), ps.Number(0, MAX_SCORE, f"须为 0–{MAX_SCORE} 的数 (points must be 0–{MAX_SCORE})"),
        "须为 1–5 每个评分给出折合分数, 如 {5: 100, 4: 80, 3: 60, 2: 30, 1: 0} (points for each score 1–5)",
        key_of=_score_key, required=True)

    @validates_schema(skip_on_field_errors=False)
    def _rising(self, data, **_kwargs):
        points = data.get("score_points")
        if points and any(points[s] < points[s - 1] for s in range(2, 6)):
            raise ValidationError("须随评分不减 (a higher score may not be worth fewer points)", "score_points")


class _Inspection(ps.PolicySchema):
    show_allowed = True
    base = ps.Number(0, MAX_SCORE, f"须为 0–{MAX_SCORE} 的正数 (the score before deductions)", above=True,
                     required=True)
    deduction_by_severity = ps.Table(
        SEVERITIES, ps.Number(0, MAX_SCORE, "须为非负数 (a non-negative number)"),
        f"须为 {list(SEVERITIES)} 各给出扣分 (deduction per finding whose checklist item gives no points)",
        required=True)
    floor = ps.Number(0, None, "须为不大于 base 的非负数 (the lowest inspection score)", load_default=Decimal(0))

    @validates_schema(skip_on_field_errors=False)
    def _floor(self, data, **_kwargs):
        if "base" in data and "floor" in data and data["floor"] > data["base"]:
            raise ValidationError("须为不大于 base 的非负数 (the lowest inspection score)", "floor")


class _Weights(ps.PolicySchema):
    show_allowed = True
    inspection = ps.Number(0, None, "须为非负数 (both weights are required)", required=True)
    survey = ps.Number(0, None, "须为非负数 (both weights are required)", required=True)


class _Thresholds(ps.PolicySchema):
    show_allowed = True
    excellent = ps.Number(None, None, "须为数 (the 优秀 line)", required=True)
    pass_ = ps.Number(None, None, "须为数 (the 合格 line)", data_key="pass", attribute="pass", required=True)


class _FindingsCondition(ps.PolicySchema):
    show_allowed = True
    count = ps.Whole(1, None, "须为不小于 1 的整数 (count must be an integer ≥ 1)", load_default=1)
    severities = ps.Names(SEVERITIES, "严重程度")
    sources = ps.Names(FINDING_SOURCES, "问题来源")
    categories = ps.Names(CATEGORIES, "问题类别")

    @post_load
    def _make(self, data, **_kwargs):
        return FindingsVeto(**data)


class _SatisfactionCondition(ps.PolicySchema):
    show_allowed = True
    rate = ps.Number(0, 1, "须为 (0, 1] 之间的比例 (a share, e.g. 0.6)", above=True, required=True)

    @post_load
    def _make(self, data, **_kwargs):
        return SatisfactionVeto(**data)


CONDITIONS = {"confirmed_findings": _FindingsCondition, "satisfaction_below": _SatisfactionCondition}


class _Veto(ps.PolicySchema):
    show_allowed = True
    id = ps.Text(VETO_ID, "须为小写字母开头的英文标识 (a lowercase slug)", required=True)
    name = ps.Text(ps.CJK, "须为中文名称 (a Chinese label)", required=True)
    when = ps.OneKey(CONDITIONS, one_error=f"须为只含一种条件的映射 (one of {list(CONDITIONS)})",
                     unknown_error=f"未知的条件 {{kind!r}} (unknown condition; known: {list(CONDITIONS)})",
                     required=True)
    effect = ps.OneOf(VETO_EFFECTS, f"须为 {list(VETO_EFFECTS)} 之一 (fail: 不合格, cap_pass: 最高合格)", required=True)

    @post_load
    def _make(self, data, **_kwargs):
        return Veto(id=data["id"], name=data["name"], condition=data["when"][1], effect=data["effect"])


class _Policy(ps.PolicySchema):
    show_allowed = True
    version = ps.Whole(1, None, "须为不小于 1 的整数 (version must be an integer ≥ 1)", required=True)
    min_raters = ps.Whole(1, 10_000, "须为 1–10000 的整数 (min_raters: the fewest raters a grade needs; 000 六: 20)",
                          required=True)
    survey = fields.Nested(_Survey, required=True)
    inspection = fields.Nested(_Inspection, required=True)
    weights = fields.Nested(_Weights, required=True)
    thresholds = fields.Nested(_Thresholds, required=True)
    vetoes = fields.List(fields.Nested(_Veto), load_default=list, allow_none=True,
                         error_messages={"invalid": "须为列表 (vetoes must be a list)"})

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _across(self, data, original, **_kwargs):
        problems: dict = {}
        survey, weights, lines = data.get("survey", {}), data.get("weights", {}), data.get("thresholds", {})
        if "per_unit" in survey and "min_raters" in data and survey["per_unit"] < data["min_raters"]:
            problems["survey"] = {"per_unit": [f"({survey['per_unit']}) 不能少于 min_raters ({data['min_raters']}) "
                                               "(draw at least as many as a grade needs)"]}
        if len(weights) == 2 and weights["inspection"] + weights["survey"] != 1:
            problems.setdefault("_schema", []).append(
                f"weights 之和须为 1, 现为 {weights['inspection'] + weights['survey']} (weights must add up to 1)")
        if len(lines) == 2 and not 0 <= lines["pass"] <= lines["excellent"]:
            problems.setdefault("_schema", []).append(
                f"thresholds 须满足 0 ≤ pass ≤ excellent, 现为 pass {lines['pass']}, excellent {lines['excellent']}")
        raw = original.get("vetoes") if isinstance(original, dict) else None
        seen: set = set()
        for index, veto in enumerate(raw if isinstance(raw, list) else []):
            vid = veto.get("id") if isinstance(veto, dict) else None
            if isinstance(vid, str) and vid in seen:
                problems.setdefault("vetoes", {})[index] = {"id": ["重复 (duplicate id)"]}
            elif isinstance(vid, str):
                seen.add(vid)
        if problems:
            raise ValidationError(problems)

    @post_load(pass_original=True)
    def _make(self, data, original, **_kwargs):
        survey, insp, weights, lines = data["survey"], data["inspection"], data["weights"], data["thresholds"]
        return AssessmentPolicy(
            version=data["version"], min_raters=data["min_raters"], per_unit=survey["per_unit"],
            unit_kinds=survey["unit_kinds"], score_points=survey["score_points"], inspection_base=insp["base"],
            deduction_by_severity=insp["deduction_by_severity"], inspection_floor=insp["floor"],
            weight_inspection=weights["inspection"], weight_survey=weights["survey"],
            threshold_excellent=lines["excellent"], threshold_pass=lines["pass"],
            vetoes=tuple(data["vetoes"] or ()), data=original)


def load(checklist_dir: str) -> AssessmentPolicy:
    path = Path(checklist_dir) / FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssessmentPolicyError(str(path), [f"无法读取 (cannot read: {exc.strerror})"]) from exc
    return parse(text, str(path))
