"""Policy files checked by marshmallow schemas: every problem collected, each named by its path.

A feature describes its file as `PolicySchema`s (one per mapping) built from the fields below; `check`
loads the data and, when anything is wrong, returns every problem as one line of Chinese (English in
brackets), e.g. `rules[0] (two_findings): when.confirmed_findings.count 须为不小于 1 的整数` or
`survey.per_unit 须为 1–10000 的整数`. The part before the colon is the list entry (with its id when it
has one), after it the keys within it.

A mapping names its unknown keys and its missing required keys in one problem each (`未知字段 ['x']`,
`缺少字段 ['y']`), as people read them. Checks across fields are `@validates_schema` methods
(`skip_on_field_errors=False`: they run on whatever was valid, so they look only at keys present in
`data`). Pure: marshmallow and the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import marshmallow as ma
from marshmallow import ValidationError, fields, validates_schema

CJK = re.compile(r"[\u3400-\u9fff]")
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class PolicySchema(ma.Schema):
    """One mapping of a policy file. `unknown_label` / `missing_label` word the two problems about
    its keys (a trigger's parameters say 未知参数 / 缺少参数)."""

    unknown_label = "未知字段"
    missing_label = "缺少字段"
    show_allowed = False  # name the allowed keys in the unknown-keys problem
    keys_each = False  # name each unknown or missing key at its own path instead (`scoring.bonus: 未知字段`)
    unknown_each = "未知字段 (unknown key)"
    missing_each = "缺少必填字段 (required key missing)"
    missing_as_invalid = False  # a missing key is named by its field's own message (须为非空文本 ...)

    class Meta:
        unknown = ma.EXCLUDE  # unknown keys are named by `_keys`, all in one problem

    error_messages = {"type": "须为映射 (must be a mapping)"}

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        # a missing required key is named by `_keys` (all in one problem), not once per field
        if field_obj.required:
            field_obj.error_messages = {**field_obj.error_messages, "required": _MISSING}
        _chinese(field_obj)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _keys(self, _data, original, **_kwargs):
        if not isinstance(original, Mapping):
            return
        names = [f.data_key or n for n, f in self.fields.items()]
        if self.keys_each:
            return self._each_key(original, names)
        problems = []
        extra = sorted(set(map(str, original)) - set(names))
        if extra:
            allowed = f"; allowed: {names}" if self.show_allowed else ""
            problems.append(f"{self.unknown_label} {extra} (unknown keys{allowed})")
        missing = [f.data_key or n for n, f in self.fields.items() if f.required and (f.data_key or n) not in original]
        if missing:
            problems.append(f"{self.missing_label} {missing} (missing keys)")
        if problems:
            raise ValidationError(problems)


    def _each_key(self, original, names):
        problems = {str(key): [f"{self.unknown_each}; 可用字段 (known): {', '.join(names)}"]
                    for key in original if str(key) not in names}
        problems.update({f.data_key or name: [getattr(f, "error", None) if self.missing_as_invalid else self.missing_each]
                         for name, f in self.fields.items() if f.required and (f.data_key or name) not in original})
        if problems:
            raise ValidationError(problems)


_MISSING = "\x00missing"
_DEFAULT_MESSAGES = {"null": "不能为空 (must not be null)", "invalid": "格式不对 (invalid value)",
                     "type": "须为映射 (must be a mapping)"}
_ENGLISH = {text for cls in (fields.Field, fields.Nested, fields.List, fields.Raw)
            for text in getattr(cls, "default_error_messages", {}).values()}  # dropped from the problems: `_keys` names every missing key at once


def _chinese(field_obj: fields.Field) -> None:
    """marshmallow's own English messages, where a field (or a list's entries) did not word its own."""
    words = {**_DEFAULT_MESSAGES, "null": "须为映射 (must be a mapping)"} if isinstance(field_obj, fields.Nested) \
        else _DEFAULT_MESSAGES
    for key, text in words.items():
        if field_obj.error_messages.get(key) in _ENGLISH:
            field_obj.error_messages[key] = text
    if isinstance(field_obj, fields.List):
        _chinese(field_obj.inner)


# --- fields ---------------------------------------------------------------------------------------------

class _Checked(fields.Field):
    """A field whose every failure is one message (`error`), so a file's author reads what is wanted."""

    def __init__(self, error: str, **kwargs):
        super().__init__(**kwargs)
        self.error = error
        null = error.format(value=None) if "{value" in error else error
        self.error_messages = {**self.error_messages, "null": null.replace("{", "{{").replace("}", "}}")}

    def fail(self):
        return ValidationError(self.error)


class Whole(_Checked):
    """An integer (not a bool, not 2.0 or "2") within [lo, hi]."""

    def __init__(self, lo: int | None, hi: int | None, error: str, **kwargs):
        super().__init__(error, **kwargs)
        self.lo, self.hi = lo, hi

    def _deserialize(self, value, attr, data, **kwargs):
        if not whole(value) or (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise self.fail()
        return value


class Number(_Checked):
    """A YAML number as an exact Decimal (0.6 is 0.6, not 0.59999…) within its bounds; `above` excludes lo."""

    def __init__(self, lo=None, hi=None, error: str = "须为数 (a number)", *, above: bool = False, **kwargs):
        super().__init__(error, **kwargs)
        self.lo = None if lo is None else Decimal(lo)
        self.hi = None if hi is None else Decimal(hi)
        self.above = above

    def _deserialize(self, value, attr, data, **kwargs):
        d = decimal(value)
        if d is None or (self.hi is not None and d > self.hi) or (self.lo is not None and (
                d <= self.lo if self.above else d < self.lo)):
            raise self.fail()
        return d


class OneOf(_Checked):
    """One of the known names (any hashable; a list or mapping is never one)."""

    def __init__(self, known, error: str, **kwargs):
        super().__init__(error, **kwargs)
        self.known = tuple(known)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list | dict) or value not in self.known:
            raise ValidationError(self.error.format(value=value))
        return value


class Text(_Checked):
    """A string matching `pattern` (search), stripped."""

    def __init__(self, pattern: re.Pattern, error: str, **kwargs):
        super().__init__(error, **kwargs)
        self.pattern = pattern

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not self.pattern.search(value):
            raise self.fail()
        return value.strip()


class Names(fields.Field):
    """A non-empty list of known names, none twice; loaded sorted as a tuple. `what` names them
    (严重程度, 问题类别...)."""

    def __init__(self, known, what: str, *, unknown_what: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.known, self.what, self.unknown_what = tuple(known), what, unknown_what or f"未知的{what}"

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValidationError(f"须为非空的{self.what}列表 (a non-empty list)")
        problems = []
        bad = sorted(set(value) - set(self.known))
        if bad:
            problems.append(f"含{self.unknown_what} {bad} (unknown; known: {list(self.known)})")
        if len(set(value)) != len(value):
            problems.append("有重复 (listed twice)")
        if problems:
            raise ValidationError(problems)
        return tuple(sorted(set(value)))


class OneKey(fields.Field):
    """A mapping with exactly one key naming a kind, whose value (None: {}) is that kind's parameters,
    loaded by the kind's schema: `{confirmed_findings: {count: 2}}`. Loads as (kind, loaded params)."""

    def __init__(self, kinds: Mapping[str, type[PolicySchema]], *, one_error: str, unknown_error: str, **kwargs):
        super().__init__(**kwargs)
        self.kinds, self.one_error, self.unknown_error = kinds, one_error, unknown_error

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict) or len(value) != 1:
            raise ValidationError(self.one_error)
        (kind, params), = value.items()
        if kind not in self.kinds:
            raise ValidationError(self.unknown_error.format(kind=kind))
        try:
            return kind, self.kinds[kind]().load({} if params is None else params)
        except ValidationError as exc:
            raise ValidationError({kind: exc.messages}) from exc


# --- values ---------------------------------------------------------------------------------------------

def whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decimal(value) -> Decimal | None:
    """A YAML number as an exact decimal, None when it is not a (finite) number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


# --- loading ----------------------------------------------------------------------------------------------

def check(schema: ma.Schema, data, *, root: str | None = None) -> tuple[object, list[str]]:
    """(loaded, []) or (None, every problem with its path). With a `root` every problem is
    `root.full.path[3].key: message` instead (a section of a larger file, e.g. a template's `scoring`)."""
    try:
        return schema.load(data), []
    except ValidationError as exc:
        if root is None:
            return None, problems(exc.messages, data)
        return None, [f"{path}: {message}" if path else message for path, message in flat(exc.messages, root)]


def problems(messages, data) -> list[str]:
    """marshmallow's nested error messages as lines, in the order of the file."""
    out: list[str] = []
    _walk(messages, data, "", "", out)
    return out


def flat(messages, path: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error messages as (full path, message): `units[3].opening_hours`."""
    out: list[tuple[str, str]] = []
    _walk_full(messages, path, out)
    return out


def _walk_full(messages, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(messages, dict):
        for key, value in messages.items():
            sub = path if key == "_schema" else f"{path}[{key}]" if isinstance(key, int) else \
                f"{path}.{key}" if path else str(key)
            _walk_full(value, sub, out)
        return
    for message in messages if isinstance(messages, list) else [messages]:
        if isinstance(message, dict | list):
            _walk_full(message, path, out)
        elif message != _MISSING:
            out.append((path, str(message)))


def _walk(messages, data, entry: str, keys: str, out: list[str], about_mapping: bool = False) -> None:
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                _walk(value, data, entry, keys, out, True)
            elif isinstance(key, int):
                item = data[key] if isinstance(data, list) and 0 <= key < len(data) else None
                label = f"{entry}{'.' if entry and keys else ''}{keys}[{key}]"
                name = item.get("id") or item.get("code") if isinstance(item, dict) else None
                _walk(value, item, f"{label} ({name})" if isinstance(name, str) else label, "", out)
            else:
                sub = data.get(key) if isinstance(data, dict) else None
                _walk(value, sub, entry, f"{keys}.{key}" if keys else str(key), out)
        return
    for message in messages if isinstance(messages, list) else [messages]:
        if isinstance(message, dict | list):
            _walk(message, data, entry, keys, out, about_mapping)
        elif message != _MISSING:
            # `count 须为…` about a value; `when.outcomes: 未知参数 […]` about a mapping
            text = f"{keys}{':' if about_mapping else ''} {message}" if keys else str(message)
            out.append(f"{entry}: {text}" if entry else text)


class Table(fields.Field):
    """A mapping with exactly the keys `keys` (after `key_of`, e.g. "5" read as 5), each value loaded by
    `value`; `error` when the keys are not those."""

    def __init__(self, keys, value: fields.Field, error: str, *, key_of=None, **kwargs):
        super().__init__(**kwargs)
        self.keys, self.value, self.error, self.key_of = tuple(keys), value, error, key_of or (lambda k: k)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            value = {self.key_of(k): v for k, v in value.items()}
        if not isinstance(value, dict) or set(value) != set(self.keys):
            raise ValidationError(self.error)
        out, errors = {}, {}
        for key, raw in value.items():
            try:
                out[key] = self.value.deserialize(raw)
            except ValidationError as exc:
                errors[str(key)] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out
