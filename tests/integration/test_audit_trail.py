"""The trail on a real database: every org change appends a linked event; tampering with rows by raw
SQL is found by services.verify() and by `inspect-api audit verify`; nothing can edit the trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from inspect_api.audit import services as audit
from inspect_api.audit.models import AuditEvent, AuditHead
from inspect_api.audit.rules import GENESIS, canonical, event_hash
from inspect_api.db import db
from inspect_api.org import services as org
from tests.helpers import make_service_item, make_staff, make_unit, make_user


def some_changes():
    """Five events: unit, child unit, staff, service item, a rename."""
    root = make_unit(code="ROOT")
    child = make_unit(code="CHILD", parent=root)
    make_staff(child, badge_no="B001")
    make_service_item(child, code="S001")
    org.update_unit(child, {"name": "改名后的单位"})
    return root, child


def events(session) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))


def tamper(session, sql: str, **params) -> None:
    result = session.execute(sa.text(sql), params)
    assert result.rowcount == 1, "the tampering statement must hit exactly one row"


def insert_event(session, seq: int, prev_hash: str) -> str:
    """Write a well-formed event (columns agree with the payload) behind the services' back."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    body = {"seq": seq, "at": at.isoformat(), "actor_id": None, "actor_role": None, "action": "unit.update",
            "entity_type": "unit", "entity_id": "1", "before": None, "after": None}
    payload = canonical(body)
    digest = event_hash(prev_hash, seq, payload)
    session.execute(sa.insert(AuditEvent.__table__).values(
        seq=seq, at=at, action="unit.update", entity_type="unit", entity_id="1", payload=payload,
        prev_hash=prev_hash, hash=digest))
    return digest


def run_cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


# --- appending ---------------------------------------------------------------------------------

def test_org_changes_append_linked_events_and_the_head_follows(dbsession):
    start = audit.current_seq()
    some_changes()
    rows = events(dbsession)
    assert [e.seq for e in rows] == list(range(1, start + 6))
    prev = GENESIS
    for e in rows:
        assert e.prev_hash == prev and e.hash == event_hash(e.prev_hash, e.seq, e.payload)
        prev = e.hash
    head = dbsession.get(AuditHead, 1)
    assert (head.seq, head.hash) == (rows[-1].seq, rows[-1].hash)
    assert [e.action for e in rows[-5:]] == [
        "unit.create", "unit.create", "staff.create", "service_item.create", "unit.update"]
    assert audit.verify() == []


def test_an_event_records_actor_time_before_and_after_and_the_row_remembers_its_seq(dbsession, clock):
    admin = make_user("admin")
    unit = make_unit(code="A1", name="甲单位")
    org.update_unit(unit, {"name": "乙单位"}, actor=admin)
    ev = dbsession.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    body = json.loads(ev.payload)
    assert ev.seq == unit.change_seq
    assert (ev.action, ev.entity_type, ev.entity_id) == ("unit.update", "unit", str(unit.id))
    assert (ev.actor_id, ev.actor_role) == (admin.id, "admin")
    assert ev.at == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # the injected clock, stored as UTC
    assert body["before"]["name"] == "甲单位" and body["after"]["name"] == "乙单位"
    assert body["seq"] == ev.seq and ev.payload == canonical(body)
    assert "乙单位" in ev.payload  # readable Chinese in the stored text, not \\u escapes


def test_an_append_reads_the_head_fresh_even_when_the_session_holds_an_old_copy(dbsession):
    make_unit()
    stale = dbsession.get(AuditHead, 1)  # now in the identity map
    n, old_hash = stale.seq, stale.hash
    # Another writer appends one event and moves the head behind this session's back.
    new_hash = insert_event(dbsession, n + 1, old_hash)
    dbsession.execute(sa.update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                      .values(seq=n + 1, hash=new_hash))
    ev = audit.record("unit.update", "unit", 1)
    assert ev.seq == n + 2 and ev.prev_hash == new_hash
    assert audit.verify() == []


# --- tampering -------------------------------------------------------------------------------

def test_an_intact_trail_verifies_clean(dbsession):
    some_changes()
    assert audit.verify() == []


def test_a_payload_changed_by_raw_sql_is_reported_changed_at_its_seq(dbsession):
    some_changes()
    tamper(dbsession, "UPDATE audit_events SET payload = :p WHERE seq = 2", p='{"action":"nothing happened"}')
    problems = audit.verify()
    assert [(p.seq, p.kind) for p in problems] == [(2, "changed")]


def test_a_forged_action_inside_the_payload_is_reported_changed(dbsession):
    some_changes()
    ev2 = dbsession.get(AuditEvent, 2)
    forged = ev2.payload.replace('"unit.create"', '"unit.deactivate"')
    assert forged != ev2.payload
    tamper(dbsession, "UPDATE audit_events SET payload = :p WHERE seq = 2", p=forged)
    assert [(p.seq, p.kind) for p in audit.verify()] == [(2, "changed")]


