"""The statistics rollup (stats/rollup.py, kept by triggers) after a random sequence of the changes
that move its figures: review decisions (confirm, dismiss, send back and submit again, reopen, adjust
severity), appeals upheld and rejected, rectification reports accepted and returned, the nightly
overdue flag, days passing (open rectifications falling due), units moved and windows given another
staffing department. At checkpoints the summary, the trend and the per-unit rows read from the rollup
equal the same services reading the raw tables, and the summary equals a hand-written SQL query of the
same aggregate; at the end the trigger-kept rollup, compacted, equals a rebuilt one."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import UTCDateTime, db
from inspect_api.errors import DomainError
from inspect_api.org import services as org
from inspect_api.review import rules as review_rules
from inspect_api.review import services as review
from inspect_api.review.models import Rectification
from inspect_api.stats import rollup, rules, services
from inspect_api.stats.models import MEASURES, stats_rollup
from inspect_api.visits import services as visits
from inspect_api.visits.models import Finding, Visit
from tests.helpers import make_unit, make_user

CST = ZoneInfo("Asia/Shanghai")
PERIODS = [(date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 10, 15), date(2026, 12, 20)),
           (date(2026, 12, 1), date(2026, 12, 31)), (date(2026, 1, 1), date(2026, 12, 31))]

HAND_VISITS = """
SELECT count(*), count(DISTINCT v.unit_id) FROM visits v {units}
WHERE v.submitted_at >= :start AND v.submitted_at < :end"""

HAND_FINDINGS = """
SELECT f.status, f.category, f.severity, r.status, r.due_on, count(*), sum(f.points)
FROM findings f JOIN visits v ON v.id = f.visit_id {units}
LEFT JOIN rectifications r ON r.finding_id = f.id
WHERE v.submitted_at >= :start AND v.submitted_at < :end AND f.status <> 'draft'
GROUP BY f.status, f.category, f.severity, r.status, r.due_on"""


def hand_written(start: date, end: date, as_of: date, under_path: str | None) -> dict:
    """The period's figures by plain SQL, as an office user sees them."""
    units = "JOIN units u ON u.id = v.unit_id AND u.path LIKE :path" if under_path else ""
    utc = rules.Period(start, end).utc_range(LOCAL_TZ)
    params = {"start": utc[0], "end": utc[1], "path": f"{under_path}%"}

    def run(sql):
        stmt = sa.text(sql.format(units=units)).bindparams(sa.bindparam("start", type_=UTCDateTime()),
                                                            sa.bindparam("end", type_=UTCDateTime()))
        return db.session.execute(stmt, {k: v for k, v in params.items() if under_path or k != "path"})

    visits_n, units_n = run(HAND_VISITS).one()
    out = {"visits": visits_n, "units_visited": units_n, "findings": 0,
           "by_status": dict.fromkeys(services.FINDING_STATUSES, 0), "confirmed": 0, "points": 0,
           "by_category": dict.fromkeys(CATEGORIES, 0), "by_severity": dict.fromkeys(SEVERITIES, 0),
           "rectifications": dict.fromkeys(services.RECTIFICATION_STATES, 0)}
    for status, category, severity, rect, due_on, n, points in run(HAND_FINDINGS):
        out["findings"] += n
        out["by_status"][status] += n
        if status == "confirmed":
            out["confirmed"] += n
            out["points"] += points
            out["by_category"][category] += n
            out["by_severity"][severity] += n
        if rect is not None:
            due = due_on if isinstance(due_on, date) else date.fromisoformat(str(due_on)[:10])
            out["rectifications"]["overdue" if rect == "open" and due < as_of else rect] += n
    return out


def _as_hand(fig: dict) -> dict:
    return {"visits": fig["visits"], "units_visited": fig["units_visited"], "findings": fig["findings"]["total"],
            "by_status": fig["findings"]["by_status"], "confirmed": fig["confirmed"]["total"],
            "points": fig["confirmed"]["points"], "by_category": fig["confirmed"]["by_category"],
            "by_severity": fig["confirmed"]["by_severity"], "rectifications": fig["rectifications"]}


