"""投诉举报 endpoints: the public pages and form (no login), the public status lookup, the office's
handling (hotline entry, assign, forward, investigate, answer, close) and the unit's side."""

from __future__ import annotations

import contextlib

from flask import Blueprint as FlaskBlueprint
from flask import make_response, render_template, request
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import PUBLIC, current_user, roles
from inspect_api.complaints import rules, services
from inspect_api.config import PROJECT_ROOT
from inspect_api.core import public_form
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.deadlines import MatterLevel
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed, paginate_select
from inspect_api.db import db, write_intent
from inspect_api.errors import BadRequest, DomainError, NotFound, Unprocessable

blp = Blueprint("complaints", __name__, url_prefix="", description="投诉举报 Complaints")
# The public pages are HTML outside /api/v1, so they live on a plain Flask blueprint.
page_blp = FlaskBlueprint("complaint_page", __name__, template_folder=str(PROJECT_ROOT / "templates"))
OFFICE = ("office", "admin")
DEVICE_COOKIE = "inspect_complaint_device"
LEVEL_CODES = [str(level) for level in rules.LEVELS]
PUBLIC_FIELDS = ("category", "content", "window_no", "occurred_on", "occurred_time", "contact_name",
                 "contact_phone", "contact_email")


def _device_cookie(resp, present: str | None):
    return public_form.with_device_cookie(resp, DEVICE_COOKIE, present)


def _html(context: dict, status: int = 200):
    context.setdefault("categories", rules.CITIZEN_CATEGORIES)
    context.setdefault("values", {})
    resp = make_response(render_template("complaints/page.html", **context), status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _form_context(window_key: str | None) -> dict:
    """What the form needs: the window (from its printed key) or the list of units to choose from."""
    if window_key:
        unit, window_no = services.window_for_key(window_key)
        return {"mode": "form", "unit_name": unit.name, "window_no": window_no, "window_key": window_key,
                "token": services.new_token(window_key)}
    return {"mode": "form", "units": [(u.id, u.name, u.path.count("/") - 2) for u in services.public_units()],
            "token": services.new_token(None)}


@page_blp.get("/c/<window_key>")
@roles(PUBLIC)
def complaint_page(window_key):
    """The public complaint form of one window (reached by the window's printed code; no login)."""
    try:
        context = _form_context(window_key)
    except DomainError:
        return _html({"mode": "error", "error": "投诉页面不存在，请重新扫描窗口的二维码，或拨打效能投诉电话。"}, 404)
    return _device_cookie(_html(context), public_form.device(DEVICE_COOKIE))


@page_blp.get("/complaints/new")
@roles(PUBLIC)
def general_complaint_page():
    """The public complaint form for any unit (no login)."""
    return _device_cookie(_html(_form_context(None)), public_form.device(DEVICE_COOKIE))


@page_blp.get("/complaints/status")
@roles(PUBLIC)
def status_page():
    """The public status page's form. The lookup itself is a POST, so the query code never sits in a URL
    (nor in an access log, a proxy's log or the browser history); an old link with `?code=` is sent back
    to the form without it, unread and uncounted."""
    if "code" in request.args:
        target = "/complaints/status"
        tracking_no = request.args.get("tracking_no", "")
        if rules.TRACKING_RE.match(tracking_no.strip().upper()):
            target += f"?tracking_no={tracking_no.strip().upper()}"
        resp = make_response("", 303)
        resp.headers["Location"] = target
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp
    return _html({"mode": "status", "values": {"tracking_no": request.args.get("tracking_no", "")[:20]}})


@page_blp.post("/complaints/status")
@roles(PUBLIC)
def status_lookup():
    """The status page's answer: tracking number and query code in the form body (multipart)."""
    tracking_no, code = request.form.get("tracking_no", ""), request.form.get("code", "")
    if not tracking_no or not code:
        return _html({"mode": "status", "error": "请填写投诉编号和查询码",
                      "values": {"tracking_no": tracking_no[:20]}}, 422)
    write_intent.set(True)  # a wrong code is counted (a write); take SQLite's write lock up front
    device = public_form.device(DEVICE_COOKIE)
    try:
        result = services.public_status(tracking_no[:32], code[:32], device)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            db.session.commit()  # keep the failed-lookup count
        resp = _html({"mode": "status", "error": exc.message, "values": {"tracking_no": tracking_no[:20]}},
                     exc.status)
        resp.headers.update(exc.headers)
        return _device_cookie(resp, device)
    return _device_cookie(_html({"mode": "status", "result": result, "answer_channels": rules.ANSWER_CHANNELS}),
                          device)


# --- the public API -------------------------------------------------------------------------------------

class PublicComplaintSchema(BaseSchema):
    window_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80),
                               metadata={"description": "the window's printed key (page /c/<key>); else unit_id"})
    unit_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE,
                             metadata={"description": "the unit complained about (general page)"})
    token = fields.String(required=True, validate=validate.Length(max=80))
    category = fields.Raw(load_default=None, metadata={"description": f"one of {', '.join(rules.CITIZEN_CATEGORIES)}"})
    content = fields.Raw(required=True, metadata={"description": "what happened, 5–2000 characters, no links"})
    window_no = fields.Raw(load_default=None, metadata={"description": "general page only"})
    occurred_on = fields.Raw(load_default=None, metadata={"description": "YYYY-MM-DD, not after today"})
    occurred_time = fields.Raw(load_default=None, metadata={"description": "HH:MM"})
    contact_name = fields.Raw(load_default=None, metadata={"description": "optional; never shown to the unit"})
    contact_phone = fields.Raw(load_default=None, metadata={"description": "optional; for the answer"})
    contact_email = fields.Raw(load_default=None, metadata={"description": "optional; for the answer"})
    website = fields.String(load_default="", metadata={"description": "honeypot: must stay empty"})


