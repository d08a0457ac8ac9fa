"""A fast path for loading large, well-formed request bodies with a marshmallow schema.

marshmallow builds, validates and stores every field of every nested schema through several layers of
calls; for a phone's full visit (dozens of answers, findings) that is milliseconds per request. The
loader here is compiled once per schema from the same declared fields and validators, and accepts a
body only when every value is of the plain JSON type the field takes (a string for a string, an int for
an integer, an aware ISO 8601 instant for an AwareDateTime, ...) and every declared validator and
schema-level check passes. Anything else, or any field kind it does not know, returns `SLOW`, and the
caller loads with marshmallow itself, which then names the problem exactly as before. So the fast path
never accepts what marshmallow refuses and gives the same data when it accepts.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Callable

import marshmallow as ma
from marshmallow import fields
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

SLOW = object()  # "load this one with marshmallow"


class _Slow(Exception):
    pass


def _run_validators(field: fields.Field, value):
    for validator in field.validators:
        try:
            if validator(value) is False:
                raise _Slow
        except ma.ValidationError as exc:
            raise _Slow from exc
    return value


def _scalar(field: fields.Field) -> Callable | None:
    """A converter for one field's non-None value, or None when the kind is not supported."""
    if type(field) is fields.String:
        def conv(v):
            if type(v) is not str:
                raise _Slow
            return v
    elif type(field) is fields.Integer and not field.as_string:
        def conv(v):
            if type(v) is not int:
                raise _Slow
            return v
    elif type(field) is fields.Float and not field.as_string:
        allow_nan = field.allow_nan

        def conv(v):
            if type(v) not in (int, float) or not (allow_nan or math.isfinite(v)):
                raise _Slow
            return float(v)
    elif type(field) is fields.Boolean:
        def conv(v):
            if type(v) is not bool:
                raise _Slow
            return v
    elif type(field) is fields.UUID:
        def conv(v):
            if type(v) is not str:
                raise _Slow
            try:
                return uuid.UUID(v)
            except ValueError as exc:
                raise _Slow from exc
    elif type(field) is fields.AwareDateTime and field.format in (None, "iso", "iso8601"):
        def conv(v):
            if type(v) is not str:
                raise _Slow
            try:
                out = dt.datetime.fromisoformat(v)
            except ValueError as exc:
                raise _Slow from exc
            if out.tzinfo is None or out.utcoffset() is None:
                raise _Slow
            return out
    elif type(field) is fields.Date and field.format in (None, "iso", "iso8601"):
        def conv(v):
            if type(v) is not str:
                raise _Slow
            try:
                return dt.date.fromisoformat(v)
            except ValueError as exc:
                raise _Slow from exc
    elif type(field) is fields.Raw:
        def conv(v):
            return v
    elif type(field) is fields.Nested and not field.many:
        inner = _compile(field.schema)
        if inner is None:
            return None

        def conv(v):
            return inner(v)
    elif type(field) is fields.List:
        item = _field_loader(field.inner)
        if item is None:
            return None

        def conv(v):
            if type(v) is not list:
                raise _Slow
            return [item(x) for x in v]
    else:
        return None
    return conv


def _field_loader(field: fields.Field) -> Callable | None:
    conv = _scalar(field)
    if conv is None:
        return None
    allow_none, validators = field.allow_none, bool(field.validators)

    def load(v):
        if v is None:
            if not allow_none:
                raise _Slow
            return None
        out = conv(v)
        return _run_validators(field, out) if validators else out
    return load


_COMPILED: dict[type, Callable | None] = {}


def _compile(schema: ma.Schema) -> Callable | None:
    key = type(schema)
    if key in _COMPILED:
        return _COMPILED[key]
    _COMPILED[key] = None  # a schema nesting itself stays on the slow path
    hooks = schema._hooks
    if (hooks[PRE_LOAD] or hooks[POST_LOAD] or hooks[VALIDATES] or schema.opts.unknown != ma.RAISE
            or schema.many or schema.partial or schema.only or schema.exclude
            or any(many for _, many, _ in hooks[VALIDATES_SCHEMA])):
        return None
    plan = []
    for name, field in schema.load_fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name):
            return None
        loader = _field_loader(field)
        if loader is None:
            return None
        plan.append((name, loader, field.required, field.load_default))
    known = frozenset(name for name, *_ in plan)
    checks = [(getattr(schema, name), kw.get("pass_original", False)) for name, _, kw in hooks[VALIDATES_SCHEMA]]

    def load(data):
        if type(data) is not dict or not known.issuperset(data):
            raise _Slow
        out = {}
        for name, loader, required, default in plan:
            if name in data:
                out[name] = loader(data[name])
            elif required:
                raise _Slow
            elif default is not ma.missing:
                out[name] = default() if callable(default) else default
        for check, pass_original in checks:
            try:
                if pass_original:
                    check(out, data, partial=None, many=False, unknown=ma.RAISE)
                else:
                    check(out, partial=None, many=False, unknown=ma.RAISE)
            except ma.ValidationError as exc:
                raise _Slow from exc
        return out

    _COMPILED[key] = load
    return load


def fast_load(schema: ma.Schema, data):
    """The loaded data, or SLOW when marshmallow must load (and judge) it."""
    loader = _compile(schema)
    if loader is None:
        return SLOW
    try:
        return loader(data)
    except (_Slow, RecursionError):
        return SLOW


class FastLoadMixin:
    """For a request body schema: try the compiled loader, then marshmallow."""

    def load(self, data, *, many=None, partial=None, unknown=None):
        if many is None and partial is None and unknown in (None, ma.RAISE):
            out = fast_load(self, data)
            if out is not SLOW:
                return out
        return super().load(data, many=many, partial=partial, unknown=unknown)
