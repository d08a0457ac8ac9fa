"""A visit's submit is checked before the write lock and frozen under it with two statements: on
SQLite the one write lock was held for the whole check (the visit, its findings and photos read, the
photos it needs worked out), about three times a save's hold. What the checks read changes only with
a write that moves the visit's version on, so the freeze takes the version checked; a draft that has
moved on since is read again under its lock and checked there."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from inspect_api.db import db
from tests.integration.test_concurrent_resends import live, visit_body  # noqa: F401 - the fixture

BODY = {"responses": [{"item_code": "A2", "answer": "yes"}, {"item_code": "E1", "answer": "cold"}]}


def _statements(engine, seen: list[str]):
    def listen(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))
    return listen


@pytest.mark.parametrize("how", ["route", "sync"])
def test_a_submit_reads_nothing_under_the_write_lock(live, how):  # noqa: F811
    app, ids, headers = live
    client = app.test_client()
    vid = str(uuid.uuid4())
    assert client.put(f"/api/v1/visits/{vid}", json=visit_body(ids, **BODY), headers=headers).status_code == 201
    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    listen = _statements(engine, seen)
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        if how == "route":
            resp = client.post(f"/api/v1/visits/{vid}/submit", headers=headers)
            assert resp.status_code == 200, resp.get_json()
            answer = resp.get_json()
            assert (answer["status"], answer["version"]) == ("submitted", 2)
            assert [f["status"] for f in answer["findings"]] == ["pending_review"]
        else:
            resp = client.post("/api/v1/sync", json={"visits": [{**visit_body(ids, **BODY), "id": vid, "submit": True,
                                                                 "base_version": 1}]}, headers=headers)
            result = resp.get_json()["results"][0]
            assert (result["status"], result["outcome"], result["visit_status"], result["version"]) == (
                200, "submitted", "submitted", 2), result
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    writes = [s for s in seen if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert [s.split()[1] for s in writes[:2]] == ["visits", "findings"], writes  # frozen, findings to review
    if engine.dialect.name == "sqlite":
        locked = seen[seen.index("BEGIN IMMEDIATE"):]
        reads = [s for s in locked if s.startswith("SELECT") and "audit_head" not in s]
        assert reads == [], locked  # the trail's head is the only row read under the lock
    else:
        assert not [s for s in seen if "FOR UPDATE" in s and "audit_head" not in s], seen
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT status, version, submitted_by FROM visits WHERE id = :v"),
                                    {"v": vid}).one()
        findings = db.session.execute(sa.text("SELECT status FROM findings WHERE visit_id = :v"), {"v": vid}).scalars()
        assert (stored[0], stored[1], stored[2]) == ("submitted", 2, ids["team"][0])
        assert list(findings) == ["pending_review"]
        db.session.remove()


@pytest.mark.parametrize("change", ["version_only", "team_shrunk"])
def test_a_draft_changed_after_its_check_is_checked_again_under_its_lock(live, monkeypatch, change):  # noqa: F811
    """Another write lands between the check and the lock: the freeze finds the visit at another
    version and the submit is decided on what is stored then, under the visit's lock."""
    from inspect_api.visits import services

    app, ids, headers = live
    client = app.test_client()
    vid = str(uuid.uuid4())
    assert client.put(f"/api/v1/visits/{vid}", json=visit_body(ids, **BODY), headers=headers).status_code == 201
    real, calls = services._refuse_unless_submittable, []
    with app.app_context():
        other = sa.create_engine(db.engine.url)

    def meanwhile(visit, actor):
        real(visit, actor)
        calls.append(visit.version)
        if len(calls) == 1:  # the check before the lock passed; another writer commits now
            with other.begin() as conn:
                if change == "team_shrunk":
                    conn.execute(sa.text("DELETE FROM visit_inspectors WHERE visit_id = :v AND user_id = :u"),
                                 {"v": vid, "u": ids["team"][1]})
                conn.execute(sa.text("UPDATE visits SET version = version + 1 WHERE id = :v"), {"v": vid})

    monkeypatch.setattr(services, "_refuse_unless_submittable", meanwhile)
    try:
        resp = client.post(f"/api/v1/visits/{vid}/submit", headers=headers)
    finally:
        other.dispose()
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT status, version FROM visits WHERE id = :v"), {"v": vid}).one()
        db.session.remove()
    if change == "version_only":
        assert resp.status_code == 200, resp.get_json()
        assert calls == [1, 2]  # checked again, on the visit as stored after the other write
        assert (resp.get_json()["version"], tuple(stored)) == (3, ("submitted", 3))
    else:
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "team_too_small", resp.get_json()
        assert calls == [1] and tuple(stored) == ("draft", 2)  # refused by the check under the lock


def test_the_same_submit_at_once_freezes_the_visit_once(live):  # noqa: F811
    """A phone resending its submit before the first answer: every copy checks the same draft before
    the lock, one freezes it, the others find it moved on and answer it as submitted (200, the same
    version), and the trail records one submit."""
    from tests.integration.test_concurrent_resends import N, at_once

    app, ids, headers = live
    client = app.test_client()
    vid = str(uuid.uuid4())
    assert client.put(f"/api/v1/visits/{vid}", json=visit_body(ids, **BODY), headers=headers).status_code == 201
    answers = at_once(app, lambda c: c.post(f"/api/v1/visits/{vid}/submit", headers=headers))
    assert [r.status_code for r in answers] == [200] * N, [r.get_json() for r in answers]
    assert {(r.get_json()["status"], r.get_json()["version"]) for r in answers} == {("submitted", 2)}
    with app.app_context():
        submits = db.session.execute(sa.text("SELECT count(*) FROM audit_events WHERE action = 'visit.submit' "
                                             "AND entity_id = :v"), {"v": vid}).scalar_one()
        version = db.session.execute(sa.text("SELECT version FROM visits WHERE id = :v"), {"v": vid}).scalar_one()
        db.session.remove()
    assert (submits, version) == (1, 2)
