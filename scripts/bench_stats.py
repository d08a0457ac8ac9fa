"""Benchmark of the statistics API over a million generated findings on PostgreSQL, against a
hand-written SQL query of the same aggregate measured in the same run.

    .venv/bin/python scripts/bench_stats.py [--findings N] [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                            [--reuse] [--runs 7]

The database `test_bench_stats` is created on the server (dropped first), migrated to head like the
test suite does, and filled with `INSERT … SELECT generate_series` statements: a tree of 501 units
(county, 20 departments, 80 halls, 400 windows), a visit for every three findings spread over
2025–2026 (2% never submitted), findings with a realistic mix of statuses, categories and severities,
and a rectification for every confirmed, withdrawn or dismissed finding. `--reuse` keeps a database
already filled with as many findings.

Each scenario times (median of `--runs`, after a warm-up) the summary service call, and the same
figures from a hand-written SQL query sent straight through psycopg; the first scenario also times
the HTTP call through the Flask test client (token auth, JSON). Both answers are checked to agree;
both run with JIT off (the service sets it for its transaction). The trend and per-unit endpoints
are timed too (service only).
Then the indexes proposed for the statistics are created and everything is timed again; the plans
(EXPLAIN ANALYZE) of the service's queries are kept in the result. JSON goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

BENCH_DB = "test_bench_stats"
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

# What the statistics read, beyond the migrations' single-column indexes: the visits of a period by
# submission time, with the columns the statistics take from them, so both the visit counts and the
# visits side of the join with findings are read from the index alone.
PROPOSED_INDEXES = {
    "ix_visits_submitted_at": "CREATE INDEX ix_visits_submitted_at ON visits (submitted_at) INCLUDE (id, unit_id, mode)",
}

CATEGORIES = ["badge_missing", "desk_plate_missing", "certificate_not_shown", "off_post", "late_or_early",
              "unrelated_activity", "incomplete_notice", "poor_attitude", "unequal_treatment", "shirking",
              "no_inquiry_register", "no_receipt", "overdue", "commitment_not_public", "no_evaluation"]


def _sqlalchemy_url(url: str, database: str) -> str:
    u = sa.make_url(url).set(drivername="postgresql+psycopg", database=database)
    return u.render_as_string(hide_password=False)


def _libpq_url(url: str, database: str) -> str:
    return sa.make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


def _existing_findings(server: str) -> int | None:
    try:
        with psycopg.connect(_libpq_url(server, BENCH_DB)) as conn:
            return conn.execute("SELECT n_findings FROM bench_meta").fetchone()[0]
    except psycopg.Error:
        return None


def _recreate_database(server: str) -> None:
    with psycopg.connect(_libpq_url(server, sa.make_url(server).database or "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


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


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def _plans(app, user, args) -> list[str]:
    """EXPLAIN ANALYZE of the statements the service sends, with their parameters."""
    from inspect_api.db import db
    from inspect_api.stats import services

    seen: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "visits" in statement:
            seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", capture)
        try:
            services.summary(user, args)
        finally:
            sa.event.remove(engine, "before_cursor_execute", capture)
        plans = []
        with engine.connect() as conn:
            for statement, parameters in seen:
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
                plans.append("\n".join(r[0] for r in rows))
        return plans


def _scenarios(unit_path_of) -> list[dict]:
    return [
        {"name": "quarter, whole county", "args": {"start": date(2026, 4, 1), "end": date(2026, 6, 30)}},
        {"name": "month, whole county", "args": {"start": date(2026, 6, 1), "end": date(2026, 6, 30)}},
        {"name": "quarter, one department", "args": {"start": date(2026, 4, 1), "end": date(2026, 6, 30),
                                                     "under": 7}, "path": unit_path_of(7)},
        {"name": "year, whole county", "args": {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}},
    ]


def run_scenarios(app, server: str, runs: int, *, http: bool, explain: bool) -> list[dict]:
    from inspect_api.core.clock import LOCAL_TZ
    from inspect_api.db import db
    from inspect_api.stats import rules, services

    user = SimpleNamespace(role="office", unit_id=None, id=None)
    results = []
    with psycopg.connect(_libpq_url(server, BENCH_DB)) as raw, app.app_context():
        raw.execute("SET jit = off")
        raw.commit()
        def path_of(unit_id):
            return raw.execute("SELECT path FROM units WHERE id = %s", (unit_id,)).fetchone()[0]

        headers = _http_headers(app) if http else None
        for sc in _scenarios(path_of):
            args = sc["args"]
            period = rules.Period(args["start"], args["end"])
            compared = rules.compared_period(period)
            cur, end = period.utc_range(LOCAL_TZ)
            params = {"cur": cur, "end": end, "prev": compared.utc_range(LOCAL_TZ)[0], "today": services.today()}

            def service(args=args):
                out = services.summary(user, args)
                db.session.rollback()
                return out

            def hand(params=params, path=sc.get("path")):
                return hand_written(raw, params, path)

            got, expected = service(), hand()
            same = all(_totals(got[k]) == expected[k] for k in ("current", "previous"))
            service_ms = _median_ms(service, runs)
            sql_ms = _median_ms(hand, runs)
            row = {"scenario": sc["name"], "service_ms": service_ms, "hand_sql_ms": sql_ms,
                   "ratio": round(service_ms / sql_ms, 2), "same_figures": same,
                   "figures": _totals(got["current"])}
            if headers is not None:
                query = f"from={args['start']}&to={args['end']}" + (f"&under={args['under']}" if "under" in args else "")
                client = app.test_client()

                def call(query=query, client=client, headers=headers):
                    resp = client.get(f"/api/v1/stats/summary?{query}", headers=headers)
                    assert resp.status_code == 200, resp.get_json()

                row["http_ms"] = _median_ms(call, runs)
                row["http_ratio"] = round(row["http_ms"] / sql_ms, 2)
                headers = None  # the first scenario only
            results.append(row)
        if explain:
            first = _scenarios(path_of)[0]
            results[0]["plans"] = _plans(app, user, first["args"])
        for name, fn, args in (
                ("trend: 24 months by month, whole county", services.trend,
                 {"start": date(2025, 1, 1), "end": date(2026, 12, 31), "granularity": "month"}),
                ("trend: a year by week, one department", services.trend,
                 {"start": date(2026, 1, 1), "end": date(2026, 12, 31), "granularity": "week", "under": 7}),
                ("units: a quarter, departments rolled up", _units,
                 {"start": date(2026, 4, 1), "end": date(2026, 6, 30), "under": 1, "depth": 1, "rollup": True}),
                ("units: a quarter, every unit by points, first page", _units,
                 {"start": date(2026, 4, 1), "end": date(2026, 6, 30)})):
            def other(fn=fn, args=args):
                fn(user, args)
                db.session.rollback()

            results.append({"scenario": name, "service_ms": _median_ms(other, runs)})
    return results


def _units(user, args):
    from inspect_api.stats import services

    return services.page_of_units(user, args, 1, 50)


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


def _indexes(server: str, create: bool) -> list[str]:
    with psycopg.connect(_libpq_url(server, BENCH_DB), autocommit=True) as conn:
        for name, ddl in PROPOSED_INDEXES.items():
            conn.execute(f"DROP INDEX IF EXISTS {name}")
            if create:
                conn.execute(ddl)
        conn.execute("VACUUM ANALYZE visits")
        conn.execute("VACUUM ANALYZE findings")
        return [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename IN ('visits', 'findings') ORDER BY indexname")]


def bench_stats(database_url: str = SERVER, n_findings: int = 1_000_000, *, runs: int = 7,
                reuse: bool = False, explain: bool = True) -> dict:
    """Build (or reuse) the bench database on the server `database_url` names, and time the summary
    against the hand-written SQL without and with the proposed indexes."""
    from flask_migrate import upgrade

    from inspect_api.app import create_app
    from inspect_api.config import make_test_config

    result: dict = {"n_findings": n_findings, "database": BENCH_DB}
    instance = tempfile.mkdtemp(prefix="bench-stats-")
    app = create_app(make_test_config(_sqlalchemy_url(database_url, BENCH_DB), instance))
    if not (reuse and _existing_findings(database_url) == n_findings):
        _recreate_database(database_url)
        with app.app_context():
            upgrade()
        with psycopg.connect(_libpq_url(database_url, BENCH_DB)) as conn:
            result["generated"] = generate(conn, n_findings)
    result["without_proposed_indexes"] = {"scenarios": run_scenarios(app, database_url, runs, http=True,
                                                                     explain=explain)}
    created = _indexes(database_url, create=True)
    result["with_proposed_indexes"] = {"indexes": list(PROPOSED_INDEXES.values()),
                                       "scenarios": run_scenarios(app, database_url, runs, http=True,
                                                                  explain=explain)}
    result["indexes_now"] = created
    _indexes(database_url, create=False)  # leave the database as the migrations make it
    with app.app_context():
        from inspect_api.db import db

        db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=SERVER, help="a PostgreSQL server URL (its maintenance database)")
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep a bench database with as many findings")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()
    out = bench_stats(args.server, args.findings, runs=args.runs, reuse=args.reuse, explain=not args.no_explain)
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
