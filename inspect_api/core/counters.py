"""Allocate the next value of a named counter inside the caller's transaction.

The row is locked until the transaction ends, so two writers never get the same value, and a rolled
back transaction gives its value back (no gaps).
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.core.models import Counter
from inspect_api.db import db


def next_value(name: str) -> int:
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Counter)
    # one statement: the first value, or the row locked and counted up
    stmt = insert.values(name=name, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"value": Counter.value + 1})
    return db.session.execute(stmt.returning(Counter.value)).scalar_one()
