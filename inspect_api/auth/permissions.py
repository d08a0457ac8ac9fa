"""Who may do what, in one place: pure `can_<verb>(user, obj)` functions (indico's style).

`roles(...)` on a view says which roles may call an endpoint at all; these functions decide about
one object. Pure: a user and plain attributes in, a bool out; no Flask, no database. Where the answer
depends on a unit's place in the registry (a liaison sees its unit's subtree), the caller passes what
it looked up (`covers`, a callable asked only when the answer depends on it), so the rules stay
testable on plain values (tests/unit/test_permissions.py runs them over roles × verbs).

A caller outside scope gets 404, not 403, wherever 403 would reveal that the object exists: the
callers turn a False into NotFound.
"""

from __future__ import annotations

from collections.abc import Callable

from inspect_api.auth.rules import Role

OFFICE_ROLES = frozenset({Role.OFFICE, Role.ADMIN})
# Who reads every visit (the office, the admin, leaders); inspectors read their team's.
READ_ALL_VISITS = frozenset({Role.OFFICE, Role.ADMIN, Role.LEADER})


def _never() -> bool:
    return False


# --- visits and evidence -----------------------------------------------------------------------------

def on_team(user, visit) -> bool:
    """The user made the visit or is one of its inspectors."""
    return user.id in (visit.team or ()) or user.id == visit.created_by


def can_read_visit(user, visit) -> bool:
    return user.role in READ_ALL_VISITS or (user.role == Role.INSPECTOR and on_team(user, visit))


def can_edit_visit(user, visit) -> bool:
    """Write the content of an existing visit (sync, PUT): its own inspectors only."""
    return user.role == Role.INSPECTOR and on_team(user, visit)


def can_submit_visit(user, visit) -> bool:
    return on_team(user, visit)


def can_list_all_visits(user) -> bool:
    """False: the list is narrowed to the user's own visits."""
    return user.role != Role.INSPECTOR


def can_join_team(user) -> bool:
    """Be named on a visit's team: an active inspector account."""
    return user.role == Role.INSPECTOR and bool(user.is_active)


def can_read_evidence(user, visit, variant: str, *, covers: Callable[[], bool] = _never) -> bool:
    """Originals and working copies: the office, the admin and the visit's inspectors. A liaison only
    ever gets the watermarked copy, and only of a confirmed finding about its unit (`covers`)."""
    if user.role in OFFICE_ROLES:
        return True
    if user.role == Role.INSPECTOR:
        return on_team(user, visit)
    if user.role == Role.UNIT_LIAISON and variant == "watermarked":
        return covers()
    return False


# --- review --------------------------------------------------------------------------------------------

def can_read_attachment(user, attachment, *, covers: Callable[[], bool] = _never) -> bool:
    """An appeal's or a rectification report's file: the office and the admin; a liaison of the unit it
    concerns (`covers`)."""
    if user.role == Role.UNIT_LIAISON:
        return covers()
    return True


# --- complaints -----------------------------------------------------------------------------------------

def can_handle_complaint(user) -> bool:
    """Be assigned a complaint (承办人): an active office account."""
    return user is not None and user.role == Role.OFFICE and bool(user.is_active)


# --- documents -------------------------------------------------------------------------------------------

def can_read_document(user, doc, *, covers: Callable[[], bool] = _never) -> bool:
    """Office, admin: all; leaders: issued ones; a liaison: issued ones naming its unit (`covers`)."""
    if user.role == Role.UNIT_LIAISON:
        return doc.status == "issued" and covers()
    if user.role == Role.LEADER:
        return doc.status == "issued"
    return True


def can_see_drafts(user) -> bool:
    """Documents before they are issued (leaders and liaisons see issued ones only)."""
    return user.role in OFFICE_ROLES


def can_see_document_workflow(user) -> bool:
    """Who made, approved and changed a document: not a liaison, who gets the unit's view."""
    return user.role != Role.UNIT_LIAISON


# --- sampling --------------------------------------------------------------------------------------------

def can_be_drawn(user) -> bool:
    """An account the inspection draw may put on a team (and so one a conflict of interest is declared
    for): an inspector."""
    return user is not None and user.role == Role.INSPECTOR
