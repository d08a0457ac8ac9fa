"""The SQLAlchemy base, the session, and the engine settings both databases need.

SQLite runs in WAL mode with a busy timeout and foreign keys on; write transactions start with
BEGIN IMMEDIATE so two writers queue instead of failing with "database is locked" halfway.
"""

from __future__ import annotations

import contextvars
import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Whether the transaction about to begin will write. Reads use a deferred BEGIN so they never queue
# behind writers in SQLite; everything else takes the write lock up front.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


def utcnow() -> datetime:
    """Column defaults use the app's injectable clock, so frozen time in tests holds for them too."""
    from inspect_api.core.clock import now

    return now()


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Session(FlaskSession):
    """Honours an explicit `bind` (tests bind the session to one outer transaction)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session, "expire_on_commit": False})


@event.listens_for(Session, "do_orm_execute")
def _fresh_when_locked(state) -> None:
    """A SELECT ... FOR UPDATE overwrites what the session already holds of the rows it locks.

    Objects outlive commits here (expire_on_commit=False), and the ORM keeps an object's loaded
    attributes when a later query returns its row again; a write that checks a version it locked
    would then check the copy read before the lock, which another request may have changed since."""
    if state.is_select and state.statement._for_update_arg is not None:
        state.update_execution_options(populate_existing=True)


WRITER_WAIT_SECONDS = 15.0


def configure_engine(engine: sa.Engine) -> None:
    """Install the per-connection settings for the engine's database."""
    if engine.dialect.name != "sqlite":
        return
    lock_path = f"{engine.url.database}.writer-lock" if engine.url.database not in (None, "", ":memory:") else None

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, record):
        # Let SQLAlchemy, not the driver, issue BEGIN (the pysqlite recipe in SQLAlchemy's docs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(WRITER_WAIT_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()
        if lock_path:
            record.info["writer_lock_fd"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        if not write_intent.get():
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_connection = conn.connection.dbapi_connection
        fd = conn.connection._connection_record.info.get("writer_lock_fd") if lock_path else None
        if fd is not None:
            _take_writer_lock(fd)
            held[id(dbapi_connection)] = fd
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(dbapi_connection)
            raise

    # The queue's turn passes on when the transaction has ended in SQLite, not before: handed over at
    # SQLAlchemy's commit event (which runs before the COMMIT), the next writer's BEGIN IMMEDIATE met
    # a lock still held for the COMMIT and its fsync, and SQLite's busy handler slept 1, 2, 5 … ms
    # before it looked again, with the lock free and nobody taking it. So the dialect's own commit
    # and rollback (the pool's reset on check-in included) release it once they have run.
    held: dict[int, int] = {}  # id(DBAPI connection) -> its lock file, while its write transaction runs

    def _release(connection) -> None:
        # SQLAlchemy hands the dialect the pool's proxy of the DBAPI connection, the pool's close the
        # connection itself
        fd = held.pop(id(getattr(connection, "dbapi_connection", connection)), None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _then_release(end):
        def do_end(connection):
            try:
                end(connection)
            finally:
                _release(connection)
        return do_end

    if lock_path:
        engine.dialect.do_commit = _then_release(engine.dialect.do_commit)
        engine.dialect.do_rollback = _then_release(engine.dialect.do_rollback)

    @event.listens_for(engine.pool, "close")
    def _close(dbapi_connection, record):
        held.pop(id(dbapi_connection), None)
        fd = record.info.pop("writer_lock_fd", None)
        if fd is not None:
            os.close(fd)  # closing also drops a lock a dead transaction still held


def _take_writer_lock(fd: int) -> None:
    """Queue writers on a lock file before BEGIN IMMEDIATE.

    SQLite's own busy handler sleeps in growing steps (up to 100 ms) between retries, so under load
    the write lock sits idle while writers sleep; a blocking file lock hands it over at once (and
    the wait releases the GIL). A crashed holder's lock goes with its file descriptor.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fcntl.flock(fd, fcntl.LOCK_EX)


@contextmanager
def read_phase():
    """Run reads without taking SQLite's write lock: on SQLite in a deferred transaction of their
    own, ended after them; on PostgreSQL in the transaction that goes on to write.

    For services that check a lot before they write: the write lock is held only for the writes.
    Whatever the write decides on must be re-read under its lock. Writing inside the phase is a bug.
    """
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("read_phase entered with pending writes")
    # PostgreSQL has no single writer to spare: the reads run in the transaction that will write
    # (each statement sees what is committed, READ COMMITTED), saving two round trips. Either way
    # the write phase's locked reads refresh what they lock (`_fresh_when_locked`).
    separate = not is_postgres()
    if separate:
        db.session.commit()  # whatever transaction was open ends here (it holds no changes)
    token = write_intent.set(False)
    try:
        yield
    finally:
        write_intent.reset(token)
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("read_phase must not write")
    if separate:
        db.session.commit()


def writes_done() -> None:
    """The request's writes are committed: what it still reads (the answer it dumps, which may load
    what the write left unloaded) begins as a read, so on SQLite it does not take the write lock
    while the answer is built. Call only after the last commit of the request's writes."""
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("writes_done with pending writes")
    write_intent.set(False)


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def serialize_on(*parts) -> None:
    """Queue concurrent transactions that work on the same key until this one ends.

    For writes that first look for a row and insert it when it is missing (an idempotent resend):
    on PostgreSQL two such transactions both see nothing and the second insert fails on the
    unique key; a transaction-scoped advisory lock on the key makes the second one wait and then
    find the first one's row. SQLite already runs one writer at a time (BEGIN IMMEDIATE).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


_ROWS_INSERTS: dict[object, object] = {}  # by table (plain) or (table, keys) (from a JSON recordset)
_ROWS_CHECKED: set[tuple] = set()


def _recordset_insert(table: sa.Table, keys: tuple[str, ...]) -> tuple[sa.Insert, list[str]]:
    """INSERT INTO table (keys) SELECT … FROM json_to_recordset(:rows) AS r(k1 t1, …), built once per
    (table, keys); with the keys of JSON columns, whose values travel as their own JSON text (cast back
    in SQL), so that None stays JSON null as SQLAlchemy's JSON type stores it, not SQL NULL."""
    cached = _ROWS_INSERTS.get((table, keys))
    if cached is None:
        json_keys = [k for k in keys if isinstance(table.c[k].type, sa.JSON)]
        cols = [sa.column(k, sa.Text if k in json_keys else table.c[k].type) for k in keys]
        rows = sa.func.json_to_recordset(sa.cast(sa.bindparam("rows", type_=sa.Text), sa.JSON)).table_valued(
            *cols).render_derived(name="r", with_types=True)
        picks = [sa.cast(rows.c[k], sa.JSON) if k in json_keys else rows.c[k] for k in keys]
        cached = _ROWS_INSERTS[(table, keys)] = (table.insert().from_select(list(keys), sa.select(*picks)), json_keys)
    return cached


def _json_default(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()  # with its offset: timestamptz reads the instant exactly
    raise TypeError(f"insert_rows cannot send {type(value).__name__}")


class Prepared(NamedTuple):
    """A write compiled to its driver's SQL with its parameters already bound (each column's type
    processing done), made before the write lock is taken: `run` executes it under the lock with no
    compiling, caching or type processing there, which is most of SQLAlchemy's cost a statement."""

    sql: str
    params: list | tuple | dict

    def run(self, conn: sa.Connection) -> sa.CursorResult:
        return conn.exec_driver_sql(self.sql, self.params)


_BINDERS: dict[tuple, tuple] = {}  # (dialect name, statement, keys) -> (sql, bind names, processors, fixed)


def _binder(dialect: sa.Dialect, stmt: sa.Executable, keys: tuple[str, ...]) -> tuple:
    """The statement compiled once for rows giving `keys`: its SQL, its bind names in the driver's
    order (positional paramstyles) or None (named), each bind's processor and the values of binds
    the rows do not give (a literal in the statement)."""
    cache_key = (dialect.name, stmt, keys)
    found = _BINDERS.get(cache_key)
    if found is None:
        # an INSERT takes its columns from the rows' keys; any other statement names its binds itself
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if isinstance(stmt, sa.Insert) else None)
        if compiled.insert_prefetch or compiled.update_prefetch:  # run by SQLAlchemy's execution, not here
            raise ValueError(f"prepare: give {[c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]}"
                             " (a Python default or onupdate)")
        if any(b.expanding for b in compiled.binds.values()):
            raise ValueError("prepare: an expanding IN cannot be bound ahead")
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        if missing := sorted({n for n in names if n not in keys and compiled.binds[n].required}):
            raise ValueError(f"prepare: the rows do not give {missing}")
        processors = {n: compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names}
        fixed = {n: compiled.binds[n].value for n in names if n not in keys}
        found = _BINDERS[cache_key] = (str(compiled), names if compiled.positional else None, processors, fixed)
    return found


def prepare(dialect: sa.Dialect, stmt: sa.Executable, rows: list[dict]) -> Prepared:
    """`stmt` with `rows` (dicts with the same keys; several: an executemany) bound for the driver.
    A column's Python default is not applied: the rows give every column that has one."""
    sql, order, processors, fixed = _binder(dialect, stmt, tuple(rows[0]))

    def bound(row: dict) -> tuple | dict:
        values = {**fixed, **row} if fixed else row
        out = {n: (p(values[n]) if (p := processors[n]) is not None else values[n]) for n in processors}
        return tuple(out[n] for n in order) if order is not None else out

    params = [bound(r) for r in rows]
    return Prepared(sql, params if len(params) > 1 else params[0])


def prepare_rows(dialect: sa.Dialect, table: sa.Table, rows: list[dict]) -> Prepared | None:
    """The insert of `rows` (dicts with the same keys) into `table`, prepared (None for no rows).

    On PostgreSQL as one statement with one parameter, the rows as a JSON array read back by
    `json_to_recordset`: the server parses, plans and runs one statement whatever the number of rows,
    where an executemany sends and runs one INSERT a row, and the app encodes the rows with the json
    module's C encoder (an array a column for `unnest` cost the app twice as much: psycopg and
    SQLAlchemy walk every element in Python). Columns left out take their server defaults only, so a
    row must give every column that has a Python default (refused on every database alike). Elsewhere
    (SQLite, in process) an executemany, which is already cheap there.
    """
    if not rows:
        return None
    keys = tuple(rows[0])
    if (table, keys) not in _ROWS_CHECKED:
        missing = [c.key for c in table.columns if c.key not in keys and c.default is not None]
        if missing:
            raise ValueError(f"insert_rows into {table.name}: rows must give {missing} (Python defaults)")
        _ROWS_CHECKED.add((table, keys))
    if dialect.name != "postgresql" or len(rows) == 1:
        plain = _ROWS_INSERTS.get(table)
        if plain is None:  # built once: a statement built per call costs its construction and cache key
            plain = _ROWS_INSERTS[table] = table.insert()
        return prepare(dialect, plain, rows)
    stmt, json_keys = _recordset_insert(table, keys)
    if json_keys:
        rows = [{**r, **{k: json.dumps(r[k], ensure_ascii=False) for k in json_keys}} for r in rows]
    return prepare(dialect, stmt, [{"rows": json.dumps(rows, default=_json_default, ensure_ascii=False)}])


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` on `conn` (see `prepare_rows`)."""
    if (prepared := prepare_rows(conn.dialect, table, rows)) is not None:
        prepared.run(conn)
