"""Work that is not writing runs outside any write transaction: on SQLite a write transaction holds
the database's one write lock, and work done under it held every upload and sync of the phones behind
it (the county year's peak morning). The media worker makes a photo's copies unlocked (tens of
milliseconds a photo); a visit's PUT or submit builds its answer after giving the lock back."""

from __future__ import annotations

import io
import sqlite3
import uuid

import pytest
import sqlalchemy as sa

from inspect_api.visits import media
from tests.images import photo
from tests.integration.test_concurrent_resends import live, visit_body  # noqa: F401 - the fixture


def test_copies_are_made_while_another_writer_could_write(live, monkeypatch):  # noqa: F811
    app, ids, headers = live
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL has no single write lock")
    client = app.test_client()
    vid = str(uuid.uuid4())
    assert client.put(f"/api/v1/visits/{vid}", json=visit_body(ids), headers=headers).status_code == 201
    got = client.post(f"/api/v1/visits/{vid}/evidence", headers=headers, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(photo(1600, 1200, seed=7)), "p.jpg", "image/jpeg")})
    assert got.status_code == 201 and got.get_json()["derivatives"] == "pending"

    seen = []
    real = media.images.display_copy

    def probing(*args, **kwargs):
        """While the worker makes a copy: could another connection start writing at once?"""
        other = sqlite3.connect(url.database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            seen.append("free")
            other.rollback()
        except sqlite3.OperationalError:
            seen.append("locked")
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(media.images, "display_copy", probing)
    with app.app_context():
        assert media.drain() == 1
    assert seen and set(seen) == {"free"}, seen
    states = client.get(f"/api/v1/visits/{vid}", headers=headers).get_json()["evidence"]
    assert [e["derivatives"] for e in states] == ["ready"]


@pytest.mark.parametrize("step", ["put", "submit"])
def test_the_answer_to_a_put_or_submit_is_built_after_the_write_lock_is_given_back(live, step):  # noqa: F811
    """The visit they answer is dumped after the commit; what the dump still loads (a new visit's team,
    answers, findings and photos) is read in a read transaction: BEGIN, not BEGIN IMMEDIATE."""
    from inspect_api.db import db

    app, ids, headers = live
    if sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL has no single write lock")
    client = app.test_client()
    vid = str(uuid.uuid4())
    body = visit_body(ids, responses=[{"item_code": "A2", "answer": "yes"}, {"item_code": "E1", "answer": "cold"}])
    if step == "submit":
        assert client.put(f"/api/v1/visits/{vid}", json=body, headers=headers).status_code == 201
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        resp = (client.put(f"/api/v1/visits/{vid}", json=body, headers=headers) if step == "put"
                else client.post(f"/api/v1/visits/{vid}/submit", headers=headers))
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert resp.status_code in (200, 201), resp.get_json()
    answer = resp.get_json()
    assert answer["responses"] and answer["findings"] and answer["status"] == ("draft" if step == "put" else "submitted")
    assert seen.count("BEGIN IMMEDIATE") == 1, seen  # the write's own
    after = seen[seen.index("BEGIN IMMEDIATE") + 1:]
    later = after[max(i for i, s in enumerate(after) if s.split()[0] in ("INSERT", "UPDATE", "DELETE")) + 1:]
    if step == "put":  # the answer did load more after the write (team, answers, findings), begun as a read
        assert later and later[0] == "BEGIN", seen
    else:  # the submit read all the answer shows under its lock; the checklist is the visit's own hash's
        assert later == [], seen


def test_a_new_visit_s_rows_are_compiled_and_bound_before_the_write_lock(live):  # noqa: F811
    """A sync's new visit, team, answers and findings are compiled to the driver's SQL and their values
    bound (each column type's processing) before the write transaction begins: under SQLite's lock
    they run as driver SQL with nothing left to compile, and read back as sent."""
    from inspect_api.db import db

    app, ids, headers = live
    client = app.test_client()
    vid = str(uuid.uuid4())
    body = visit_body(ids, responses=[{"item_code": "A1", "answer": "no"}, {"item_code": "A2", "answer": "yes"},
                                      {"item_code": "E1", "answer": "cold"}])
    seen: list[tuple[str, bool]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        target = words[2].strip('"') if words[:2] == ["INSERT", "INTO"] else " ".join(words[:2])
        seen.append((target, context.compiled is not None))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        resp = client.post("/api/v1/sync", json={"visits": [{**body, "id": vid}]}, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert resp.status_code == 200 and resp.get_json()["results"][0]["status"] == 201, resp.get_json()
    if engine.dialect.name == "sqlite":
        seen = seen[seen.index(("BEGIN IMMEDIATE", False)):]  # the write transaction
    compiled = {target: was for target, was in seen
                if target in ("visits", "visit_inspectors", "visit_responses", "findings")}
    assert compiled == {"visits": False, "visit_inspectors": False, "visit_responses": False, "findings": False}, seen
    visit = client.get(f"/api/v1/visits/{vid}", headers=headers).get_json()
    assert sorted(r["item_code"] for r in visit["responses"]) == ["A1", "A2", "E1"]
    assert sorted(f["item_code"] for f in visit["findings"]) == ["A1", "E1"] and visit["started_at"].startswith("2026-11-23T01:30")
    assert sorted(visit["team"]) == sorted(ids["team"])


def test_a_photo_s_row_is_compiled_and_bound_before_the_write_lock(live):  # noqa: F811
    """An upload's evidence row is compiled and bound with its checks, before the write transaction:
    under the lock it runs as driver SQL (not the unit of work's flush), and reads back as stored."""
    from inspect_api.db import db

    app, ids, headers = live
    client = app.test_client()
    vid = str(uuid.uuid4())
    assert client.put(f"/api/v1/visits/{vid}", json=visit_body(ids), headers=headers).status_code == 201
    seen: list[tuple[str, bool]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        seen.append((" ".join(words[:3]).replace('"', ""), context.compiled is not None))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        got = client.post(f"/api/v1/visits/{vid}/evidence", headers=headers, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(photo(1280, 960, seed=11)), "现场.jpg", "image/jpeg"),
                                "item_code": "A1"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert got.status_code == 201, got.get_json()
    inserts = [(s, was) for s, was in seen if s == "INSERT INTO evidence"]
    assert inserts == [("INSERT INTO evidence", False)], seen
    made = got.get_json()
    stored = client.get(f"/api/v1/visits/{vid}", headers=headers).get_json()["evidence"]
    assert [(e["id"], e["item_code"], e["width"], e["height"], e["derivatives"]) for e in stored] == [
        (made["id"], "A1", 1280, 960, "pending")]
