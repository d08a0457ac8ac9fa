"""Published checklist versions: publish the template directory into `checklist_versions`, and read
versions back with their hash re-checked. A published (code, version) never changes. Services flush;
the caller commits."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from inspect_api.checklists.loader import load_directory
from inspect_api.checklists.models import ChecklistVersion
from inspect_api.checklists.rules import content_hash
from inspect_api.core import clock
from inspect_api.db import db
from inspect_api.errors import Conflict, DomainError, NotFound, Unprocessable

log = logging.getLogger(__name__)


class ChecklistTampered(DomainError):
    """A stored version's content no longer matches its hash: the row was changed behind our back."""

    status, code = 500, "checklist_tampered"


@dataclass(frozen=True)
class PublishedLine:
    code: str
    version: int
    content_hash: str
    source_file: str


@dataclass
class PublishReport:
    inserted: list[PublishedLine] = field(default_factory=list)
    unchanged: list[PublishedLine] = field(default_factory=list)
    current: dict[str, int] = field(default_factory=dict)  # code -> its current (highest) version


def publish_all(directory: str | Path) -> PublishReport:
    """Load every template of `directory` into `checklist_versions`, all or nothing.

    New (code, version): inserted with its canonical JSON and SHA-256. Already published and
    unchanged: skipped. Already published with other content: Conflict naming each such file
    (nothing is published; bump `version` instead). Then `is_current` marks the highest version
    of each code. Running it twice changes nothing.
    """
    result = load_directory(directory)
    if result.errors:
        raise Unprocessable(f"检查表模板有 {len(result.errors)} 处错误, 未发布 (invalid templates, nothing published)",
                            {"errors": [str(e) for e in result.errors]}, code="checklist_invalid")
    existing = {
        (row.code, row.version): row
        for row in db.session.scalars(sa.select(ChecklistVersion).where(
            ChecklistVersion.code.in_({t.code for t in result.templates})))
    }
    report, new, changed = PublishReport(), [], []
    for template in result.templates:
        line = PublishedLine(template.code, template.version, template.content_hash, Path(template.source).name)
        row = existing.get((template.code, template.version))
        if row is None:
            new.append((template, line))
        elif verify(row).content_hash == template.content_hash:
            report.unchanged.append(line)
        else:
            changed.append(template)
    if changed:
        latest = _latest_versions()
        raise Conflict(
            "已发布的检查表版本内容不可更改, 请把 version 改为新的版本号后再发布 "
            "(a published version never changes: bump its version), 未发布任何内容 (nothing published)",
            {"changed": [f"{t.source}: {t.code} 第 {t.version} 版已发布且内容不同, 请改为 version: "
                         f"{latest[t.code] + 1} (published with other content; use version {latest[t.code] + 1})"
                         for t in changed]},
            code="checklist_version_changed")
    now = clock.now()
    for template, line in new:
        db.session.add(ChecklistVersion(
            code=template.code, version=template.version, title=template.title, kind=template.kind,
            content=template.content, content_hash=template.content_hash, source_file=line.source_file,
            published_at=now, is_current=False))
        report.inserted.append(line)
    db.session.flush()
    report.current = _mark_current()
    return report


def _latest_versions() -> dict[str, int]:
    stmt = sa.select(ChecklistVersion.code, sa.func.max(ChecklistVersion.version)).group_by(ChecklistVersion.code)
    return {code: version for code, version in db.session.execute(stmt)}


def _mark_current() -> dict[str, int]:
    """Set is_current on the highest version of every code, and off on the rest."""
    current = _latest_versions()
    for code, version in current.items():
        db.session.execute(sa.update(ChecklistVersion).where(ChecklistVersion.code == code).values(
            is_current=ChecklistVersion.version == version))
    return current


def verify(row: ChecklistVersion) -> ChecklistVersion:
    """The row, if its stored content still hashes to its stored hash; else ChecklistTampered."""
    if content_hash(row.content) != row.content_hash:
        log.error("checklist %s v%s: stored content does not match content_hash", row.code, row.version)
        raise ChecklistTampered(
            f"检查表 {row.code} 第 {row.version} 版的内容与其哈希不符, 可能被篡改, 已停止使用 "
            "(stored content does not match its hash)",
            {"code": row.code, "version": row.version})
    return row


