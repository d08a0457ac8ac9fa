"""SQLite's writers queue on a lock file before BEGIN IMMEDIATE (inspect_api.db): the next writer is
woken when the lock file is let go. Let go before the COMMIT had run, the next writer's BEGIN IMMEDIATE
met SQLite's lock still held for the COMMIT and its fsync, and SQLite's busy handler put it to sleep
for milliseconds while the lock sat free: at 20 phones a sync, the machine was a third idle."""

from __future__ import annotations

import fcntl
import os
import uuid

import pytest
import sqlalchemy as sa

from tests.integration.test_concurrent_resends import live, visit_body  # noqa: F401 - the fixture


def _queue_is_taken(path: str) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # and with it the lock, if this took it
    return False


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_the_writers_queue_is_held_until_the_transaction_has_ended(live, ending):  # noqa: F811
    from inspect_api.db import db

    app, ids, headers = live
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL has no single write lock")
    lock_path = f"{url.database}.writer-lock"
    seen: list[tuple[str, bool]] = []

    def trace(statement: str) -> None:
        if statement in ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"):
            seen.append((statement, _queue_is_taken(lock_path)))

    with app.app_context():
        engine = db.engine

    def traced(dbapi_connection, record, proxy):
        dbapi_connection.set_trace_callback(trace)

    sa.event.listen(engine.pool, "checkout", traced)
    try:
        client = app.test_client()
        vid = str(uuid.uuid4())
        if ending == "commit":
            assert client.put(f"/api/v1/visits/{vid}", json=visit_body(ids), headers=headers).status_code == 201
        else:  # a write refused halfway: its transaction rolls back
            with app.app_context(), pytest.raises(RuntimeError), db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE units SET name = name WHERE id = :i"), {"i": ids["unit"]})
                raise RuntimeError("refused")
        # the queue is free once the request is over
        assert not _queue_is_taken(lock_path)
    finally:
        sa.event.remove(engine.pool, "checkout", traced)
    end = "COMMIT" if ending == "commit" else "ROLLBACK"
    assert ("BEGIN IMMEDIATE", True) in seen, seen
    # every write transaction's end ran with the queue still taken
    ends = [taken for i, (s, taken) in enumerate(seen) if s == end and i and seen[i - 1][0] == "BEGIN IMMEDIATE"]
    assert ends and all(ends), seen
