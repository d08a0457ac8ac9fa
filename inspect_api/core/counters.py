"""Allocate the next value of a named counter inside the caller's transaction.

The row is locked until the transaction ends, so two writers never get the same value, and a rolled
back transaction gives its value back (no gaps).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.core.models import Counter
from inspect_api.db import db


def next_value(name: str) -> int:
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Counter)
    db.session.execute(insert.values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))
    value = db.session.execute(
        sa.update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
    return value
