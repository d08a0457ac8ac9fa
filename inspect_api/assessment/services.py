"""Annual assessment services: the score inputs of a unit for a period, grade runs (compute, approve
with four eyes, then accountability proposals for 不合格 and commendation candidates for 优秀),
exports. The survey (recipients, the survey draw, responses) is `surveys.py`.

The pure parts (the grade and its explanation) are `rules`; this module loads and stores.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from inspect_api.assessment import rules
from inspect_api.assessment.models import (
    GradeRun,
    SurveyDraw,
    SurveyResponse,
    SurveySelection,
    UnitGrade,
)
from inspect_api.assessment.surveys import (
    APPROVED_ONCE,
    get_draw,
    latest_drawn,
    policy,
    result_of,
    unit_names,
    year_period,
)
from inspect_api.audit import services as audit
from inspect_api.core import clock, events
from inspect_api.core.clock import LOCAL_TZ, local
from inspect_api.db import db
from inspect_api.errors import Conflict, Forbidden, InvalidTransition, NotFound, Unprocessable
from inspect_api.org.recipients import liaisons_by_unit
from inspect_api.ratings.models import Rating
from inspect_api.stats.rules import Period
from inspect_api.visits.models import Finding, Visit

RUN_LABELS = {"draft": "待审批", "approved": "已审批", "superseded": "已被替代"}


# --- score inputs ---------------------------------------------------------------------------------------

def _finding_date():
    # complaint-sourced findings may have no visit: the visit's submission is only a fallback
    return sa.func.coalesce(Finding.observed_at, Visit.submitted_at, Finding.created_at)


def survey_scores(unit_ids, start: date, end: date, draw: SurveyDraw | None = None) -> dict[int, list[int]]:
    """The survey sample's 1–5 scores per unit: the drawn ratings' scores or the recorded responses of
    `draw`; without a draw, every citizen rating of the unit rated in [start, end]."""
    unit_ids = list(unit_ids)
    out: dict[int, list[int]] = {u: [] for u in unit_ids}
    if not unit_ids:
        return out
    if draw is None:
        stmt = sa.select(Rating.unit_id, Rating.score).where(Rating.unit_id.in_(unit_ids), Rating.rated_on >= start,
                                                             Rating.rated_on <= end)
    elif draw.source == "ratings":
        stmt = (sa.select(SurveySelection.unit_id, Rating.score).join(Rating, Rating.id == SurveySelection.rating_id)
                .where(SurveySelection.draw_id == draw.id, SurveySelection.unit_id.in_(unit_ids)))
    else:
        stmt = sa.select(SurveyResponse.unit_id, SurveyResponse.score).where(
            SurveyResponse.draw_id == draw.id, SurveyResponse.unit_id.in_(unit_ids))
    for unit_id, score in db.session.execute(stmt):
        out[unit_id].append(int(score))
    return out


def score_inputs(unit_ids, start: date, end: date, *, draw: SurveyDraw | None = None) -> dict[int, rules.ScoreInputs]:
    """Every unit's `rules.ScoreInputs` for the local days [start, end]: its confirmed findings (by the day
    observed, else the visit's submission) and its survey scores (see `survey_scores`). Two grouped queries."""
    unit_ids = sorted(set(unit_ids))
    findings: dict[int, list[rules.FindingInput]] = {u: [] for u in unit_ids}
    if unit_ids:
        lo, hi = Period(start, end).utc_range(LOCAL_TZ)
        when = _finding_date()
        stmt = (sa.select(Finding.id, Finding.unit_id, Finding.severity, Finding.points, Finding.source,
                          Finding.category)
                .select_from(Finding).outerjoin(Visit, Visit.id == Finding.visit_id)
                .where(Finding.status == "confirmed", Finding.unit_id.in_(unit_ids), when >= lo, when < hi))
        for fid, unit_id, severity, points, source, category in db.session.execute(stmt):
            findings[unit_id].append(rules.FindingInput(str(fid), severity, int(points or 0), source, category))
    scores = survey_scores(unit_ids, start, end, draw)
    return {u: rules.ScoreInputs(unit_id=u, period_start=start, period_end=end,
                                 findings=tuple(sorted(findings[u], key=lambda f: f.id)),
                                 survey_scores=tuple(sorted(scores[u], reverse=True)))
            for u in unit_ids}


def unit_score_inputs(unit_id: int, start: date, end: date, *, draw_id: int | None = None) -> rules.ScoreInputs:
    """One unit's score inputs for a period (local days, both included): confirmed findings and survey
    scores — the sample of survey draw `draw_id` when given, else every citizen rating of the period."""
    draw_row = get_draw(draw_id) if draw_id else None
    return score_inputs([unit_id], start, end, draw=draw_row)[unit_id]


