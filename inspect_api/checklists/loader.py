"""Reading the checklist template directory: every `*.yaml` / `*.yml` file directly inside it is a
template (sub-folders are left alone), each validated by `rules`, plus the checks across files.

Reads files only: no Flask, no database, so `create_app` can refuse to start on a broken template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from inspect_api.checklists.rules import Template, TemplateError, duplicate_versions, read_template

PATTERNS = ("*.yaml", "*.yml")


@dataclass
class LoadResult:
    templates: list[Template] = field(default_factory=list)
    errors: list[TemplateError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ChecklistTemplatesInvalid(click.ClickException):
    """Start-up refused: a template is invalid. A ClickException so that `inspect-api ...` (which
    builds the app first) prints the list of problems and exits 1 instead of a traceback; under a
    WSGI server it is an ordinary exception carrying the same message."""

    def __init__(self, directory: str, errors: list[TemplateError]):
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(
            f"检查表模板有 {len(errors)} 处错误, 服务未启动 (invalid checklist templates in {directory}):\n{lines}"
            "\n修正后可用 `inspect-api checklists validate` 复查 (fix and re-check with that command)")
        self.errors = errors


def template_files(directory: str | Path) -> list[Path]:
    root = Path(directory)
    return sorted({p for pattern in PATTERNS for p in root.glob(pattern) if p.is_file()})


def load_directory(directory: str | Path) -> LoadResult:
    """Every template of `directory`, validated; errors name each file as `directory/name.yaml`."""
    root = Path(directory)
    if not root.is_dir():
        return LoadResult(errors=[TemplateError(str(root), "检查表模板目录不存在 (directory not found)")])
    result = LoadResult()
    for path in template_files(root):
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            result.errors.append(TemplateError(source, "文件须为 UTF-8 编码 (file must be UTF-8 text)"))
            continue
        except OSError as exc:
            result.errors.append(TemplateError(source, f"无法读取文件 (cannot read file): {exc.strerror}"))
            continue
        template, errors = read_template(text, source)
        result.errors.extend(errors)
        if template is not None:
            result.templates.append(template)
    result.errors.extend(duplicate_versions(result.templates))
    return result


def check_directory(directory: str | Path) -> LoadResult:
    """The templates of `directory`, or ChecklistTemplatesInvalid listing every problem (start-up)."""
    result = load_directory(directory)
    if result.errors:
        raise ChecklistTemplatesInvalid(str(directory), result.errors)
    return result
