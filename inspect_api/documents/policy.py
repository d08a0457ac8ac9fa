"""The documents policy file (`checklists/policy/documents.yaml`): read and checked at start-up."""

from __future__ import annotations

from inspect_api.core import policy_file
from inspect_api.core.policy_file import PolicyError
from inspect_api.documents.formatting import StaffNaming
from inspect_api.documents.rules import KIND_LABELS

KEYS = {"issuer", "addressee", "cc", "printed_by", "staff_naming", "bulletin"}
BULLETIN_KEYS = {"ranking", "bottom_staff", "best_count", "typical_cases"}
OPTIONAL = {"title_words"}  # the break table: words a title line never cuts
# The bulletin's scoring moved to the rankings policy (one scoring for the API and the bulletin).
MOVED = {"score_base": "rankings.yaml（满分固定为100）", "deduction_by_severity": "rankings.yaml deduction_by_severity",
         "bottom_count": "rankings.yaml units.bottom"}


def parse(text: str, source: str) -> dict:
    data = policy_file.yaml_mapping(text, source)
    problems = []
    if not KEYS <= set(data) <= KEYS | OPTIONAL:
        problems.append(f"字段须为 {sorted(KEYS)} (missing {sorted(KEYS - set(data))}, unknown "
                        f"{sorted(set(data) - KEYS - OPTIONAL)})")
    words = data.setdefault("title_words", [])
    if not isinstance(words, list) or not all(isinstance(w, str) and len(w.strip()) > 1 for w in words):
        problems.append("title_words 须为词语列表（每个词至少两个字）")
    issuer = data.get("issuer")
    if not isinstance(issuer, dict) or set(issuer) != {"name", "short", "office_name"} or \
            not all(isinstance(v, str) and v.strip() for v in issuer.values()):
        problems.append("issuer 须有 name、short、office_name 三个非空文本")
    for key in ("addressee", "cc", "printed_by"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"{key} 须为非空文本")
    naming = data.get("staff_naming")
    valid = {n.value for n in StaffNaming}
    if not isinstance(naming, dict) or set(naming) != set(KIND_LABELS) or not set(naming.values()) <= valid:
        problems.append(f"staff_naming 须为每类公文 {sorted(KIND_LABELS)} 给出 {sorted(valid)} 之一")
    bulletin = data.get("bulletin")
    moved = sorted(set(bulletin) & set(MOVED)) if isinstance(bulletin, dict) else []
    for key in moved:
        problems.append(f"bulletin.{key} 已移至 {MOVED[key]} (moved to the rankings policy)")
    if not isinstance(bulletin, dict) or set(bulletin) - set(moved) != BULLETIN_KEYS:
        problems.append(f"bulletin 须有 {sorted(BULLETIN_KEYS)}")
    else:
        for key in ("ranking", "bottom_staff"):
            if not isinstance(bulletin[key], bool):
                problems.append(f"bulletin.{key} 须为 true 或 false")
        for key in ("best_count", "typical_cases"):
            if not isinstance(bulletin[key], int) or isinstance(bulletin[key], bool) or not 0 <= bulletin[key] <= 50:
                problems.append(f"bulletin.{key} 须为 0–50 的整数")
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return data


def load(checklist_dir: str) -> dict:
    return parse(*policy_file.read(checklist_dir, "documents.yaml"))
