"""Sampling endpoints: plans (office only), the draw, verification, publication, my assignments."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from inspect_api.auth import permissions
from inspect_api.auth.access import current_user, roles
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.core import clock
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import BaseSchema, computed, paginate_select
from inspect_api.db import db
from inspect_api.errors import Conflict, NotFound
from inspect_api.org.services import with_unit_names
from inspect_api.sampling import services
from inspect_api.sampling.models import SamplingPlan

blp = Blueprint("sampling", __name__, url_prefix="", description="双随机抽查 Random-sampling plans and assignments")

OFFICE = ("office", "admin")
ID = validate.Range(min=1, max=2**31 - 1)


class PoolSchema(BaseSchema):
    under = fields.List(fields.Integer(validate=ID), load_default=list, metadata={"description": "这些单位及其下级"})
    kinds = fields.List(fields.String(validate=validate.OneOf(["county", "department", "hall", "window", "other"])),
                        load_default=list)
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=32)), load_default=list)
    exclude = fields.List(fields.Integer(validate=ID), load_default=list)


class WeightsSchema(BaseSchema):
    multipliers = fields.Dict(keys=fields.String(), values=fields.Float(validate=validate.Range(min=1, max=10)))
    max_count = fields.Integer(validate=validate.Range(min=1, max=20))


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _unit_name(a) -> str | None:
    from inspect_api.org.models import Unit

    unit = db.session.get(Unit, a.unit_id)
    return unit.name if unit else None


def _problems(plan: SamplingPlan) -> list[dict]:
    # The draw's own problems, then the calendar's (a year not loaded; visits on days it made non-working).
    result = services.result_of(plan)
    return with_unit_names((result["problems"] if result else []) + list(plan.calendar_problems or []))


class AssignmentSchema(BaseSchema):
    id = fields.Integer()
    plan_id = fields.Integer()
    unit_id = fields.Integer()
    unit_name = computed(fields.String(), _unit_name)
    day = fields.Date()
    start = computed(fields.String(metadata={"description": "HH:MM, local time"}), lambda a: _hhmm(a.start_minute))
    end = computed(fields.String(), lambda a: _hhmm(a.end_minute))
    team = fields.List(fields.Integer())
    visit_id = fields.String(allow_none=True)
    release_at = fields.DateTime()


class PlanSchema(BaseSchema):
    """A plan; `PlanSchema(brief=True)` leaves its assignments out (an empty list), as lists do."""

    def __init__(self, *args, brief: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.brief = brief

    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,32}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=128))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    pool = fields.Nested(PoolSchema, load_default=dict)
    sample_size = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=100_000))
    sample_rate = fields.Float(allow_none=True, load_default=None, validate=validate.Range(min=0.0001, max=1))
    stratify_by_department = fields.Boolean(load_default=True)
    min_per_stratum = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1000))
    min_visits_per_year = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=52))
    team_size = fields.Integer(load_default=2, validate=validate.Range(min=1, max=10))
    allow_single_inspector = fields.Boolean(load_default=False)
    max_visits_per_inspector = fields.Integer(allow_none=True, load_default=None,
                                              validate=validate.Range(min=1, max=1000))
    visit_minutes = fields.Integer(load_default=60, validate=validate.Range(min=10, max=480))
    travel_minutes = fields.Integer(load_default=30, validate=validate.Range(min=0, max=480))
    recent_window_days = fields.Integer(load_default=90, validate=validate.Range(min=0, max=3650))
    default_opening_hours = fields.String(load_default="09:00-12:00,14:00-17:00",
                                          validate=validate.Regexp(r"^\d{2}:\d{2}-\d{2}:\d{2}(,\d{2}:\d{2}-\d{2}:\d{2})*$"))
    release_time = fields.String(load_default="07:30", validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$"))
    weights = fields.Nested(WeightsSchema, load_default=None, allow_none=True)
    status = fields.String(dump_only=True)
    seed_commitment = fields.String(dump_only=True, allow_none=True)
    seed = computed(fields.String(dump_only=True, allow_none=True, metadata={"description": "只在公开后给出"}),
                    lambda plan: plan.seed if plan.status == "revealed" else None)
    public_entropy = fields.String(dump_only=True, allow_none=True)
    inputs_digest = fields.String(dump_only=True, allow_none=True)
    result_digest = fields.String(dump_only=True, allow_none=True)
    calendar_provisional = fields.Boolean(dump_only=True)
    problems = computed(fields.List(fields.Dict(), dump_only=True, metadata={
        "description": "each {code, message_zh, unit_id, details}; one about a unit also has unit_name (the "
                       "recorded message names the unit by id only)"}), _problems)
    assignments = computed(fields.List(fields.Nested(AssignmentSchema), dump_only=True),
                           lambda plan, schema: [] if schema.brief else plan.assignments)
    version = fields.Integer(dump_only=True)


class PlanUpdateSchema(PlanSchema):
    """A PATCH: only the fields the body names change. Loaded partial, so none of PlanSchema's
    defaults fills in a field left out (a PATCH naming neither sample_size nor sample_rate was
    refused, both being filled in as null; one naming either reset the team size, hours, weights and
    every other field it left out to their defaults)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)

    code = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,32}$"))
    title = fields.String(validate=validate.Length(min=1, max=128))
    period_start = fields.Date()
    period_end = fields.Date()
    pool = fields.Nested(PoolSchema)


