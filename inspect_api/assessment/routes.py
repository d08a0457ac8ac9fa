"""Annual assessment endpoints (年度考评): recipient lists, survey draws and responses, grade runs with
their explanations, approval, commendation drafts, exports and each unit's grade history."""

from __future__ import annotations

import marshmallow as ma
from flask import Response as FlaskResponse
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.assessment import rules, services, surveys
from inspect_api.auth.access import current_user, roles
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed, paginate_select
from inspect_api.db import db
from inspect_api.errors import NotFound, Unprocessable
from inspect_api.org.services import in_scope

blp = Blueprint("assessment", __name__, url_prefix="/assessment",
                description="年度考评 Annual assessment: survey of service recipients, grades")
OFFICE = ("office", "admin")
READERS = ("office", "admin", "leader")
YEAR = validate.Range(min=2000, max=2100)


# --- schemas ----------------------------------------------------------------------------------------------

class AssessmentYearQuerySchema(BaseSchema):
    year = fields.Integer(required=True, validate=YEAR)


class SurveyRecipientQuerySchema(AssessmentYearQuerySchema):
    unit_id = fields.Integer(validate=ID_RANGE)


class SurveyRecipientImportFileSchema(BaseSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class SurveyRecipientImportReportSchema(BaseSchema):
    year = fields.Integer()
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class SurveyRecipientSchema(BaseSchema):
    id = fields.Integer()
    year = fields.Integer()
    unit_id = fields.Integer()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)


class SurveyDrawCreateSchema(BaseSchema):
    year = fields.Integer(required=True, validate=YEAR)
    source = fields.String(required=True, validate=validate.OneOf(list(rules.SURVEY_SOURCES)), metadata={
        "description": "ratings: the units' citizen ratings (好差评) of the year; recipients: the imported lists"})
    unit_ids = fields.List(fields.Integer(validate=ID_RANGE), load_default=None, allow_none=True,
                           validate=validate.Length(max=5000),
                           metadata={"description": "default: every active unit of the policy's unit_kinds"})
    per_unit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=10_000),
                              metadata={"description": "recipients drawn per unit (default and minimum: the policy's)"})


class SurveyDrawEntropySchema(BaseSchema):
    public_entropy = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=255), metadata={
        "description": "承诺之后才公布的公共随机数 (如当期彩票开奖号码), 与种子一起决定抽取结果"})


class SurveyProblemSchema(BaseSchema):
    code = fields.String(metadata={"description": "unit_short: fewer eligible recipients than per_unit"})
    message_zh = fields.String(metadata={"description": "as recorded with the draw; names the unit by id"})
    unit_id = fields.Integer(allow_none=True)
    unit_name = fields.String(metadata={"description": "the unit's name now (absent when no unit is named)"})
    details = fields.Dict()


class SurveyDrawUnitSchema(BaseSchema):
    unit_id = fields.Integer()
    unit_name = fields.String(allow_none=True)
    eligible = fields.Integer(metadata={"description": "candidates in the pool"})
    drawn = fields.Integer()
    short = fields.Boolean(metadata={"description": "fewer eligible than per_unit: all were drawn"})
    responses = fields.Integer(metadata={"description": "answers recorded (ratings draws: the drawn ratings)"})


class SurveyDrawSchema(BaseSchema):
    id = fields.Integer()
    year = fields.Integer()
    source = fields.String()
    source_label = computed(fields.String(), lambda d: rules.SURVEY_SOURCES[d.source])
    per_unit = fields.Integer()
    unit_ids = fields.List(fields.Integer(), allow_none=True)
    status = fields.String(metadata={"description": "draft → committed → drawn"})
    status_label = computed(fields.String(), lambda d: surveys.DRAW_LABELS[d.status])
    seed_commitment = fields.String(allow_none=True, metadata={"description": "SHA-256 of the secret seed"})
    public_entropy = fields.String(allow_none=True)
    inputs_digest = fields.String(allow_none=True)
    result_digest = fields.String(allow_none=True)
    created_by = fields.Integer()
    created_at = fields.DateTime()
    committed_at = fields.DateTime(allow_none=True)
    drawn_at = fields.DateTime(allow_none=True)
    revealed_at = fields.DateTime(allow_none=True)
    seed = computed(fields.String(allow_none=True, metadata={"description": "the secret seed, once revealed"}),
                    lambda d: d.seed if d.revealed_at else None)
    problems = computed(fields.List(fields.Nested(SurveyProblemSchema)), surveys.draw_problems)
    units = computed(fields.List(fields.Nested(SurveyDrawUnitSchema)), surveys.draw_units)


