"""Benchmark of the escalation rules run by a review decision, on PostgreSQL: judging only the unit and
staff member the confirmed finding names, against judging everyone (the nightly run), in the same run
over the same database.

    .venv/bin/python scripts/bench_rules.py [--findings N] [--server postgresql://…/postgres] [--reuse] [--runs 5]

The database is the statistics benchmark's (`scripts/bench_stats.py`: units, visits and findings made
by `INSERT … SELECT generate_series`, about half of them confirmed); `--reuse` keeps one already filled
with as many findings. A first full run stores every proposal, so the timed runs measure the reading and
judging of the facts, as on a day when nothing new is proposed. JSON goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_stats  # noqa: E402
import psycopg  # noqa: E402


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def bench_rules(server: str, n_findings: int, *, runs: int = 5, reuse: bool = False) -> dict:
    from flask_migrate import upgrade

    from inspect_api.app import create_app
    from inspect_api.config import make_test_config

    result: dict = {"n_findings": n_findings, "database": bench_stats.BENCH_DB}
    app = create_app(make_test_config(bench_stats._sqlalchemy_url(server, bench_stats.BENCH_DB),
                                      tempfile.mkdtemp(prefix="bench-rules-")))
    if not (reuse and bench_stats._existing_findings(server) == n_findings):
        bench_stats._recreate_database(server)
        with app.app_context():
            upgrade()
        with psycopg.connect(bench_stats._libpq_url(server, bench_stats.BENCH_DB)) as conn:
            result["generated"] = bench_stats.generate(conn, n_findings)
    with app.app_context():
        import sqlalchemy as sa

        from inspect_api.accountability import services
        from inspect_api.db import db
        from inspect_api.visits.models import Finding

        start = time.perf_counter()
        result["proposals_stored_by_the_first_full_run"] = len(services.run_rules())
        db.session.commit()
        result["first_full_run_ms"] = round((time.perf_counter() - start) * 1000, 1)
        result["confirmed_findings"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(Finding).where(Finding.status == "confirmed"))
        # the unit with the most confirmed findings: the dearest single decision
        unit_id, count = db.session.execute(
            sa.select(Finding.unit_id, sa.func.count()).where(Finding.status == "confirmed")
            .group_by(Finding.unit_id).order_by(sa.func.count().desc()).limit(1)).one()
        only = services.Subjects(units=frozenset({unit_id}))

        def full():
            assert services.run_rules() == []
            db.session.rollback()

        def scoped():
            assert services.run_rules(only=only) == []
            db.session.rollback()

        result["scoped_unit"] = {"unit_id": unit_id, "confirmed_findings": count}
        result["full_ms"] = _median_ms(full, runs)
        result["scoped_ms"] = _median_ms(scoped, runs)
        result["scoped_over_full"] = round(result["scoped_ms"] / result["full_ms"], 4)
        db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=bench_stats.SERVER)
    parser.add_argument("--findings", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    print(json.dumps(bench_rules(args.server, args.findings, runs=args.runs, reuse=args.reuse),
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