# --- grade runs -----------------------------------------------------------------------------------------

def current_approved(year: int) -> GradeRun | None:
    """The year's most recently approved run still in force for some unit (several may be: each run
    holds the grades of the units it covered)."""
    return db.session.scalar(sa.select(GradeRun).where(GradeRun.year == year, GradeRun.status == "approved")
                             .order_by(GradeRun.approved_at.desc(), GradeRun.id.desc()).limit(1))


def grades_in_force(year: int | None = None, unit_id: int | None = None) -> sa.Select:
    stmt = sa.select(UnitGrade).where(UnitGrade.in_force.is_(True))
    if year is not None:
        stmt = stmt.where(UnitGrade.year == year)
    if unit_id is not None:
        stmt = stmt.where(UnitGrade.unit_id == unit_id)
    return stmt


def earlier_fails(year: int) -> dict[int, rules.EarlierFail]:
    """Units graded 不合格 in any approved (or since superseded) run of the year: the first such run each."""
    out: dict[int, rules.EarlierFail] = {}
    for unit_id, run_id, approved_at in db.session.execute(
            sa.select(UnitGrade.unit_id, GradeRun.id, GradeRun.approved_at).join(GradeRun, GradeRun.id == UnitGrade.run_id)
            .where(GradeRun.year == year, GradeRun.status.in_(APPROVED_ONCE), UnitGrade.grade == "fail")
            .order_by(GradeRun.approved_at, GradeRun.id)):
        out.setdefault(unit_id, rules.EarlierFail(run_id, local(approved_at).date()))
    return out


def compute_run(year: int, draw_id: int | None, actor) -> GradeRun:
    """A draft run grading the units of survey draw `draw_id`, named by the caller: the draw decides
    which units are graded and on whose answers, so it is never guessed (the latest draw of the year
    may cover other units)."""
    if not draw_id:
        latest = latest_drawn(year)
        raise Unprocessable("请指明考评所依据的评议抽取 (survey_draw_id required)",
                            {"fields": {"survey_draw_id": ["必填" + (f"（本年度最近一次抽取为 #{latest.id}）"
                                                                    if latest else "（本年度尚无已抽取的评议）")]}})
    d = get_draw(draw_id)
    if d.status != "drawn":
        raise Conflict("该评议尚未抽取 (survey not drawn yet)", code="draw_not_drawn")
    if d.year != year:
        raise Unprocessable("评议抽取的年度与考评年度不一致 (survey of another year)",
                            {"fields": {"survey_draw_id": [f"drawn for {d.year}"]}})
    pol = policy()
    result = result_of(d)
    unit_ids = [s.unit_id for s in result.units]
    start, end = year_period(year)
    inputs = score_inputs(unit_ids, start, end, draw=d)
    earlier = earlier_fails(year)
    previous = current_approved(year)
    graded = [rules.grade(pol, inputs[u], earlier_fail=earlier.get(u)) for u in unit_ids]
    stored_inputs = {u: {**g.summary, "survey_scores": list(inputs[u].survey_scores)}
                     for u, g in zip(unit_ids, graded, strict=True)}
    digest = rules.sha256_text(rules.canonical({"year": year, "survey_draw_id": d.id,
                                                "units": [stored_inputs[u] | {"unit_id": u} for u in unit_ids]}))
    run = GradeRun(year=year, status="draft", survey_draw_id=d.id, previous_run_id=previous.id if previous else None,
                   policy=json.loads(json.dumps(dict(pol.data), default=str)), policy_version=pol.version,
                   inputs_digest=digest, created_by=actor.id)
    db.session.add(run)
    db.session.flush()
    for g in graded:
        db.session.add(UnitGrade(
            run_id=run.id, unit_id=g.unit_id, year=year, grade=g.grade,
            score=None if g.score is None else float(g.score),
            inspection_score=None if g.inspection_score is None else float(g.inspection_score),
            survey_score=None if g.survey_score is None else float(g.survey_score),
            raters=inputs[g.unit_id].raters, inputs=stored_inputs[g.unit_id],
            steps=[s.as_dict() for s in g.steps], reason=g.reason))
    db.session.flush()
    counts = defaultdict(int)
    for g in graded:
        counts[g.grade] += 1
    audit.record("grade_run.compute", "grade_run", run.id, actor=actor,
                 after={"year": year, "survey_draw_id": d.id, "inputs_digest": digest, "policy_version": pol.version,
                        "grades": dict(sorted(counts.items()))})
    return run


