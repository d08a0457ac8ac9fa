"""`db.insert_rows` and `db.prepare`: many rows in one statement on PostgreSQL (the rows as one JSON parameter read by
`json_to_recordset`), an executemany elsewhere; either way the rows read back exactly as a plain executemany stores them, for
every kind of column the hot path writes (text, JSON of any shape, UTC timestamps, booleans, integers,
non-native enums, NULLs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inspect_api.db import UTCDateTime, db, insert_rows, prepare

meta = sa.MetaData()
scratch = sa.Table(
    "insert_rows_scratch", meta,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("batch", sa.String(8), nullable=False),
    sa.Column("answer", sa.JSON),
    sa.Column("note", sa.Text),
    sa.Column("at", UTCDateTime()),
    sa.Column("failed", sa.Boolean, nullable=False),
    sa.Column("points", sa.Integer),
    sa.Column("severity", sa.Enum("minor", "serious", "severe", name="scratch_severity", native_enum=False,
                                  create_constraint=True)),
)
with_default = sa.Table(
    "insert_rows_defaulted", meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(8), nullable=False, default="draft"),
)

SHANGHAI = timezone(timedelta(hours=8))
ANSWERS = [True, False, None, 3, 2.5, "是", "", "引号\"与\\反斜杠", ["a", "b"], {"k": [1, {"x": None}]}, [], {},
           "表情😀 \\u0041 null", 0.1 + 0.2]


def rows(batch: str) -> list[dict]:
    return [{"id": f"{batch}-{i:02d}", "batch": batch, "answer": answer,
             "note": None if i % 3 == 0 else f"第{i}条, 含逗号,{{花括号}}与\"引号\"",
             "at": None if i % 4 == 0 else datetime(2026, 11, 23, 9, i, tzinfo=SHANGHAI),
             "failed": i % 2 == 0, "points": None if i % 5 == 0 else i,
             "severity": (None, "minor", "serious", "severe")[i % 4]}
            for i, answer in enumerate(ANSWERS)]


@pytest.fixture()
def conn(dbsession):
    connection = db.session.connection()
    meta.create_all(connection)  # inside the test's transaction: rolled back with it
    return connection


def read(conn, batch: str) -> list[dict]:
    got = conn.execute(sa.select(scratch).where(scratch.c.batch == batch).order_by(scratch.c.id)).mappings()
    return [{**r, "id": r["id"].split("-", 1)[1], "batch": None} for r in got]


def test_rows_read_back_as_an_executemany_stores_them(conn):
    conn.execute(scratch.insert(), rows("plain"))
    insert_rows(conn, scratch, rows("batch"))
    assert read(conn, "batch") == read(conn, "plain")
    stored = {r["id"]: r for r in read(conn, "batch")}
    assert stored["08"]["answer"] == ["a", "b"] and stored["09"]["answer"] == {"k": [1, {"x": None}]}
    assert stored["07"]["answer"] == "引号\"与\\反斜杠" and stored["01"]["answer"] is False
    assert stored["01"]["at"] == datetime(2026, 11, 23, 1, 1, tzinfo=UTC)
    assert stored["01"]["note"] == "第1条, 含逗号,{花括号}与\"引号\"" and stored["00"]["note"] is None

    # and alike in SQL, not only once read: a None answer is JSON null either way, never SQL NULL
    def sql_nulls(batch):
        return conn.execute(sa.select(scratch.c.id, scratch.c.answer.is_(None), scratch.c.at.is_(None))
                            .where(scratch.c.batch == batch).order_by(scratch.c.id)).all()
    assert [r[1:] for r in sql_nulls("batch")] == [r[1:] for r in sql_nulls("plain")]
    assert not any(r[1] for r in sql_nulls("batch")) and any(r[2] for r in sql_nulls("batch"))


def test_one_statement_on_postgresql_whatever_the_rows(conn):
    seen = []

    def count(_conn, _cursor, statement, _params, _context, executemany):
        seen.append((statement.split()[0], executemany))

    sa.event.listen(conn.engine, "before_cursor_execute", count)
    try:
        insert_rows(conn, scratch, rows("many"))
    finally:
        sa.event.remove(conn.engine, "before_cursor_execute", count)
    assert conn.scalar(sa.select(sa.func.count()).where(scratch.c.batch == "many")) == len(ANSWERS)
    if conn.dialect.name == "postgresql":
        assert seen == [("INSERT", False)]  # one statement, not one per row
    else:
        assert seen == [("INSERT", True)]


def test_nothing_one_row_and_a_refused_batch(conn):
    insert_rows(conn, scratch, [])
    insert_rows(conn, scratch, rows("one")[:1])
    assert [r["id"] for r in read(conn, "one")] == ["00"]
    # a duplicate key fails the whole statement, as an executemany would
    with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
        insert_rows(conn, scratch, rows("dup")[:2] + rows("dup")[:1])
    assert read(conn, "dup") == []


def test_a_column_with_a_python_default_must_be_given(conn):
    # the recordset would leave it NULL (server defaults only): refused before anything is sent
    with pytest.raises(ValueError, match="status"):
        insert_rows(conn, with_default, [{"id": 1}, {"id": 2}])
    insert_rows(conn, with_default, [{"id": 1, "status": "sent"}, {"id": 2, "status": "draft"}])
    assert conn.execute(sa.select(with_default.c.status).order_by(with_default.c.id)).scalars().all() == [
        "sent", "draft"]


def test_a_naive_time_is_refused_as_by_the_column_type(conn):
    naive = [{**r, "at": datetime(2026, 11, 23, 9, 0)} for r in rows("naive")[:2]]
    with pytest.raises((ValueError, sa.exc.StatementError), match="naive datetime"), conn.begin_nested():
        insert_rows(conn, scratch, naive)
    assert read(conn, "naive") == []


def test_a_prepared_statement_runs_as_driver_sql_with_its_literals_and_returning(conn):
    """`prepare` binds a row once (a literal written in the statement included); run, it sends the
    driver SQL alone, and an insert that meets its key returns nothing, as the statement compiled
    by SQLAlchemy would."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(scratch)
    stmt = insert.values(id=sa.bindparam("id"), batch="lit", at=sa.bindparam("at"), failed=True,
                         answer=sa.bindparam("answer")).on_conflict_do_nothing(index_elements=["id"]).returning(
        scratch.c.id, scratch.c.batch)
    at = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
    prepared = prepare(conn.dialect, stmt, [{"id": "p-01", "at": at, "answer": {"是": [1, None]}}])
    seen = []

    def listen(_conn, _cursor, statement, _params, context, _many):
        seen.append(context.compiled)

    sa.event.listen(conn.engine, "before_cursor_execute", listen)
    try:
        assert prepared.run(conn).all() == [("p-01", "lit")]
        assert prepared.run(conn).first() is None  # the key is there: nothing inserted, nothing returned
    finally:
        sa.event.remove(conn.engine, "before_cursor_execute", listen)
    assert seen == [None, None]  # nothing compiled when run
    row = conn.execute(sa.select(scratch).where(scratch.c.id == "p-01")).mappings().one()
    assert (row["at"], row["answer"], row["failed"], row["note"]) == (
        datetime(2026, 11, 23, 1, 30, tzinfo=UTC), {"是": [1, None]}, True, None)
    many = prepare(conn.dialect, scratch.insert(), rows("prep")[:3])
    many.run(conn)
    assert read(conn, "prep") == [{**r, "id": r["id"].split("-", 1)[1], "batch": None,
                                   "at": r["at"] and r["at"].astimezone(UTC)} for r in rows("prep")[:3]]


def test_a_bind_the_rows_do_not_give_is_refused_before_anything_is_sent(conn):
    """A parameter left out would otherwise go to the database as NULL."""
    stmt = scratch.update().where(scratch.c.id == sa.bindparam("row_id")).values(note=sa.bindparam("new_note"))
    with pytest.raises(ValueError, match="new_note"):
        prepare(conn.dialect, stmt, [{"row_id": "x"}])
    # a Python default the rows leave out is refused the same way, not left to SQLAlchemy's execution
    with pytest.raises(ValueError, match="status"):
        prepare(conn.dialect, with_default.insert(), [{"id": 1}])
