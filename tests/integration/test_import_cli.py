"""`inspect-api import ...`: a summary and exit 0 when the file is clean; the row-by-row errors,
exit 1 and nothing stored when it isn't; a clear message for a missing file or an unknown kind."""

from __future__ import annotations

import sqlalchemy as sa

from inspect_api.db import db
from inspect_api.org.models import Unit

UNITS = "单位编码,单位名称,类型,上级单位编码\nCLI-W,1号窗口,窗口,CLI\nCLI,示范县人民政府,县,\n"


def unit_codes() -> set[str]:
    return set(db.session.scalars(sa.select(Unit.code).where(Unit.code.like("CLI%"))))


def test_import_prints_a_summary_and_commits(app, dbsession, tmp_path):
    path = tmp_path / "单位.csv"
    path.write_text(UNITS, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "units", str(path)])
    assert result.exit_code == 0, result.output
    assert "共 2 行, 新增 2, 更新 0, 未变 0" in result.stdout
    assert unit_codes() == {"CLI", "CLI-W"}
    again = app.test_cli_runner().invoke(args=["import", "units", str(path)])
    assert again.exit_code == 0 and "新增 0, 更新 0, 未变 2" in again.stdout


def test_import_with_errors_lists_them_exits_1_and_stores_nothing(app, dbsession, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(UNITS + "CLI-X,,乡镇,CLI\n", encoding="gb18030")
    result = app.test_cli_runner().invoke(args=["import", "units", str(path)])
    assert result.exit_code == 1
    assert "未导入任何数据" in result.stderr
    assert "行 4, 列 单位名称: 不能为空" in result.stderr
    assert "行 4, 列 类型: 类型“乡镇”无效" in result.stderr
    assert unit_codes() == set()


def test_a_file_level_error_is_printed_without_row(app, dbsession, tmp_path):
    path = tmp_path / "units.pdf"
    path.write_bytes(b"%PDF-1.4")
    result = app.test_cli_runner().invoke(args=["import", "units", str(path)])
    assert result.exit_code == 1 and "文件: 不支持的文件类型 .pdf" in result.stderr


def test_missing_file_and_unknown_kind_get_a_message_not_a_traceback(app, dbsession, tmp_path):
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["import", "staff", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "找不到文件" in missing.output
    assert "Traceback" not in missing.output
    unknown = runner.invoke(args=["import", "visits", "x.csv"])
    assert unknown.exit_code == 2 and "No such command 'visits'" in unknown.output
    directory = runner.invoke(args=["import", "units", str(tmp_path)])
    assert directory.exit_code == 2 and "Traceback" not in directory.output


def test_dry_run_prints_what_would_change_and_stores_nothing(app, dbsession, tmp_path):
    path = tmp_path / "单位.csv"
    path.write_text(UNITS, encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["import", "units", str(path)]).exit_code == 0
    path.write_text(UNITS.replace("1号窗口", "1号综合窗口") + "CLI-W2,2号窗口,窗口,CLI\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "units", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "行 2 更新 CLI-W" in result.stdout and "name: '1号窗口' → '1号综合窗口'" in result.stdout
    assert "行 4 新增 CLI-W2" in result.stdout and "将新增 1, 将更新 1, 未变 1" in result.stdout
    db.session.expire_all()
    assert unit_codes() == {"CLI", "CLI-W"}
    assert db.session.scalar(sa.select(Unit.name).where(Unit.code == "CLI-W")) == "1号窗口"