class SurveyVerifySchema(BaseSchema):
    verified = fields.Boolean()
    problems = fields.List(fields.String())


class SurveySelectionQuerySchema(BaseSchema):
    unit_id = fields.Integer(validate=ID_RANGE)


class SurveyDrawnRecipientSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)


class SurveyDrawnRatingSchema(BaseSchema):
    id = fields.Integer()
    window_no = fields.String()
    score = fields.Integer()
    rated_on = fields.Date()


class SurveySelectionSchema(BaseSchema):
    id = fields.Integer()
    unit_id = fields.Integer()
    unit_name = fields.String(allow_none=True)
    position = fields.Integer(metadata={"description": "order in the unit's draw, from 1"})
    recipient = fields.Nested(SurveyDrawnRecipientSchema, allow_none=True)
    rating = fields.Nested(SurveyDrawnRatingSchema, allow_none=True)
    responded = fields.Boolean()


class SurveyResponseItemSchema(BaseSchema):
    recipient_id = fields.Integer(required=True, validate=ID_RANGE)
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5),
                           metadata={"description": "5 非常满意 … 1 非常不满意"})
    reasons = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list,
                          validate=validate.Length(max=20), metadata={"description": "好差评 reason codes or labels"})


class SurveyResponsesSchema(BaseSchema):
    responses = fields.List(fields.Nested(SurveyResponseItemSchema), required=True,
                            validate=validate.Length(min=1, max=1000))


class SurveyResponseCountSchema(BaseSchema):
    unit_id = fields.Integer()
    responses = fields.Integer()


class SurveyResponsesResultSchema(BaseSchema):
    recorded = fields.Integer()
    by_unit = fields.List(fields.Nested(SurveyResponseCountSchema))


class GradeRunCreateSchema(BaseSchema):
    year = fields.Integer(required=True, validate=YEAR)
    survey_draw_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE,
                                    metadata={"description": "required: the drawn survey the run rests on; its "
                                                             "units are the units graded (never implied)"})


class AssessmentYearFilterSchema(BaseSchema):
    year = fields.Integer(validate=YEAR)


class GradeStepSchema(BaseSchema):
    rule = fields.String(metadata={"description": "raters | inspection | survey | total | threshold | veto:<id> | "
                                                  "earlier_fail"})
    label = fields.String()
    detail = fields.String()
    data = fields.Dict()
    matched = fields.Boolean()
    grade_before = fields.String(allow_none=True)
    grade_after = fields.String(allow_none=True)
    changed = fields.Boolean()


def _unit(g):
    from inspect_api.org.models import Unit

    return db.session.get(Unit, g.unit_id)


def _approved_at(g, schema):
    # only a unit's history says when each grade was approved
    if not getattr(schema, "history", False):
        return ma.missing
    from inspect_api.assessment.models import GradeRun

    return db.session.get(GradeRun, g.run_id).approved_at


class UnitGradeSchema(BaseSchema):
    """A unit's grade; `UnitGradeSchema(history=True)` adds when its run was approved."""

    def __init__(self, *args, history: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.history = history

    unit_id = fields.Integer()
    unit_code = computed(fields.String(allow_none=True), lambda g: getattr(_unit(g), "code", None))
    unit_name = computed(fields.String(allow_none=True), lambda g: getattr(_unit(g), "name", None))
    year = fields.Integer()
    run_id = fields.Integer()
    grade = fields.String(metadata={"description": "excellent 优秀 | pass 合格 | fail 不合格 | not_assessable 不予评定"})
    grade_label = computed(fields.String(), lambda g: rules.GRADE_LABELS[g.grade])
    score = fields.Float(allow_none=True)
    inspection_score = fields.Float(allow_none=True)
    survey_score = fields.Float(allow_none=True)
    raters = fields.Integer()
    inputs = fields.Dict(metadata={"description": "findings (by severity, source, category; points), survey "
                                                 "(raters, mean, 满意率, by score), finding ids, survey scores"})
    steps = fields.List(fields.Nested(GradeStepSchema), metadata={"description": "every rule applied, in order"})
    reason = fields.String()
    approved_at = computed(fields.DateTime(allow_none=True), _approved_at)


class CommendationCandidateSchema(BaseSchema):
    unit_id = fields.Integer()
    unit_name = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)


class GradeProposalSchema(BaseSchema):
    id = fields.Integer()
    rule_id = fields.String()
    subject_type = fields.String()
    subject_id = fields.Integer()
    action = fields.String()
    action_label = fields.String()
    reason = fields.String()


