"""The trail's pure rules: canonical JSON, the chain hash, and finding changed, inserted and removed rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from inspect_api.audit.rules import GENESIS, StoredEvent, canonical, columns_match, event_hash, verify_chain


def chain(n: int) -> list[StoredEvent]:
    events, prev = [], GENESIS
    for seq in range(1, n + 1):
        payload = canonical({"seq": seq, "action": "unit.update", "after": {"name": f"单位{seq}"}})
        ev = StoredEvent(seq, payload, prev, event_hash(prev, seq, payload))
        events.append(ev)
        prev = ev.hash
    return events


def head_of(events: list[StoredEvent]) -> tuple[int, str]:
    return (events[-1].seq, events[-1].hash) if events else (0, GENESIS)


def kinds(problems) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in problems]


def test_canonical_sorts_keys_drops_spaces_and_keeps_chinese():
    assert canonical({"b": 1, "a": "单位"}) == '{"a":"单位","b":1}'
    assert canonical({"a": [1, {"d": None, "c": True}]}) == canonical({"a": [1, {"c": True, "d": None}]})


def test_event_hash_covers_previous_hash_seq_and_payload():
    base = event_hash(GENESIS, 1, "{}")
    assert len(base) == 64 and base == event_hash(GENESIS, 1, "{}")
    assert base != event_hash("1" * 64, 1, "{}")
    assert base != event_hash(GENESIS, 2, "{}")
    assert base != event_hash(GENESIS, 1, '{"a":1}')


@pytest.mark.parametrize("n", [0, 1, 5])
def test_an_intact_chain_has_no_problems(n):
    events = chain(n)
    assert verify_chain(events, head_of(events)) == []
    assert verify_chain(events) == []


def test_a_changed_payload_is_reported_as_changed_at_that_seq_only():
    events = chain(5)
    events[1] = dataclasses.replace(events[1], payload=events[1].payload.replace("单位2", "单位X"))
    assert kinds(verify_chain(events, head_of(chain(5)))) == [(2, "changed")]


def test_a_changed_payload_with_a_recomputed_hash_breaks_the_next_link():
    events = chain(5)
    forged_payload = events[1].payload.replace("单位2", "单位X")
    events[1] = dataclasses.replace(events[1], payload=forged_payload,
                                    hash=event_hash(events[1].prev_hash, 2, forged_payload))
    assert kinds(verify_chain(events, head_of(chain(5)))) == [(3, "broken_link")]


def test_a_removed_middle_row_is_reported_as_a_gap_and_a_broken_link():
    events = chain(5)
    head = head_of(events)
    del events[1]
    problems = verify_chain(events, head)
    assert kinds(problems) == [(2, "gap"), (3, "broken_link")]
    assert "2" in problems[0].message


def test_several_removed_rows_are_one_gap_naming_the_range():
    events = chain(6)
    head = head_of(events)
    del events[1:4]  # seqs 2, 3, 4
    problems = verify_chain(events, head)
    assert kinds(problems) == [(2, "gap"), (5, "broken_link")]
    assert "2" in problems[0].message and "4" in problems[0].message


def test_a_removed_first_row_is_found():
    events = chain(3)
    head = head_of(events)
    assert kinds(verify_chain(events[1:], head)) == [(1, "gap"), (2, "broken_link")]


def test_a_row_inserted_between_two_rows_is_found():
    events = chain(4)
    # A forger computes a valid hash for a new row after seq 2; the rows after it keep their seqs.
    payload = canonical({"seq": 3, "action": "unit.update", "after": {"name": "伪造"}})
    forged = StoredEvent(3, payload, events[1].hash, event_hash(events[1].hash, 3, payload))
    tampered = events[:2] + [forged] + events[2:]
    assert kinds(verify_chain(tampered, head_of(events))) == [(3, "out_of_order"), (3, "broken_link")]


def test_rows_in_the_wrong_order_are_reported():
    events = chain(4)
    swapped = [events[0], events[2], events[1], events[3]]
    found = kinds(verify_chain(swapped, head_of(events)))
    assert (2, "out_of_order") in found and (3, "broken_link") in found


def test_a_row_appended_behind_the_heads_back_is_found():
    events = chain(3)
    head = head_of(events)
    payload = canonical({"seq": 4, "action": "unit.update"})
    extra = StoredEvent(4, payload, events[-1].hash, event_hash(events[-1].hash, 4, payload))
    assert kinds(verify_chain([*events, extra], head)) == [(4, "beyond_head")]


def test_a_removed_last_row_is_found_through_the_head():
    events = chain(4)
    head = head_of(events)
    assert kinds(verify_chain(events[:-1], head)) == [(4, "removed_tail")]
    # without the head the chain that is left is self-consistent: the head is what catches it
    assert verify_chain(events[:-1]) == []


def test_all_rows_removed_is_found_through_the_head():
    events = chain(2)
    assert kinds(verify_chain([], head_of(events))) == [(1, "removed_tail")]


def test_a_replaced_last_row_with_a_valid_hash_is_found_through_the_heads_hash():
    events = chain(3)
    head = head_of(events)
    payload = canonical({"seq": 3, "action": "unit.update", "after": {"name": "伪造"}})
    events[-1] = StoredEvent(3, payload, events[1].hash, event_hash(events[1].hash, 3, payload))
    assert kinds(verify_chain(events, head)) == [(3, "head_mismatch")]


def test_verify_chain_reads_a_generator_once():
    events = chain(3)
    assert verify_chain(iter(events), head_of(events)) == []


AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SIGNED = canonical({"seq": 1, "at": AT.isoformat(), "action": "unit.create", "entity_type": "unit",
                    "entity_id": "7", "actor_id": None, "actor_role": None})
COLUMNS = {"at": AT, "action": "unit.create", "entity_type": "unit", "entity_id": "7", "actor_id": None,
           "actor_role": None}


def test_columns_that_repeat_the_payload_match_it():
    assert columns_match(SIGNED, COLUMNS)
    # the same instant in another zone is the same time
    assert columns_match(SIGNED, {**COLUMNS, "at": AT.astimezone(timezone(timedelta(hours=8)))})


@pytest.mark.parametrize("changes", [
    {"entity_id": "8"}, {"action": "unit.deactivate"}, {"actor_id": 1}, {"actor_role": "admin"},
    {"at": AT + timedelta(seconds=1)}, {"entity_type": "staff"},
])
def test_a_column_that_differs_from_the_payload_does_not_match(changes):
    assert not columns_match(SIGNED, {**COLUMNS, **changes})


@pytest.mark.parametrize("payload", ["not json", "[]", canonical({"at": "yesterday"})])
def test_an_unreadable_payload_matches_no_columns(payload):
    assert not columns_match(payload, {"at": AT})


def test_verify_chain_reports_a_row_whose_columns_disagree_with_its_payload_as_changed():
    ev = StoredEvent(1, SIGNED, GENESIS, event_hash(GENESIS, 1, SIGNED), columns=COLUMNS)
    assert verify_chain([ev], (1, ev.hash)) == []
    moved = dataclasses.replace(ev, columns={**COLUMNS, "entity_id": "8"})
    assert kinds(verify_chain([moved], (1, ev.hash))) == [(1, "changed")]
