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

# The finding categories and severities live in core.categories (shared by every feature); re-exported
# here because a checklist is where they are first met.
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


class _Collector:
    def __init__(self, source: str):
        self.source = source
        self.errors: list[TemplateError] = []

    def add(self, message: str, *, field: str | None = None, item: str | None = None,
            system: str | None = None) -> None:
        self.errors.append(TemplateError(self.source, message, item=item, field=field, system=system))


def validate_template(data, source: str) -> list[TemplateError]:
    """Every problem of one parsed template, each naming the file and, where it applies, item and field.

    Strict on purpose: an unknown field is an error (a misspelt `serverity` must not silently
    drop a rule); the optional `scoring` section must be a mapping of plain data, and a named rule set
    (`scoring.rules`) is checked by that rule set's parser.
    """
    out = _Collector(source)
    if data is None:
        out.add("文件为空 (empty file)")
        return out.errors
    if not isinstance(data, dict):
        out.add("顶层须为映射 (the top level must be a mapping of fields)")
        return out.errors

    for key in data:
        if key not in TOP_FIELDS:
            out.add(f"未知字段 (unknown field); 可用字段 (known): {', '.join(TOP_FIELDS)}", field=str(key))
    for key in ("code", "version", "title", "kind", "systems"):
        if key not in data:
            out.add("缺少必填字段 (required field missing)", field=key)

    if "code" in data:
        code = data["code"]
        if not isinstance(code, str) or not TEMPLATE_CODE.match(code):
            out.add("须为小写字母开头的小写字母、数字和下划线, 最长 64 位 "
                    "(lowercase letters, digits and _, starting with a letter, at most 64)", field="code")
    if "version" in data:
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            out.add("须为正整数 (must be a whole number >= 1)", field="version")
    if "title" in data and (problem := _text_problem(data["title"], chinese=True, max_length=255)):
        out.add(problem, field="title")
    if "kind" in data and data["kind"] not in KINDS:
        out.add(_one_of(KINDS), field="kind")
    if "description" in data and (problem := _text_problem(data["description"])):
        out.add(problem, field="description")
    if "scoring" in data:
        scoring = data["scoring"]
        if not isinstance(scoring, dict):
            out.add("须为映射 (must be a mapping)", field="scoring")
        elif problem := _json_problem(scoring):
            out.add(problem, field="scoring")
        elif "rules" in scoring:
            # A named rule set is checked by its own parser, so a bad threshold stops the start-up.
            from inspect_api.shopper.rules import policy_from_template  # imports this module

            if data.get("kind") != "mystery_shopper":
                out.add("评分规则只用于模拟办事检查表 (scoring rules need kind mystery_shopper)", field="scoring")
            try:
                policy_from_template(scoring)
            except ValueError as exc:
                out.add(str(exc), field="scoring")
    if "systems" in data:
        _validate_systems(data["systems"], out)
    return out.errors


def _validate_systems(systems, out: _Collector) -> None:
    if not isinstance(systems, list) or not systems:
        out.add("须为非空列表 (must be a non-empty list of systems)", field="systems")
        return
    seen_systems: set[str] = set()
    seen_items: dict[str, str] = {}
    for index, system in enumerate(systems, start=1):
        where = f"#{index}"
        if not isinstance(system, dict):
            out.add("须为映射 (must be a mapping with code, label, items)", system=where)
            continue
        code = system.get("code")
        if isinstance(code, str) and code in SYSTEMS:
            where = code
            if code in seen_systems:
                out.add("体系编码重复 (duplicate system code)", system=where, field="code")
            seen_systems.add(code)
        elif "code" in system:
            out.add(_one_of(SYSTEMS), system=where, field="code")
        for key in system:
            if key not in SYSTEM_FIELDS:
                out.add("未知字段 (unknown field)", system=where, field=str(key))
        for key in SYSTEM_FIELDS:
            if key not in system:
                out.add("缺少必填字段 (required field missing)", system=where, field=key)
        if "label" in system and (problem := _text_problem(system["label"], chinese=True, max_length=64)):
            out.add(problem, system=where, field="label")
        items = system.get("items")
        if "items" in system and (not isinstance(items, list) or not items):
            out.add("须为非空列表 (must be a non-empty list of items)", system=where, field="items")
            continue
        for position, item in enumerate(items or [], start=1):
            _validate_item(item, position, where, seen_items, out)


