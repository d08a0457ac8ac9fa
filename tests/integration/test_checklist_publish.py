"""Publishing checklist templates into checklist_versions, and reading published versions back."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from inspect_api.checklists import services
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.checklists.rules import canonical_json, content_hash, item_count
from inspect_api.errors import Conflict, NotFound, Unprocessable
from tests.helpers import copy_v1_templates

REPO_CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"


@pytest.fixture()
def templates(tmp_path) -> Path:
    """A copy of the shipped templates, free to edit."""
    target = tmp_path / "checklists"
    copy_v1_templates(target)
    return target


def rows(session) -> dict[tuple[str, int], ChecklistVersion]:
    return {(r.code, r.version): r for r in session.scalars(sa.select(ChecklistVersion))}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_publish_inserts_each_template_with_its_canonical_content_and_hash(dbsession, clock, templates):
    report = services.publish_all(templates)
    dbsession.commit()

    assert sorted((p.code, p.version) for p in report.inserted) == [("mystery_shopper", 1), ("sanxiang_covert", 1)]
    assert report.unchanged == [] and report.current == {"mystery_shopper": 1, "sanxiang_covert": 1}
    stored = rows(dbsession)
    covert = stored[("sanxiang_covert", 1)]
    assert covert.title == "三项制度落实情况暗访检查表" and covert.kind == "inspection"
    assert covert.content_hash == content_hash(covert.content) and len(covert.content_hash) == 64
    assert covert.content == canonical_json(json.loads(covert.content))
    assert "首问负责" in covert.content  # stored as characters, not \\u escapes
    assert covert.source_file == "sanxiang_covert.yaml"
    assert covert.published_at == clock.now()
    assert all(r.is_current for r in stored.values())


def test_publishing_again_changes_nothing(dbsession, clock, templates):
    services.publish_all(templates)
    dbsession.commit()
    before = {key: (r.id, r.content_hash, r.published_at) for key, r in rows(dbsession).items()}
    clock.advance(days=1)

    report = services.publish_all(templates)
    dbsession.commit()

    assert report.inserted == [] and len(report.unchanged) == 2
    assert {key: (r.id, r.content_hash, r.published_at) for key, r in rows(dbsession).items()} == before


def test_changed_content_of_a_published_version_is_refused_and_nothing_is_published(dbsession, clock, templates):
    services.publish_all(templates)
    dbsession.commit()
    edit(templates / "sanxiang_covert.yaml", "points: 5", "points: 6")
    (templates / "new.yaml").write_text(
        (templates / "mystery_shopper.yaml").read_text(encoding="utf-8").replace(
            "code: mystery_shopper", "code: shopper_extra"), encoding="utf-8")

    with pytest.raises(Conflict) as caught:
        services.publish_all(templates)

    assert caught.value.code == "checklist_version_changed"
    assert "bump its version" in caught.value.message
    [line] = caught.value.details["changed"]
    assert line.startswith(f"{templates}/sanxiang_covert.yaml: sanxiang_covert 第 1 版") and "version: 2" in line
    dbsession.rollback()
    assert set(rows(dbsession)) == {("mystery_shopper", 1), ("sanxiang_covert", 1)}  # shopper_extra not added


def test_a_new_version_becomes_current_and_the_old_one_stays(dbsession, clock, templates):
    services.publish_all(templates)
    dbsession.commit()
    first = services.get_version("sanxiang_covert", 1).content_hash
    edit(templates / "sanxiang_covert.yaml", "version: 1", "version: 2")
    edit(templates / "sanxiang_covert.yaml", "points: 5", "points: 6")
    clock.advance(days=30)

    report = services.publish_all(templates)
    dbsession.commit()

    assert [(p.code, p.version) for p in report.inserted] == [("sanxiang_covert", 2)]
    assert report.current["sanxiang_covert"] == 2
    stored = rows(dbsession)
    assert stored[("sanxiang_covert", 2)].is_current and not stored[("sanxiang_covert", 1)].is_current
    assert stored[("mystery_shopper", 1)].is_current
    assert services.get_version("sanxiang_covert", 1).content_hash == first  # pinned visits keep theirs
    assert services.get_current("sanxiang_covert").version == 2
    assert [r.version for r in services.list_versions("sanxiang_covert")] == [2, 1]
    assert [(r.code, r.version) for r in services.list_current()] == [("mystery_shopper", 1), ("sanxiang_covert", 2)]

    # Publishing the old file again (say, from an older checkout) never moves "current" back.
    edit(templates / "sanxiang_covert.yaml", "version: 2", "version: 1")
    edit(templates / "sanxiang_covert.yaml", "points: 6", "points: 5")
    report = services.publish_all(templates)
    assert report.inserted == [] and services.get_current("sanxiang_covert").version == 2


def test_invalid_templates_are_not_published(dbsession, templates):
    edit(templates / "mystery_shopper.yaml", "severity: minor", "severity: grave")
    with pytest.raises(Unprocessable) as caught:
        services.publish_all(templates)
    assert caught.value.code == "checklist_invalid"
    assert any("mystery_shopper.yaml: item A1: field severity" in e for e in caught.value.details["errors"])
    assert rows(dbsession) == {}


def test_get_version_refuses_a_tampered_row(dbsession, templates):
    services.publish_all(templates)
    dbsession.commit()
    dbsession.execute(sa.update(ChecklistVersion).where(ChecklistVersion.code == "mystery_shopper").values(
        content=sa.func.replace(ChecklistVersion.content, "粗暴", "严厉")))
    dbsession.expire_all()

    with pytest.raises(services.ChecklistTampered) as caught:
        services.get_version("mystery_shopper", 1)
    assert caught.value.status == 500 and caught.value.code == "checklist_tampered"
    with pytest.raises(services.ChecklistTampered):
        services.get_current("mystery_shopper")
    with pytest.raises(services.ChecklistTampered):  # publish does not build on a tampered row either
        services.publish_all(templates)
    assert services.get_version("sanxiang_covert", 1).version == 1


def test_a_visit_s_checklist_is_read_by_the_hash_it_pinned(dbsession, templates):
    """A visit keeps the hash of the content it was filled in against, and its checklist is read by
    that hash: no statement once the process has parsed it, and a version whose row no longer holds
    that content (rewritten, content and hash together) is refused rather than answered with what
    it holds now."""
    from inspect_api.visits.models import Visit
    from inspect_api.visits.services import template_of

    services.publish_all(templates)
    dbsession.commit()
    row = services.get_version("mystery_shopper", 1)
    visit = Visit(checklist_code="mystery_shopper", checklist_version=1, checklist_hash=row.content_hash)
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)

    template_of(visit)  # parsed here if no test before did
    sa.event.listen(dbsession.get_bind(), "before_cursor_execute", listen)
    try:
        template = template_of(visit)
    finally:
        sa.event.remove(dbsession.get_bind(), "before_cursor_execute", listen)
    assert seen == [] and template["code"] == "mystery_shopper" and template == services.template_of(row)

    changed = row.content.replace("粗暴", "严厉")
    dbsession.execute(sa.update(ChecklistVersion).where(ChecklistVersion.id == row.id).values(
        content=changed, content_hash=content_hash(changed)))
    dbsession.expire_all()
    stale = Visit(checklist_code="mystery_shopper", checklist_version=1, checklist_hash="0" * 64)  # never parsed
    with pytest.raises(services.ChecklistTampered) as caught:
        template_of(stale)
    assert caught.value.status == 500 and caught.value.code == "checklist_tampered"
    assert services.pinned_by_hash("mystery_shopper", 1, content_hash(changed))[0]["code"] == "mystery_shopper"


def test_unknown_code_or_version_is_not_found(dbsession, templates):
    services.publish_all(templates)
    with pytest.raises(NotFound):
        services.get_version("sanxiang_covert", 9)
    with pytest.raises(NotFound):
        services.get_version("nothing", 1)
    with pytest.raises(NotFound):
        services.get_current("nothing")
    with pytest.raises(NotFound):
        services.list_versions("nothing")


def test_the_stored_template_is_the_file_template(dbsession, templates):
    services.publish_all(templates)
    template = services.template_of(services.get_version("sanxiang_covert", 1))
    assert template["code"] == "sanxiang_covert" and item_count(template) == 21
    assert template["systems"][0]["items"][0]["fail_answer"] == "no"


def test_published_at_moves_only_for_new_versions(dbsession, clock, templates):
    services.publish_all(templates)
    clock.advance(hours=1)
    edit(templates / "mystery_shopper.yaml", "version: 1", "version: 2")
    services.publish_all(templates)
    stored = rows(dbsession)
    assert stored[("mystery_shopper", 2)].published_at - stored[("mystery_shopper", 1)].published_at == timedelta(
        hours=1)


def test_the_cached_pinned_template_refuses_changes_so_no_request_sees_anothers_edit(dbsession):
    import copy
    import json

    from inspect_api.checklists.services import pinned_template, publish_all
    from inspect_api.config import PROJECT_ROOT

    publish_all(PROJECT_ROOT / "checklists")
    template, _ = pinned_template("sanxiang_covert", 1)
    first_item = template["systems"][0]["items"][0]
    for change in (lambda: template.__setitem__("title", "改"), lambda: template["systems"][0]["items"].append({}),
                   lambda: first_item.update(required=False), lambda: template.pop("systems"),
                   lambda: template["systems"].sort()):
        with pytest.raises(TypeError, match="read-only"):
            change()
    again, _ = pinned_template("sanxiang_covert", 1)
    assert again["systems"][0]["items"][0] == first_item and json.loads(json.dumps(again)) == again
    editable = copy.deepcopy(again)
    editable["systems"][0]["items"].append({"code": "X"})
    assert type(editable) is dict and len(pinned_template("sanxiang_covert", 1)[0]["systems"][0]["items"]) == len(again["systems"][0]["items"])