class PublicComplaintResultSchema(BaseSchema):
    status = fields.String()
    tracking_no = fields.String(metadata={"description": "投诉编号"})
    query_code = fields.String(metadata={"description": "查询码: shown once, keep it to read the status"})
    due_on = fields.Date()
    provisional = fields.Boolean()
    status_url = fields.String()
    message = fields.String()


class PublicAnswerSchema(BaseSchema):
    text = fields.String()
    channel = fields.String()
    channel_label = fields.String()
    answered_at = fields.DateTime()


class PublicComplaintStatusSchema(BaseSchema):
    tracking_no = fields.String()
    status = fields.String(metadata={"description": "received | processing | answered | closed"})
    status_label = fields.String()
    received_on = fields.Date()
    due_on = fields.Date()
    provisional = fields.Boolean()
    unit_name = fields.String(allow_none=True)
    answer = fields.Nested(PublicAnswerSchema, allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"description": "substantiated | unsubstantiated"})
    outcome_label = fields.String(allow_none=True)
    closed_on = fields.Date(allow_none=True)


def _status_url(tracking_no: str) -> str:
    return f"/complaints/status?tracking_no={tracking_no}"


@blp.route("/public/complaints")
class PublicComplaints(MethodView):
    @blp.response(201, PublicComplaintResultSchema)
    @blp.alt_response(201, schema={"type": "string"}, content_type="text/html", success=True,
                      description="受理结果 (JSON; the page's own form post gets the HTML result page)")
    @blp.alt_response(404, description="窗口页面不存在")
    @blp.alt_response(409, description="重复提交（一次性令牌已用过）")
    @blp.alt_response(422, description="内容有误，或令牌伪造、过期；details.fields 指明字段")
    @blp.alt_response(422, schema={"type": "string"}, content_type="text/html",
                      description="the page's own form post gets the form again, with what is wrong")
    @blp.alt_response(429, description="超出设备或全局的频率限制；见 Retry-After")
    @roles(PUBLIC)
    def post(self):
        """Submit a complaint from the public form (no login; JSON or multipart form)

        Nothing that identifies the complainant is stored but the contact they choose to leave (no IP, no
        user agent, no device id). The answer carries the tracking number and a query code, shown once."""
        raw, is_form = public_form.form_body(empty_is_none=("unit_id",))
        device = public_form.device(DEVICE_COOKIE)
        try:
            body = public_form.load(PublicComplaintSchema(), raw, "投诉内容有误 (invalid complaint)")
            complaint, code = services.submit_public(
                window_key=body["window_key"], unit_id=body["unit_id"], token=body["token"],
                fields={k: body[k] for k in PUBLIC_FIELDS if not (body["window_key"] and k == "window_no")},
                device=device)
            db.session.commit()
        except DomainError as exc:
            if not is_form:
                raise
            db.session.rollback()
            return _form_error(exc, raw, device)
        result = {"status": "received", "tracking_no": complaint.tracking_no, "query_code": code,
                  "due_on": complaint.due_on, "provisional": complaint.provisional,
                  "status_url": _status_url(complaint.tracking_no),
                  "message": "投诉已受理。请记下投诉编号和查询码，凭此查询办理进度和答复。"}
        if is_form:
            return _device_cookie(_html({"mode": "done", "result": result}, 201), device)
        return _device_cookie(make_response(PublicComplaintResultSchema().dump(result), 201), device)


