"""Benchmark of the statistics API over a million generated findings on PostgreSQL, against
hand-written SQL of the same aggregates measured in the same run.

    .venv/bin/python scripts/bench_stats.py [--findings N] [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                            [--reuse] [--runs 7] [--review-findings 5000]

The database is `test_bench_stats` on `--server`, or, when INSPECT_TEST_DATABASE_URL names a
PostgreSQL database (say test_h20stats), `<that name>_bench` on its server (the test suite's own
database is wiped by every test run). It is created (dropped first), migrated to head like the test
suite does, and filled with `INSERT … SELECT generate_series` statements: a tree of 501 units
(county, 20 departments, 80 halls, 400 windows), a visit for every three findings spread over
2025–2026 (2% never submitted), findings with a realistic mix of statuses, categories and severities,
and a rectification for every confirmed, withdrawn or dismissed finding. The bulk load bypasses
triggers, so the statistics rollup is then rebuilt (`inspect-api stats rebuild`, timed). `--reuse`
keeps a database already filled with as many findings.

Each scenario times (median of `--runs`, after a warm-up) the HTTP request through the Flask test
client (token auth, JSON: the server's time, no network), the service reading the rollup, the same
service reading the raw tables (what it did before the rollup), and a hand-written SQL query of the
same aggregate sent straight through psycopg; the answers are checked to agree. The scenarios: the
summary of a month and of a year (each against the period before), a quarter, a quarter of one
department, and the three requests the console's leader dashboard makes (web/apps/console/src/pages/
Dashboard.vue: the summary of this month so far, the units' top 10 by points, the weekly trend).
Then the office's review queue (web/apps/console/src/pages/Review.vue: a page of 20 pending findings)
on a second database of `--review-findings` findings, and on the big one. JSON goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

BENCH_DB = "test_bench_stats"
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

CATEGORIES = ["badge_missing", "desk_plate_missing", "certificate_not_shown", "off_post", "late_or_early",
              "unrelated_activity", "incomplete_notice", "poor_attitude", "unequal_treatment", "shirking",
              "no_inquiry_register", "no_receipt", "overdue", "commitment_not_public", "no_evaluation"]


def _sqlalchemy_url(url: str, database: str) -> str:
    u = sa.make_url(url).set(drivername="postgresql+psycopg", database=database)
    return u.render_as_string(hide_password=False)


def _libpq_url(url: str, database: str) -> str:
    return sa.make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


def _existing_findings(server: str, name: str) -> int | None:
    try:
        with psycopg.connect(_libpq_url(server, name)) as conn:
            return conn.execute("SELECT n_findings FROM bench_meta").fetchone()[0]
    except psycopg.Error:
        return None


def _recreate_database(server: str, name: str) -> None:
    with psycopg.connect(_libpq_url(server, sa.make_url(server).database or "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _uuid(expr: str, prefix: str) -> str:
    """A deterministic UUID-shaped id from an integer expression (visits and findings use text ids)."""
    return f"'{prefix}-0000-4000-8000-' || lpad(to_hex({expr}), 12, '0')"


def generate(conn: psycopg.Connection, n_findings: int) -> dict:
    """Fill the migrated database; returns row counts and the seconds it took."""
    n_visits = -(-n_findings // 3)
    t0 = time.perf_counter()
    conn.execute("SET session_replication_role = replica")  # no FK triggers while bulk loading
    conn.execute("SELECT setseed(0.42)")
    # 1 county, 20 departments, 80 halls (4 each), 400 windows (5 each): ids 1, 2-21, 22-101, 102-501
    conn.execute("""
        INSERT INTO units (id, code, name, kind, parent_id, path, tags, is_active, version, change_seq,
                           created_at, updated_at)
        SELECT id, 'B' || id, '单位' || id,
               CASE WHEN id = 1 THEN 'county' WHEN id <= 21 THEN 'department' WHEN id <= 101 THEN 'hall'
                    ELSE 'window' END,
               CASE WHEN id = 1 THEN NULL WHEN id <= 21 THEN 1 WHEN id <= 101 THEN 2 + (id - 22) / 4
                    ELSE 22 + (id - 102) / 5 END,
               '', '[]', true, 1, 0, now(), now()
        FROM generate_series(1, 501) AS id""")
    # paths top-down: each level from its parent's
    conn.execute("UPDATE units SET path = '/1/' WHERE id = 1")
    for low, high in ((2, 21), (22, 101), (102, 501)):
        conn.execute("""UPDATE units u SET path = p.path || u.id || '/' FROM units p
                        WHERE p.id = u.parent_id AND u.id BETWEEN %s AND %s""", (low, high))
    conn.execute("SELECT setval('units_id_seq', 501)")
    conn.execute("""INSERT INTO users (id, username, full_name, role, password_hash, is_active, created_at, updated_at)
                    VALUES (1, 'bench_inspector', '督查员', 'inspector', 'x', true, now(), now())""")
    conn.execute("SELECT setval('users_id_seq', 1)")
    # visits at halls and windows, submitted uniformly over 2025-2026; 2% still drafts
    conn.execute(f"""
        INSERT INTO visits (id, code, status, mode, unit_id, checklist_code, checklist_version, checklist_hash,
                            allow_single_inspector, created_by, received_at, version, fingerprint,
                            submitted_at, submitted_by, created_at, updated_at)
        SELECT {_uuid('g', '00000000')}, 'V' || g, CASE WHEN r < 0.02 THEN 'draft' ELSE 'submitted' END,
               (ARRAY['covert', 'overt', 'mystery_shopper'])[1 + (g %% 3)], 22 + (g::bigint * 7919) %% 480,
               'sanxiang_covert', 1, repeat('0', 64), false, 1, t, 2, md5(g::text),
               CASE WHEN r < 0.02 THEN NULL ELSE t END, CASE WHEN r < 0.02 THEN NULL ELSE 1 END, t, t
        FROM (SELECT g, random() AS r,
                     timestamptz '2024-12-31 16:00+00' + random() * interval '730 days' AS t
              FROM generate_series(1, %s) AS g) s""", (n_visits,))
    conn.execute(f"""
        INSERT INTO findings (id, visit_id, source, category, severity, points, unit_id, status, created_at,
                              updated_at)
        SELECT {_uuid('g', '11111111')}, v.id, 'item', (%s::text[])[1 + floor(random() * 15)::int],
               sev, CASE sev WHEN 'minor' THEN 2 WHEN 'serious' THEN 5 ELSE 10 END, v.unit_id,
               CASE WHEN v.status = 'draft' THEN 'draft' WHEN r < 0.60 THEN 'confirmed'
                    WHEN r < 0.75 THEN 'pending_review' WHEN r < 0.90 THEN 'dismissed'
                    WHEN r < 0.95 THEN 'returned' ELSE 'withdrawn' END,
               v.created_at, v.created_at
        FROM (SELECT g, random() AS r,
                     CASE WHEN random() < 0.6 THEN 'minor' WHEN random() < 0.75 THEN 'serious' ELSE 'severe' END
                         AS sev
              FROM generate_series(1, %s) AS g) s
        JOIN visits v ON v.id = {_uuid('(s.g + 2) / 3', '00000000')}""", (CATEGORIES, n_findings))
    conn.execute("""
        INSERT INTO rectifications (finding_id, unit_id, due_on, provisional, appeal_provisional, status, set_at,
                                    flagged_overdue_at)
        SELECT f.id, f.unit_id, d.due_on, false, false,
               CASE WHEN f.status <> 'confirmed' THEN 'cancelled'
                    WHEN d.due_on >= current_date THEN (ARRAY['open', 'reported'])[1 + floor(r * 2)::int]
                    WHEN r < 0.5 THEN 'overdue' WHEN r < 0.8 THEN 'accepted' ELSE 'open' END,
               v.submitted_at + interval '2 days', NULL
        FROM findings f JOIN visits v ON v.id = f.visit_id
        CROSS JOIN LATERAL (SELECT (v.submitted_at + interval '16 days')::date AS due_on, random() AS r) d
        WHERE f.status IN ('confirmed', 'withdrawn', 'dismissed')""")
    conn.execute("SET session_replication_role = DEFAULT")
    conn.execute("CREATE TABLE bench_meta (n_findings integer)")
    conn.execute("INSERT INTO bench_meta VALUES (%s)", (n_findings,))
    conn.commit()
    loaded = time.perf_counter() - t0
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("units", "visits", "findings", "rectifications")}
    return {"rows": counts, "load_seconds": round(loaded, 1), "total_seconds": round(time.perf_counter() - t0, 1)}


# --- the hand-written baseline ------------------------------------------------------------------------

HAND_VISITS = """
SELECT count(*) FILTER (WHERE v.submitted_at >= %(cur)s),
       count(DISTINCT v.unit_id) FILTER (WHERE v.submitted_at >= %(cur)s),
       count(*) FILTER (WHERE v.submitted_at < %(cur)s),
       count(DISTINCT v.unit_id) FILTER (WHERE v.submitted_at < %(cur)s)
