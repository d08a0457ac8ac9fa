"""Pure rules of the trail: canonical encoding, the chain hash, and chain verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical(value) -> str:
    """One JSON text per value, whatever the database hands back (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(prev_hash: str, seq: int, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{payload}".encode()).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str  # "changed" | "broken_link" | "gap" | "removed_tail"
    message: str


def verify_chain(events: Iterable[StoredEvent], head: tuple[int, str] | None = None) -> list[ChainProblem]:
    """Find every changed, inserted or removed row.

    `events` must come in seq order. `head` is the (seq, hash) the chain head row remembers, so a
    removed last row is found too.
    """
    problems: list[ChainProblem] = []
    prev_hash, prev_seq = GENESIS, 0
    for ev in events:
        if ev.seq != prev_seq + 1:
            problems.append(ChainProblem(ev.seq, "gap", f"第 {prev_seq + 1}–{ev.seq - 1} 条记录缺失 (rows removed)"))
        if ev.prev_hash != prev_hash:
            problems.append(ChainProblem(ev.seq, "broken_link", "前序哈希不符 (row inserted, removed or reordered before it)"))
        if event_hash(ev.prev_hash, ev.seq, ev.payload) != ev.hash:
            problems.append(ChainProblem(ev.seq, "changed", "内容与哈希不符 (row changed)"))
        prev_hash, prev_seq = ev.hash, ev.seq
    if head is not None:
        head_seq, head_hash = head
        if head_seq != prev_seq or (head_seq and head_hash != prev_hash):
            problems.append(
                ChainProblem(head_seq, "removed_tail", f"链头记录为第 {head_seq} 条, 实际末条为第 {prev_seq} 条")
            )
    return problems
