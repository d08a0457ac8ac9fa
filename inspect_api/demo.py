"""Demo data: a small fictional county (清川县) and one account per role, for trying the system.

The registry comes from the CSV files in `inspect_api/demo_data/`, loaded through the ordinary
import (so the demo also exercises it); the accounts all have the password `config.DEMO_PASSWORD`.
A year of citizen ratings of the hall's six windows comes as a provincial-system export
(`ratings.csv`, through the ratings import), so rankings and the annual assessment have data.
Loads only into an empty database and never in production. Flushes; the caller commits.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from importlib import resources

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from inspect_api.auth import services as auth
from inspect_api.auth.models import User
from inspect_api.config import DEMO_PASSWORD
from inspect_api.db import db
from inspect_api.errors import Conflict, DomainError
from inspect_api.org.imports import ImportReport, run_import
from inspect_api.org.models import Unit

DEMO_FILES = (("units", "units.csv"), ("staff", "staff.csv"), ("service-items", "service_items.csv"))
DEMO_RATINGS = "ratings.csv"
DEMO_MATTERS = "matters.csv"  # supervised matters (督查督办), a few of each kind


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    full_name: str
    unit_code: str | None = None  # a liaison's unit; an inspector's employing unit (conflict of interest)


DEMO_ACCOUNTS = (
    DemoAccount("admin", "admin", "张立新"),
    DemoAccount("office1", "office", "李晓梅"),
    DemoAccount("office2", "office", "陈志强"),
    DemoAccount("inspector1", "inspector", "王磊", "QC-RSJ"),
    DemoAccount("inspector2", "inspector", "刘芳", "QC-SWJ"),
    DemoAccount("inspector3", "inspector", "杨帆", "QC-GJJ"),
    DemoAccount("inspector4", "inspector", "黄静", "QC-BDC"),
    DemoAccount("liaison1", "unit_liaison", "周婷", "QC-SCJG"),
    DemoAccount("leader1", "leader", "吴国平"),
)


class DemoRefused(Conflict):
    code = "demo_refused"


@dataclass
class DemoSummary:
    loaded: bool
    reports: list[ImportReport] = field(default_factory=list)
    accounts: list[DemoAccount] = field(default_factory=list)  # the accounts created
    ratings: dict = field(default_factory=dict)  # the ratings import's report
    matters: int = 0  # supervised matters registered
    password: str = DEMO_PASSWORD


def database_is_empty() -> bool:
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == 0
            and db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0)


def load_demo(force: bool = False) -> DemoSummary:
    """Load the demo county and accounts into an empty database.

    Returns `loaded=False` and changes nothing when the database already has units or users,
    unless `force`: then the registry rows are upserted and only the missing accounts created.
    Raises DemoRefused in production, whatever `force` says.
    """
    if current_app.config.get("INSPECT_ENV") == "production":
        raise DemoRefused("生产环境不能加载演示数据 (demo data is refused when INSPECT_ENV=production)")
    if not force and not database_is_empty():
        return DemoSummary(loaded=False)
    summary = DemoSummary(loaded=True)
    folder = resources.files("inspect_api") / "demo_data"
    for kind, name in DEMO_FILES:
        with (folder / name).open("rb") as fh:
            report = run_import(kind, fh, name)
        if report.errors:  # the shipped files are wrong: a bug, say exactly where
            raise DemoRefused(f"演示数据文件 {name} 有错误 (demo data file is invalid)",
                              {"errors": [f"行 {e.row}, 列 {e.column}: {e.reason}" for e in report.errors]})
        summary.reports.append(report)
    unit_ids = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    taken = {name.lower() for name in db.session.scalars(sa.select(User.username))}
    for account in DEMO_ACCOUNTS:
        if account.username in taken:
            continue
        auth.create_user(username=account.username, password=DEMO_PASSWORD, full_name=account.full_name,
                         role=account.role, unit_id=unit_ids[account.unit_code] if account.unit_code else None,
                         check_password=False)
        summary.accounts.append(account)
    summary.ratings = _load_ratings(folder / DEMO_RATINGS)
    summary.matters = _load_matters(folder / DEMO_MATTERS)
    return summary


def _load_ratings(path) -> dict:
    from inspect_api.ratings import services as ratings

    with path.open("rb") as fh:
        rows, errors = ratings.parse_import(fh, DEMO_RATINGS)
    if errors:
        raise DemoRefused(f"演示数据文件 {DEMO_RATINGS} 有错误 (demo data file is invalid)",
                          {"errors": [f"行 {e.row}, 列 {e.column}: {e.reason}" for e in errors]})
    return ratings.import_rows(rows)


def _load_matters(path) -> int:
    from inspect_api.matters import demo
    from inspect_api.matters.models import SupervisedMatter

    if db.session.scalar(sa.select(SupervisedMatter.id).limit(1)) is not None:
        return 0  # loaded before (force): never twice
    office = db.session.scalar(sa.select(User).where(User.username == "office1"))
    return demo.load(path, office) if office is not None else 0


def refuse_demo_passwords(app) -> None:
    """Stop a production start while any demo account still has the demo password."""
    from inspect_api.auth.services import accounts_with_demo_password
    from inspect_api.config import DEMO_PASSWORD

    with app.app_context():
        weak = accounts_with_demo_password([a.username for a in DEMO_ACCOUNTS], DEMO_PASSWORD)
    if weak:
        raise SystemExit(
            f"refusing to start in production: accounts still use the demo password: {', '.join(weak)}; "
            "change them with `inspect-api users set-password NAME`"
        )


# --- `inspect-api demo load` (here, not in org: the demo spans org, auth and ratings) --------------


@click.group("demo")
def demo_cli():
    """Demo data: a fictional county (清川县) and one account per role."""


@demo_cli.command("load")
@click.option("--force", is_flag=True,
              help="Load even into a database that is not empty (upserts the registry, adds missing accounts).")
@with_appcontext
def demo_load(force: bool) -> None:
    """Load the demo county and accounts (only into an empty database; never in production)."""
    from inspect_api.auth.rules import ROLE_LABELS
    from inspect_api.org.cli import IMPORT_KINDS
    from inspect_api.org.services import unit_by_code

    try:
        summary = load_demo(force=force)
    except DomainError as exc:
        db.session.rollback()
        click.secho(f"错误 error: {exc.message}", fg="red", err=True)
        for line in (exc.details or {}).get("errors", []):
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    if not summary.loaded:
        db.session.rollback()
        click.echo("数据库不是空的, 未加载演示数据 (database not empty, demo data not loaded)")
        return
    db.session.commit()
    for report in summary.reports:
        click.echo(f"{IMPORT_KINDS[report.kind]}: 新增 {report.created}, 更新 {report.updated}, "
                   f"未变 {report.unchanged}")
    if summary.ratings:
        click.echo(f"群众评价（好差评）: 新增 {summary.ratings['created']}, 未变 {summary.ratings['unchanged']}")
    if not summary.accounts:
        click.echo("演示账号都已存在, 未新建账号 (all demo accounts exist already)")
        return
    click.echo(f"\n演示账号 (demo accounts), 密码均为 {summary.password}:")
    click.echo(f"  {'username':<12} {'role':<13} {'password':<14} 姓名 / 单位")
    for account in summary.accounts:
        label = ROLE_LABELS.get(account.role, account.role)
        unit = f" / {unit_by_code(account.unit_code).name}" if account.unit_code else ""
        click.echo(f"  {account.username:<12} {account.role:<13} {summary.password:<14} "
                   f"{account.full_name} ({label}){unit}")
