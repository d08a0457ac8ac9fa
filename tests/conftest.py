"""Shared fixtures: one migrated database per run (SQLite file, or PostgreSQL from
INSPECT_TEST_DATABASE_URL), each test inside a transaction that is rolled back at its end."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from inspect_api.app import create_app
from inspect_api.config import make_test_config
from inspect_api.core.clock import FrozenClock
from inspect_api.db import Session, db

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


@pytest.fixture()
def clock(app):
    frozen = FrozenClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    original = app.extensions["inspect_clock"]
    app.extensions["inspect_clock"] = frozen
    yield frozen
    app.extensions["inspect_clock"] = original
