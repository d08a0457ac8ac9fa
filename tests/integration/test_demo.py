"""Demo data: the fictional county, its staff and service items, and one account per role; loaded
only into an empty database, never in production."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent
from inspect_api.auth.models import User
from inspect_api.auth.passwords import verify_password
from inspect_api.config import DEMO_PASSWORD
from inspect_api.db import db
from inspect_api.demo import DEMO_ACCOUNTS, DemoRefused, load_demo
from inspect_api.org.models import ServiceItem, Staff, Unit
from inspect_api.ratings.models import Rating, RatingFollowUp


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def by_code(code: str) -> Unit:
    return db.session.scalar(sa.select(Unit).where(Unit.code == code))


def test_demo_loads_a_county_with_staff_items_and_accounts(dbsession):
    summary = load_demo()
    assert summary.loaded
    assert [(r.kind, r.created) for r in summary.reports] == [("units", 15), ("staff", 40), ("service-items", 20)]
    assert (count(Unit), count(Staff), count(ServiceItem), count(User)) == (15, 40, 20, 9)

    county = by_code("QC")
    assert county.kind == "county" and county.parent_id is None and county.head_name
    kinds = {u.kind for u in db.session.scalars(sa.select(Unit))}
    assert kinds == {"county", "department", "hall", "window"}
    for u in db.session.scalars(sa.select(Unit)):
        assert u.path.startswith(county.path) and u.head_name and u.head_title and u.opening_hours
        if u.kind == "window":
            assert u.parent.kind == "hall"

    backups = db.session.scalars(sa.select(Staff).where(Staff.backup_id.is_not(None))).all()
    assert len(backups) >= 10 and all(s.backup_id != s.id for s in backups)
    assert all(s.badge_no.startswith("QC-") for s in db.session.scalars(sa.select(Staff)))

    items = db.session.scalars(sa.select(ServiceItem)).all()
    assert all(i.committed_limit_days <= i.statutory_limit_days and len(i.materials) >= 2 for i in items)
    on_the_spot = [i for i in items if i.on_the_spot]
    assert on_the_spot and all(i.committed_limit_days == 0 for i in on_the_spot)
    getihu = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.name == "个体工商户设立登记"))
    assert getihu.materials[0] == {"code": "M1", "name": "经营者签署的个体工商户设立登记申请书", "note": None}


def test_demo_accounts_have_the_demo_password_and_their_units(dbsession):
    load_demo()
    users = {u.username: u for u in db.session.scalars(sa.select(User))}
    assert sorted(users) == sorted(a.username for a in DEMO_ACCOUNTS)
    roles = sorted(u.role for u in users.values())
    assert roles == ["admin", "inspector", "inspector", "inspector", "inspector", "leader", "office", "office",
                     "unit_liaison"]
    assert all(verify_password(u.password_hash, DEMO_PASSWORD) for u in users.values())
    assert all(u.full_name and not u.full_name.isascii() for u in users.values())
    assert users["liaison1"].unit.name == "清川县市场监督管理局"
    inspector_units = {users[f"inspector{i}"].unit for i in range(1, 5)}
    assert len(inspector_units) == 4 and all(u.kind == "department" for u in inspector_units)


def test_a_second_load_changes_nothing(dbsession):
    load_demo()
    events = count(AuditEvent)
    again = load_demo()
    assert not again.loaded and again.reports == [] and again.accounts == []
    assert count(AuditEvent) == events and count(User) == 9


def test_demo_is_not_loaded_into_a_database_with_a_user(dbsession):
    from tests.helpers import make_user

    make_user("office")
    assert not load_demo().loaded
    assert count(Unit) == 0


def test_force_upserts_the_registry_and_adds_only_missing_accounts(dbsession):
    load_demo()
    db.session.delete(db.session.scalar(sa.select(User).where(User.username == "leader1")))
    events = count(AuditEvent)
    summary = load_demo(force=True)
    assert summary.loaded and [a.username for a in summary.accounts] == ["leader1"]
    assert [(r.created, r.updated) for r in summary.reports] == [(0, 0)] * 3
    assert [r.unchanged for r in summary.reports] == [15, 40, 20]
    assert summary.ratings == {"rows": 170, "created": 0, "unchanged": 170}
    assert count(AuditEvent) == events + 1  # the account, nothing for the registry


def test_demo_has_a_year_of_ratings_for_the_six_windows(dbsession):
    summary = load_demo()
    assert summary.ratings == {"rows": 170, "created": 170, "unchanged": 0}
    per_unit = dict(db.session.execute(sa.select(Unit.code, sa.func.count()).join(Rating, Rating.unit_id == Unit.id)
                                       .group_by(Unit.code)).all())
    assert per_unit == {"QC-W01": 32, "QC-W02": 26, "QC-W03": 41, "QC-W04": 18, "QC-W05": 24, "QC-W06": 29}
    for rating in db.session.scalars(sa.select(Rating)):  # each rated at its own window, within 2026
        assert rating.window_no == db.session.get(Unit, rating.unit_id).code[-1] and rating.rated_on.year == 2026
    # every 差评 (score ≤ 2) opened a follow-up; QC-W04 has fewer than 20 raters on purpose
    bad = db.session.scalar(sa.select(sa.func.count()).select_from(Rating).where(Rating.score <= 2))
    assert bad == count(RatingFollowUp) == 22


def test_demo_is_refused_in_production(app, dbsession, monkeypatch):
    monkeypatch.setitem(app.config, "INSPECT_ENV", "production")
    with pytest.raises(DemoRefused, match="生产环境"):
        load_demo()
    with pytest.raises(DemoRefused):
        load_demo(force=True)
    assert count(Unit) == 0 and count(User) == 0


def test_demo_cli_prints_the_accounts_then_refuses_a_second_time(app, dbsession):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    for account in DEMO_ACCOUNTS:
        assert any(line.split()[:3] == [account.username, account.role, DEMO_PASSWORD]
                   for line in first.stdout.splitlines()), account.username
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0 and "database not empty, demo data not loaded" in second.stdout


def test_demo_cli_fails_in_production(app, dbsession, monkeypatch):
    monkeypatch.setitem(app.config, "INSPECT_ENV", "production")
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 1 and "生产环境" in result.stderr
    assert count(Unit) == 0




def test_demo_has_a_few_supervised_matters_of_each_kind(dbsession):
    from inspect_api.matters.models import MatterUnit, SupervisedMatter

    summary = load_demo()
    kinds = [m.kind for m in db.session.scalars(sa.select(SupervisedMatter))]
    assert summary.matters == len(kinds) == 8
    assert {k: kinds.count(k) for k in set(kinds)} == {"leader_assigned": 3, "meeting_decision": 3, "key_work": 2}
    urgent = db.session.scalar(sa.select(SupervisedMatter).where(SupervisedMatter.level == "urgent"))
    assert urgent.leader_name == "林振华" and urgent.principal_leader and urgent.due_on is not None
    assert count(MatterUnit) >= 4