def _validate_item(item, position: int, system: str, seen: dict[str, str], out: _Collector) -> None:
    if not isinstance(item, dict):
        out.add("须为映射 (must be a mapping)", system=system, item=f"#{position}")
        return
    code = item.get("code")
    if isinstance(code, str) and ITEM_CODE.match(code):
        name, in_system = code, None
    else:
        # Without a usable code the item is named by its place.
        name, in_system = f"#{position}", system
        problem = ("缺少必填字段 (required field missing)" if "code" not in item else
                   "须为 1-32 位字母、数字和 _ . - (letters, digits, _ . -; 1-32)")
        out.add(problem, system=in_system, item=name, field="code")

    def add(message: str, field: str | None = None) -> None:
        out.add(message, system=in_system, item=name, field=field)

    if in_system is None:
        if code in seen:
            add(f"题目编码重复, 已用于体系 {seen[code]} (duplicate item code, also in system {seen[code]})",
                "code")
        else:
            seen[code] = system

    answer_type = item.get("answer_type")
    if "answer_type" not in item:
        add("缺少必填字段 (required field missing)", "answer_type")
    elif answer_type not in ANSWER_TYPES:
        add(_one_of(ANSWER_TYPES), "answer_type")
        answer_type = None

    for key in item:
        if key in COMMON_ITEM_FIELDS or key in FAILURE_FIELDS:
            continue
        if key in ALL_TYPE_FIELDS:
            if answer_type is not None and key not in TYPE_FIELDS[answer_type]:
                owners = " / ".join(t for t, fields in TYPE_FIELDS.items() if key in fields)
                add(f"仅用于 answer_type {owners} (only for answer_type {owners})", key)
            continue
        add("未知字段 (unknown field)", str(key))

    if "question" not in item:
        add("缺少必填字段 (required field missing)", "question")
    elif problem := _text_problem(item["question"], chinese=True, max_length=500):
        add(problem, "question")
    for key in ("hint", "seed"):
        if key in item and (problem := _text_problem(item[key], max_length=1000)):
            add(problem, key)

    if answer_type == "yes_no" and "fail_answer" in item and item["fail_answer"] not in YES_NO:
        add('须为 "yes" 或 "no" (must be "yes" or "no")', "fail_answer")
    elif answer_type == "choice":
        _validate_choices(item, add)
    elif answer_type == "number":
        _validate_number(item, add)

    relevant = TYPE_FIELDS.get(answer_type, ())
    fails = any(key in relevant and item.get(key) not in (None, []) for key in FAIL_CONDITIONS)
    if answer_type is None:
        return
    if not fails:
        for key in FAILURE_FIELDS:
            if key in item:
                add("仅用于可判定不合格的题目: 先写不合格条件 "
                    "(only for items that can fail: set fail_answer, fail_choices, fail_above or fail_below)",
                    key)
        return
    for key in ("category", "severity", "points"):
        if key not in item:
            add("可判定不合格的题目必须填写 (required for an item that can fail)", key)
    if "category" in item and item["category"] not in CATEGORIES:
        add(f"未知的问题类别, 见 DOMAIN.md (unknown finding category); {_one_of(CATEGORIES)}", "category")
    if "severity" in item and item["severity"] not in SEVERITIES:
        add(_one_of(SEVERITIES), "severity")
    if "points" in item and (not _is_number(item["points"]) or item["points"] < 0):
        add("须为不小于 0 的数 (must be a number >= 0)", "points")
    if "photo_required" in item and not isinstance(item["photo_required"], bool):
        add("须为 true 或 false (must be true or false)", "photo_required")


def _validate_choices(item: dict, add) -> None:
    choices = item.get("choices")
    if not isinstance(choices, list) or not choices:
        add("选择题须列出非空的选项列表 (a choice item needs a non-empty list of choices)", "choices")
        choices = []
    codes: list[str] = []
    for index, choice in enumerate(choices):
        field = f"choices[{index}]"
        if not isinstance(choice, dict):
            add("须为含 code 和 label 的映射 (must be a mapping with code and label)", field)
            continue
        for key in choice:
            if key not in CHOICE_FIELDS:
                add("未知字段 (unknown field)", f"{field}.{key}")
        code = choice.get("code")
        if not isinstance(code, str) or not ITEM_CODE.match(code):
            add("须为 1-32 位字母、数字和 _ . - (letters, digits, _ . -; 1-32)", f"{field}.code")
        elif code in codes:
            add(f"选项编码重复 (duplicate choice code {code})", f"{field}.code")
        else:
            codes.append(code)
        if problem := _text_problem(choice.get("label"), chinese=True, max_length=64):
            add(problem, f"{field}.label")
    if "fail_choices" not in item:
        return
    fail_choices = item["fail_choices"]
    if not isinstance(fail_choices, list) or not all(isinstance(c, str) for c in fail_choices):
        add("须为选项编码的列表 (must be a list of choice codes)", "fail_choices")
        return
    unknown = [c for c in fail_choices if c not in codes]
    if unknown and codes:
        add(f"不在 choices 中: {', '.join(unknown)} (not among the choices: {', '.join(unknown)})",
            "fail_choices")
    if len(set(fail_choices)) != len(fail_choices):
        add("选项重复 (a choice is listed twice)", "fail_choices")
    if codes and set(codes) <= set(fail_choices):
        add("至少要有一个合格选项 (at least one choice must pass)", "fail_choices")


def _validate_number(item: dict, add) -> None:
    if "unit" in item and (problem := _text_problem(item["unit"], max_length=16)):
        add(problem, "unit")
    values = {}
    for key in ("min", "max", "fail_above", "fail_below"):
        if key in item:
            if _is_number(item[key]):
                values[key] = item[key]
            else:
                add("须为数字 (must be a number)", key)
    low, high = values.get("min"), values.get("max")
    above, below = values.get("fail_above"), values.get("fail_below")
    if low is not None and high is not None and low > high:
        add("不能大于 max (must not exceed max)", "min")
    if above is not None and high is not None and above >= high:
        add("须小于 max, 否则永远不会判为不合格 (must be below max, or the item can never fail)", "fail_above")
    if below is not None and low is not None and below <= low:
        add("须大于 min, 否则永远不会判为不合格 (must be above min, or the item can never fail)", "fail_below")
    if above is not None and below is not None and below > above:
        add("不能大于 fail_above, 否则任何答案都不合格 (must not exceed fail_above, or every answer fails)",
            "fail_below")


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