def check_everything(readers, under) -> int:
    """Rollup == raw for every reader, period and endpoint; the office's summary == hand-written SQL."""
    checked = 0
    as_of = services.clock.today()
    for user in readers:
        for start, end in PERIODS:
            for extra in ({}, {"under": under.id}, {"compare": "year_ago"}):
                if user.role == "unit_liaison" and extra.get("under"):
                    continue
                args = {"start": start, "end": end, **extra}
                got = services.summary(user, args, use_rollup=True)
                assert got == services.summary(user, args, use_rollup=False), (user.role, args)
                if user.role == "office" and "compare" not in extra:
                    assert _as_hand(got["current"]) == hand_written(start, end, as_of, under.path if extra else None)
                checked += 1
            for granularity in ("week", "month"):
                args = {"start": start, "end": end, "granularity": granularity}
                assert services.trend(user, args, use_rollup=True) == services.trend(user, args, use_rollup=False)
            for extra in ({}, {"rollup": True, "depth": 1}, {"sort": "rectifications_overdue"}):
                args = {"start": start, "end": end, **extra}
                assert (services.page_of_units(user, args, 1, 100, use_rollup=True)
                        == services.page_of_units(user, args, 1, 100, use_rollup=False)), (user.role, args)
    return checked


def _rollup_totals() -> dict:
    """The rollup's figures (delta rows summed): per grain, bucket and unit, and the open rectifications
    per due day or month too (the other figures of a row may sit under any due month of its key)."""
    t = stats_rollup.c
    out: dict = {}
    for grain, bucket, unit_id, open_due, *values in db.session.execute(
            sa.select(t.grain, t.bucket, t.unit_id, t.open_due, *(t[m] for m in MEASURES))):
        for m, v in zip(MEASURES, values, strict=True):
            key = (grain, bucket, unit_id, m, open_due if m in ("r_open", "rv_open") else None)
            out[key] = out.get(key, 0) + v
    return {k: v for k, v in out.items() if v}


@pytest.fixture()
def county(client, field, clock):
    """The field's county C with its hall H (field.unit); departments D1, D2 under C; windows W1, W2 in
    H staffed by D1 and D2, W3 in H unstaffed; a hall H2 under D2 with a window W4."""
    c = field.unit.parent
    d1 = make_unit(parent=c, name="一局", kind="department", code="D1")
    d2 = make_unit(parent=c, name="二局", kind="department", code="D2")
    h2 = make_unit(parent=d2, name="二局大厅", kind="hall", code="H2")
    w1, w2, w3 = (make_unit(parent=field.unit, name=f"{n}号窗口", kind="window", code=f"W{n}") for n in (1, 2, 3))
    w4 = make_unit(parent=h2, name="4号窗口", kind="window", code="W4")
    org.update_unit(w1, {"staffing_unit_id": d1.id})
    org.update_unit(w2, {"staffing_unit_id": d2.id})
    return {"c": c, "h": field.unit, "d1": d1, "d2": d2, "h2": h2, "windows": [w1, w2, w3, w4]}


