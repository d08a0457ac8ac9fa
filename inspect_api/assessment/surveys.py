"""The annual assessment's survey: recipients imported per unit and year, the survey draw (commit,
draw, verify, reveal: the verifiable draw of core/draw.py), anonymous responses. Also what the survey
and the grading (services.py) share: the policy, a year's days, units by id.

The pure parts (the draw) are `rules`; this module loads and stores.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from flask import current_app

from inspect_api.assessment import rules
from inspect_api.assessment.models import (
    GradeRun,
    SurveyDraw,
    SurveyRecipient,
    SurveyResponse,
    SurveySelection,
)
from inspect_api.audit import services as audit
from inspect_api.core import clock
from inspect_api.core import draw as draw_record
from inspect_api.db import db
from inspect_api.errors import Conflict, NotFound, Unprocessable
from inspect_api.org import services as org
from inspect_api.org.models import Unit
from inspect_api.ratings.models import Rating

APPROVED_ONCE = ("approved", "superseded")  # grade runs that were approved (a draw they rest on is frozen)
DRAW_LABELS = {"draft": "草稿", "committed": "已承诺种子", "drawn": "已抽取"}


def policy() -> rules.AssessmentPolicy:
    return current_app.extensions["inspect_assessment_policy"]



def year_period(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


unit_names = org.units_by_id


# --- recipients (imported lists of service recipients) ------------------------------------------------

PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{4,30}$")
REFERENCE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _phone_cell(raw: str) -> str | None:
    from inspect_api.org.tables import CellError

    if not raw:
        return None
    if not PHONE_RE.match(raw):
        raise CellError("电话只能包含数字、空格、- 和开头的 +，5–32 位")
    return raw


def _reference_cell(raw: str) -> str | None:
    from inspect_api.org.tables import CellError

    if not raw:
        return None
    if not REFERENCE_RE.match(raw):
        raise CellError("编号只能包含字母、数字和 _ . : -，最长 64 位")
    return raw


def _recipient_columns():
    from inspect_api.org.tables import Column, parse_code, text

    return (
        Column("unit_code", "单位编码", parse_code, ("unit", "unit code"), required=True),
        Column("name", "姓名", text(64), ("服务对象", "name")),
        Column("phone", "联系电话", _phone_cell, ("电话", "手机", "手机号", "phone")),
        Column("reference", "服务对象编号", _reference_cell, ("reference", "ref", "办件编号", "对象编号")),
    )


def _phone_key(phone: str) -> str:
    return re.sub(r"[ -]", "", phone)


def recipient_key(phone: str | None, reference: str | None) -> str:
    return f"ref:{reference}" if reference else f"tel:{_phone_key(phone or '')}"


def parse_recipients(stream, filename: str) -> tuple[list[dict], list]:
    """Rows of a recipients file (单位编码, 姓名, 联系电话, 服务对象编号), checked; (rows, errors)."""
    from inspect_api.org.tables import RowError, parse_table

    table = parse_table(stream, filename, _recipient_columns(), lambda index: None if {"phone", "reference"} & set(index)
                        else "须有“联系电话”或“服务对象编号”列")
    if table.fatal:
        return [], table.fatal
    rows: list[dict] = []
    errors: list = list(table.errors)
    seen: dict[tuple, int] = {}
    units: dict[str, int | None] = {}
    for row_no, values in table.rows:
        code = values["unit_code"]
        if code not in units:
            units[code] = db.session.scalar(sa.select(Unit.id).where(Unit.code == code))
        if units[code] is None:
            errors.append(RowError(row_no, table.index["unit_code"][1], f"单位编码 {code} 不存在"))
            continue
        if not values.get("phone") and not values.get("reference"):
            errors.append(RowError(row_no, None, "联系电话与服务对象编号至少填写一项"))
            continue
        key = recipient_key(values.get("phone"), values.get("reference"))
        if (units[code], key) in seen:
            errors.append(RowError(row_no, None, f"与第 {seen[(units[code], key)]} 行是同一服务对象"))
            continue
        seen[(units[code], key)] = row_no
        rows.append({"unit_id": units[code], "key": key, "name": values.get("name"),
                     "phone": values.get("phone"), "reference": values.get("reference")})
    return rows, sorted(errors, key=lambda e: e.row)  # in the file's order, as they were met


def import_recipients(rows: list[dict], year: int, actor) -> dict:
    """Upsert by (year, unit, key): new ones created, changed names or phones updated, the rest left alone."""
    created = updated = unchanged = 0
    for row in rows:
        r = db.session.scalar(sa.select(SurveyRecipient).where(
            SurveyRecipient.year == year, SurveyRecipient.unit_id == row["unit_id"], SurveyRecipient.key == row["key"]))
        if r is None:
            db.session.add(SurveyRecipient(year=year, imported_by=getattr(actor, "id", None), **row))
            created += 1
        elif (r.name, r.phone, r.reference) != (row["name"], row["phone"], row["reference"]):
            r.name, r.phone, r.reference = row["name"], row["phone"], row["reference"]
            updated += 1
        else:
            unchanged += 1
    db.session.flush()
    if created or updated:
        # counts only: the trail is readable more widely than the contact data
        audit.record("survey_recipients.import", "survey_recipients", year, actor=actor,
                     after={"year": year, "created": created, "updated": updated, "unchanged": unchanged})
    return {"year": year, "rows": len(rows), "created": created, "updated": updated, "unchanged": unchanged}


def recipients(year: int, unit_id: int | None) -> sa.Select:
    stmt = sa.select(SurveyRecipient).where(SurveyRecipient.year == year)
    if unit_id:
        stmt = stmt.where(SurveyRecipient.unit_id == unit_id)
    return stmt.order_by(SurveyRecipient.unit_id, SurveyRecipient.id)


# --- survey draws --------------------------------------------------------------------------------------

def draw_snapshot(d: SurveyDraw) -> dict:
    return {"year": d.year, "source": d.source, "per_unit": d.per_unit, "unit_ids": d.unit_ids, "status": d.status}


def create_draw(data: dict, actor) -> SurveyDraw:
    pol = policy()
    per_unit = data.get("per_unit") or pol.per_unit
    if per_unit < pol.min_raters:
        raise Unprocessable(f"每单位至少抽取 {pol.min_raters} 人 (at least min_raters per unit)",
                            {"fields": {"per_unit": [f"at least {pol.min_raters}"]}})
    unit_ids = data.get("unit_ids") or None
    if unit_ids:
        unit_ids = sorted(set(unit_ids))
        known = set(db.session.scalars(sa.select(Unit.id).where(Unit.id.in_(unit_ids))))
        unknown = [u for u in unit_ids if u not in known]
        if unknown:
            raise Unprocessable("单位不存在 (unknown units)", {"fields": {"unit_ids": [f"{u}: unknown" for u in unknown]}})
    d = SurveyDraw(year=data["year"], source=data["source"], per_unit=per_unit, unit_ids=unit_ids, status="draft",
                   created_by=actor.id)
    db.session.add(d)
    db.session.flush()
    audit.record("survey_draw.create", "survey_draw", d.id, actor=actor, after=draw_snapshot(d))
    return d


def get_draw(draw_id: int, *, lock: bool = False) -> SurveyDraw:
    d = db.session.get(SurveyDraw, draw_id, with_for_update=lock or None)
    if d is None:
        raise NotFound("评议抽取不存在 (no such survey draw)")
    return d


def commit_draw(d: SurveyDraw, actor) -> SurveyDraw:
    """Fix the secret seed and publish its SHA-256; committing again answers the same commitment."""
    if not draw_record.commit(d, clock.now()):
        return d
    db.session.flush()
    audit.record("survey_draw.commit", "survey_draw", d.id, actor=actor, after={"seed_commitment": d.seed_commitment})
    return d


def effective_seed(d: SurveyDraw) -> str:
    return draw_record.effective_seed(d.seed, d.public_entropy)


def _pool_unit_ids(d: SurveyDraw) -> list[int]:
    if d.unit_ids:
        return list(d.unit_ids)
    return list(db.session.scalars(sa.select(Unit.id).where(Unit.is_active.is_(True),
                                                            Unit.kind.in_(policy().unit_kinds)).order_by(Unit.id)))


def build_survey_inputs(d: SurveyDraw) -> tuple[rules.SurveyPlan, list[rules.SurveyUnit]]:
    """The draw's inputs as the database has them now: each unit's eligible rating or recipient ids."""
    unit_ids = _pool_unit_ids(d)
    candidates: dict[int, list[int]] = {u: [] for u in unit_ids}
    if d.source == "ratings":
        start, end = year_period(d.year)
        stmt = sa.select(Rating.unit_id, Rating.id).where(Rating.unit_id.in_(unit_ids), Rating.rated_on >= start,
                                                          Rating.rated_on <= end)
    else:
        stmt = sa.select(SurveyRecipient.unit_id, SurveyRecipient.id).where(
            SurveyRecipient.unit_id.in_(unit_ids), SurveyRecipient.year == d.year)
    for unit_id, cid in db.session.execute(stmt) if unit_ids else ():
        candidates[unit_id].append(cid)
    plan = rules.SurveyPlan(year=d.year, source=d.source, per_unit=d.per_unit)
    return plan, [rules.SurveyUnit(u, tuple(c)) for u, c in candidates.items()]


def draw(d: SurveyDraw, actor, public_entropy: str | None = None) -> SurveyDraw:
    if d.status == "drawn":
        return d  # the draw happens once; asking again answers the stored one
    if d.status != "committed":
        raise Conflict("先承诺种子再抽取 (commit the seed first)", code="draw_not_committed")
    d.public_entropy = public_entropy
    plan, units = build_survey_inputs(d)
    result = rules.draw_survey(plan, units, effective_seed(d))
    d.inputs = rules.canonical(rules.survey_inputs(plan, units))
    d.inputs_digest = result.inputs_digest
    d.result = rules.survey_result_json(result)
    d.result_digest = rules.survey_result_digest(result)
    d.status, d.drawn_at, d.drawn_by = "drawn", clock.now(), getattr(actor, "id", None)
    column = "rating_id" if d.source == "ratings" else "recipient_id"
    for sample in result.units:
        for position, cid in enumerate(sample.drawn, start=1):
            db.session.add(SurveySelection(draw_id=d.id, unit_id=sample.unit_id, position=position, **{column: cid}))
    db.session.flush()
    audit.record("survey_draw.draw", "survey_draw", d.id, actor=actor,
                 after={"inputs_digest": d.inputs_digest, "result_digest": d.result_digest,
                        "units": len(result.units), "drawn": sum(len(s.drawn) for s in result.units),
                        "short_units": [p.unit_id for p in result.problems], "public_entropy": public_entropy})
    return d


def result_of(d: SurveyDraw) -> rules.SurveyResult | None:
    return rules.survey_result_from_dict(json.loads(d.result)) if d.result else None


def verify_draw(d: SurveyDraw) -> list[str]:
    """Re-run the stored draw from its stored inputs and compare everything that was kept."""
    if d.status != "drawn":
        return ["尚未抽取 (not drawn)"]
    problems = []
    stored = json.loads(d.inputs)
    plan, units = rules.survey_inputs_from_dict(stored)
    if (plan.year, plan.source, plan.per_unit) != (d.year, d.source, d.per_unit):
        problems.append("抽取参数在抽取后被修改 (draw settings changed after the draw)")
    expected = result_of(d)
    problems += draw_record.stored_problems(
        inputs_text=d.inputs, inputs=stored, result_text=d.result, result_json=rules.survey_result_json(expected),
        result_digest=rules.survey_result_digest(expected), recorded_result_digest=d.result_digest)
    column = SurveySelection.rating_id if d.source == "ratings" else SurveySelection.recipient_id
    stored_rows = {(u, p, c) for u, p, c in db.session.execute(
        sa.select(SurveySelection.unit_id, SurveySelection.position, column).where(SurveySelection.draw_id == d.id))}
    drawn_rows = {(s.unit_id, i, c) for s in expected.units for i, c in enumerate(s.drawn, start=1)}
    if stored_rows != drawn_rows:
        problems.append("抽取名单与抽取结果不一致 (drawn list differs from the draw)")
    problems += draw_record.stored_seed_problems(d.seed, d.seed_commitment)
    # the commitment covers the secret seed; the public value is joined to it after the commitment
    problems += rules.verify_survey(plan, units, effective_seed(d), expected)
    return problems


def reveal_draw(d: SurveyDraw, actor) -> SurveyDraw:
    """Publish the secret seed once the grades resting on the draw are approved (the sample can no
    longer change anything): with the published inputs anyone can re-run the draw. Idempotent."""
    if d.revealed_at is not None:
        return d
    if d.status != "drawn" or not _draw_frozen(d):
        raise Conflict("考评结果批准后才能公开种子 (reveal after the grades resting on the draw are approved)",
                       code="not_graded")
    d.revealed_at = clock.now()
    db.session.flush()
    audit.record("survey_draw.reveal", "survey_draw", d.id, actor=actor,
                 after={"seed_commitment": d.seed_commitment})
    return d


def publication(d: SurveyDraw) -> dict:
    """Everything needed to re-run a revealed draw: the seed, the public value, the inputs (ids only: no
    names or phones) and the result, with their digests."""
    if d.revealed_at is None:
        raise NotFound("该抽取的种子尚未公开 (not revealed)")
    return {"id": d.id, "year": d.year, "source": d.source, "algorithm": rules.SURVEY_ALGORITHM,
            "seed": d.seed, "seed_commitment": d.seed_commitment, "public_entropy": d.public_entropy,
            "effective_seed": effective_seed(d), "inputs": json.loads(d.inputs), "inputs_digest": d.inputs_digest,
            "result": json.loads(d.result), "result_digest": d.result_digest, "revealed_at": d.revealed_at}


def _response_counts(draw_id: int) -> dict[int, int]:
    return dict(db.session.execute(sa.select(SurveyResponse.unit_id, sa.func.count()).where(
        SurveyResponse.draw_id == draw_id).group_by(SurveyResponse.unit_id)).all())


def draw_problems(d: SurveyDraw) -> list[dict]:
    result = result_of(d)
    return org.with_unit_names(rules.survey_result_to_dict(result)["problems"]) if result is not None else []


def draw_units(d: SurveyDraw) -> list[dict]:
    """Each drawn unit: how many were eligible and drawn, whether it fell short, answers so far."""
    result = result_of(d)
    if result is None:
        return []
    names = unit_names(s.unit_id for s in result.units)
    responses = _response_counts(d.id) if d.source == "recipients" else {}
    return [{"unit_id": s.unit_id, "unit_name": getattr(names.get(s.unit_id), "name", None),
             "eligible": s.eligible, "drawn": len(s.drawn), "short": s.short,
             "responses": responses.get(s.unit_id, 0) if d.source == "recipients" else len(s.drawn)}
            for s in result.units]


def selections(d: SurveyDraw, unit_id: int | None) -> list[dict]:
    """Who was drawn, in draw order per unit, with contact data (office only) and whether they answered."""
    stmt = sa.select(SurveySelection).where(SurveySelection.draw_id == d.id)
    if unit_id:
        stmt = stmt.where(SurveySelection.unit_id == unit_id)
    rows = list(db.session.scalars(stmt.order_by(SurveySelection.unit_id, SurveySelection.position)))
    names = unit_names(r.unit_id for r in rows)
    people = {r.id: r for r in db.session.scalars(sa.select(SurveyRecipient).where(
        SurveyRecipient.id.in_([r.recipient_id for r in rows if r.recipient_id])))}
    ratings = {r.id: r for r in db.session.scalars(sa.select(Rating).where(
        Rating.id.in_([r.rating_id for r in rows if r.rating_id])))}
    out = []
    for s in rows:
        item = {"id": s.id, "unit_id": s.unit_id, "unit_name": getattr(names.get(s.unit_id), "name", None),
                "position": s.position, "recipient": None, "rating": None,
                "responded": s.responded if d.source == "recipients" else True}
        if s.recipient_id:
            p = people[s.recipient_id]
            item["recipient"] = {"id": p.id, "name": p.name, "phone": p.phone, "reference": p.reference}
        if s.rating_id:
            r = ratings[s.rating_id]
            item["rating"] = {"id": r.id, "window_no": r.window_no, "score": r.score, "rated_on": r.rated_on}
        out.append(item)
    return out


def _draw_frozen(d: SurveyDraw) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(GradeRun).where(
        GradeRun.survey_draw_id == d.id, GradeRun.status.in_(APPROVED_ONCE))) > 0


def record_responses(d: SurveyDraw, items: list[dict], actor) -> dict:
    """Record drawn recipients' anonymous answers, all or nothing. Each recipient answers once; the answer is
    stored without the recipient (and in random order within the request), the recipient only marked."""
    from inspect_api.ratings.rules import reason_code

    if d.source != "recipients":
        raise Conflict("该抽取来自好差评记录，评分即样本，无需录入 (a ratings draw has no responses)",
                       code="not_a_recipient_survey")
    if d.status != "drawn":
        raise Conflict("尚未抽取 (not drawn yet)", code="draw_not_drawn")
    if _draw_frozen(d):
        raise Conflict("考评结果已审批，评议已截止 (grades approved: the survey is closed)", code="survey_closed")
    ids = [i["recipient_id"] for i in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise Unprocessable("同一服务对象重复 (a recipient is listed twice)", {"fields": {"responses": dupes}})
    found = {s.recipient_id: s for s in db.session.scalars(sa.select(SurveySelection).where(
        SurveySelection.draw_id == d.id, SurveySelection.recipient_id.in_(ids)).with_for_update())}
    problems: dict[str, list[str]] = {}
    for n, item in enumerate(items):
        if item["recipient_id"] not in found:
            problems[str(n)] = ["不是本次抽取的评议对象 (not drawn in this survey)"]
            continue
        bad = [r for r in item.get("reasons") or [] if reason_code(r) is None]
        if bad:
            problems[str(n)] = [f"未知的原因 {bad}"]
    if problems:
        raise Unprocessable("评议内容有误 (invalid responses)", {"fields": {"responses": problems}})
    answered = [i for i in ids if found[i].responded]
    if answered:
        raise Conflict("已录入过这些服务对象的评议 (already answered)", {"recipient_ids": answered},
                       code="already_responded")
    responses = []
    for item in items:
        found[item["recipient_id"]].responded = True
        codes = list(dict.fromkeys(reason_code(r) for r in item.get("reasons") or []))
        responses.append(SurveyResponse(draw_id=d.id, unit_id=found[item["recipient_id"]].unit_id,
                                        score=item["score"], reasons=codes))
    random.SystemRandom().shuffle(responses)
    db.session.add_all(responses)
    db.session.flush()
    per_unit: dict[int, int] = defaultdict(int)
    for r in responses:
        per_unit[r.unit_id] += 1
    # counts per unit only: naming the recipients here would tie them to the answers by order
    audit.record("survey.responses", "survey_draw", d.id, actor=actor,
                 after={"responses": {str(k): v for k, v in sorted(per_unit.items())}})
    return {"recorded": len(responses), "by_unit": [{"unit_id": u, "responses": n} for u, n in sorted(
        _response_counts(d.id).items())]}


def latest_drawn(year: int) -> SurveyDraw | None:
    return db.session.scalar(sa.select(SurveyDraw).where(SurveyDraw.year == year, SurveyDraw.status == "drawn")
                             .order_by(SurveyDraw.drawn_at.desc(), SurveyDraw.id.desc()).limit(1))