FROM visits v {units_join}
WHERE v.submitted_at >= %(prev)s AND v.submitted_at < %(end)s"""

HAND_FINDINGS = """
SELECT f.status, f.category, f.severity, r.status,
       count(*) FILTER (WHERE v.submitted_at >= %(cur)s),
       sum(f.points) FILTER (WHERE v.submitted_at >= %(cur)s),
       count(*) FILTER (WHERE v.submitted_at >= %(cur)s AND r.status = 'open' AND r.due_on < %(today)s),
       count(*) FILTER (WHERE v.submitted_at < %(cur)s),
       sum(f.points) FILTER (WHERE v.submitted_at < %(cur)s),
       count(*) FILTER (WHERE v.submitted_at < %(cur)s AND r.status = 'open' AND r.due_on < %(today)s)
FROM findings f
JOIN visits v ON v.id = f.visit_id {units_join}
LEFT JOIN rectifications r ON r.finding_id = f.id
WHERE v.submitted_at >= %(prev)s AND v.submitted_at < %(end)s AND f.status <> 'draft'
GROUP BY 1, 2, 3, 4"""


def hand_written(conn: psycopg.Connection, params: dict, under_path: str | None) -> dict:
    """The same figures from two plain statements, folded into the totals the check compares. The
    session has JIT off, as the service's transaction does."""
    join = "JOIN units u ON u.id = v.unit_id AND u.path LIKE %(path)s" if under_path else ""
    params = {**params, "path": f"{under_path}%" if under_path else None}
    out = {"current": _blank(), "previous": _blank()}
    visits = conn.execute(HAND_VISITS.format(units_join=join), params).fetchone()
    out["current"].update(visits=visits[0], units_visited=visits[1])
    out["previous"].update(visits=visits[2], units_visited=visits[3])
    for status, _category, _severity, rect, *counts in conn.execute(HAND_FINDINGS.format(units_join=join),
                                                                       params):
        for key, (n, points, past_due) in (("current", counts[:3]), ("previous", counts[3:])):
            fig = out[key]
            fig["findings"] += n
            if status == "confirmed":
                fig["confirmed"] += n
                fig["points"] += points or 0
            fig["overdue"] += past_due + (n if rect == "overdue" else 0)
    conn.rollback()
    return out


