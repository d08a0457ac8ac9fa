"""`inspect-api checklists validate|publish`, and create_app refusing to start on a broken template."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from inspect_api.app import create_app
from inspect_api.checklists.loader import ChecklistTemplatesInvalid
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.config import make_test_config
from tests.helpers import copy_v1_templates

REPO_CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"


@pytest.fixture()
def templates(tmp_path) -> Path:
    target = tmp_path / "checklists"
    copy_v1_templates(target)
    return target


def _break(directory: Path) -> None:
    path = directory / "sanxiang_covert.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("category: shirking", "category: lazy", 1),
                    encoding="utf-8")


def test_validate_counts_the_configured_templates(app):
    result = app.test_cli_runner().invoke(args=["checklists", "validate"])
    assert result.exit_code == 0, result.output
    shipped = len(list(REPO_CHECKLISTS.glob("*.yaml")))
    assert shipped >= 3 and result.output.strip() == f"{shipped} templates OK"


def test_validate_prints_each_error_and_exits_1(app, templates):
    _break(templates)
    (templates / "broken.yaml").write_text("code: broken\nversion: [1\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["checklists", "validate", str(templates)])
    assert result.exit_code == 1
    assert f"{templates}/sanxiang_covert.yaml: item A3: field category: " in result.output
    assert f"{templates}/broken.yaml:3: YAML 语法错误" in result.output
    assert "templates OK" not in result.output


def test_publish_command_publishes_then_reports_unchanged(app, dbsession, templates):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["checklists", "publish", str(templates)])
    assert first.exit_code == 0, first.output
    assert "published sanxiang_covert v1 sha256:" in first.output
    assert "2 published, 0 unchanged; current: mystery_shopper v1, sanxiang_covert v1" in first.output

    again = runner.invoke(args=["checklists", "publish", str(templates)])
    assert again.exit_code == 0 and "0 published, 2 unchanged" in again.output
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(ChecklistVersion)) == 2


def test_publish_command_refuses_a_changed_published_version(app, dbsession, templates):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["checklists", "publish", str(templates)]).exit_code == 0
    path = templates / "mystery_shopper.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("热情", "热情周到", 1), encoding="utf-8")

    result = runner.invoke(args=["checklists", "publish", str(templates)])

    assert result.exit_code == 1
    assert "bump its version" in result.output and "version: 2" in result.output
    assert f"{templates}/mystery_shopper.yaml" in result.output


def test_publish_command_refuses_invalid_templates(app, dbsession, templates):
    _break(templates)
    result = app.test_cli_runner().invoke(args=["checklists", "publish", str(templates)])
    assert result.exit_code == 1
    assert "item A3: field category" in result.output
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(ChecklistVersion)) == 0


def test_create_app_refuses_to_start_on_an_invalid_template(tmp_path, database_url, templates):
    _break(templates)
    config = make_test_config(database_url, str(tmp_path / "instance"), INSPECT_CHECKLIST_DIR=str(templates))
    with pytest.raises(ChecklistTemplatesInvalid) as caught:
        create_app(config)
    message = caught.value.format_message()
    assert "服务未启动" in message
    assert f"{templates}/sanxiang_covert.yaml: item A3: field category: " in message


def test_create_app_refuses_a_missing_template_directory(tmp_path, database_url):
    config = make_test_config(database_url, str(tmp_path / "instance"),
                              INSPECT_CHECKLIST_DIR=str(tmp_path / "nowhere"))
    with pytest.raises(ChecklistTemplatesInvalid, match="directory not found"):
        create_app(config)
