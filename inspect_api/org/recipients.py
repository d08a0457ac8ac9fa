"""Who is told: the active office users, and the liaisons of units. Written once for every feature
that notifies (review, complaints, ratings, matters, accountability, documents, assessment, sampling).

A liaison sees its own unit's subtree, so "the liaisons of a unit" are, unless said otherwise, those
of the unit and of every unit above it."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from inspect_api.auth.models import User
from inspect_api.auth.rules import Role
from inspect_api.db import db
from inspect_api.org.models import Unit


def office_ids() -> list[int]:
    """Every active office user, by id."""
    return list(db.session.scalars(sa.select(User.id).where(User.role == Role.OFFICE, User.is_active.is_(True))
                                   .order_by(User.id)))


def _active_liaisons():
    return sa.select(User.id).where(User.role == Role.UNIT_LIAISON, User.is_active.is_(True))


def liaison_ids(unit_ids: Iterable[int | None] | sa.Select, *, above: bool = True) -> list[int]:
    """The active liaisons of the units, each once, by id: with `above`, also those of every unit
    above one of them (they see its subtree); without, only those of the units themselves (the
    units may then be a subquery)."""
    if not above:
        ids = unit_ids if isinstance(unit_ids, sa.Select) else [u for u in unit_ids if u is not None]
        return list(db.session.scalars(_active_liaisons().where(User.unit_id.in_(ids)).order_by(User.id)))
    wanted = [u for u in unit_ids if u is not None]
    ancestors: set[int] = set()
    if wanted:
        for path in db.session.scalars(sa.select(Unit.path).where(Unit.id.in_(wanted))):
            ancestors |= {int(x) for x in path.strip("/").split("/")}
    if not ancestors:
        return []
    return list(db.session.scalars(_active_liaisons().where(User.unit_id.in_(ancestors)).order_by(User.id)))


def liaisons_by_unit(unit_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(user id, unit id) of the active liaisons of exactly these units."""
    return [tuple(row) for row in db.session.execute(
        sa.select(User.id, User.unit_id).where(User.role == Role.UNIT_LIAISON, User.is_active.is_(True),
                                               User.unit_id.in_(list(unit_ids))).order_by(User.id))]