@pytest.mark.parametrize("column,value", [
    ("entity_id", "999999"), ("action", "unit.deactivate"), ("entity_type", "staff"), ("actor_role", "admin"),
])
def test_a_column_that_disagrees_with_the_hashed_payload_is_reported_changed(dbsession, column, value):
    """History and lookups filter on these columns: moving an event to another entity must show."""
    some_changes()
    tamper(dbsession, f"UPDATE audit_events SET {column} = :v WHERE seq = 2", v=value)
    assert [(p.seq, p.kind) for p in audit.verify()] == [(2, "changed")]


def test_a_changed_event_time_is_reported(dbsession):
    some_changes()
    dbsession.execute(sa.update(AuditEvent.__table__).where(AuditEvent.__table__.c.seq == 3)
                      .values(at=datetime(2020, 1, 1, tzinfo=UTC)))
    assert [(p.seq, p.kind) for p in audit.verify()] == [(3, "changed")]


def test_a_row_deleted_from_the_middle_is_reported(dbsession):
    some_changes()
    tamper(dbsession, "DELETE FROM audit_events WHERE seq = 2")
    assert [(p.seq, p.kind) for p in audit.verify()] == [(2, "gap"), (3, "broken_link")]


def test_the_last_row_deleted_is_reported_through_the_head(dbsession):
    some_changes()
    last = audit.current_seq()
    tamper(dbsession, "DELETE FROM audit_events WHERE seq = :s", s=last)
    assert [(p.seq, p.kind) for p in audit.verify()] == [(last, "removed_tail")]


def test_a_forged_row_appended_without_moving_the_head_is_reported(dbsession):
    some_changes()
    last = dbsession.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    insert_event(dbsession, last.seq + 1, last.hash)
    assert [(p.seq, p.kind) for p in audit.verify()] == [(last.seq + 1, "beyond_head")]


def test_verify_pages_through_a_trail_longer_than_one_batch(dbsession, monkeypatch):
    some_changes()
    original = audit._stored
    monkeypatch.setattr(audit, "_stored", lambda batch=5000: original(batch=2))
    assert audit.verify() == []
    tamper(dbsession, "DELETE FROM audit_events WHERE seq = 4")
    assert [(p.seq, p.kind) for p in audit.verify()] == [(4, "gap"), (5, "broken_link")]


# --- the CLI ---------------------------------------------------------------------------------------

def test_cli_audit_verify_exits_0_and_counts_events_when_intact(app, dbsession):
    some_changes()
    result = run_cli(app)
    assert result.exit_code == 0, result.output
    assert f"trail intact: {audit.current_seq()} events" in result.output


def test_cli_audit_verify_exits_1_naming_the_changed_seq(app, dbsession):
    some_changes()
    tamper(dbsession, "UPDATE audit_events SET payload = :p WHERE seq = 2", p="{}")
    result = run_cli(app)
    assert result.exit_code == 1
    assert "event 2: changed" in result.output
    assert "trail intact" not in result.output


def test_cli_audit_verify_exits_1_naming_a_deleted_seq(app, dbsession):
    some_changes()
    tamper(dbsession, "DELETE FROM audit_events WHERE seq = 3")
    result = run_cli(app)
    assert result.exit_code == 1
    assert "event 3: gap" in result.output and "event 4: broken_link" in result.output


def test_cli_in_a_fresh_app_context_still_reads_the_tests_transaction(app, dbsession):
    """The fixture swaps `db.session` on the shared `db` object, so even a command that pushes its own
    app context gets a session bound to the test's connection and sees the uncommitted tampering."""
    some_changes()
    tamper(dbsession, "UPDATE audit_events SET payload = :p WHERE seq = 2", p="{}")
    outer = dbsession()
    with app.app_context():
        assert db.session is dbsession
        inner = db.session()
        assert inner is not outer  # a new scope, so a new Session ...
        assert inner.connection() is outer.connection()  # ... on the test's own connection
        result = run_cli(app)
    assert result.exit_code == 1 and "event 2: changed" in result.output


# --- append only -----------------------------------------------------------------------------------

def test_no_route_edits_or_deletes_trail_rows(app):
    writes = {"PATCH", "PUT", "DELETE"}
    offenders = [f"{sorted(r.methods & writes)} {r.rule}" for r in app.url_map.iter_rules()
                 if ("audit" in r.rule or "history" in r.rule) and r.methods & writes]
    assert offenders == []
    # the history views only read
    history = [r for r in app.url_map.iter_rules() if r.rule.endswith("/history")]
    assert len(history) >= 3 and all(r.methods - {"HEAD", "OPTIONS"} == {"GET"} for r in history)


def test_no_org_route_deletes_registry_rows(app):
    assert [r.rule for r in app.url_map.iter_rules() if "/org/" in r.rule and "DELETE" in r.methods] == []
