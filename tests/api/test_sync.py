"""Batch sync: per-item results, repeated batches change nothing, conflicts stay per item."""

from __future__ import annotations

import io

import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent
from inspect_api.visits.models import Finding, Response, Visit
from tests.api.conftest import new_id
from tests.images import photo


def batch(field, *items):
    return {"visits": [{**field.visit(), **item} for item in items]}


def counts(dbsession):
    return tuple(dbsession.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Visit, Response, Finding))


def test_a_batch_creates_each_visit_and_a_repeat_changes_nothing(client, field, dbsession):
    ids = [new_id() for _ in range(3)]
    body = batch(field, *({"id": i} for i in ids))
    first = client.post("/api/v1/sync", json=body, headers=field.ha)
    assert first.status_code == 200
    assert [(r["id"], r["status"], r["outcome"]) for r in first.get_json()["results"]] == \
        [(i, 201, "created") for i in ids]
    after_first = counts(dbsession)
    trail = dbsession.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    again = client.post("/api/v1/sync", json=body, headers=field.hb)  # the other team member's phone
    assert [r["outcome"] for r in again.get_json()["results"]] == ["unchanged"] * 3
    assert counts(dbsession) == after_first == (3, 9, 6)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == trail


def test_one_bad_item_does_not_sink_the_others(client, field, dbsession):
    good, bad = new_id(), new_id()
    body = batch(field, {"id": good}, {"id": bad, "responses": [{"item_code": "A1", "answer": 42}]})
    results = client.post("/api/v1/sync", json=body, headers=field.ha).get_json()["results"]
    assert results[0]["status"] == 201 and results[1]["status"] == 422
    assert results[1]["error"]["details"]["fields"]["responses"]["A1"]
    assert dbsession.get(Visit, good) is not None and dbsession.get(Visit, bad) is None


def test_changes_need_base_version_and_stale_ones_conflict_per_item(client, field):
    vid = new_id()
    client.post("/api/v1/sync", json=batch(field, {"id": vid}), headers=field.ha)
    changed = {"id": vid, "notes": "更正"}
    no_base = client.post("/api/v1/sync", json=batch(field, changed), headers=field.ha).get_json()["results"][0]
    assert no_base["status"] == 428
    ok = client.post("/api/v1/sync", json=batch(field, {**changed, "base_version": 1}), headers=field.ha)
    assert ok.get_json()["results"][0] == {"id": vid, "status": 200, "outcome": "updated", "version": 2,
                                           "visit_status": "draft", "error": None}
    stale = client.post("/api/v1/sync", json=batch(field, {"id": vid, "notes": "旧手机", "base_version": 1}),
                        headers=field.ha).get_json()["results"][0]
    assert stale["status"] == 412 and stale["error"]["details"]["current_version"] == 2


def test_submit_in_the_batch_and_a_changed_resend_after_submit_is_409_for_that_item_only(client, field):
    vid, other = new_id(), new_id()
    passing = [{"item_code": "A1", "answer": "yes"}]
    first = client.post("/api/v1/sync", json=batch(field, {"id": vid, "responses": passing, "submit": True}),
                        headers=field.ha).get_json()["results"][0]
    assert first["outcome"] == "submitted" and first["visit_status"] == "submitted"
    resend = client.post("/api/v1/sync", json=batch(field, {"id": vid, "responses": passing, "submit": True},
                                                    {"id": other}), headers=field.ha).get_json()["results"]
    assert resend[0]["outcome"] == "unchanged" and resend[1]["outcome"] == "created"
    changed = client.post("/api/v1/sync", json=batch(field, {"id": vid, "notes": "改", "base_version": 2},
                                                     {"id": other}), headers=field.ha).get_json()["results"]
    assert changed[0]["status"] == 409 and changed[1]["outcome"] == "unchanged"