class DrawSchema(BaseSchema):
    public_entropy = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=255), metadata={
        "description": "承诺之后才公布的公共随机数 (如当期彩票开奖号码), 与种子一起决定抽取结果"})


class VerifySchema(BaseSchema):
    verified = fields.Boolean()
    problems = fields.List(fields.String())


class ConflictSchema(BaseSchema):
    user_id = fields.Integer(required=True, validate=ID)
    unit_id = fields.Integer(required=True, validate=ID)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255),
                           metadata={"description": "如: 配偶在该单位工作"})

    @validates_schema
    def _inspector(self, data, **kwargs):
        from inspect_api.auth.models import User
        from inspect_api.org.models import Unit

        user = db.session.get(User, data["user_id"])
        if not permissions.can_be_drawn(user):
            raise ValidationError("不是督查员账号 (not an inspector)", "user_id")
        if db.session.get(Unit, data["unit_id"]) is None:
            raise ValidationError("单位不存在 (unknown unit)", "unit_id")


@blp.route("/sampling/plans")
class Plans(MethodView):
    @blp.response(200, PlanSchema(many=True, brief=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE)
    def get(self, pagination_parameters):
        """List sampling plans (targets are visible to the office only)"""
        import sqlalchemy as sa

        rows = paginate_select(sa.select(SamplingPlan).order_by(SamplingPlan.period_start.desc(), SamplingPlan.id),
                               pagination_parameters)
        return rows

    @blp.arguments(PlanSchema)
    @blp.response(201, PlanSchema)
    @roles(*OFFICE)
    def post(self, body):
        """Create a plan: period, pool, sample size or rate, strata, team size, constraints"""
        plan = services.create_plan(body, current_user())
        db.session.commit()
        return plan


@blp.route("/sampling/plans/<int:plan_id>")
class PlanById(MethodView):
    @blp.response(200, PlanSchema)
    @roles(*OFFICE)
    def get(self, plan_id):
        """One plan with its draw, problems and assignments"""
        return services.get_plan(plan_id)

    @blp.arguments(PlanUpdateSchema)
    @blp.response(200, PlanSchema)
    @blp.alt_response(409, description="已承诺种子的计划不能修改")
    @roles(*OFFICE)
    def patch(self, body, plan_id):
        """Change a draft plan"""
        plan = services.update_plan(services.get_plan(plan_id, lock=True), body, current_user())
        db.session.commit()
        return plan


@blp.route("/sampling/plans/<int:plan_id>/commit")
class Commit(MethodView):
    @blp.response(200, PlanSchema)
    @roles(*OFFICE)
    def post(self, plan_id):
        """Fix the secret seed and publish its SHA-256 (the plan is frozen from now on)"""
        plan = services.commit_seed(services.get_plan(plan_id, lock=True), current_user())
        db.session.commit()
        return plan


@blp.route("/sampling/plans/<int:plan_id>/draw")
class Draw(MethodView):
    @blp.arguments(DrawSchema)
    @blp.response(200, PlanSchema)
    @roles(*OFFICE)
    def post(self, body, plan_id):
        """Draw units and teams (once; asking again answers the stored draw)

        Constraints that cannot all be met are listed in `problems` (never silently relaxed).
        """
        plan = services.draw(services.get_plan(plan_id, lock=True), current_user(), body["public_entropy"])
        db.session.commit()
        return plan


@blp.route("/sampling/plans/<int:plan_id>/reveal")
class Reveal(MethodView):
    @blp.response(200, PlanSchema)
    @roles(*OFFICE)
    def post(self, plan_id):
        """Reveal the seed after the period, so anyone can re-run the draw"""
        plan = services.reveal(services.get_plan(plan_id, lock=True), current_user())
        db.session.commit()
        return plan


@blp.route("/sampling/plans/<int:plan_id>/verify")
class Verify(MethodView):
    @blp.response(200, VerifySchema)
    @roles(*OFFICE)
    def get(self, plan_id):
        """Re-run the stored draw and list every difference (empty: verified)"""
        problems = services.verify(services.get_plan(plan_id))
        return {"verified": not problems, "problems": problems}


class PublishedUnitSchema(BaseSchema):
    unit_id = fields.Integer(required=True)
    unit_name = fields.String(allow_none=True)
    day = fields.Date(required=True)
    checked = fields.Boolean(required=True)
    confirmed_findings = fields.Integer(required=True)


class PublicationSchema(BaseSchema):
    code = fields.String(required=True)
    title = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    seed_commitment = fields.String(allow_none=True)
    seed = fields.String(allow_none=True)
    public_entropy = fields.String(allow_none=True)
    inputs_digest = fields.String(allow_none=True)
    result_digest = fields.String(allow_none=True)
    units = fields.List(fields.Nested(PublishedUnitSchema), required=True)


@blp.route("/sampling/plans/<int:plan_id>/publication")
class Publication(MethodView):
    @blp.response(200, PublicationSchema, description="公开的抽查结果 (seed, digests, units checked, confirmed findings per unit)")
    @roles(*(r.value for r in ALL_ROLES))
    def get(self, plan_id):
        """The published result (双随机一公开), once the seed is revealed after the period"""
        plan = db.session.get(SamplingPlan, plan_id)
        if plan is None or plan.status != "revealed":
            raise NotFound("该计划的结果尚未公开 (not published)")
        return services.publication(plan)


@blp.route("/me/assignments")
class MyAssignments(MethodView):
    @blp.response(200, AssignmentSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles("inspector")
    def get(self, pagination_parameters):
        """My released assignments, newest day first (an assignment is invisible before its release time)"""
        rows = paginate_select(services.my_assignments(current_user(), clock.now()), pagination_parameters)
        return rows


class ConflictViewSchema(ConflictSchema):
    user_name = fields.String(dump_only=True, allow_none=True)
    unit_name = fields.String(dump_only=True, allow_none=True)
    declared_at = fields.DateTime(dump_only=True)


class ConflictQuerySchema(BaseSchema):
    user_id = fields.Integer(validate=ID)
    unit_id = fields.Integer(validate=ID)


def _conflict_view(c) -> dict:
    from inspect_api.auth.models import User
    from inspect_api.org.models import Unit

    user, unit = db.session.get(User, c.user_id), db.session.get(Unit, c.unit_id)
    return {"user_id": c.user_id, "unit_id": c.unit_id, "reason": c.reason, "declared_at": c.declared_at,
            "user_name": user.full_name if user else None, "unit_name": unit.name if unit else None}


@blp.route("/sampling/conflicts")
class Conflicts(MethodView):
    @blp.arguments(ConflictQuerySchema, location="query")
    @blp.response(200, ConflictViewSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Declared conflicts (an inspector never sent to a unit), newest first"""
        import sqlalchemy as sa

        from inspect_api.sampling.models import InspectorConflict

        stmt = sa.select(InspectorConflict).order_by(InspectorConflict.declared_at.desc(),
                                                     InspectorConflict.user_id, InspectorConflict.unit_id)
        for key in ("user_id", "unit_id"):
            if args.get(key):
                stmt = stmt.where(getattr(InspectorConflict, key) == args[key])
        return [_conflict_view(c) for c in paginate_select(stmt, pagination_parameters)]

    @blp.arguments(ConflictSchema)
    @blp.response(201, ConflictSchema)
    @roles(*OFFICE)
    def post(self, body):
        """Declare a unit an inspector must never be sent to (e.g. where a relative works)"""
        from inspect_api.sampling.models import InspectorConflict

        if db.session.get(InspectorConflict, (body["user_id"], body["unit_id"])) is not None:
            raise Conflict("已登记 (already declared)", code="duplicate")
        db.session.add(InspectorConflict(**body, declared_at=clock.now()))
        from inspect_api.audit import services as audit

        db.session.flush()
        audit.record("conflict.declare", "inspector_conflict", f"{body['user_id']}:{body['unit_id']}",
                     actor=current_user(), after=body)
        db.session.commit()
        return body


@blp.route("/sampling/conflicts/<int:user_id>/<int:unit_id>")
class ConflictById(MethodView):
    @blp.response(204)
    @blp.alt_response(404, description="没有这条登记")
    @roles(*OFFICE)
    def delete(self, user_id, unit_id):
        """Withdraw a declared conflict (plans drawn already keep their draw)"""
        from inspect_api.audit import services as audit
        from inspect_api.sampling.models import InspectorConflict

        row = db.session.get(InspectorConflict, (user_id, unit_id))
        if row is None:
            raise NotFound("没有这条回避登记 (no such conflict)")
        before = {"user_id": row.user_id, "unit_id": row.unit_id, "reason": row.reason}
        db.session.delete(row)
        db.session.flush()
        audit.record("conflict.withdraw", "inspector_conflict", f"{user_id}:{unit_id}", actor=current_user(),
                     before=before)
        db.session.commit()
        return None
