"""Base schemas and pagination helpers shared by every feature."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import fields

from inspect_api.db import db

# Ids fit the databases' integer columns; a bigger number is a validation error, not a 500.
ID_RANGE = ma.validate.Range(min=1, max=2**31 - 1)


class BaseSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


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
