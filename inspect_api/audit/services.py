"""Appending to the trail and verifying it. Appends serialise on the chain head row."""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent, AuditHead
from inspect_api.audit.rules import GENESIS, ChainProblem, StoredEvent, canonical, event_hash, verify_chain
from inspect_api.core import clock
from inspect_api.db import db


def _lock_head() -> AuditHead:
    # populate_existing: a session that loaded the head in an earlier transaction (expire_on_commit is
    # off) must not append after its stale copy; the locked row is the truth.
    head = db.session.execute(
        sa.select(AuditHead).where(AuditHead.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        db.session.add(head)
        db.session.flush()
    return head


def record(action: str, entity_type: str, entity_id, *, actor=None, before=None, after=None) -> AuditEvent:
    """Append one event; returns it (its seq is the change cursor of what it describes)."""
    head = _lock_head()
    seq = head.seq + 1
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
    ev = AuditEvent(
        seq=seq,
        at=at,
        actor_id=body["actor_id"],
        actor_role=body["actor_role"],
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        payload=payload,
        prev_hash=head.hash,
        hash=event_hash(head.hash, seq, payload),
    )
    db.session.add(ev)
    head.seq, head.hash = seq, ev.hash
    db.session.flush()
    return ev


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