def _blank() -> dict:
    return {"visits": 0, "units_visited": 0, "findings": 0, "confirmed": 0, "points": 0, "overdue": 0}


def _totals(figures: dict) -> dict:
    return {"visits": figures["visits"], "units_visited": figures["units_visited"],
            "findings": figures["findings"]["total"], "confirmed": figures["confirmed"]["total"],
            "points": figures["confirmed"]["points"], "overdue": figures["rectifications"]["overdue"]}


HAND_UNITS = """
WITH fa AS (
    SELECT f.unit_id, count(*) AS findings, count(*) FILTER (WHERE f.status = 'confirmed') AS confirmed,
           coalesce(sum(f.points) FILTER (WHERE f.status = 'confirmed'), 0) AS points
    FROM findings f JOIN visits v ON v.id = f.visit_id
    WHERE v.submitted_at >= %(cur)s AND v.submitted_at < %(end)s AND f.status <> 'draft'
    GROUP BY f.unit_id),
va AS (
    SELECT v.unit_id, count(*) AS visits FROM visits v
    WHERE v.submitted_at >= %(cur)s AND v.submitted_at < %(end)s GROUP BY v.unit_id)
SELECT u.id, coalesce(fa.findings, 0), coalesce(fa.confirmed, 0), coalesce(fa.points, 0), coalesce(va.visits, 0)
FROM units u LEFT JOIN fa ON fa.unit_id = u.id LEFT JOIN va ON va.unit_id = u.id
ORDER BY 4 DESC, u.code, u.id LIMIT 10"""