def _form_error(exc: DomainError, raw: dict, device: str | None):
    """The no-JS form after a refusal: bad input shows the form again with what was typed and a fresh
    token; anything else shows the message alone."""
    context = {"mode": "error", "error": exc.message}
    if exc.status == 422 and exc.code not in ("spam",):
        with contextlib.suppress(DomainError):  # the window is gone too: the message alone
            context = _form_context(raw.get("window_key") or None) | {
                "error": exc.message, "field_errors": exc.details.get("fields", {}),
                "values": {k: v for k, v in raw.items() if k in (*PUBLIC_FIELDS, "unit_id") and isinstance(v, str)}}
    resp = _html(context, exc.status)
    resp.headers.update(exc.headers)
    return _device_cookie(resp, device)


QUERY_CODE_HEADER = "X-Query-Code"


class PublicStatusLookupSchema(BaseSchema):
    tracking_no = fields.String(required=True, validate=validate.Length(min=1, max=32),
                                metadata={"description": "投诉编号"})
    code = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={"description": "查询码"})


def _lookup(tracking_no: str, code: str) -> dict:
    write_intent.set(True)  # a wrong code is counted (a write); take SQLite's write lock up front
    try:
        return services.public_status(tracking_no[:32], code[:32], public_form.device(DEVICE_COOKIE))
    except NotFound:
        db.session.commit()  # keep the failed-lookup count
        raise


@blp.route("/public/complaints/status")
class PublicComplaintLookup(MethodView):
    @blp.arguments(PublicStatusLookupSchema)
    @blp.response(200, PublicComplaintStatusSchema)
    @blp.alt_response(404, description="编号不存在或查询码错误（两者不作区分）")
    @blp.alt_response(429, description="该编号或该设备查询码输错过多；见 Retry-After")
    @roles(PUBLIC)
    def post(self, body):
        """The status of one complaint for its complainant: tracking number and query code in the body

        Shows progress, the deadline, the answer and the conclusion; never the unit's report, the
        office's notes or who handles it. Wrong codes are limited per tracking number and per device, so
        guesses at other numbers never block a rightful lookup."""
        return _lookup(body["tracking_no"], body["code"])


@blp.route("/public/complaints/<string:tracking_no>")
class PublicComplaintStatus(MethodView):
    @blp.doc(parameters=[{"in": "header", "name": QUERY_CODE_HEADER, "required": True,
                          "schema": {"type": "string", "maxLength": 32}, "description": "查询码"}])
    @blp.response(200, PublicComplaintStatusSchema)
    @blp.alt_response(400, description="查询码放在了网址里（?code=）：不予查询，请用请求头或 POST")
    @blp.alt_response(404, description="编号不存在或查询码错误（两者不作区分）")
    @blp.alt_response(422, description="缺少 X-Query-Code 请求头")
    @blp.alt_response(429, description="该编号或该设备查询码输错过多；见 Retry-After")
    @roles(PUBLIC)
    def get(self, tracking_no):
        """The status of one complaint, the query code in the `X-Query-Code` header (no login)

        A code in the URL (`?code=`) is refused unread: URLs end up in logs and browser histories."""
        if "code" in request.args:
            raise BadRequest("查询码不能放在网址中，请用 X-Query-Code 请求头或 POST /api/v1/public/complaints/status "
                             "(query code in URL refused)", code="code_in_url")
        code = request.headers.get(QUERY_CODE_HEADER, "")
        if not code:
            raise Unprocessable("缺少查询码 (X-Query-Code header required)",
                                {"fields": {QUERY_CODE_HEADER: ["必填"]}})
        return _lookup(tracking_no, code)