def get_run(run_id: int, *, lock: bool = False) -> GradeRun:
    run = db.session.get(GradeRun, run_id, with_for_update=lock or None)
    if run is None:
        raise NotFound("考评批次不存在 (no such grade run)")
    return run


def approve_run(run: GradeRun, actor) -> tuple[GradeRun, list[dict]]:
    """Four eyes: someone other than who computed it. Freezes the grades, supersedes the year's earlier
    approved run, and runs the escalation rules (不合格 → criticism notice and the head's accountability)."""
    if run.status != "draft":
        raise InvalidTransition(f"考评批次为“{RUN_LABELS[run.status]}”，不能审批 (only a draft run is approved)",
                                {"status": run.status, "allowed_from": ["draft"]})
    if actor.id == run.created_by:
        raise Forbidden("考评结果须由计算人以外的人审批 (approved by someone other than who computed it)", code="own_run")
    previous = current_approved(run.year)
    if (previous.id if previous else None) != run.previous_run_id:
        raise Conflict("计算之后本年度已有其他考评结果获批，请重新计算 (another run was approved since; recompute)",
                       {"approved_run_id": previous.id if previous else None}, code="stale_run")
    now = clock.now()
    mine = grades_of(run)
    covered = [g.unit_id for g in mine]
    replaced = list(db.session.scalars(grades_in_force(run.year).where(UnitGrade.unit_id.in_(covered))
                                       .with_for_update())) if covered else []
    for old in replaced:
        old.in_force = False
    for g in mine:
        g.in_force = True
    run.status, run.approved_by, run.approved_at = "approved", actor.id, now
    db.session.flush()
    # a run whose every grade was re-graded since is superseded; one still holding others' grades stays
    for old_run_id in sorted({g.run_id for g in replaced}):
        left = db.session.scalar(sa.select(sa.func.count()).select_from(UnitGrade).where(
            UnitGrade.run_id == old_run_id, UnitGrade.in_force.is_(True)))
        if not left:
            old_run = db.session.get(GradeRun, old_run_id)
            old_run.status, old_run.superseded_at = "superseded", now
            audit.record("grade_run.supersede", "grade_run", old_run_id, actor=actor, before={"status": "approved"},
                         after={"status": "superseded", "by_run_id": run.id})
    audit.record("grade_run.approve", "grade_run", run.id, actor=actor, before={"status": "draft"},
                 after={"status": "approved", "year": run.year, "inputs_digest": run.inputs_digest,
                        "units": covered, "replaced": {str(g.unit_id): g.run_id for g in replaced}})
    new_grade = {g.unit_id: g.grade for g in mine}
    lifted = sorted(g.unit_id for g in replaced if g.grade == "fail" and new_grade.get(g.unit_id) != "fail")
    reinstated = sorted(g.unit_id for g in replaced if g.grade != "fail" and new_grade.get(g.unit_id) == "fail")
    _tell_units(run)
    # accountability answers: withdraws or reopens what a replaced 不合格 proposed, then judges every fact
    sent = events.grades_approved.send(run, actor=actor, lifted=[(u, new_grade[u]) for u in lifted],
                                       reinstated=reinstated)
    proposals = [p for result in events.results(sent) for p in result]
    return run, proposals


def _tell_units(run: GradeRun) -> None:
    from inspect_api.notifications.services import notify

    grades = dict(db.session.execute(sa.select(UnitGrade.unit_id, UnitGrade.grade).where(UnitGrade.run_id == run.id)).all())
    if not grades:
        return
    for user_id, unit_id in liaisons_by_unit(grades):
        notify(user_id, "assessment.grade", f"{run.year}年度考评结果：{rules.GRADE_LABELS[grades[unit_id]]}",
               None, {"type": "unit_grade", "unit_id": unit_id, "year": run.year},
               f"assessment:{run.id}:{user_id}")


def grades_of(run: GradeRun) -> list[UnitGrade]:
    return list(db.session.scalars(sa.select(UnitGrade).where(UnitGrade.run_id == run.id).order_by(UnitGrade.unit_id)))


def grade_counts(run: GradeRun) -> dict[str, int]:
    counts = {k: 0 for k in rules.GRADE_LABELS}
    for g in grades_of(run):
        counts[g.grade] += 1
    return counts


def commendation_candidates(run: GradeRun) -> list[dict]:
    """The run's 优秀 units (通报表扬)."""
    rows = [g for g in grades_of(run) if g.grade == "excellent"]
    units = unit_names(g.unit_id for g in rows)
    return [{"unit_id": g.unit_id, "unit_name": getattr(units.get(g.unit_id), "name", None), "score": g.score}
            for g in rows]


