"""`inspect-api checklists validate [DIR]` and `inspect-api checklists publish [DIR]`.

DIR defaults to the `INSPECT_CHECKLIST_DIR` setting. `publish` is one transaction: all templates
are published, or none (exit 1).
"""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from inspect_api.checklists import services
from inspect_api.checklists.loader import load_directory
from inspect_api.db import db
from inspect_api.errors import DomainError

DIRECTORY = click.argument("directory", required=False, type=click.Path(file_okay=False))


@click.group("checklists")
def checklists_cli():
    """Validate and publish checklist templates."""


def _directory(directory: str | None) -> str:
    return directory or current_app.config["INSPECT_CHECKLIST_DIR"]


@checklists_cli.command("validate")
@DIRECTORY
@with_appcontext
def validate(directory):
    """Check every template of DIR (files only, no database): each problem, or "N templates OK"."""
    result = load_directory(_directory(directory))
    if result.errors:
        for error in result.errors:
            click.secho(str(error), fg="red", err=True)
        click.secho(f"{len(result.errors)} 处错误 (errors)", fg="red", err=True)
        sys.exit(1)
    click.echo(f"{len(result.templates)} templates OK")


@checklists_cli.command("publish")
@DIRECTORY
@with_appcontext
def publish(directory):
    """Publish new template versions of DIR; a changed published version is refused (exit 1)."""
    try:
        report = services.publish_all(_directory(directory))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        click.secho(f"错误 error: {exc.message}", fg="red", err=True)
        for value in (exc.details or {}).values():
            for line in value if isinstance(value, list) else [value]:
                click.echo(f"  {line}", err=True)
        sys.exit(1)
    except sa.exc.IntegrityError:
        db.session.rollback()
        click.secho("错误 error: 另一次发布同时在进行, 请重新运行 (another publish ran at the same time; run again)",
                    fg="red", err=True)
        sys.exit(1)
    for line in report.inserted:
        click.echo(f"published {line.code} v{line.version} sha256:{line.content_hash[:12]} ({line.source_file})")
    for line in report.unchanged:
        click.echo(f"unchanged {line.code} v{line.version} ({line.source_file})")
    current = ", ".join(f"{code} v{version}" for code, version in sorted(report.current.items()))
    click.echo(f"{len(report.inserted)} published, {len(report.unchanged)} unchanged; current: {current or '-'}")
