"""Checklist templates as data, the pure part: the vocabulary (kinds, systems, finding categories,
severities, answer types), reading one template's YAML text, the validator that names file, item and
field for every problem, the canonical JSON form and its SHA-256, and what an answer means.

Values in, values out: no Flask, no database, no file access (see `loader` for the directory).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import yaml
from marshmallow import ValidationError, fields, validate, validates_schema

# The finding categories and severities live in core.categories (shared by every feature); re-exported
# here because a checklist is where they are first met.
from inspect_api.core import policy_schema as ps
from inspect_api.core.categories import CATEGORIES, SEVERITIES, UNIT_LEVEL_CATEGORIES  # noqa: F401

KINDS = {"inspection": "明查暗访检查", "mystery_shopper": "模拟办事"}

SYSTEMS = {
    "first_inquiry": "首问负责",
    "time_limit": "限时办结",
    "commitment": "服务承诺",
    "conduct": "工作纪律",
    "attitude": "服务态度",
    "evaluation": "好差评",
}

ANSWER_TYPES = ("yes_no", "choice", "number", "text")
YES_NO = ("yes", "no")

TEMPLATE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ITEM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
CJK = re.compile(r"[\u3400-\u9fff]")

TOP_FIELDS = ("code", "version", "title", "kind", "description", "systems", "scoring")
SYSTEM_FIELDS = ("code", "label", "items")
CHOICE_FIELDS = ("code", "label")
COMMON_ITEM_FIELDS = ("code", "question", "answer_type", "hint", "seed")
FAILURE_FIELDS = ("category", "severity", "points", "photo_required")
TYPE_FIELDS = {
    "yes_no": ("fail_answer",),
    "choice": ("choices", "fail_choices"),
    "number": ("unit", "min", "max", "fail_above", "fail_below"),
    "text": (),
}
ALL_TYPE_FIELDS = frozenset(f for fields in TYPE_FIELDS.values() for f in fields)
# What makes an item able to fail; without one of these it only records an answer.
FAIL_CONDITIONS = ("fail_answer", "fail_choices", "fail_above", "fail_below")


@dataclass(frozen=True)
class TemplateError:
    """One problem in one template file, located as precisely as the file allows."""

    file: str
    message: str
    item: str | None = None
    field: str | None = None
    system: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}" if self.line else self.file]
        if self.system is not None:
            parts.append(f"system {self.system}")
        if self.item is not None:
            parts.append(f"item {self.item}")
        if self.field is not None:
            parts.append(f"field {self.field}")
        parts.append(self.message)
        return ": ".join(parts)


@dataclass(frozen=True)
class Template:
    """A validated template and its canonical form: `content_hash` is the SHA-256 of `content`."""

    source: str
    data: dict
    content: str
    content_hash: str

    @property
    def code(self) -> str:
        return self.data["code"]

    @property
    def version(self) -> int:
        return self.data["version"]

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def kind(self) -> str:
        return self.data["kind"]


# --- YAML ------------------------------------------------------------------------------------------
class _TemplateLoader(yaml.SafeLoader):
    """YAML 1.2-like reading: only true/false are booleans (so `fail_answer: no` stays the text "no"),
    dates stay text (a template is JSON data), and a key written twice is an error, not a silent
    overwrite."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark,
                        f"重复的键 {key!r} (duplicate key {key!r})", key_node.start_mark)
                seen[key] = True
        return super().construct_mapping(node, deep=deep)


