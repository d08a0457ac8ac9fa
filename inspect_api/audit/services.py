"""Appending to the trail and verifying it. Appends serialise on the chain head row."""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent, AuditHead
from inspect_api.audit.rules import GENESIS, ChainProblem, StoredEvent, canonical, event_hash, verify_chain
from inspect_api.core import clock
from inspect_api.db import db

_HEAD = AuditHead.__table__
_LOCK_HEAD = sa.select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_EVENT = AuditEvent.__table__.insert()
_MOVE_HEAD = _HEAD.update().where(_HEAD.c.id == 1).values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
# PostgreSQL: the event's insert and the head's move in one statement (a data-modifying WITH), one
# round trip fewer under the chain's lock. SQLite has no INSERT inside WITH: two statements there.
_APPEND_AND_MOVE = _MOVE_HEAD.add_cte(AuditEvent.__table__.insert().values(
    {c.key: sa.bindparam(c.key) for c in AuditEvent.__table__.columns}).cte("appended"))


def _lock_head(conn: sa.Connection) -> tuple[int, str]:
    """The chain head's (seq, hash), its row locked until the transaction ends (created if missing)."""
    row = conn.execute(_LOCK_HEAD).first()
    if row is None:
        conn.execute(_HEAD.insert().values(id=1, seq=0, hash=GENESIS))
        return 0, GENESIS
    return row.seq, row.hash


def record(action: str, entity_type: str, entity_id, *, actor=None, before=None, after=None) -> AuditEvent:
    """Append one event; returns it (its seq is the change cursor of what it describes).

    Set-based (Core) statements, not the unit of work: this runs inside every write, under the
    chain's lock. The returned event is a plain copy of the stored row, not in the session."""
    db.session.flush()  # what the event describes is written first (and an ORM head copy is not used)
    conn = db.session.connection()
    head_seq, head_hash = _lock_head(conn)
    seq = head_seq + 1
    at = clock.now()
    body = {
        "seq": seq,
        "at": at.isoformat(),
        "actor_id": getattr(actor, "id", None),
        "actor_role": getattr(actor, "role", None),
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "before": before,
        "after": after,
    }
    payload = canonical(body)
    row = {"seq": seq, "at": at, "actor_id": body["actor_id"], "actor_role": body["actor_role"], "action": action,
           "entity_type": entity_type, "entity_id": str(entity_id), "payload": payload, "prev_hash": head_hash,
           "hash": event_hash(head_hash, seq, payload)}
    if conn.dialect.name == "postgresql":
        conn.execute(_APPEND_AND_MOVE, {**row, "new_seq": seq, "new_hash": row["hash"]})
    else:
        conn.execute(_INSERT_EVENT, row)
        conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": row["hash"]})
    return AuditEvent(**row)


def current_seq() -> int:
    return db.session.scalar(sa.select(AuditHead.seq).where(AuditHead.id == 1)) or 0


def decode(ev: AuditEvent) -> dict:
    return json.loads(ev.payload)


COLUMNS = ("at", "actor_id", "actor_role", "action", "entity_type", "entity_id")


def _stored(batch: int = 5000) -> Iterator[StoredEvent]:
    last = 0
    columns = [getattr(AuditEvent, name) for name in COLUMNS]
    while True:
        rows = db.session.execute(
            sa.select(AuditEvent.seq, AuditEvent.payload, AuditEvent.prev_hash, AuditEvent.hash, *columns)
            .where(AuditEvent.seq > last)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield StoredEvent(*row[:4], columns=dict(zip(COLUMNS, row[4:], strict=True)))
        last = rows[-1].seq


def verify() -> list[ChainProblem]:
    head = db.session.execute(sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    return verify_chain(_stored(), tuple(head) if head else (0, GENESIS))
