"""Scheduler jobs are safe to run twice, and the scheduler keeps its jobs in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from inspect_api.audit.models import AuditEvent
from inspect_api.sampling import jobs, services
from inspect_api.sampling.models import SamplingAssignment, SamplingPlan
from inspect_api.scheduler import JOBS, build_scheduler
from tests.helpers import make_unit, make_user


def _plan(dbsession, actor, code="P-2026-12"):
    root = make_unit(kind="county", name="调度县")
    dept = make_unit(parent=root, name="调度部门")
    for i in range(3):
        make_unit(parent=dept, kind="window", name=f"调度窗口{i}")
    for _ in range(3):
        make_user("inspector")
    plan = services.create_plan({"code": code, "title": "十二月抽查", "period_start": date(2026, 12, 1),
                                 "period_end": date(2026, 12, 31), "pool": {"under": [root.id], "kinds": ["window"]},
                                 "sample_size": 2, "min_per_stratum": 0}, actor)
    services.commit_seed(plan, actor)
    services.draw(plan, actor)
    return plan


def _events(dbsession, action):
    return dbsession.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_drafting_next_month_twice_drafts_one_plan(dbsession, clock):
    actor = make_user("office")
    _plan(dbsession, actor, code="P-2026-11")
    clock.at = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert jobs.draft_next_plan() is None  # December is covered by the plan already
    clock.at = datetime(2026, 12, 20, 0, 0, tzinfo=UTC)
    first = jobs.draft_next_plan()
    assert first is not None and first.code == "AUTO-2027-01" and first.status == "draft"
    assert (first.period_start, first.period_end) == (date(2027, 1, 1), date(2027, 1, 31))
    assert first.sample_size == 2 and first.pool["kinds"] == ["window"]
    assert jobs.draft_next_plan() is None
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(SamplingPlan)) == 2


def test_releasing_twice_releases_each_assignment_once(dbsession, clock):
    actor = make_user("office")
    plan = _plan(dbsession, actor)
    assignments = dbsession.scalars(sa.select(SamplingAssignment).where(SamplingAssignment.plan_id == plan.id)).all()
    assert len(assignments) == 2
    clock.at = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    assert jobs.release_assignments() == 0
    clock.at = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert jobs.release_assignments() == 2
    assert jobs.release_assignments() == 0
    assert _events(dbsession, "assignment.release") == 2
    assert all(a.released_at is not None for a in assignments)


def test_the_scheduler_persists_its_jobs_in_the_database(tmp_path):
    from apscheduler.schedulers.background import BackgroundScheduler

    from inspect_api.core.jobstore import apscheduler_jobs

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = sa.create_engine(url)
    apscheduler_jobs.metadata.create_all(engine, tables=[apscheduler_jobs])  # as the migration does
    scheduler = build_scheduler(url, BackgroundScheduler)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT id, next_run_time FROM apscheduler_jobs")).all())
    assert set(stored) == set(JOBS) and all(stored.values())
    # a restarted scheduler finds the same jobs instead of adding them again
    again = build_scheduler(url, BackgroundScheduler)
    again.start(paused=True)
    assert sorted(j.id for j in again.get_jobs()) == sorted(JOBS)
    again.shutdown(wait=False)
    engine.dispose()


def test_release_notifies_each_team_member_once(dbsession, clock):
    from inspect_api.notifications.models import Notification

    actor = make_user("office")
    plan = _plan(dbsession, actor)
    clock.at = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    jobs.release_assignments()
    jobs.release_assignments()
    notes = dbsession.scalars(sa.select(Notification).where(Notification.kind == "assignment.released")).all()
    teams = [a.team for a in dbsession.scalars(sa.select(SamplingAssignment).where(
        SamplingAssignment.plan_id == plan.id))]
    assert sorted(n.user_id for n in notes) == sorted(u for team in teams for u in team)


def test_reminders_for_day_old_drafts_once_a_day(client, field, dbsession, clock):
    from inspect_api.notifications.models import Notification
    from inspect_api.visits.jobs import remind_unfinished_visits
    from tests.api.conftest import new_id

    vid = new_id()
    assert client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=field.ha).status_code == 201
    assert remind_unfinished_visits() == 0  # fresh drafts are left alone
    clock.advance(hours=25)
    assert remind_unfinished_visits() == 2  # both team members
    assert remind_unfinished_visits() == 0  # run twice: nothing new
    clock.advance(days=1)
    assert remind_unfinished_visits() == 2  # a new day, a new reminder
    notes = dbsession.scalars(sa.select(Notification).where(Notification.kind == "visit.unfinished")).all()
    assert {n.user_id for n in notes} == {field.a.id, field.b.id} and len(notes) == 4
    assert all(n.subject == {"visit_id": vid} for n in notes)
    listed = client.get("/api/v1/me/notifications?unread=true", headers=field.ha).get_json()
    assert len(listed) == 2 and listed[0]["title"].startswith("检查记录")
    read = client.post(f"/api/v1/me/notifications/{listed[0]['id']}/read", headers=field.ha)
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert len(client.get("/api/v1/me/notifications?unread=true", headers=field.ha).get_json()) == 1
    # someone else's notification is not found
    assert client.post(f"/api/v1/me/notifications/{listed[1]['id']}/read", headers=field.hb).status_code == 404