# --- the office -----------------------------------------------------------------------------------------

class ComplaintCreateSchema(BaseSchema):
    channel = fields.String(load_default="hotline", validate=validate.OneOf(["hotline", "letter", "in_person"]),
                            metadata={"description": "hotline (12345 / 效能投诉电话) | letter | in_person"})
    unit_id = fields.Integer(required=True, validate=ID_RANGE)
    window_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))
    staff_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    content = fields.String(required=True, validate=validate.Length(max=rules.CONTENT_MAX))
    occurred_on = fields.Date(load_default=None, allow_none=True)
    occurred_time = fields.String(load_default=None, allow_none=True, metadata={"description": "HH:MM"})
    contact_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=rules.NAME_MAX))
    contact_phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))
    contact_email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVEL_CODES),
                          metadata={"description": "citizen_routine (1–5 working days, default) | citizen_heavy "
                                                   "(5–10) | citizen_multi_department (30)"})
    days = fields.Integer(load_default=None, allow_none=True, metadata={"description": "within the level's range"})


class ComplaintFilterSchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(list(rules.STATUS_LABELS)))
    unit_id = fields.Integer(validate=ID_RANGE)
    under = fields.Integer(validate=ID_RANGE)
    channel = fields.String(validate=validate.OneOf(list(rules.CHANNELS)))
    outcome = fields.String(validate=validate.OneOf(list(rules.OUTCOMES)))
    level = fields.String(validate=validate.OneOf(LEVEL_CODES))
    overdue = fields.Boolean()
    handler_id = fields.Integer(validate=ID_RANGE)
    from_ = fields.Date(data_key="from", attribute="from", metadata={"description": "received on or after"})
    to = fields.Date(metadata={"description": "received on or before"})
    tracking_no = fields.String(validate=validate.Regexp(rules.TRACKING_RE))
    open = fields.Boolean(metadata={"description": "true: not closed yet; false: closed"})
    sort = fields.String(load_default="received", validate=validate.OneOf(["received", "due"]), metadata={
        "description": "received: newest first (default); due: earliest deadline first (the inbox)"})


def _label(labels, attr: str):
    return lambda c: labels.get(getattr(c, attr)) if getattr(c, attr) else None


class UnitComplaintSchema(BaseSchema):
    """What the unit may know: what happened, when, where, the office's request and the outcome; never
    who complained, how to reach them, the tracking number, who handles it or what they were told."""

    id = fields.Integer()
    unit_id = fields.Integer()
    window_no = fields.String(allow_none=True)
    staff_id = fields.Integer(allow_none=True)
    category = fields.String(allow_none=True)
    category_label = computed(fields.String(allow_none=True), _label(CATEGORIES, "category"))
    content = computed(fields.String(), lambda c: c.unit_content or c.content)
    occurred_on = fields.Date(allow_none=True)
    occurred_time = computed(fields.String(allow_none=True),
                             lambda c: c.occurred_time.strftime("%H:%M") if c.occurred_time else None)
    received_on = fields.Date()
    level = fields.String()
    level_label = computed(fields.String(), lambda c: MatterLevel(c.level).label)
    working_days = fields.Integer()
    due_on = fields.Date()
    provisional = fields.Boolean()
    status = fields.String()
    status_label = computed(fields.String(), lambda c: rules.STATUS_LABELS[c.status])
    overdue = fields.Boolean()
    days_left = computed(fields.Integer(allow_none=True, metadata={
        "description": "working days to due_on, counted today (negative: past it); null once closed"}),
        lambda c: services.days_left(c)["days_left"])
    days_left_provisional = computed(fields.Boolean(metadata={
        "description": "a year in between has no loaded calendar"}),
        lambda c: services.days_left(c)["days_left_provisional"])
    forwarded_unit_id = fields.Integer(allow_none=True)
    forwarded_at = fields.DateTime(allow_none=True)
    forward_note = fields.String(allow_none=True)
    unit_report = fields.String(allow_none=True)
    unit_reported_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    outcome_label = computed(fields.String(allow_none=True), _label(rules.OUTCOMES, "outcome"))
    closed_at = fields.DateTime(allow_none=True)
    finding_id = computed(fields.String(allow_none=True, metadata={"description": "the confirmed finding it became"}),
                          lambda c: c.finding.id if c.finding is not None else None)