_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_TemplateLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def parse_yaml(text: str, source: str) -> tuple[object, list[TemplateError]]:
    """The YAML document in `text`, or the syntax error with its line."""
    try:
        return yaml.load(text, Loader=_TemplateLoader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if isinstance(exc, yaml.constructor.ConstructorError):
            message = exc.problem  # a duplicate key or an unknown !tag: well-formed YAML, wrong data
        else:
            message = "YAML 语法错误 (YAML syntax error): " + " ".join(p for p in (exc.context, exc.problem) if p)
        return None, [TemplateError(source, message, line=mark.line + 1 if mark else None)]
    except yaml.YAMLError as exc:
        return None, [TemplateError(source, f"YAML 语法错误 (YAML syntax error): {exc}")]


def read_template(text: str, source: str) -> tuple[Template | None, list[TemplateError]]:
    """Parse and validate one template file's text; the template only when there is no error."""
    data, errors = parse_yaml(text, source)
    if errors:
        return None, errors
    errors = validate_template(data, source)
    if errors:
        return None, errors
    content = canonical_json(data)
    return Template(source=source, data=data, content=content, content_hash=content_hash(content)), []


# --- canonical form --------------------------------------------------------------------------------
def canonical_json(data) -> str:
    """The one text a template's hash is taken of: sorted keys, no spaces, UTF-8 characters as they are.

    Never change this function: every published version's stored hash depends on it.
    """
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


# --- reading a template ----------------------------------------------------------------------------
def iter_items(template: Mapping) -> Iterator[tuple[Mapping, Mapping]]:
    """(system, item) for every item of a validated template, in file order."""
    for system in template.get("systems") or []:
        for item in system.get("items") or []:
            yield system, item


def item_count(template: Mapping) -> int:
    return sum(1 for _ in iter_items(template))


def categories_used(template: Mapping) -> set[str]:
    return {item["category"] for _, item in iter_items(template) if "category" in item}


def can_fail(item: Mapping) -> bool:
    """Whether some answer to the item raises a finding (else the item only records a fact)."""
    return any(item.get(key) not in (None, []) for key in FAIL_CONDITIONS)


def answer_fails(item: Mapping, answer) -> bool:
    """Whether `answer` fails a validated item (and so raises its category). No answer never fails.

    yes_no: the answer equals `fail_answer`; choice: the answer is one of `fail_choices`;
    number: strictly above `fail_above` or strictly below `fail_below`; text: never.
    An answer the item does not allow is a ValueError: check answers before asking.
    """
    if answer is None:
        return False
    kind = item["answer_type"]
    if kind == "yes_no":
        if answer not in YES_NO:
            raise ValueError(f"item {item['code']}: answer must be yes or no, got {answer!r}")
        return answer == item.get("fail_answer")
    if kind == "choice":
        if answer not in {c["code"] for c in item["choices"]}:
            raise ValueError(f"item {item['code']}: unknown choice {answer!r}")
        return answer in (item.get("fail_choices") or [])
    if kind == "number":
        if not _is_number(answer):
            raise ValueError(f"item {item['code']}: answer must be a number, got {answer!r}")
        above, below = item.get("fail_above"), item.get("fail_below")
        return (above is not None and answer > above) or (below is not None and answer < below)
    return False


# --- the validator ---------------------------------------------------------------------------------
def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _one_of(options) -> str:
    listed = ", ".join(options)
    return f"须为以下之一: {listed} (must be one of {listed})"


def _text_problem(value, *, chinese: bool = False, max_length: int | None = None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "须为非空文本 (must be non-empty text)"
    if chinese and not CJK.search(value):
        return "须用中文填写 (must be written in Chinese)"
    if max_length is not None and len(value) > max_length:
        return f"不能超过 {max_length} 个字符 (at most {max_length} characters)"
    return None


def _json_problem(value, path: str = "") -> str | None:
    """Why `value` is not plain JSON data (text, numbers, true/false, null, lists, mappings), if so."""
    if value is None or isinstance(value, str | bool) or _is_number(value):
        return None
    if isinstance(value, list):
        for i, v in enumerate(value):
            problem = _json_problem(v, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path or '.'}: 键须为文本 (keys must be text)"
            problem = _json_problem(v, f"{path}.{k}")
            if problem:
                return problem
        return None
    return f"{path or '.'}: 只能是文本、数字、true/false、列表或映射 (only JSON-like data)"


def validate_template(data, source: str) -> list[TemplateError]:
    """Every problem of one parsed template, each naming the file and, where it applies, item and field.

    Strict on purpose: an unknown field is an error (a misspelt `serverity` must not silently
    drop a rule); the optional `scoring` section must be a mapping of plain data, and a named rule set
    (`scoring.rules`) is checked by that rule set's parser.
    """
    if data is None:
        return [TemplateError(source, "文件为空 (empty file)")]
    if not isinstance(data, dict):
        return [TemplateError(source, "顶层须为映射 (the top level must be a mapping of fields)")]
    try:
        _TemplateSchema().load(data)
    except ValidationError as exc:
        return [_located(source, data, path, message) for path, message in ps.flat(exc.messages)]
    return []


_IN_TEMPLATE = re.compile(r"^systems\[(\d+)\](?:\.items\[(\d+)\])?(?:\.(.+))?$")


def _system_name(system, index: int) -> str:
    code = system.get("code") if isinstance(system, dict) else None
    return code if isinstance(code, str) and code in SYSTEMS else f"#{index + 1}"


def _located(source: str, data: dict, path: str, message: str) -> TemplateError:
    """A schema problem at `path` (systems[1].items[0].choices[2].code) as the file's reader names it:
    a system by its code (#2 when it has none), an item by its code (#2 within its system when it has
    none), the rest of the path as the field."""
    match = _IN_TEMPLATE.match(path)
    if not match:
        return TemplateError(source, message, field=path or None)
    s, i, rest = match.groups()
    system = data["systems"][int(s)]
    where = _system_name(system, int(s))
    if i is None:
        return TemplateError(source, message, system=where, field=rest)
    item = system["items"][int(i)]
    code = item.get("code") if isinstance(item, dict) else None
    if isinstance(code, str) and ITEM_CODE.match(code):
        return TemplateError(source, message, item=code, field=rest)
    return TemplateError(source, message, system=where, item=f"#{int(i) + 1}", field=rest)


_NO_CHOICES = "选择题须列出非空的选项列表 (a choice item needs a non-empty list of choices)"
_NO_ITEMS = "须为非空列表 (must be a non-empty list of items)"
_NO_SYSTEMS = "须为非空列表 (must be a non-empty list of systems)"


# --- the schema of a template ----------------------------------------------------------------------

class _Text(ps._Checked):
    """Non-empty text; Chinese and at most `max_length` characters where asked."""

    def __init__(self, *, chinese: bool = False, max_length: int | None = None, **kwargs):
        super().__init__("须为非空文本 (must be non-empty text)", **kwargs)
        self.chinese, self.max_length = chinese, max_length

    def _deserialize(self, value, attr, data, **kwargs):
        if problem := _text_problem(value, chinese=self.chinese, max_length=self.max_length):
            raise ValidationError(problem)
        return value


class _Bool(ps._Checked):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.fail()
        return value


class _Scoring(fields.Field):
    """Plain data; a named rule set (`rules`) is checked by its own parser, so a bad threshold stops the
    start-up."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("须为映射 (must be a mapping)")
        if problem := _json_problem(value):
            raise ValidationError(problem)
        if "rules" not in value:
            return value
        from inspect_api.shopper.rules import policy_from_template  # imports this module

        problems = []
        if data.get("kind") != "mystery_shopper":
            problems.append("评分规则只用于模拟办事检查表 (scoring rules need kind mystery_shopper)")
        try:
            policy_from_template(value)
        except ValueError as exc:
            problems.append(str(exc))
        if problems:
            raise ValidationError(problems)
        return value


class _Schema(ps.PolicySchema):
    keys_each = True
    unknown_each, missing_each = "未知字段 (unknown field)", "缺少必填字段 (required field missing)"


class _Choice(_Schema):
    missing_as_invalid = True
    error_messages = {"type": "须为含 code 和 label 的映射 (must be a mapping with code and label)"}
    code = ps.Text(ITEM_CODE, "须为 1-32 位字母、数字和 _ . - (letters, digits, _ . -; 1-32)", required=True)
    label = _Text(chinese=True, max_length=64, required=True)


def _number(**kwargs) -> ps.Number:
    return ps.Number(None, None, "须为数字 (must be a number)", **kwargs)


class _Item(_Schema):
    error_messages = {"type": "须为映射 (must be a mapping)"}
    code = ps.Text(ITEM_CODE, "须为 1-32 位字母、数字和 _ . - (letters, digits, _ . -; 1-32)", required=True)
    question = _Text(chinese=True, max_length=500, required=True)
    answer_type = ps.OneOf(ANSWER_TYPES, _one_of(ANSWER_TYPES), required=True)
    hint = _Text(max_length=1000)
    seed = _Text(max_length=1000)
    # failure: what a failed answer raises
    category = ps.OneOf(CATEGORIES, f"未知的问题类别, 见 DOMAIN.md (unknown finding category); {_one_of(CATEGORIES)}")
    severity = ps.OneOf(SEVERITIES, _one_of(SEVERITIES))
    points = ps.Number(0, None, "须为不小于 0 的数 (must be a number >= 0)")
    photo_required = _Bool("须为 true 或 false (must be true or false)")
    # by answer type
    fail_answer = ps.OneOf(YES_NO, '须为 "yes" 或 "no" (must be "yes" or "no")')
    choices = fields.List(fields.Nested(_Choice), validate=validate.Length(min=1, error=_NO_CHOICES),
                          error_messages={"invalid": _NO_CHOICES})
    fail_choices = fields.Raw()
    unit = _Text(max_length=16)
    min, max, fail_above, fail_below = _number(), _number(), _number(), _number()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _by_type(self, data, original, **_kwargs):
        kind = data.get("answer_type")
        if not isinstance(original, dict) or kind is None:
            return  # no type (or an unknown one): nothing more can be said
        problems: dict = {}
        for key in original:
            if key in ALL_TYPE_FIELDS and key not in TYPE_FIELDS[kind]:
                owners = " / ".join(t for t, names in TYPE_FIELDS.items() if key in names)
                problems[key] = [f"仅用于 answer_type {owners} (only for answer_type {owners})"]
        if kind == "choice":
            problems.update(_choice_problems(original))
        elif kind == "number":
            problems.update(_number_problems(data))
        problems.update(_failure_problems(original, kind))
        if problems:
            raise ValidationError(problems)


def _failure_problems(item: dict, kind: str) -> dict:
    """An item that can fail names its category, severity and points; one that cannot has none of them."""
    fails = any(key in TYPE_FIELDS[kind] and item.get(key) not in (None, []) for key in FAIL_CONDITIONS)
    if not fails:
        return {key: ["仅用于可判定不合格的题目: 先写不合格条件 "
                      "(only for items that can fail: set fail_answer, fail_choices, fail_above or fail_below)"]
                for key in FAILURE_FIELDS if key in item}
    return {key: ["可判定不合格的题目必须填写 (required for an item that can fail)"]
            for key in ("category", "severity", "points") if key not in item}


def _choice_problems(item: dict) -> dict:
    choices = item.get("choices") if isinstance(item.get("choices"), list) else []
    problems: dict = {}
    if "choices" not in item:
        problems["choices"] = [_NO_CHOICES]
    codes: list[str] = []
    for index, choice in enumerate(choices):
        code = choice.get("code") if isinstance(choice, dict) else None
        if isinstance(code, str) and ITEM_CODE.match(code):
            if code in codes:
                problems.setdefault("choices", {})[index] = {"code": [f"选项编码重复 (duplicate choice code {code})"]}
            else:
                codes.append(code)
    if "fail_choices" not in item:
        return problems
    fail_choices = item["fail_choices"]
    if not isinstance(fail_choices, list) or not all(isinstance(c, str) for c in fail_choices):
        return {**problems, "fail_choices": ["须为选项编码的列表 (must be a list of choice codes)"]}
    wrong = []
    unknown = [c for c in fail_choices if c not in codes]
    if unknown and codes:
        wrong.append(f"不在 choices 中: {', '.join(unknown)} (not among the choices: {', '.join(unknown)})")
    if len(set(fail_choices)) != len(fail_choices):
        wrong.append("选项重复 (a choice is listed twice)")
    if codes and set(codes) <= set(fail_choices):
        wrong.append("至少要有一个合格选项 (at least one choice must pass)")
    return {**problems, "fail_choices": wrong} if wrong else problems


def _number_problems(values: dict) -> dict:
    """The bounds of a number item, among the values that are numbers."""
    low, high = values.get("min"), values.get("max")
    above, below = values.get("fail_above"), values.get("fail_below")
    problems: dict = {}
    if low is not None and high is not None and low > high:
        problems["min"] = ["不能大于 max (must not exceed max)"]
    if above is not None and high is not None and above >= high:
        problems["fail_above"] = ["须小于 max, 否则永远不会判为不合格 (must be below max, or the item can never fail)"]
    if below is not None and low is not None and below <= low:
        problems["fail_below"] = ["须大于 min, 否则永远不会判为不合格 (must be above min, or the item can never fail)"]
    if above is not None and below is not None and below > above:
        problems.setdefault("fail_below", []).append(
            "不能大于 fail_above, 否则任何答案都不合格 (must not exceed fail_above, or every answer fails)")
    return problems


class _System(_Schema):
    error_messages = {"type": "须为映射 (must be a mapping with code, label, items)"}
    code = ps.OneOf(SYSTEMS, _one_of(SYSTEMS), required=True)
    label = _Text(chinese=True, max_length=64, required=True)
    items = fields.List(fields.Nested(_Item), required=True, validate=validate.Length(min=1, error=_NO_ITEMS),
                        error_messages={"invalid": _NO_ITEMS})


class _TemplateSchema(_Schema):
    code = ps.Text(TEMPLATE_CODE, "须为小写字母开头的小写字母、数字和下划线, 最长 64 位 "
                                  "(lowercase letters, digits and _, starting with a letter, at most 64)", required=True)
    version = ps.Whole(1, None, "须为正整数 (must be a whole number >= 1)", required=True)
    title = _Text(chinese=True, max_length=255, required=True)
    kind = ps.OneOf(KINDS, _one_of(KINDS), required=True)
    description = _Text()
    scoring = _Scoring()
    systems = fields.List(fields.Nested(_System), required=True, validate=validate.Length(min=1, error=_NO_SYSTEMS),
                          error_messages={"invalid": _NO_SYSTEMS})

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _codes(self, _data, original, **_kwargs):
        """A system code once per template; an item code once across its systems."""
        systems = original.get("systems") if isinstance(original.get("systems"), list) else []
        problems: dict = {}
        seen_systems: set[str] = set()
        seen_items: dict[str, str] = {}
        for s, system in enumerate(systems):
            if not isinstance(system, dict):
                continue
            where = _system_name(system, s)
            if where in seen_systems:
                problems[s] = {"code": ["体系编码重复 (duplicate system code)"]}
            seen_systems.add(where)
            for i, item in enumerate(system.get("items") if isinstance(system.get("items"), list) else []):
                code = item.get("code") if isinstance(item, dict) else None
                if not (isinstance(code, str) and ITEM_CODE.match(code)):
                    continue
                if code in seen_items:
                    problems.setdefault(s, {}).setdefault("items", {})[i] = {"code": [
                        f"题目编码重复, 已用于体系 {seen_items[code]} (duplicate item code, also in system {seen_items[code]})"]}
                else:
                    seen_items[code] = where
        if problems:
            raise ValidationError({"systems": problems})


def duplicate_versions(templates: list[Template]) -> list[TemplateError]:
    """The same (code, version) in two files: an error naming both."""
    first: dict[tuple[str, int], str] = {}
    errors = []
    for template in templates:
        key = (template.code, template.version)
        if key in first:
            errors.append(TemplateError(
                template.source,
                f"{template.code} 第 {template.version} 版已在 {first[key]} 中定义 "
                f"(code {template.code} version {template.version} is also defined in {first[key]})",
                field="version"))
        else:
            first[key] = template.source
    return errors