def _id(rng: random.Random) -> str:
    """A uuid4 from the test's generator: the random scenarios pick rows ordered by id, so ids drawn
    from the seed keep a seed's scenario the same on every run (uuid.uuid4() would not)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _visit(client, field, clock, when: datetime, unit, rng: random.Random, submit: bool | None = None) -> str:
    clock.at = when.astimezone(UTC)
    findings = [{"id": _id(rng), "category": rng.choice(list(CATEGORIES)), "severity": rng.choice(list(SEVERITIES)),
                 "description": "现场发现"} for _ in range(rng.randint(1, 3))]
    body = field.visit(unit_id=unit.id, staff_id=None, window_no=None, responses=[], findings=findings,
                       started_at=(when - timedelta(minutes=30)).isoformat(),
                       ended_at=(when - timedelta(minutes=5)).isoformat(), device_time=when.isoformat())
    vid = _id(rng)
    assert client.put(f"/api/v1/visits/{vid}", json=body, headers=field.ha).status_code == 201
    if rng.random() < 0.9 if submit is None else submit:  # some stay drafts
        assert client.post(f"/api/v1/visits/{vid}/submit", headers=field.ha).status_code == 200
    return vid


def test_the_rollup_answers_as_the_raw_tables_and_the_hand_written_sql_after_random_changes(client, field, county,
                                                                                          clock):
    rng = random.Random(20)
    units = [county["h"], county["d1"], county["h2"], *county["windows"]]
    for _ in range(14):
        day = datetime(2026, 10, 20, 9, 0, tzinfo=CST) + timedelta(days=rng.randint(0, 50), hours=rng.randint(0, 14))
        _visit(client, field, clock, day, rng.choice(units), rng)
    clock.at = datetime(2026, 12, 11, 10, 0, tzinfo=CST).astimezone(UTC)
    office, other_office = make_user("office"), make_user("office")
    liaison = make_user("unit_liaison", unit=county["c"])
    hall_liaison = make_user("unit_liaison", unit=county["h"])
    leader = make_user("leader")
    readers = [office, leader, hall_liaison]

    def findings(*statuses):
        return list(db.session.scalars(sa.select(Finding).where(Finding.status.in_(statuses)).order_by(Finding.id)))

    def step(kind: str) -> None:
        if kind in ("confirm", "dismiss", "send_back", "adjust_severity", "reopen"):
            pool = findings(*{"reopen": ("confirmed", "dismissed", "withdrawn"),
                              "adjust_severity": ("pending_review", "confirmed")}.get(kind, ("pending_review",)))
            if pool:
                f = rng.choice(pool)
                severity = rng.choice([s for s in SEVERITIES if s != f.severity]) if kind == "adjust_severity" else None
                review.decide(f, review_rules.Decision(action=kind, reason="核实", severity=severity),
                              rng.choice([office, other_office]))
        elif kind == "resubmit":
            drafts = list(db.session.scalars(sa.select(Visit).where(Visit.status == "draft").order_by(Visit.id)))
            if drafts:
                visits.submit(rng.choice(drafts), field.a)
        elif kind == "appeal":
            pool = findings("confirmed")
            if pool:
                appeal = review.file_appeal(rng.choice(pool).id, "申辩", [], liaison)
                review.decide_appeal(appeal, rng.choice(["uphold", "reject"]), "理由", office)
        elif kind == "report":
            pool = list(db.session.scalars(sa.select(Finding).join(Rectification, Rectification.finding_id == Finding.id)
                                           .where(Finding.status == "confirmed",
                                                  Rectification.status.in_(("open", "overdue")))
                                           .order_by(Finding.id)))
            if pool:
                report = review.file_report(rng.choice(pool).id, "已整改", [], liaison)
                action = rng.choice(["accept", "return"])
                review.decide_report(report, action, "补充" if action == "return" else None, office)
        elif kind == "days_pass":
            clock.advance(days=rng.randint(1, 9))
        elif kind == "flag_overdue":
            review.flag_overdue_rectifications()
        elif kind == "move_unit":
            org.update_unit(county["h2"], {"parent_id": rng.choice([county["d1"].id, county["d2"].id, county["c"].id])})
        elif kind == "staffing":
            window = rng.choice(county["windows"][:3])
            org.update_unit(window, {"staffing_unit_id": rng.choice([county["d1"].id, county["d2"].id, None])})

    kinds = ["confirm"] * 6 + ["dismiss", "send_back", "resubmit", "resubmit", "adjust_severity", "reopen", "appeal",
                               "report", "report", "days_pass", "flag_overdue", "move_unit", "staffing"]
    checked = 0
    for i in range(60):
        kind = rng.choice(kinds)
        try:
            with db.session.begin_nested():
                step(kind)
        except DomainError:
            pass  # refused (an appeal out of its window, four eyes …): nothing changed
        if i % 12 == 11:
            checked += check_everything(readers, county["d2"])
    checked += check_everything([*readers, liaison], county["h"])
    assert checked > 100
    statuses = {s for (s,) in db.session.execute(sa.select(Finding.status).distinct())}
    assert {"confirmed", "pending_review", "dismissed"} <= statuses  # the sequence did move things

    # compaction changes no figure and leaves one row per key; a rebuild finds what the triggers kept
    kept = _rollup_totals()
    rollup.compact()
    assert _rollup_totals() == kept
    t = stats_rollup.c
    keys = sa.select(t.grain, t.bucket, t.unit_id, t.open_due).distinct().subquery()
    assert (db.session.scalar(sa.select(sa.func.count()).select_from(stats_rollup))
            == db.session.scalar(sa.select(sa.func.count()).select_from(keys)))
    rollup.rebuild()
    assert _rollup_totals() == kept


def test_a_category_outside_the_rollups_columns_is_answered_from_the_raw_tables(client, field, county, clock):
    rng = random.Random(3)
    _visit(client, field, clock, datetime(2026, 11, 10, 10, 0, tzinfo=CST), county["h"], rng, submit=True)
    office = make_user("office")
    db.session.execute(sa.update(Finding).values(status="confirmed", category="not_a_category"))
    args = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
    body = services.summary(office, args)
    assert body == services.summary(office, args, use_rollup=False)
    assert body["current"]["confirmed"]["by_category"]["not_a_category"] > 0


def test_rebuild_and_compact_commands(app, client, field, county, clock):
    _visit(client, field, clock, datetime(2026, 11, 10, 10, 0, tzinfo=CST), county["h"], random.Random(5))
    runner = app.test_cli_runner()
    rebuilt = runner.invoke(args=["stats", "rebuild"])
    assert rebuilt.exit_code == 0 and "rebuilt" in rebuilt.output
    compacted = runner.invoke(args=["stats", "compact"])
    assert compacted.exit_code == 0 and "compacted" in compacted.output