class ComplaintSchema(UnitComplaintSchema):
    """The office's view, with the complainant's contact."""

    content = fields.String()
    tracking_no = fields.String()
    channel = fields.String()
    channel_label = computed(fields.String(), lambda c: rules.CHANNELS[c.channel])
    unit_content = fields.String(allow_none=True, metadata={"description": "the text shown to the unit, if edited"})
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    has_contact = fields.Boolean()
    received_at = fields.DateTime()
    created_by = fields.Integer(allow_none=True)
    handler_id = fields.Integer(allow_none=True)
    assigned_at = fields.DateTime(allow_none=True)
    unit_reported_by = fields.Integer(allow_none=True)
    investigation_note = fields.String(allow_none=True)
    investigated_at = fields.DateTime(allow_none=True)
    investigated_by = fields.Integer(allow_none=True)
    answer_text = fields.String(allow_none=True)
    answer_channel = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    answered_by = fields.Integer(allow_none=True)
    outcome_reason = fields.String(allow_none=True)
    closed_by = fields.Integer(allow_none=True)
    flagged_overdue_at = fields.DateTime(allow_none=True)


class ComplaintDetailSchema(ComplaintSchema):
    history = computed(fields.List(fields.Dict(), metadata={"description": "every change, from the trail"}),
                       services.history)


class ComplaintCreatedSchema(ComplaintSchema):
    """Dumps a `Created`: the complaint and its query code."""

    query_code = fields.String(metadata={"description": "查询码 to tell the caller; shown once"})


class Created:
    """A complaint just entered, with the query code to tell the caller (kept nowhere but in this answer)."""

    def __init__(self, complaint, query_code: str):
        self.complaint, self.query_code = complaint, query_code

    def __getattr__(self, name):
        return getattr(self.complaint, name)


class ComplaintAssignSchema(BaseSchema):
    handler_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE,
                                metadata={"description": "an office user; the caller by default"})
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVEL_CODES))
    days = fields.Integer(load_default=None, allow_none=True)


class ComplaintForwardSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                         metadata={"description": "what the unit is asked to investigate"})
    unit_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE,
                             metadata={"description": "the unit that investigates; the complaint's by default"})
    unit_content = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=rules.CONTENT_MAX),
                                 metadata={"description": "the complaint as the unit reads it, personal details "
                                                          "taken out; the original by default"})


class ComplaintNoteSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ComplaintAnswerSchema(BaseSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    channel = fields.String(required=True, validate=validate.OneOf(list(rules.ANSWER_CHANNELS)),
                            metadata={"description": "phone | sms | email | letter | in_person | online"})
    answered_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "default now"})


class ComplaintCloseSchema(BaseSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(list(rules.OUTCOMES)),
                            metadata={"description": "substantiated 成立 (a confirmed finding) | unsubstantiated"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    category = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(CATEGORIES)))
    severity = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(SEVERITIES)))
    staff_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000),
                                metadata={"description": "the finding's text as the unit reads it; the reason "
                                                         "by default"})


class UnitComplaintQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(list(rules.STATUS_LABELS)))


