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
from tests.openapi_check import ResponseChecker

TEST_DB_ENV = "INSPECT_TEST_DATABASE_URL"
# Every response the session's app sends is checked against its OpenAPI description (tests/openapi_check.py);
# INSPECT_OPENAPI_CHECK=report lists the disagreements without failing the run.
_RESPONSES: list[ResponseChecker] = []


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
    _check_responses(app)
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


def _check_responses(app) -> None:
    from flask import request, request_finished

    from inspect_api.extensions import api

    checker = ResponseChecker(api.spec.to_dict())
    _RESPONSES.append(checker)

    def _record(sender, response, **extra):
        # request_finished: the response as sent, after every after_request hook
        if request.url_rule is not None:
            body = b"" if response.is_streamed or response.direct_passthrough else response.get_data()
            checker.check(request.method, request.url_rule.rule, response.status_code, response.mimetype, body)

    request_finished.connect(_record, app, weak=False)


def pytest_sessionfinish(session, exitstatus):
    problems = "\n".join(c.report() for c in _RESPONSES if c.problems)
    if not problems:
        return
    checked = sum(len(c.checked) for c in _RESPONSES)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    text = f"\nResponses that disagree with the OpenAPI description ({checked} operation/status pairs seen):\n{problems}\n"
    if reporter is not None:
        reporter.write(text)
    if os.environ.get("INSPECT_OPENAPI_CHECK") != "report" and session.exitstatus == 0:
        session.exitstatus = 1
