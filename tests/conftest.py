"""Shared fixtures: one migrated database per run (SQLite file, or PostgreSQL from
INSPECT_TEST_DATABASE_URL), each test inside a transaction that is rolled back at its end, each test at
a chosen instant of the injectable clock (never the wall clock's date), so the suite passes on any day."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from inspect_api.app import create_app
from inspect_api.config import make_test_config
from inspect_api.core.clock import FrozenClock, RunningClock
from inspect_api.db import Session, db
from tests.helpers import TEST_INSTANT

TEST_DB_ENV = "INSPECT_TEST_DATABASE_URL"


def _database_url(tmp_root) -> str:
    url = os.environ.get(TEST_DB_ENV)
    return url or f"sqlite:///{tmp_root / 'test.db'}"


def reset_database(url: str) -> None:
    """Start from nothing, so the migrations (not create_all) build the schema."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return _database_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def app(tmp_path_factory, database_url):
    from flask_migrate import upgrade

    reset_database(database_url)
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(make_test_config(database_url, str(instance)))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def dbsession(app):
    """The test's session, bound to one outer transaction that is rolled back afterwards; the code
    under test may commit freely (its commits release savepoints)."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        session = db._make_scoped_session(
            {"class_": Session, "bind": connection, "join_transaction_mode": "create_savepoint",
             "expire_on_commit": False}
        )
        original, db.session = db.session, session
        try:
            yield session
        finally:
            session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture()
def client(app, dbsession):
    return app.test_client()


@pytest.fixture(autouse=True)
def running_clock(request):
    """Every test that has an app runs on a clock that starts at TEST_INSTANT and runs on (so rows
    still order by time); `clock` freezes it instead, `set_clock` moves it anywhere."""
    if "app" not in request.fixturenames:
        yield None
        return
    app = request.getfixturevalue("app")
    running = RunningClock(TEST_INSTANT)
    original = app.extensions["inspect_clock"]
    app.extensions["inspect_clock"] = running
    yield running
    app.extensions["inspect_clock"] = original


@pytest.fixture()
def clock(app, running_clock):
    """The clock frozen at TEST_INSTANT; `clock.advance(...)` moves it, `clock.at = ...` sets it."""
    frozen = FrozenClock(TEST_INSTANT)
    app.extensions["inspect_clock"] = frozen
    yield frozen
    app.extensions["inspect_clock"] = running_clock