def run_grades(run: GradeRun) -> list[UnitGrade]:
    """The run's grades, their units loaded in one query (the grades' schema asks for each one)."""
    rows = grades_of(run)
    unit_names(g.unit_id for g in rows)
    return rows


def runs(year: int | None) -> sa.Select:
    stmt = sa.select(GradeRun)
    if year:
        stmt = stmt.where(GradeRun.year == year)
    return stmt.order_by(GradeRun.year.desc(), GradeRun.id.desc())


def unit_history(unit_id: int) -> list[UnitGrade]:
    """The unit's grade in force in each year, newest year first."""
    return list(db.session.scalars(grades_in_force(unit_id=unit_id).order_by(UnitGrade.year.desc())))


def year_grades(year: int, run_id: int | None = None) -> tuple[GradeRun | None, list[UnitGrade]]:
    """One run's grades (`run_id`), or every unit's grade in force for the year, whichever approved run
    holds it (the run returned is the latest approved)."""
    if run_id:
        run = get_run(run_id)
        if run.year != year:
            raise Unprocessable("考评批次不属于该年度 (run of another year)",
                                {"fields": {"run_id": [f"year {run.year}"]}})
        return run, grades_of(run)
    return current_approved(year), list(db.session.scalars(grades_in_force(year).order_by(UnitGrade.unit_id)))


CSV_HEADER = ["单位编码", "单位名称", "年度", "等次", "综合得分", "检查得分", "评议得分", "评议人数", "评议平均分",
              "满意率", "被确认问题", "严重", "较重", "一般", "检查表分值", "扣分", "说明"]


def grades_csv(rows: list[UnitGrade]) -> str:
    units = unit_names(g.unit_id for g in rows)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEADER)
    for g in rows:
        f, s = g.inputs.get("findings", {}), g.inputs.get("survey", {})
        sev = f.get("by_severity", {})
        u = units.get(g.unit_id)
        w.writerow([getattr(u, "code", ""), getattr(u, "name", ""), g.year, rules.GRADE_LABELS[g.grade],
                    _cell(g.score), _cell(g.inspection_score), _cell(g.survey_score), g.raters, _cell(s.get("mean")),
                    _cell(s.get("satisfaction_rate")), f.get("confirmed", 0), sev.get("severe", 0),
                    sev.get("serious", 0), sev.get("minor", 0), f.get("checklist_points", 0),
                    _cell(f.get("deduction")), g.reason])
    return "\ufeff" + buf.getvalue()


def _cell(value) -> str:
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def draft_commendation(run: GradeRun, actor):
    """A draft 通报表扬 (documents, kind commendation) naming the run's 优秀 units."""
    if run.status != "approved":
        raise Conflict("考评结果审批后才能起草表扬通报 (approve the grades first)", code="run_not_approved")
    best = [g for g in grades_of(run) if g.grade == "excellent"]
    if not best:
        raise Conflict("本批次没有评为优秀的单位 (no unit graded 优秀)", code="no_candidates")
    entries = [{"unit_id": g.unit_id, "reason": f"在{run.year}年度“三项制度”综合考评中被评为优秀（综合得分 {_cell(g.score)} 分）"}
               for g in best]
    wording = {
        "title": f"关于对{run.year}年度“三项制度”综合考评优秀单位予以通报表扬的通报",
        "paragraphs": [f"根据{run.year}年度“三项制度”综合考评结果（现场检查逐项打分，并随机抽取服务对象无记名评议），"
                       "以下单位落实“三项制度”有力、服务对象满意，综合考评结果为优秀。为树立先进典型，决定予以通报表扬："]}
    doc, _job = events.answer(events.document_requested.send(
        None, kind="commendation", selection={"entries": entries}, wording=wording, actor=actor))
    audit.record("grade_run.commendation", "grade_run", run.id, actor=actor, after={"document_id": doc.id})
    return doc


# --- for other features ---------------------------------------------------------------------------------

def latest_grades() -> dict[int, str]:
    """Each unit's latest approved grade (the newest year it was graded in; 不予评定 is no grade)."""
    out: dict[int, str] = {}
    for unit_id, grade in db.session.execute(
            sa.select(UnitGrade.unit_id, UnitGrade.grade)
            .where(UnitGrade.in_force.is_(True), UnitGrade.grade != "not_assessable")
            .order_by(UnitGrade.year.desc(), UnitGrade.run_id.desc())):
        out.setdefault(unit_id, grade)
    return out
