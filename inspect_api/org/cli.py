"""`inspect-api import units|staff|service-items FILE` (`inspect-api demo load` is in inspect_api/demo.py).

Each command is one transaction: commit at the end, roll back (and exit 1) on any error.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from inspect_api.db import db

IMPORT_KINDS = {"units": "单位 (units)", "staff": "工作人员 (staff)", "service-items": "服务事项 (service items)"}


def describe_error(error) -> str:
    """One RowError as a line for people: "行 5, 列 单位编码: ..."."""
    if error.row == 0:
        return f"文件: {error.reason}"
    if error.column is None:
        return f"行 {error.row}: {error.reason}"
    return f"行 {error.row}, 列 {error.column}: {error.reason}"


class _ProgressBar:
    """A click progress bar, opened on the first report (when the number of rows is known)."""

    def __init__(self, stack: contextlib.ExitStack, label: str):
        self.stack, self.label = stack, label
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = self.stack.enter_context(
                click.progressbar(length=total, label=self.label, file=sys.stderr, show_pos=True))
        self.bar.update(done - self.done)
        self.done = done


@click.group("import")
def import_cli():
    """Import the org registry from CSV or XLSX (all or nothing; re-importing changes nothing)."""


ACTION_LABELS = {"create": "新增", "update": "更新", "unchanged": "未变"}


def describe_row(detail: dict) -> list[str]:
    """A row of a dry run as lines for people: "行 3 更新 QC-0001: 岗位 综合受理岗 → 审核岗"."""
    lines = [f"行 {detail['row']} {ACTION_LABELS[detail['action']]} {detail['key']}"]
    if detail["action"] == "update":
        lines += [f"    {name}: {change['before']!r} → {change['after']!r}"
                  for name, change in detail["changes"].items()]
    return lines


def _import_file(kind: str, path: Path, dry_run: bool = False, allow_rename: bool = False) -> None:
    from flask import current_app

    from inspect_api.org.imports import ImportOptions, run_import

    if not path.is_file():
        raise click.BadParameter(f"找不到文件 {path} (no such file)", param_hint="FILE")
    options = ImportOptions(dry_run=dry_run, allow_rename=allow_rename,
                            badge_pattern=current_app.config["INSPECT_BADGE_PATTERN"])
    try:
        with path.open("rb") as fh, contextlib.ExitStack() as stack:
            report = run_import(kind, fh, path.name, progress=_ProgressBar(stack, f"导入{IMPORT_KINDS[kind]}"),
                                options=options)
    except OSError as exc:
        db.session.rollback()
        raise click.FileError(str(path), hint=exc.strerror or str(exc)) from exc
    if report.errors:
        db.session.rollback()
        click.secho(f"文件有 {len(report.errors)} 处错误，未导入任何数据 (nothing imported):", fg="red", err=True)
        for error in report.errors:
            click.echo(f"  {describe_error(error)}", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
        for detail in report.rows_detail:
            if detail["action"] != "unchanged":
                click.echo("\n".join(describe_row(detail)))
        click.echo(f"试运行（未保存任何数据, dry run, nothing stored） {IMPORT_KINDS[kind]}: 共 {report.rows} 行, "
                   f"将新增 {report.created}, 将更新 {report.updated}, 未变 {report.unchanged}")
        return
    db.session.commit()
    click.echo(f"导入完成 {IMPORT_KINDS[kind]}: 共 {report.rows} 行, 新增 {report.created}, "
               f"更新 {report.updated}, 未变 {report.unchanged}")


def _import_command(kind: str) -> click.Command:
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the file and list what would be created, "
                  "updated and left alone (each changed field before and after); store nothing.")
    @click.option("--allow-rename", is_flag=True, help="Let a staff row change the name stored under its "
                  "badge number (otherwise refused: a badge names one person).")
    @with_appcontext
    def command(file: Path, dry_run: bool, allow_rename: bool) -> None:
        _import_file(kind, file, dry_run, allow_rename)

    command.__doc__ = (f"Import {IMPORT_KINDS[kind]} from a CSV (UTF-8 or GB18030) or XLSX file; "
                       "see docs/import.md for the columns.")
    return click.command(kind)(command)


for _kind in IMPORT_KINDS:
    import_cli.add_command(_import_command(_kind))
