"""The `inspect-api` command: Flask's CLI plus the project's commands (users, checklists, import,
demo data, audit). Each command is one transaction: commit at the end, nothing on failure."""

from __future__ import annotations

import contextlib
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from inspect_api.db import db
from inspect_api.errors import DomainError


def _create_app():
    from inspect_api.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main():
    """效能督查 inspect_api: serve, migrate (`db upgrade`), manage users, import data."""


def _fail(exc: DomainError) -> None:
    db.session.rollback()
    click.secho(f"错误 error: {exc.message}", fg="red", err=True)
    for key, value in (exc.details or {}).items():
        click.echo(f"  {key}: {value}", err=True)
    sys.exit(1)


# --- users ------------------------------------------------------------------------------------
@click.group("users")
def users_cli():
    """Create, disable and set passwords of accounts."""


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["inspector", "office", "unit_liaison", "leader", "admin"]))
@click.option("--full-name", required=True)
@click.option("--unit", "unit_code", help="unit code (required for unit_liaison)")
@click.option("--email", default=None, help="optional: notifications are also mailed here when SMTP is set up")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_create(username, role, full_name, unit_code, email, password):
    from inspect_api.auth import services
    from inspect_api.org import services as org

    try:
        unit_id = org.unit_by_code(unit_code).id if unit_code else None
        user = services.create_user(username=username, password=password, full_name=full_name, role=role,
                                    unit_id=unit_id, email=email)
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(f"created {user.username} ({user.role}), id {user.id}")


@users_cli.command("disable")
@click.argument("username")
@with_appcontext
def users_disable(username):
    from inspect_api.auth import services

    try:
        services.update_user(services.find_user(username), {"is_active": False})
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(f"disabled {username}; its sessions are revoked")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_set_password(username, password):
    from inspect_api.auth import services

    try:
        services.set_password(services.find_user(username), password)
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(f"password of {username} changed; its sessions are revoked")


# --- audit ------------------------------------------------------------------------------------
@click.group("audit")
def audit_cli():
    """The hash-chained trail."""


@audit_cli.command("verify")
@with_appcontext
def audit_verify():
    """Re-hash the whole trail; exit 1 naming each changed, inserted or removed row."""
    from inspect_api.audit import services

    problems = services.verify()
    count = services.current_seq()
    if not problems:
        click.echo(f"trail intact: {count} events")
        return
    for p in problems:
        click.secho(f"event {p.seq}: {p.kind}: {p.message}", fg="red", err=True)
    sys.exit(1)


@click.command("scheduler")
@click.option("--run-once", "run_once", metavar="JOB_ID", help="run one job now and exit (e.g. from cron)")
@with_appcontext
def scheduler_cli(run_once):
    """Run the job scheduler (one process, apart from the web server)."""
    import logging

    from flask import current_app

    from inspect_api import scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if run_once:
        if run_once not in scheduler.JOBS:
            raise click.BadParameter(f"unknown job; known: {', '.join(scheduler.JOBS)}", param_hint="--run-once")
        result = scheduler.run_job(scheduler.JOBS[run_once][0])
        click.echo(f"{run_once}: {result}")
        return
    # held for the process's life: a database connection holding an advisory lock, or a locked file
    lock = scheduler.hold_lock(current_app.config["INSPECT_INSTANCE_DIR"],  # noqa: F841
                               current_app.config["SQLALCHEMY_DATABASE_URI"])
    for job_id in scheduler.AT_START:
        click.echo(f"{job_id} at start: {scheduler.run_job(scheduler.JOBS[job_id][0])}")
    sched = scheduler.build_scheduler(current_app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo(f"scheduler running {len(scheduler.JOBS)} jobs: {', '.join(scheduler.JOBS)}")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        sched.start()


def register(app: Flask) -> None:
    from inspect_api.checklists.cli import checklists_cli
    from inspect_api.demo import demo_cli
    from inspect_api.documents.cli import documents_cli
    from inspect_api.notifications.cli import notifications_cli
    from inspect_api.org.cli import import_cli
    from inspect_api.sampling.cli import sampling_cli
    from inspect_api.stats.cli import stats_cli
    from inspect_api.visits.cli import media_cli

    for group in (users_cli, audit_cli, checklists_cli, import_cli, demo_cli, sampling_cli, scheduler_cli,
                  calendar_cli, documents_cli, notifications_cli, stats_cli, media_cli):
        app.cli.add_command(group)


@click.group("calendar")
def calendar_cli():
    """The working-day calendar: holiday tables for years the library lacks."""


@calendar_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def calendar_import(path):
    """Import a holiday table CSV (date,kind,name); each year in it replaces that year's import."""
    from inspect_api.system.services import import_calendar

    try:
        with open(path, encoding="utf-8-sig") as fh:
            summary = import_calendar(fh.read(), source=path)
        db.session.commit()
    except UnicodeDecodeError:
        click.secho("错误 error: 文件须为 UTF-8 编码 (file must be UTF-8)", fg="red", err=True)
        sys.exit(1)
    except DomainError as exc:
        _fail(exc)
    for year, counts in summary["years"].items():
        click.echo(f"{year}: {counts['holidays']} holidays, {counts['working_weekends']} working weekends "
                   f"(replaced {counts['replaced_rows']} rows)")
    click.echo(f"deadlines recomputed: {summary['deadlines_changed']} changed")


@calendar_cli.command("status")
@click.option("--first", type=int, default=2025)
@click.option("--last", type=int, default=2028)
@with_appcontext
def calendar_status(first, last):
    """Show where each year's working days come from."""
    from inspect_api.core import calendar_store

    for row in calendar_store.year_statuses(first, last):
        click.echo(f"{row['year']}: {row['status']} ({row['label']})" + (f" — {row['source']}" if row["source"] else ""))