HAND_TREND_FINDINGS = """
SELECT date_trunc('week', v.submitted_at AT TIME ZONE 'Asia/Shanghai')::date, count(*),
       count(*) FILTER (WHERE f.status = 'confirmed'), coalesce(sum(f.points) FILTER (WHERE f.status = 'confirmed'), 0),
       count(*) FILTER (WHERE r.status = 'overdue' OR (r.status = 'open' AND r.due_on < %(today)s))
FROM findings f JOIN visits v ON v.id = f.visit_id LEFT JOIN rectifications r ON r.finding_id = f.id
WHERE v.submitted_at >= %(cur)s AND v.submitted_at < %(end)s AND f.status <> 'draft'
GROUP BY 1"""

HAND_TREND_VISITS = """
SELECT date_trunc('week', v.submitted_at AT TIME ZONE 'Asia/Shanghai')::date, count(*) FROM visits v
WHERE v.submitted_at >= %(cur)s AND v.submitted_at < %(end)s GROUP BY 1"""

HAND_QUEUE = """
SELECT f.id, f.category, f.severity, f.status, f.unit_id, f.visit_id FROM findings f
LEFT JOIN visits v ON v.id = f.visit_id
WHERE f.status = 'pending_review' AND (v.status = 'submitted' OR f.visit_id IS NULL)
ORDER BY coalesce(v.submitted_at, f.created_at), f.created_at, f.id LIMIT %(limit)s OFFSET %(offset)s"""

HAND_QUEUE_COUNT = """
SELECT count(*) FROM findings f LEFT JOIN visits v ON v.id = f.visit_id
WHERE f.status = 'pending_review' AND (v.status = 'submitted' OR f.visit_id IS NULL)"""


def hand_units(conn, params) -> list[tuple]:
    rows = [tuple(r) for r in conn.execute(HAND_UNITS, params)]
    conn.rollback()
    return rows


def hand_trend(conn, params) -> dict:
    out: dict = {}
    for week, n, confirmed, points, overdue in conn.execute(HAND_TREND_FINDINGS, params):
        out[week.isoformat()] = {"findings": n, "confirmed": confirmed, "points": points, "overdue": overdue,
                                 "visits": 0}
    for week, n in conn.execute(HAND_TREND_VISITS, params):
        out.setdefault(week.isoformat(), {"findings": 0, "confirmed": 0, "points": 0, "overdue": 0})["visits"] = n
    conn.rollback()
    return out


def hand_queue(conn, page: int, size: int) -> tuple[list[str], int]:
    ids = [r[0] for r in conn.execute(HAND_QUEUE, {"limit": size, "offset": (page - 1) * size})]
    total = conn.execute(HAND_QUEUE_COUNT).fetchone()[0]
    conn.rollback()
    return ids, total


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def _summary_scenarios(unit_path_of, today: date) -> list[dict]:
    return [
        {"name": "summary: month, whole county", "args": {"start": date(2026, 6, 1), "end": date(2026, 6, 30)}},
        {"name": "summary: year, whole county", "args": {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}},
        {"name": "summary: quarter, whole county", "args": {"start": date(2026, 4, 1), "end": date(2026, 6, 30)}},
        {"name": "summary: quarter, one department", "args": {"start": date(2026, 4, 1), "end": date(2026, 6, 30),
                                                               "under": 7}, "path": unit_path_of(7)},
        {"name": "dashboard: summary, this month so far", "args": {"start": today.replace(day=1), "end": today},
         "dashboard": True},
    ]


def _query(args: dict, **extra) -> str:
    parts = [f"from={args['start']}", f"to={args['end']}"] + ([f"under={args['under']}"] if "under" in args else [])
    return "&".join(parts + [f"{k}={v}" for k, v in extra.items()])


