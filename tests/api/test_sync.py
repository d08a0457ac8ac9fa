"""Batch sync: per-item results, repeated batches change nothing, conflicts stay per item."""

from __future__ import annotations

import io

import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent
from inspect_api.org import services as org
from inspect_api.visits.models import Finding, Response, Visit
from tests.api.conftest import new_id
from tests.helpers import make_unit, make_user
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


def test_each_result_carries_the_visit_number_as_stored(client, field, dbsession):
    """The phone learns a sent visit's number from the sync's answer (no request for the visit)."""
    new, bad = new_id(), new_id()
    body = batch(field, {"id": new}, {"id": bad, "responses": [{"item_code": "A1", "answer": 42}]})
    first = client.post("/api/v1/sync", json=body, headers=field.ha).get_json()["results"]
    stored = dbsession.scalar(sa.select(Visit.code).where(Visit.id == new))
    assert stored.startswith("V2026-") and first[0]["code"] == stored
    assert first[1]["status"] == 422 and first[1]["code"] is None  # refused: it has no number
    # a resend (unchanged), and a submit the server refuses (photos missing): the same number
    again = client.post("/api/v1/sync", json=batch(field, {"id": new, "submit": True}),
                        headers=field.hb).get_json()["results"][0]
    assert (again["outcome"], again["status"], again["code"]) == ("unchanged", 409, stored)
    client.post(f"/api/v1/visits/{new}/evidence", headers=field.ha, content_type="multipart/form-data",
                data={"file": (io.BytesIO(photo(seed=22)), "a1.jpg", "image/jpeg"), "item_code": "A1"})
    done = client.post("/api/v1/sync", json=batch(field, {"id": new, "submit": True}),
                       headers=field.ha).get_json()["results"][0]
    assert (done["outcome"], done["code"]) == ("submitted", stored)


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
                                           "visit_status": "draft", "code": "V2026-000001", "error": None}
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
    assert len([s for s in seen if s.startswith("SELECT") and "FROM findings WHERE findings.visit_id" in s]) == 1


def test_a_new_visit_is_checked_with_one_read(client, field):
    """Before a new visit's first write, everything its checks read (is it there; its unit, staff,
    team, checklist version, badges; finding ids another visit holds) is one statement; and the
    checks still refuse what that statement did not find."""
    from inspect_api.db import db

    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    client.post("/api/v1/sync", json=batch(field, {"id": new_id()}), headers=field.ha)  # the template is parsed
    vid = new_id()
    body = batch(field, {"id": vid})
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        res = client.post("/api/v1/sync", json=body, headers=field.ha).get_json()["results"][0]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert res["status"] == 201
    seen = [s for s in seen if s.split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")]  # not SAVEPOINT
    first_write = next(i for i, s in enumerate(seen) if not s.startswith("SELECT"))
    reads = [s for s in seen[:first_write] if " FROM auth_sessions " not in s]  # the token's session check
    assert len(reads) == 1 and reads[0].count("UNION ALL") == 6
    assert client.post("/api/v1/sync", json=batch(field, {"id": vid}), headers=field.ha).get_json()[
        "results"][0]["outcome"] == "unchanged"  # the same read found it there


def test_what_the_one_read_finds_decides_each_check(client, field, dbsession):
    """Each lookup of that statement, found and not found: every refusal names its own field."""
    other = make_unit(name="另一单位")
    stranger = org.create_staff({"badge_no": "QC-0999", "name": "周敏", "unit_id": other.id, "post": "受理"})
    office = make_user("office")
    dbsession.commit()
    manual = {"id": new_id(), "category": "poor_attitude", "severity": "minor", "badge_no": "QC-0301",
              "observed_at": "2026-11-23T09:41:00+08:00", "description": "态度生硬"}
    vid = new_id()
    ok = client.post("/api/v1/sync", json=batch(field, {"id": vid, "findings": [manual]}), headers=field.ha)
    assert ok.get_json()["results"][0]["status"] == 201
    stored = dbsession.get(Finding, manual["id"])
    assert (stored.visit_id, stored.staff_id) == (vid, field.staff.id)  # the badge named its holder

    def refused(**changes):
        res = client.post("/api/v1/sync", json=batch(field, {"id": new_id(), **changes}),
                          headers=field.ha).get_json()["results"][0]
        return res["status"], res["error"]["code"], res["error"]["details"]

    status, _, details = refused(unit_id=10**9)
    assert (status, details["fields"]) == (422, {"unit_id": ["unknown or inactive unit"]})
    status, _, details = refused(staff_id=stranger.id)  # same name, another unit
    assert (status, details["fields"]) == (422, {"staff_id": ["not in unit"]})
    status, _, details = refused(staff_id=10**9)
    assert (status, details["fields"]) == (422, {"staff_id": ["not in unit"]})
    status, _, details = refused(team=[field.a.id, office.id])
    assert status == 422 and details["fields"]["team"] == [f"not an active inspector: {[office.id]}"]
    status, _, details = refused(checklist={"code": "sanxiang_covert", "version": 999})
    assert status == 422 and list(details["fields"]) == ["checklist"]
    status, code, details = refused(findings=[manual])  # its id is the first visit's
    assert (status, code, details) == (409, "finding_id_taken", {"finding_ids": [manual["id"]]})


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

    real = services.submit_visit

    def failing(visit_id, actor, **kwargs):
        if str(visit_id) == broken:
            raise sa.exc.OperationalError("UPDATE visits ...", {}, Exception("deadlock detected"))
        return real(visit_id, actor, **kwargs)

    monkeypatch.setattr(services, "submit_visit", failing)
    broken, fine = new_id(), new_id()  # the failure comes before the photos are looked at
    resp = client.post("/api/v1/sync", json=batch(field, {"id": broken, "submit": True}, {"id": fine}),
                       headers=field.ha)
    assert resp.status_code == 200
    first, second = resp.get_json()["results"]
    assert (first["status"], first["outcome"], first["visit_status"], first["version"]) == (503, "created", "draft", 1)
    assert first["error"]["code"] == "try_again"
    assert (second["status"], second["outcome"]) == (201, "created")


def test_a_new_visit_whose_first_write_the_database_fails_is_saved_by_the_retry(client, field, dbsession,
                                                                                 monkeypatch):
    """A deadlock or a lost connection after the visit's row was written (numbering it, say): the
    item is retried once, as the phone would resend it, and saved once, not answered 500."""
    from inspect_api.visits import services

    real, calls = services._number, []

    def failing_once(visit, now):
        # holding the object, as a traceback's frames do until the garbage collector runs: the
        # session's identity map keeps only what something else still refers to
        calls.append((visit, visit.id))
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE visits ...", {}, Exception("deadlock detected"))
        return real(visit, now)

    monkeypatch.setattr(services, "_number", failing_once)
    vid = new_id()
    resp = client.post("/api/v1/sync", json=batch(field, {"id": vid}), headers=field.ha)
    assert resp.status_code == 200, resp.get_json()
    [res] = resp.get_json()["results"]
    assert (res["status"], res["outcome"], res["version"]) == (201, "created", 1)
    assert [i for _, i in calls] == [vid, vid] and calls[0][0] is not calls[1][0]
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Visit).where(Visit.id == vid)) == 1
    assert dbsession.get(Visit, vid).code.startswith("V2026-")


def test_the_same_visit_twice_in_one_batch_is_refused(client, field):
    vid = new_id()
    resp = client.post("/api/v1/sync", json=batch(field, {"id": vid}, {"id": vid}), headers=field.ha)
    assert resp.status_code == 422
