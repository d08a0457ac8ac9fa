"""A server on a chosen clock (INSPECT_CLOCK_START) tells one time in every process: gunicorn's workers
boot moments apart, and each used to start its own clock at its own boot, so a later request could be
stamped earlier than one before it (the review queue, ordered by submission, then put a visit out of
its place)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inspect_api.visits.models import Visit
from tests.system.server import LiveServer, server_database_url
from tests.system.workload import visit_payload

pytestmark = pytest.mark.slow


def test_every_worker_stamps_on_the_same_clock(tmp_path):
    server = LiveServer(server_database_url(os.environ.get("INSPECT_TEST_DATABASE_URL"), tmp_path),
                        tmp_path / "instance", workers=4)
    server.prepare()
    server.start()
    try:
        headers, team, units, template = server.field_team()
        sent, asked_at = [], []
        for i in range(24):  # one after another, each on whichever worker takes it
            vid = str(uuid.uuid4())
            body = visit_payload(template, unit_id=units[0]["id"], team=team, seed=i, findings=1)
            asked_at.append(server.clock_now())
            status, out, _ = server.request("POST", "/api/v1/sync", {"visits": [{**body, "id": vid}]}, headers)
            assert status == 200 and out["results"][0]["status"] == 201, out
            sent.append(vid)
        engine = server.engine()
        with engine.connect() as conn:
            stamped = dict(conn.execute(sa.select(Visit.id, Visit.created_at).where(Visit.id.in_(sent))).all())
        engine.dispose()
    finally:
        server.stop()
    times = [stamped[v] for v in sent]
    assert times == sorted(times)  # in the order they were sent
    for asked, at in zip(asked_at, times, strict=True):  # and on the time the tests read off the server
        assert asked - timedelta(milliseconds=50) <= at <= asked + timedelta(seconds=5)