def run_scenarios(app, db_url: str, runs: int) -> list[dict]:
    from inspect_api.core import clock
    from inspect_api.core.clock import LOCAL_TZ
    from inspect_api.db import db
    from inspect_api.stats import rules, services

    user = SimpleNamespace(role="office", unit_id=None, id=None)
    results = []
    with psycopg.connect(db_url) as raw, app.app_context():
        raw.execute("SET jit = off")
        raw.commit()

        def path_of(unit_id):
            return raw.execute("SELECT path FROM units WHERE id = %s", (unit_id,)).fetchone()[0]

        headers = _http_headers(app)
        client = app.test_client()
        today = clock.today()

        def http(path):
            def call():
                resp = client.get(path, headers=headers)
                assert resp.status_code == 200, resp.get_json()
            return call

        def timed_row(name, http_path, rollup_fn, raw_fn, hand_fn, same):
            row = {"scenario": name, "http_ms": _median_ms(http(http_path), runs),
                   "service_rollup_ms": _median_ms(rollup_fn, runs), "service_raw_ms": _median_ms(raw_fn, runs),
                   "hand_sql_ms": _median_ms(hand_fn, runs), "same_figures": same}
            row["http_ratio"] = round(row["http_ms"] / row["hand_sql_ms"], 3)
            row["rollup_ratio"] = round(row["service_rollup_ms"] / row["hand_sql_ms"], 3)
            row["raw_ratio"] = round(row["service_raw_ms"] / row["hand_sql_ms"], 3)
            return row

        for sc in _summary_scenarios(path_of, today):
            args = {**sc["args"], "compare": "previous"}
            period = rules.Period(args["start"], args["end"])
            compared = rules.compared_period(period)
            cur, end = period.utc_range(LOCAL_TZ)
            params = {"cur": cur, "end": end, "prev": compared.utc_range(LOCAL_TZ)[0], "today": today}

            def service(args=args, use_rollup=True):
                out = services.summary(user, args, use_rollup=use_rollup)
                db.session.rollback()
                return out

            def hand(params=params, path=sc.get("path")):
                return hand_written(raw, params, path)

            got, before, expected = service(), service(use_rollup=False), hand()
            same = all(_totals(got[k]) == expected[k] == _totals(before[k]) for k in ("current", "previous"))
            same = same and got["current"] == before["current"] and got["by_staffing_unit"] == before["by_staffing_unit"]
            row = timed_row(sc["name"], f"/api/v1/stats/summary?{_query(args, compare='previous')}", service,
                            lambda args=args: service(args, False), hand, same)
            row["figures"] = _totals(got["current"])
            results.append(row)

        # the other two requests of the leader dashboard: the same period as its summary
        args = {"start": today.replace(day=1), "end": today}
        period = rules.Period(args["start"], args["end"])
        cur, end = period.utc_range(LOCAL_TZ)
        params = {"cur": cur, "end": end, "today": today}
        units_args = {**args, "sort": "points", "order": "desc"}

        def units(use_rollup=True):
            rows, _count = services.page_of_units(user, units_args, 1, 10, use_rollup=use_rollup)
            db.session.rollback()
            return rows

        got, before = units(), units(False)
        expected = hand_units(raw, params)
        same = got == before and [(r["unit_id"], r["findings"], r["confirmed"], r["points"], r["visits"])
                                  for r in got] == expected
        results.append(timed_row("dashboard: units by points, top 10",
                                 f"/api/v1/stats/units?{_query(args, sort='points', order='desc', page_size=10)}",
                                 units, lambda: units(False), lambda: hand_units(raw, params), same))

        trend_args = {**args, "granularity": "week"}

        def trend(use_rollup=True):
            out = services.trend(user, trend_args, use_rollup=use_rollup)
            db.session.rollback()
            return out

        got, before = trend(), trend(False)
        expected = hand_trend(raw, params)
        same = got == before and all(
            expected.get(b["start"].isoformat() if b["start"].weekday() == 0 else
                         (b["start"] - timedelta(days=b["start"].weekday())).isoformat(),
                         {"findings": 0, "confirmed": 0, "points": 0, "overdue": 0, "visits": 0})
            == {"findings": b["findings"], "confirmed": b["confirmed"], "points": b["points"],
                "overdue": b["rectifications_overdue"], "visits": b["visits"]} for b in got["buckets"])
        results.append(timed_row("dashboard: weekly trend", f"/api/v1/stats/trend?{_query(args, granularity='week')}",
                                 trend, lambda: trend(False), lambda: hand_trend(raw, params), same))
    return results