class GradeRunSchema(BaseSchema):
    """A grade run; `GradeRunSchema(brief=True)` leaves the per-unit grades out (an empty list)."""

    def __init__(self, *args, brief: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.brief = brief

    id = fields.Integer()
    year = fields.Integer()
    status = fields.String(metadata={"description": "draft → approved (→ superseded by a later approved run)"})
    status_label = computed(fields.String(), lambda run: services.RUN_LABELS[run.status])
    survey_draw_id = fields.Integer()
    previous_run_id = fields.Integer(allow_none=True)
    policy_version = fields.Integer()
    policy = fields.Dict(metadata={"description": "the assessment policy the run used"})
    inputs_digest = fields.String()
    created_by = fields.Integer()
    created_at = fields.DateTime()
    approved_by = fields.Integer(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    superseded_at = fields.DateTime(allow_none=True)
    counts = computed(fields.Dict(keys=fields.String(), values=fields.Integer()), services.grade_counts)
    commendation_candidates = computed(fields.List(fields.Nested(CommendationCandidateSchema), metadata={
        "description": "units graded 优秀 (通报表扬)"}), services.commendation_candidates)
    grades = computed(fields.List(fields.Nested(UnitGradeSchema)),
                      lambda run, schema: [] if schema.brief else services.run_grades(run))


class ApprovedGradeRunSchema(GradeRunSchema):
    """Dumps a `RunApproval`: the run, and the proposals its approval led to."""

    proposals = fields.List(fields.Nested(GradeProposalSchema),
                            metadata={"description": "accountability proposals the approval led to"})


class RunApproval:
    """An approved run with the proposals accountability answered the grades_approved event with."""

    def __init__(self, run, proposals: list[dict]):
        self.run, self.proposals = run, proposals

    def __getattr__(self, name):
        return getattr(self.run, name)


class CommendationDraftSchema(BaseSchema):
    document_id = fields.Integer()
    title = fields.String()
    status = fields.String()


class YearGradesQuerySchema(AssessmentYearQuerySchema):
    run_id = fields.Integer(validate=ID_RANGE, metadata={"description": "default: the year's approved run"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class YearGradesSchema(BaseSchema):
    year = fields.Integer()
    run_id = fields.Integer(allow_none=True)
    run_status = fields.String(allow_none=True)
    grades = fields.List(fields.Nested(UnitGradeSchema))


# --- recipients -------------------------------------------------------------------------------------------

@blp.route("/recipients/import")
class RecipientImport(MethodView):
    @blp.arguments(AssessmentYearQuerySchema, location="query")
    @blp.arguments(SurveyRecipientImportFileSchema, location="files")
    @blp.response(200, SurveyRecipientImportReportSchema)
    @blp.alt_response(422, description="有错误的行: 整个文件未导入, details.errors 逐行说明")
    @roles(*OFFICE)
    def post(self, args, files):
        """Import a year's service recipients per unit (CSV or XLSX; all or nothing; safe to repeat)

        Columns: 单位编码 (required), 姓名, 联系电话, 服务对象编号 (an opaque reference); each row needs a phone or a
        reference, which identifies the recipient within the unit and year."""
        upload = files["file"]
        rows, errors = surveys.parse_recipients(upload.stream, upload.filename or "")
        if errors:
            raise Unprocessable(f"文件有 {len(errors)} 处错误, 未导入任何数据 (nothing imported)",
                                {"errors": [e.__dict__ for e in errors][:1000]}, code="import_failed")
        report = surveys.import_recipients(rows, args["year"], current_user())
        db.session.commit()
        return report


@blp.route("/recipients")
class Recipients(MethodView):
    @blp.arguments(SurveyRecipientQuerySchema, location="query")
    @blp.response(200, SurveyRecipientSchema(many=True))
    @blp.paginate(page_size=100, max_page_size=1000)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Imported service recipients of a year (contact data: the office only)"""
        return paginate_select(surveys.recipients(args["year"], args.get("unit_id")), pagination_parameters)


# --- survey draws -----------------------------------------------------------------------------------------

@blp.route("/survey-draws")
class Draws(MethodView):
    @blp.arguments(AssessmentYearFilterSchema, location="query")
    @blp.response(200, SurveyDrawSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*READERS)
    def get(self, args, pagination_parameters):
        """Survey draws, newest first"""
        import sqlalchemy as sa

        from inspect_api.assessment.models import SurveyDraw

        stmt = sa.select(SurveyDraw).order_by(SurveyDraw.year.desc(), SurveyDraw.id.desc())
        if args.get("year"):
            stmt = stmt.where(SurveyDraw.year == args["year"])
        return paginate_select(stmt, pagination_parameters)

    @blp.arguments(SurveyDrawCreateSchema)
    @blp.response(201, SurveyDrawSchema)
    @roles(*OFFICE)
    def post(self, body):
        """Create a survey draw for a year: from the units' citizen ratings or from the imported recipients"""
        d = surveys.create_draw(body, current_user())
        db.session.commit()
        return d


@blp.route("/survey-draws/<int:draw_id>")
class DrawById(MethodView):
    @blp.response(200, SurveyDrawSchema)
    @roles(*READERS)
    def get(self, draw_id):
        """One survey draw: commitment, digests, units drawn (short ones flagged) and responses so far"""
        return surveys.get_draw(draw_id)


@blp.route("/survey-draws/<int:draw_id>/commit")
class DrawCommit(MethodView):
    @blp.response(200, SurveyDrawSchema)
    @roles(*OFFICE)
    def post(self, draw_id):
        """Fix the secret seed and publish its SHA-256 (`seed_commitment`)"""
        d = surveys.commit_draw(surveys.get_draw(draw_id, lock=True), current_user())
        db.session.commit()
        return d


@blp.route("/survey-draws/<int:draw_id>/draw")
class DrawRun(MethodView):
    @blp.arguments(SurveyDrawEntropySchema)
    @blp.response(200, SurveyDrawSchema)
    @blp.alt_response(409, description="种子尚未承诺")
    @roles(*OFFICE)
    def post(self, body, draw_id):
        """Draw the recipients (once; asking again answers the stored draw)

        At least `per_unit` per unit; a unit with fewer eligible gets all of them and is listed in `problems`."""
        d = surveys.draw(surveys.get_draw(draw_id, lock=True), current_user(), body["public_entropy"])
        db.session.commit()
        return d


@blp.route("/survey-draws/<int:draw_id>/verify")
class DrawVerify(MethodView):
    @blp.response(200, SurveyVerifySchema)
    @roles(*READERS)
    def get(self, draw_id):
        """Re-run the draw from its stored inputs and list every difference (empty: verified)"""
        problems = surveys.verify_draw(surveys.get_draw(draw_id))
        return {"verified": not problems, "problems": problems}


class SurveyPublicationSchema(BaseSchema):
    id = fields.Integer()
    year = fields.Integer()
    source = fields.String()
    algorithm = fields.String()
    seed = fields.String()
    seed_commitment = fields.String()
    public_entropy = fields.String(allow_none=True)
    effective_seed = fields.String(metadata={"description": "seed, then ':' and the public value when given"})
    inputs = fields.Dict(metadata={"description": "the draw's inputs: each unit's eligible ids (no contact data)"})
    inputs_digest = fields.String()
    result = fields.Dict()
    result_digest = fields.String()
    revealed_at = fields.DateTime()


@blp.route("/survey-draws/<int:draw_id>/reveal")
class DrawReveal(MethodView):
    @blp.response(200, SurveyDrawSchema)
    @blp.alt_response(409, description="该抽取所支撑的考评结果尚未批准")
    @roles(*OFFICE)
    def post(self, draw_id):
        """Publish the seed once the grades resting on the draw are approved (anyone can then re-run it)"""
        d = surveys.reveal_draw(surveys.get_draw(draw_id, lock=True), current_user())
        db.session.commit()
        return d


@blp.route("/survey-draws/<int:draw_id>/publication")
class DrawPublication(MethodView):
    @blp.response(200, SurveyPublicationSchema)
    @blp.alt_response(404, description="不存在或种子尚未公开")
    @roles(*READERS)
    def get(self, draw_id):
        """A revealed draw: seed, public value, inputs (ids only) and result, to re-run it elsewhere"""
        return surveys.publication(surveys.get_draw(draw_id))


@blp.route("/survey-draws/<int:draw_id>/recipients")
class DrawRecipients(MethodView):
    @blp.arguments(SurveySelectionQuerySchema, location="query")
    @blp.response(200, SurveySelectionSchema(many=True))
    @roles(*OFFICE)
    def get(self, args, draw_id):
        """Who was drawn, per unit in draw order, with contact data and whether they answered (office only)"""
        return surveys.selections(surveys.get_draw(draw_id), args.get("unit_id"))


@blp.route("/survey-draws/<int:draw_id>/responses")
class DrawResponses(MethodView):
    @blp.arguments(SurveyResponsesSchema)
    @blp.response(201, SurveyResponsesResultSchema)
    @blp.alt_response(409, description="已录入过、不是名单抽取，或考评结果已审批")
    @roles(*OFFICE)
    def post(self, body, draw_id):
        """Record drawn recipients' anonymous answers (1–5 and optional reasons), all or nothing

        The answer is stored without the recipient; the recipient is only marked as having answered."""
        result = surveys.record_responses(surveys.get_draw(draw_id, lock=True), body["responses"], current_user())
        db.session.commit()
        return result


# --- grade runs -------------------------------------------------------------------------------------------

@blp.route("/grade-runs")
class Runs(MethodView):
    @blp.arguments(AssessmentYearFilterSchema, location="query")
    @blp.response(200, GradeRunSchema(many=True, brief=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*READERS)
    def get(self, args, pagination_parameters):
        """Grade runs, newest year first (without the per-unit grades)"""
        return paginate_select(services.runs(args.get("year")), pagination_parameters)

    @blp.arguments(GradeRunCreateSchema)
    @blp.response(201, GradeRunSchema)
    @blp.alt_response(409, description="该评议尚未抽取")
    @blp.alt_response(422, description="未指明 survey_draw_id，或评议属于另一年度")
    @roles(*OFFICE)
    def post(self, body):
        """Compute the grades of the units of a survey draw (named, never implied; a draft until approved)

        On approval the run adds or replaces the grades of the units it covers only; every other unit's
        grade of the year stays in force."""
        run = services.compute_run(body["year"], body["survey_draw_id"], current_user())
        db.session.commit()
        return run


@blp.route("/grade-runs/<int:run_id>")
class RunById(MethodView):
    @blp.response(200, GradeRunSchema)
    @roles(*READERS)
    def get(self, run_id):
        """One run with every unit's grade, inputs, steps and reason"""
        return services.get_run(run_id)


@blp.route("/grade-runs/<int:run_id>/approve")
class RunApprove(MethodView):
    @blp.response(200, ApprovedGradeRunSchema)
    @blp.alt_response(409, description="不是待审批状态，或此后本年度已有其他结果获批")
    @roles(*OFFICE)
    def post(self, run_id):
        """Approve a run (someone other than who computed it; 403 own_run): the grades are frozen, 不合格
        units get accountability proposals (criticism notice, the head's accountability)

        The run's grades replace those of the same units only; a replaced 不合格 withdraws the open
        proposals it caused, and the office is told to judge again the cases already opened on them."""
        run, proposals = services.approve_run(services.get_run(run_id, lock=True), current_user())
        db.session.commit()
        return RunApproval(run, proposals)  # the proposals: as accountability answered the grades_approved event


@blp.route("/grade-runs/<int:run_id>/commendation")
class RunCommendation(MethodView):
    @blp.response(201, CommendationDraftSchema)
    @blp.alt_response(409, description="未审批，或没有优秀单位")
    @roles(*OFFICE)
    def post(self, run_id):
        """Draft a 通报表扬 (documents, kind commendation) naming the approved run's 优秀 units"""
        doc = services.draft_commendation(services.get_run(run_id), current_user())
        db.session.commit()
        return {"document_id": doc.id, "title": doc.title, "status": doc.status}


@blp.route("/grades")
class YearGrades(MethodView):
    @blp.arguments(YearGradesQuerySchema, location="query")
    @blp.response(200, YearGradesSchema)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True,
                      description="the year's grades (JSON), or `?format=csv` as a spreadsheet")
    @roles(*READERS)
    def get(self, args):
        """A year's grades (the approved run, or `run_id`); `?format=csv` for a spreadsheet (UTF-8 with BOM)"""
        run, rows = services.year_grades(args["year"], args.get("run_id"))
        if args["format"] == "csv":
            resp = FlaskResponse(services.grades_csv(rows), mimetype="text/csv")
            resp.headers["Content-Disposition"] = f'attachment; filename="grades-{args["year"]}.csv"'
            return resp
        return {"year": args["year"], "run_id": run.id if run else None, "run_status": run.status if run else None,
                "grades": rows}


@blp.route("/units/<int:unit_id>/grades")
class UnitGrades(MethodView):
    @blp.response(200, UnitGradeSchema(many=True, history=True))
    @roles(*READERS, "unit_liaison")
    def get(self, unit_id):
        """A unit's approved grade of each year with its explanation, newest first (a liaison: its own units)"""
        user = current_user()
        from inspect_api.org.models import Unit

        if db.session.get(Unit, unit_id) is None or not in_scope(user, unit_id):
            raise NotFound("单位不存在 (no such unit)")
        return services.unit_history(unit_id)
