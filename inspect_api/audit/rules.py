"""Pure rules of the trail: canonical encoding, the chain hash, and chain verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

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
    # The row's own columns that repeat payload fields (at, actor, action, entity): queries filter on
    # them, so they must say what the hashed payload says.
    columns: Mapping | None = None


def columns_match(payload: str, columns: Mapping) -> bool:
    try:
        body = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    for key, value in columns.items():
        signed = body.get(key)
        if key == "at":
            try:
                signed = datetime.fromisoformat(signed)
            except (TypeError, ValueError):
                return False
        if signed != value:
            return False
    return True


@dataclass(frozen=True)
class ChainProblem:
    """One finding; `seq` is the row it concerns (for a gap or a removed tail: the first missing one)."""

    seq: int
    # "changed" | "broken_link" | "gap" | "out_of_order" | "removed_tail" | "beyond_head" | "head_mismatch"
    kind: str
    message: str


def _rows(first: int, last: int) -> str:
    return f"第 {first} 条" if first == last else f"第 {first}–{last} 条"


def verify_chain(events: Iterable[StoredEvent], head: tuple[int, str] | None = None) -> list[ChainProblem]:
    """Find every changed, inserted or removed row.

    `events` should come in seq order (a row out of order is reported, not trusted). `head` is the
    (seq, hash) the chain head row remembers, so a removed or added last row is found too.
    """
    problems: list[ChainProblem] = []
    prev_hash, prev_seq = GENESIS, 0
    for ev in events:
        if ev.seq <= prev_seq:
            problems.append(ChainProblem(ev.seq, "out_of_order",
                                         f"第 {ev.seq} 条出现在第 {prev_seq} 条之后 (duplicate or reordered row)"))
        elif ev.seq != prev_seq + 1:
            problems.append(ChainProblem(prev_seq + 1, "gap",
                                         f"{_rows(prev_seq + 1, ev.seq - 1)}记录缺失 (rows removed)"))
        if ev.prev_hash != prev_hash:
            problems.append(ChainProblem(ev.seq, "broken_link", "前序哈希不符 (row inserted, removed or reordered before it)"))
        if event_hash(ev.prev_hash, ev.seq, ev.payload) != ev.hash:
            problems.append(ChainProblem(ev.seq, "changed", "内容与哈希不符 (row changed)"))
        elif ev.columns is not None and not columns_match(ev.payload, ev.columns):
            problems.append(ChainProblem(ev.seq, "changed", "字段与已签名内容不符 (columns differ from the hashed payload)"))
        prev_hash, prev_seq = ev.hash, max(prev_seq, ev.seq)
    if head is not None:
        head_seq, head_hash = head
        if prev_seq < head_seq:
            problems.append(ChainProblem(prev_seq + 1, "removed_tail",
                                         f"链头记录为第 {head_seq} 条, {_rows(prev_seq + 1, head_seq)}缺失 (last rows removed)"))
        elif prev_seq > head_seq:
            problems.append(ChainProblem(head_seq + 1, "beyond_head",
                                         f"链头记录为第 {head_seq} 条, 其后另有{_rows(head_seq + 1, prev_seq)} (rows added behind the head)"))
        elif head_seq and head_hash != prev_hash:
            problems.append(ChainProblem(head_seq, "head_mismatch", "末条记录的哈希与链头不符 (last row replaced)"))
    return problems