def bench_queue(app, db_url: str, runs: int, label: str) -> list[dict]:
    """A page of 20 of the review queue (pending findings, oldest first), as Review.vue asks for it."""
    from inspect_api.db import db
    from inspect_api.review import services as review

    out = []
    with psycopg.connect(db_url) as raw, app.app_context():
        raw.execute("SET jit = off")
        raw.commit()
        headers = _http_headers(app)
        client = app.test_client()
        total = hand_queue(raw, 1, 20)[1]
        for page in (1, max(1, total // 20 // 2)):
            path = f"/api/v1/review/findings?status=pending_review&page={page}&page_size=20"

            def call(path=path):
                resp = client.get(path, headers=headers)
                assert resp.status_code == 200, resp.get_json()
                return [f["id"] for f in resp.get_json()]

            def hand(page=page):
                return hand_queue(raw, page, 20)

            same = call() == hand()[0]
            db.session.rollback()
            http_ms, sql_ms = _median_ms(call, runs), _median_ms(hand, runs)
            out.append({"scenario": f"review queue ({label}), page {page} (20 a page), {total} pending",
                        "http_ms": http_ms, "hand_sql_ms": sql_ms, "http_ratio": round(http_ms / sql_ms, 3),
                        "same_figures": same})
        del review
    return out


def _http_headers(app) -> dict:
    from inspect_api.auth import services as auth
    from inspect_api.auth.models import User
    from inspect_api.db import db

    if db.session.scalar(sa.select(User).where(User.username == "bench_office")) is None:
        auth.create_user(username="bench_office", password="bench-pass-1", full_name="效能办", role="office")
        db.session.commit()
    token = app.test_client().post("/api/v1/auth/token", json={"username": "bench_office",
                                                                "password": "bench-pass-1"}).get_json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def bench_database(server: str) -> str:
    """The bench database's name (see the module's docstring)."""
    env = os.environ.get("INSPECT_TEST_DATABASE_URL", "")
    if env.startswith("postgresql"):
        return f"{sa.make_url(env).database}_bench"
    return BENCH_DB


def _prepare(server: str, name: str, n_findings: int, reuse: bool) -> tuple[object, dict]:
    """An app on the database `name`, built and filled unless `reuse` finds one as big; the rollup
    rebuilt after the load (timed)."""
    from flask_migrate import upgrade

    from inspect_api.app import create_app
    from inspect_api.config import make_test_config
    from inspect_api.db import db
    from inspect_api.stats import rollup

    info: dict = {"database": name, "n_findings": n_findings}
    instance = tempfile.mkdtemp(prefix="bench-stats-")
    app = create_app(make_test_config(_sqlalchemy_url(server, name), instance))
    if not (reuse and _existing_findings(server, name) == n_findings):
        _recreate_database(server, name)
        with app.app_context():
            upgrade()
        with psycopg.connect(_libpq_url(server, name)) as conn:
            info["generated"] = generate(conn, n_findings)
        with app.app_context():
            t0 = time.perf_counter()
            rows = rollup.rebuild()
            db.session.commit()
            info["rollup_rebuild"] = {"seconds": round(time.perf_counter() - t0, 1), "rows": rows}
        with psycopg.connect(_libpq_url(server, name), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE stats_rollup")
    return app, info


def bench_stats(database_url: str = SERVER, n_findings: int = 1_000_000, *, runs: int = 7,
                reuse: bool = False, review_findings: int = 5_000, explain: bool = False) -> dict:
    """Build (or reuse) the bench databases on the server `database_url` names and time every
    scenario against the hand-written SQL."""
    from inspect_api.db import db

    name = bench_database(database_url)
    app, result = _prepare(database_url, name, n_findings, reuse)
    result["scenarios"] = run_scenarios(app, _libpq_url(database_url, name), runs)
    result["scenarios"] += bench_queue(app, _libpq_url(database_url, name), runs, f"{n_findings:,} findings")
    with app.app_context():
        db.engine.dispose()
    if review_findings:
        small, info = _prepare(database_url, f"{name}_review", review_findings, reuse)
        result["review_database"] = info
        result["scenarios"] += bench_queue(small, _libpq_url(database_url, f"{name}_review"), runs,
                                           f"{review_findings:,} findings")
        with small.app_context():
            db.engine.dispose()
    del explain
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=SERVER, help="a PostgreSQL server URL (its maintenance database)")
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--review-findings", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep a bench database with as many findings")
    args = parser.parse_args()
    server = args.server
    env = os.environ.get("INSPECT_TEST_DATABASE_URL", "")
    if env.startswith("postgresql") and args.server == SERVER:
        server = env
    out = bench_stats(server, args.findings, runs=args.runs, reuse=args.reuse, review_findings=args.review_findings)
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