class UnitComplaintReportSchema(BaseSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


@blp.route("/complaints")
class Complaints(MethodView):
    @blp.arguments(ComplaintFilterSchema, location="query")
    @blp.response(200, ComplaintSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    @roles(*OFFICE)
    def get(self, args, pagination_parameters):
        """Complaints, newest first or `sort=due` earliest deadline first (filter by status, open, unit,
        channel, outcome, overdue, handler, dates)"""
        return paginate_select(services.office_list(args), pagination_parameters)

    @blp.arguments(ComplaintCreateSchema)
    @blp.response(201, ComplaintCreatedSchema)
    @roles(*OFFICE)
    def post(self, body):
        """Enter a complaint taken by telephone (12345 / 效能投诉电话), letter or visit

        The answer carries the query code to tell the caller (shown once)."""
        complaint, code = services.create(body, current_user())
        db.session.commit()
        return Created(complaint, code)


@blp.route("/complaints/<int:complaint_id>")
class ComplaintDetail(MethodView):
    @blp.response(200, ComplaintDetailSchema)
    @roles(*OFFICE)
    def get(self, complaint_id):
        """One complaint with the complainant's contact and its history"""
        return services.get(complaint_id)


def _act(complaint_id: int, fn, **kwargs):
    complaint = fn(services.get(complaint_id, lock=True), current_user(), **kwargs)
    db.session.commit()
    return complaint


@blp.route("/complaints/<int:complaint_id>/assign")
class Assign(MethodView):
    @blp.arguments(ComplaintAssignSchema)
    @blp.response(200, ComplaintDetailSchema)
    @blp.alt_response(409, description="当前状态不能分办")
    @roles(*OFFICE)
    def post(self, body, complaint_id):
        """分办: assign to an office handler (default: me); set the time limit's level (counted again from
        the day received)"""
        return _act(complaint_id, services.assign, **body)


@blp.route("/complaints/<int:complaint_id>/forward")
class Forward(MethodView):
    @blp.arguments(ComplaintForwardSchema)
    @blp.response(200, ComplaintDetailSchema)
    @blp.alt_response(409, description="当前状态不能转办")
    @roles(*OFFICE)
    def post(self, body, complaint_id):
        """转办: ask the unit to investigate and report (it never learns who complained)"""
        return _act(complaint_id, services.forward, **body)


@blp.route("/complaints/<int:complaint_id>/investigation")
class Investigation(MethodView):
    @blp.arguments(ComplaintNoteSchema)
    @blp.response(200, ComplaintDetailSchema)
    @blp.alt_response(409, description="当前状态不能登记调查结果")
    @roles(*OFFICE)
    def post(self, body, complaint_id):
        """Record the result of the investigation (the office's own, or its reading of the unit's report)"""
        return _act(complaint_id, services.investigate, **body)


@blp.route("/complaints/<int:complaint_id>/answer")
class Answer(MethodView):
    @blp.arguments(ComplaintAnswerSchema)
    @blp.response(200, ComplaintDetailSchema)
    @blp.alt_response(409, description="当前状态不能答复")
    @roles(*OFFICE)
    def post(self, body, complaint_id):
        """答复: record what the complainant was told, how and when (also shown on the public status page)"""
        return _act(complaint_id, services.answer, **body)


@blp.route("/complaints/<int:complaint_id>/close")
class Close(MethodView):
    @blp.arguments(ComplaintCloseSchema)
    @blp.response(200, ComplaintDetailSchema)
    @blp.alt_response(409, description="当前状态不能办结，或须先答复投诉人 (answer_required)")
    @roles(*OFFICE)
    def post(self, body, complaint_id):
        """办结: substantiated (a confirmed finding against the unit, with its rectification) or not"""
        return _act(complaint_id, services.close, **body)


# --- the unit -------------------------------------------------------------------------------------------

@blp.route("/unit/complaints")
class UnitComplaints(MethodView):
    @blp.arguments(UnitComplaintQuerySchema, location="query")
    @blp.response(200, UnitComplaintSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles("unit_liaison")
    def get(self, args, pagination_parameters):
        """Complaints forwarded to my unit, or substantiated against it, earliest deadline first (never who
        complained)"""
        return paginate_select(services.unit_complaints(current_user(), args), pagination_parameters)


@blp.route("/unit/complaints/<int:complaint_id>")
class UnitComplaint(MethodView):
    @blp.response(200, UnitComplaintSchema)
    @roles("unit_liaison")
    def get(self, complaint_id):
        """One complaint about my unit: what happened, when, where, and what the office asks"""
        return services.unit_complaint(complaint_id, current_user())


@blp.route("/unit/complaints/<int:complaint_id>/report")
class UnitComplaintReport(MethodView):
    @blp.arguments(UnitComplaintReportSchema)
    @blp.response(200, UnitComplaintSchema)
    @blp.alt_response(409, description="投诉不在待单位调查状态")
    @roles("unit_liaison")
    def post(self, body, complaint_id):
        """Report the unit's investigation of a forwarded complaint (调查核实情况)"""
        complaint = services.unit_report(complaint_id, current_user(), body["text"])
        db.session.commit()
        return complaint