def get_version(code: str, version: int) -> ChecklistVersion:
    """One published version, its hash re-checked (NotFound, ChecklistTampered)."""
    row = db.session.scalar(sa.select(ChecklistVersion).where(
        ChecklistVersion.code == code, ChecklistVersion.version == version))
    if row is None:
        raise NotFound(f"检查表 {code} 第 {version} 版不存在 (no such checklist version)",
                       {"code": code, "version": version})
    return verify(row)


def published_hash(code: str, version: int) -> str | None:
    """The content hash of a published version, or None when that version is not published."""
    return db.session.scalar(sa.select(ChecklistVersion.content_hash).where(
        ChecklistVersion.code == code, ChecklistVersion.version == version))


def get_current(code: str) -> ChecklistVersion:
    """The newest published version of `code`, its hash re-checked."""
    row = db.session.scalar(sa.select(ChecklistVersion).where(
        ChecklistVersion.code == code, ChecklistVersion.is_current.is_(True)))
    if row is None:
        raise NotFound(f"检查表 {code} 不存在 (no such checklist)", {"code": code})
    return verify(row)


def list_current() -> list[ChecklistVersion]:
    return list(db.session.scalars(
        sa.select(ChecklistVersion).where(ChecklistVersion.is_current.is_(True)).order_by(ChecklistVersion.code)))


def list_versions(code: str) -> list[ChecklistVersion]:
    """Every published version of `code`, newest first (NotFound when the code was never published)."""
    rows = list(db.session.scalars(
        sa.select(ChecklistVersion).where(ChecklistVersion.code == code).order_by(ChecklistVersion.version.desc())))
    if not rows:
        raise NotFound(f"检查表 {code} 不存在 (no such checklist)", {"code": code})
    return rows


_PARSED: dict[str, dict] = {}  # content_hash -> parsed template (frozen), verified once per process


class FrozenDict(dict):
    """A dict that refuses every change: the cached template is shared by every request of the process,
    so one caller's edit must not reach the next. Still a dict (JSON, `isinstance`, reads as usual)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("the pinned checklist template is read-only; copy it to change it")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __deepcopy__(self, memo):  # a deep copy is the way to get an editable template
        import copy

        return {k: copy.deepcopy(v, memo) for k, v in self.items()}


class FrozenList(list):
    """A list that refuses every change (see FrozenDict)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("the pinned checklist template is read-only; copy it to change it")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __deepcopy__(self, memo):
        import copy

        return [copy.deepcopy(v, memo) for v in self]


def freeze(value):
    """Dicts become FrozenDicts and lists FrozenLists, all the way down."""
    if isinstance(value, dict):
        return FrozenDict((k, freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    return value


# built once, with bound parameters: the phone's every visit looks its checklist version up
_VERSION_HASH = sa.select(ChecklistVersion.content_hash).where(
    ChecklistVersion.code == sa.bindparam("code"), ChecklistVersion.version == sa.bindparam("version"))


def pinned_template(code: str, version: int) -> tuple[dict, str]:
    """(template, content_hash) of a published version, for the hot paths that pin one.

    Reads only the row's hash; the content is loaded, re-hashed and parsed the first time this
    process meets that hash. The template is shared and frozen: any change raises TypeError.
    """
    content_hash_ = db.session.connection().execute(_VERSION_HASH, {"code": code, "version": version}).scalar()
    return pinned_by_hash(code, version, content_hash_)


def pinned_by_hash(code: str, version: int, content_hash_: str | None) -> tuple[dict, str]:
    """`pinned_template` for a caller that knows the version's hash: read in a statement of its own
    that looks up more than the checklist (None: no such version), or pinned by a visit."""
    if content_hash_ is None:
        raise NotFound(f"检查表 {code} 第 {version} 版不存在 (no such checklist version)",
                       {"code": code, "version": version})
    if content_hash_ not in _PARSED:
        row = get_version(code, version)  # its content re-hashed against its own hash
        if row.content_hash != content_hash_:  # the caller's hash (a visit's) names other content
            log.error("checklist %s v%s: stored content_hash is not the one pinned", code, version)
            raise ChecklistTampered(
                f"检查表 {code} 第 {version} 版的内容已不是检查时的内容, 可能被篡改, 已停止使用 "
                "(stored content is not the content pinned)", {"code": code, "version": version})
        _PARSED[content_hash_] = freeze(template_of(row))
    return _PARSED[content_hash_], content_hash_


def template_of(row: ChecklistVersion) -> dict:
    """The template stored in a row (call `verify` or a getter first when it matters)."""
    return json.loads(row.content)