def test_submit_in_a_batch_is_refused_while_photos_are_missing_but_the_draft_is_kept(client, field, dbsession):
    vid = new_id()
    res = client.post("/api/v1/sync", json=batch(field, {"id": vid, "submit": True}),
                      headers=field.ha).get_json()["results"][0]
    assert res["status"] == 409 and res["error"]["code"] == "evidence_missing"
    assert res["outcome"] == "created" and res["visit_status"] == "draft" and res["version"] == 1
    assert res["error"]["details"]["missing_photos"][0]["item_code"] == "A1"
    assert dbsession.get(Visit, vid).status == "draft"


def test_a_visit_can_be_saved_then_photographed_then_submitted_by_sync(client, field):
    vid = new_id()
    client.post("/api/v1/sync", json=batch(field, {"id": vid}), headers=field.ha)
    client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                data={"file": (io.BytesIO(photo(seed=21)), "a1.jpg", "image/jpeg"), "item_code": "A1"})
    res = client.post("/api/v1/sync", json=batch(field, {"id": vid, "submit": True}),
                      headers=field.ha).get_json()["results"][0]
    assert res["outcome"] == "submitted"


def test_a_resent_visit_submitted_reads_the_visit_once_and_not_its_answers(client, field, dbsession):
    """The phone's last step (the same visit again, now with `submit`): the resend is recognised from
    the visit's row and team, the submit reads its findings and photos under the lock; the answers
    (most of a visit's rows) are read by neither."""
    from inspect_api.db import db

    vid = new_id()
    client.post("/api/v1/sync", json=batch(field, {"id": vid}), headers=field.ha)
    client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                data={"file": (io.BytesIO(photo(seed=22)), "a1.jpg", "image/jpeg"), "item_code": "A1"})
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        res = client.post("/api/v1/sync", json=batch(field, {"id": vid, "base_version": 1, "submit": True}),
                          headers=field.ha).get_json()["results"][0]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert (res["status"], res["outcome"], res["visit_status"], res["version"]) == (200, "submitted", "submitted", 2)
    assert dbsession.get(Visit, vid).status == "submitted"
    assert not [s for s in seen if s.startswith("SELECT") and "FROM visit_responses" in s]
    assert len([s for s in seen if s.startswith("SELECT") and "FROM findings" in s]) == 1


def test_a_resent_submit_refused_answers_the_stored_version_and_status(client, field):
    vid = new_id()
    client.post("/api/v1/sync", json=batch(field, {"id": vid}), headers=field.ha)
    res = client.post("/api/v1/sync", json=batch(field, {"id": vid, "submit": True}),
                      headers=field.ha).get_json()["results"][0]
    assert (res["status"], res["outcome"], res["visit_status"], res["version"]) == (409, "unchanged", "draft", 1)
    assert res["error"]["code"] == "evidence_missing"


def test_a_submit_the_database_fails_answers_503_for_its_item_and_keeps_the_batch(client, field, monkeypatch):
    """A deadlock or a lost connection while submitting: that item answers 503 `try_again` with its
    save standing (version 1, still a draft), and the batch's other items keep their answers."""
    from inspect_api.visits import services

    real = services.submit

    def failing(visit, actor):
        if visit.id == broken:
            raise sa.exc.OperationalError("UPDATE visits ...", {}, Exception("deadlock detected"))
        return real(visit, actor)

    monkeypatch.setattr(services, "submit", failing)
    broken, fine = new_id(), new_id()  # the failure comes before the photos are looked at
    resp = client.post("/api/v1/sync", json=batch(field, {"id": broken, "submit": True}, {"id": fine}),
                       headers=field.ha)
    assert resp.status_code == 200
    first, second = resp.get_json()["results"]
    assert (first["status"], first["outcome"], first["visit_status"], first["version"]) == (503, "created", "draft", 1)
    assert first["error"]["code"] == "try_again"
    assert (second["status"], second["outcome"]) == (201, "created")


def test_the_same_visit_twice_in_one_batch_is_refused(client, field):
    vid = new_id()
    resp = client.post("/api/v1/sync", json=batch(field, {"id": vid}, {"id": vid}), headers=field.ha)
    assert resp.status_code == 422
