"""Allocate the next value of a named counter inside the caller's transaction.

The row is locked until the transaction ends, so two writers never get the same value, and a rolled
back transaction gives its value back (no gaps).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.core.models import Counter
from inspect_api.db import db

_UPSERT = {}


def _statement(dialect: str):
    if dialect not in _UPSERT:
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Counter)
        # one statement: the first value, or the row locked and counted up
        stmt = insert.values(name=sa.bindparam("name"), value=1)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"value": Counter.value + 1})
        _UPSERT[dialect] = stmt.returning(Counter.value)
    return _UPSERT[dialect]


def next_value(name: str) -> int:
    conn = db.session.connection()
    return conn.execute(_statement(conn.dialect.name), {"name": name}).scalar_one()


def counted(name_param: str = "name") -> sa.CTE:
    """PostgreSQL: the counter's next value as a CTE (column `value`) for a statement that uses it
    at once, one round trip instead of two; the same locking and no-gap rules as `next_value`."""
    insert = postgresql.insert(Counter).values(name=sa.bindparam(name_param), value=1)
    return insert.on_conflict_do_update(index_elements=["name"], set_={"value": Counter.value + 1}).returning(
        Counter.value).cte("counted")
