"""Base schemas and pagination helpers shared by every feature."""

from __future__ import annotations

from datetime import UTC, date, datetime

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import fields

from inspect_api.db import db

# Ids fit the databases' integer columns; a bigger number is a validation error, not a 500.
ID_RANGE = ma.validate.Range(min=1, max=2**31 - 1)
# The years the product deals in (the calendars it can hold): 9999-12-31 overflowed day arithmetic, and
# a span of centuries ran for seconds. Every date and date-time field of a BaseSchema gets the bound.
YEARS = (2000, 2099)


class WithinYears(ma.validate.Range):
    """Every day and instant a request sends lies in 2000–2099, read as sent (its own offset; no
    conversion, so nothing can overflow here): 0001-01-01T00:00+08:00 was a 500 when turned to UTC, a
    day after 9999-12-31 likewise. Added to every date and date-time field (BaseSchema.on_bind_field),
    answers' too: a Range, so the OpenAPI description gives the bounds every date here lies in."""

    def __init__(self, instants: bool = False):
        if instants:  # bounds of the field's own type, as the description serialises them
            super().__init__(min=datetime(YEARS[0], 1, 1, tzinfo=UTC), max=datetime(YEARS[1], 12, 31, 23, 59, 59, tzinfo=UTC))
        else:
            super().__init__(min=date(YEARS[0], 1, 1), max=date(YEARS[1], 12, 31))

    def __call__(self, value):
        if not YEARS[0] <= value.year <= YEARS[1]:
            raise ma.ValidationError(f"须在 {YEARS[0]}–{YEARS[1]} 年之间 (from {YEARS[0]} to {YEARS[1]})")
        return value


within_years, within_years_instants = WithinYears(), WithinYears(instants=True)


# Booleans are JSON true/false (or "true"/"false" in a query string), never 0, 1, "yes" or "on":
# a phone that sends 1 has a bug the API should name, not guess at.
STRICT_TRUE = frozenset({True, "true", "True"})
STRICT_FALSE = frozenset({False, "false", "False"})


class BaseSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        inner = field_obj.inner if isinstance(field_obj, fields.List) else field_obj
        if isinstance(inner, fields.Date | fields.DateTime) and not any(
                isinstance(v, ma.validate.Range) for v in inner.validators):
            inner.validators = [*inner.validators,
                                within_years_instants if isinstance(inner, fields.DateTime) else within_years]
        if isinstance(field_obj, fields.Boolean) and not getattr(field_obj, "_strict", False):
            field_obj.truthy, field_obj.falsy = STRICT_TRUE, STRICT_FALSE
            loose = field_obj._deserialize

            def strict(value, attr, data, **kwargs):
                if isinstance(value, int | float) and not isinstance(value, bool):  # 1 == True in a set
                    raise field_obj.make_error("invalid")
                return loose(value, attr, data, **kwargs)

            field_obj._deserialize, field_obj._strict = strict, True


class ErrorBodySchema(BaseSchema):
    code = fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = fields.String(required=True, metadata={"description": "human-readable message (中文)"})
    details = fields.Dict(metadata={"description": "field errors and other details"})


class ErrorSchema(BaseSchema):
    error = fields.Nested(ErrorBodySchema, required=True)


def paginate_select(stmt: sa.Select, pagination_parameters) -> list:
    """Run a paginated SELECT for flask-smorest's `@paginate()`: count, then one page."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    pagination_parameters.item_count = total
    page = pagination_parameters.page
    size = pagination_parameters.page_size
    return list(db.session.scalars(stmt.offset((page - 1) * size).limit(size)))


def computed(field: fields.Field, value) -> fields.Field:
    """`field` holding `value(obj)` of the object dumped: what the model has no attribute for (a link,
    a figure counted from its rows, columns shown as one group). A `value` taking two arguments gets
    the schema the field belongs to as well (`value(obj, schema)`), for what that schema instance was
    asked to show (nest an instance, `Nested(X(flag=True))`, to ask a nested one). The field's
    own type documents it in the OpenAPI description, so the generated client still knows its shape."""
    import inspect

    base = type(field)
    if len(inspect.signature(value).parameters) > 1:
        def get_value(self, obj, attr, accessor=None, default=ma.missing):
            return value(obj, self.root)
    else:
        def get_value(self, obj, attr, accessor=None, default=ma.missing):
            return value(obj)
    field.__class__ = type(f"Computed{base.__name__}", (base,), {"get_value": get_value})
    return field
