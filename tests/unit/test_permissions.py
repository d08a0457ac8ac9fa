"""Who may do what (auth/permissions.py), as one table: every role × every verb, on plain values.

Each row names a verb, the situation it is asked in, and the roles that get True; every other role
must get False. A change of who may do what changes this table, in plain sight."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from inspect_api.auth import permissions as p
from inspect_api.auth.rules import ALL_ROLES

ME = 7


def user(role: str, *, active: bool = True):
    return SimpleNamespace(id=ME, role=role, is_active=active)


VISIT_MINE = SimpleNamespace(team=[ME, 8], created_by=8)
VISIT_MADE_BY_ME = SimpleNamespace(team=[8, 9], created_by=ME)
VISIT_OTHERS = SimpleNamespace(team=[8, 9], created_by=8)
DRAFT = SimpleNamespace(status="draft")
ISSUED = SimpleNamespace(status="issued")
ATTACHMENT = SimpleNamespace(owner_type="appeal", owner_id=1)
YES, NO = (lambda: True), (lambda: False)

ALL = set(ALL_ROLES)
OFFICE, ADMIN, LEADER, LIAISON, INSPECTOR = "office", "admin", "leader", "unit_liaison", "inspector"

# (verb, situation, call, roles answered True)
TABLE = [
    ("read_visit", "own team", lambda u: p.can_read_visit(u, VISIT_MINE), {OFFICE, ADMIN, LEADER, INSPECTOR}),
    ("read_visit", "made it", lambda u: p.can_read_visit(u, VISIT_MADE_BY_ME), {OFFICE, ADMIN, LEADER, INSPECTOR}),
    ("read_visit", "another team's", lambda u: p.can_read_visit(u, VISIT_OTHERS), {OFFICE, ADMIN, LEADER}),
    ("edit_visit", "own team", lambda u: p.can_edit_visit(u, VISIT_MINE), {INSPECTOR}),
    ("edit_visit", "another team's", lambda u: p.can_edit_visit(u, VISIT_OTHERS), set()),
    ("submit_visit", "own team", lambda u: p.can_submit_visit(u, VISIT_MINE), ALL),
    ("submit_visit", "another team's", lambda u: p.can_submit_visit(u, VISIT_OTHERS), set()),
    ("list_all_visits", "-", p.can_list_all_visits, ALL - {INSPECTOR}),
    ("join_team", "active account", p.can_join_team, {INSPECTOR}),
    ("join_team", "deactivated account", lambda u: p.can_join_team(user(u.role, active=False)), set()),
    ("read_evidence", "original, own team", lambda u: p.can_read_evidence(u, VISIT_MINE, "original"),
     {OFFICE, ADMIN, INSPECTOR}),
    ("read_evidence", "original, another team's", lambda u: p.can_read_evidence(u, VISIT_OTHERS, "original"),
     {OFFICE, ADMIN}),
    ("read_evidence", "watermarked, finding of my unit",
     lambda u: p.can_read_evidence(u, VISIT_OTHERS, "watermarked", covers=YES), {OFFICE, ADMIN, LIAISON}),
    ("read_evidence", "watermarked, another unit's",
     lambda u: p.can_read_evidence(u, VISIT_OTHERS, "watermarked", covers=NO), {OFFICE, ADMIN}),
    ("read_evidence", "display copy, finding of my unit",
     lambda u: p.can_read_evidence(u, VISIT_OTHERS, "display", covers=YES), {OFFICE, ADMIN}),
    ("read_attachment", "my unit's", lambda u: p.can_read_attachment(u, ATTACHMENT, covers=YES), ALL),
    ("read_attachment", "another unit's", lambda u: p.can_read_attachment(u, ATTACHMENT, covers=NO), ALL - {LIAISON}),
    ("handle_complaint", "active account", p.can_handle_complaint, {OFFICE}),
    ("handle_complaint", "deactivated account", lambda u: p.can_handle_complaint(user(u.role, active=False)), set()),
    ("read_document", "draft", lambda u: p.can_read_document(u, DRAFT, covers=YES), ALL - {LEADER, LIAISON}),
    ("read_document", "issued, naming my unit", lambda u: p.can_read_document(u, ISSUED, covers=YES), ALL),
    ("read_document", "issued, naming others", lambda u: p.can_read_document(u, ISSUED, covers=NO), ALL - {LIAISON}),
    ("see_drafts", "-", p.can_see_drafts, {OFFICE, ADMIN}),
    ("see_document_workflow", "-", p.can_see_document_workflow, ALL - {LIAISON}),
    ("be_drawn", "-", p.can_be_drawn, {INSPECTOR}),
]


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize(("verb", "situation", "call", "allowed"), TABLE, ids=[f"{v}: {s}" for v, s, _c, _a in TABLE])
def test_each_role_may_do_exactly_what_the_table_says(role, verb, situation, call, allowed):
    assert call(user(role)) is (role in allowed), f"{role} may {'' if role in allowed else 'not '}{verb} ({situation})"


def test_the_covers_lookup_is_asked_only_when_the_answer_depends_on_it():
    def boom():
        raise AssertionError("looked up for nothing")

    assert p.can_read_evidence(user(OFFICE), VISIT_OTHERS, "watermarked", covers=boom)
    assert not p.can_read_evidence(user(LIAISON), VISIT_OTHERS, "original", covers=boom)
    assert not p.can_read_document(user(LIAISON), DRAFT, covers=boom)
    assert p.can_read_attachment(user(OFFICE), ATTACHMENT, covers=boom)


def test_no_account_is_drawn_or_handles_a_complaint():
    assert not p.can_be_drawn(None)
    assert not p.can_handle_complaint(None)
