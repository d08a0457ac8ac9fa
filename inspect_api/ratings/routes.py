"""好差评 endpoints: the public page and submission (no login), the printable QR code, the CSV import,
the office's list and summary, and the unit's 差评 follow-ups."""

from __future__ import annotations

import io

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import current_app, make_response, render_template, request, url_for
from flask.views import MethodView
from marshmallow import fields, validate

from inspect_api.auth.access import PUBLIC, current_user, roles
from inspect_api.config import PROJECT_ROOT
from inspect_api.core import clock, public_form
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.calendar_store import days_left
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed, paginate_select
from inspect_api.db import db
from inspect_api.errors import DomainError, Unprocessable
from inspect_api.org.services import get_unit
from inspect_api.ratings import rules, services
from inspect_api.ratings.models import Rating

blp = Blueprint("ratings", __name__, url_prefix="", description="好差评 Citizen ratings")
# The rating page is HTML outside /api/v1, so it lives on a plain Flask blueprint.
page_blp = FlaskBlueprint("rating_page", __name__, template_folder=str(PROJECT_ROOT / "templates"))
OFFICE = ("office", "admin")
DEVICE_COOKIE = "inspect_rating_device"


def _device_cookie(resp, present: str | None):
    return public_form.with_device_cookie(resp, DEVICE_COOKIE, present)


def _page(status: int = 200, **context):
    context.setdefault("score_labels", rules.SCORE_LABELS)
    context.setdefault("reasons", rules.REASONS)
    resp = make_response(render_template("ratings/page.html", **context), status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@page_blp.get("/r/<window_key>")
@roles(PUBLIC)
def rating_page(window_key):
    """The public rating page of one window (reached by its QR code; no login)."""
    try:
        unit, window_no = services.window_for_key(window_key)
    except DomainError:
        return _page(404, error="评价页面不存在，请重新扫描窗口的二维码。")
    resp = _page(unit_name=unit.name, window_no=window_no, window_key=window_key,
                 token=services.new_token(window_key), action=url_for("ratings.PublicRatings"))
    return _device_cookie(resp, public_form.device(DEVICE_COOKIE))


class PublicRatingSchema(BaseSchema):
    window_key = fields.String(required=True, validate=validate.Length(max=80))
    token = fields.String(required=True, validate=validate.Length(max=80))
    score = fields.Raw(required=True, metadata={"description": "1–5: 5 非常满意 … 1 非常不满意"})
    reasons = fields.Raw(load_default=list, metadata={"description": "reason codes (or labels), a list"})
    comment = fields.Raw(load_default=None, metadata={"description": "≤ 500 characters, no links"})
    website = fields.String(load_default="", metadata={"description": "honeypot: must stay empty"})


class PublicRatingResultSchema(BaseSchema):
    status = fields.String()
    score = fields.Integer()
    score_label = fields.String()
    message = fields.String()


@blp.route("/public/ratings")
class PublicRatings(MethodView):
    @blp.response(201, PublicRatingResultSchema)
    @blp.alt_response(201, schema={"type": "string"}, content_type="text/html", success=True,
                      description="评价已收到 (JSON; the page's own form post gets the HTML thank-you page)")
    @blp.alt_response(409, description="重复提交（一次性令牌已用过）")
    @blp.alt_response(422, description="评分/原因无效，或令牌伪造、过期；details.fields 指明字段")
    @blp.alt_response(429, description="超出窗口或设备的频率限制；见 Retry-After")
    @roles(PUBLIC)
    def post(self):
        """Submit a rating from the public page (no login; JSON or multipart form)

        Anonymous: nothing that identifies the rater is stored (no IP, no user agent, no device id)."""
        raw, is_form = public_form.form_body(lists=("reasons",))
        device = public_form.device(DEVICE_COOKIE)
        try:
            body = public_form.load(PublicRatingSchema(), raw, "评价内容有误 (invalid rating)")
            rating = services.submit_public(body["window_key"], body["token"], body["score"], body["reasons"],
                                            body["comment"], device)
            db.session.commit()
        except DomainError as exc:
            if not is_form:
                raise
            db.session.rollback()
            resp = _page(exc.status, error=exc.message)
            resp.headers.update(exc.headers)
            return resp
        result = {"status": "received", "score": rating.score, "score_label": rules.SCORE_LABELS[rating.score],
                  "message": "感谢您的评价！"}
        if is_form:
            return _device_cookie(_page(201, done=True, result=result), device)
        resp = make_response(PublicRatingResultSchema().dump(result), 201)
        return _device_cookie(resp, device)


# --- QR code ------------------------------------------------------------------------------------------

def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(current_app.config["INSPECT_CJK_FONT"], size)
    except OSError:  # no CJK font installed: still a usable code, with a plain caption
        return ImageFont.load_default(size)


def qr_png(url: str, lines: list[str]) -> bytes:
    import qrcode
    from PIL import Image, ImageDraw

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(url)
    code.make(fit=True)
    qr = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    font = _font(32)
    line_h = 48
    if not lines:
        out = io.BytesIO()
        qr.save(out, format="PNG")
        return out.getvalue()
    canvas = Image.new("RGB", (max(qr.width, 600), qr.height + line_h * len(lines) + 24), "white")
    canvas.paste(qr, ((canvas.width - qr.width) // 2, 0))
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((canvas.width - width) / 2, qr.height + i * line_h), line, fill="black", font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def page_url(window_key: str) -> str:
    # The public address when configured, else the host the office reached the API by.
    base = current_app.config["INSPECT_PUBLIC_BASE_URL"] or request.host_url
    return base.rstrip("/") + url_for("rating_page.rating_page", window_key=window_key)


@blp.route("/ratings/qr/<int:unit_id>/<string:window_no>.png")
class QrCode(MethodView):
    @blp.response(200, content_type="image/png", description="可打印的二维码 PNG（含单位与窗口）")
    @blp.alt_response(404, description="单位不存在，或该单位没有在岗工作人员登记这个窗口号")
    @roles(*OFFICE)
    def get(self, unit_id, window_no):
        """A printable QR code of a window's rating page, with the unit and window under it

        The page URL is also in the `X-Rating-Url` header."""
        unit = get_unit(unit_id)
        key = services.window_key(unit.id, window_no)  # 422 on a malformed number, before the lookup
        services.check_windows(unit.id, [window_no])
        url = page_url(key)
        png = qr_png(url, [unit.name, f"{window_no} 号窗口 · 扫码评价（好差评）"])
        resp = make_response(png)
        resp.headers["Content-Type"] = "image/png"
        resp.headers["Content-Disposition"] = f'inline; filename="rating-{unit.code}-{window_no}.png"'
        resp.headers["X-Rating-Url"] = url
        return resp


class QrSheetQuerySchema(BaseSchema):
    window = fields.List(fields.String(validate=validate.Regexp(rules.WINDOW_NO_RE)),
                         validate=validate.Length(max=200),
                         metadata={"description": "window numbers (repeat the parameter); default: the windows "
                                                  "the unit's active staff sit at"})


@blp.route("/ratings/qr/<int:unit_id>.pdf")
class QrSheet(MethodView):
    @blp.arguments(QrSheetQuerySchema, location="query")
    @blp.response(200, content_type="application/pdf", description="A4 PDF，每个窗口一张可裁剪的二维码卡片")
    @blp.alt_response(422, description="没有给出窗口号且该单位的工作人员都没有窗口号，或给出的窗口号不存在")
    @roles(*OFFICE)
    def get(self, args, unit_id):
        """A printable A4 sheet of QR cards, one per window of a unit (four to a page)"""
        import base64

        from weasyprint import HTML

        unit = get_unit(unit_id)
        windows = args.get("window") or services.unit_windows(unit.id)
        if not windows:
            raise Unprocessable("该单位没有登记窗口号, 请用 window 参数给出 (no windows known)",
                                {"fields": {"window": ["至少一个窗口号"]}})
        services.check_windows(unit.id, list(dict.fromkeys(windows)))
        cards = []
        for window_no in dict.fromkeys(windows):  # once each, in the order given
            url = page_url(services.window_key(unit.id, window_no))
            png = qr_png(url, [])
            cards.append({"window_no": window_no, "url": url,
                          "image": "data:image/png;base64," + base64.b64encode(png).decode()})
        html = render_template("ratings/qr_sheet.html", unit_name=unit.name, cards=cards)
        resp = make_response(HTML(string=html).write_pdf())
        resp.headers["Content-Type"] = "application/pdf"
        resp.headers["Content-Disposition"] = f'inline; filename="rating-qr-{unit.code}.pdf"'
        return resp


# --- import -------------------------------------------------------------------------------------------

class RatingImportFileSchema(BaseSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class RatingImportReportSchema(BaseSchema):
    rows = fields.Integer()
    created = fields.Integer()
    unchanged = fields.Integer()


@blp.route("/ratings/import")
class Import(MethodView):
    @blp.arguments(RatingImportFileSchema, location="files")
    @blp.response(200, RatingImportReportSchema)
    @blp.alt_response(422, description="有错误的行: 整个文件未导入, details.errors 逐行说明")
    @roles(*OFFICE)
    def post(self, files):
        """Import ratings exported by the provincial 好差评 system (CSV or XLSX; all or nothing)

        Columns: 单位编码, 窗口号, 评分 (1–5 or label), 原因 (codes or labels, separated by ；; a label holding
        、 such as 办理效率低、等候时间长 is matched whole before any split on 、), 评价内容,
        评价日期, 外部编号. Rows whose 外部编号 was imported before are left alone (idempotent)."""
        upload = files["file"]
        rows, errors = services.parse_import(upload.stream, upload.filename or "")
        if errors:
            raise Unprocessable(f"文件有 {len(errors)} 处错误, 未导入任何数据 (nothing imported)",
                                {"errors": [e.__dict__ for e in errors][:1000]}, code="import_failed")
        report = services.import_rows(rows)
        services.record_import(report, upload.filename or "", current_user())
        db.session.commit()
        return report


# --- reading ------------------------------------------------------------------------------------------

class RatingFilterSchema(BaseSchema):
    unit_id = fields.Integer(validate=ID_RANGE)
    window_no = fields.String(validate=validate.Regexp(rules.WINDOW_NO_RE))
    score = fields.Integer(validate=validate.OneOf(list(rules.SCORE_LABELS)))
    from_ = fields.Date(data_key="from", attribute="from")
    to = fields.Date()


def _for_unit() -> bool:
    """The caller is a unit's: it sees a rater-protecting view of the unit's ratings."""
    return services.is_unit_view(current_user())


def _office_only(attr: str):
    # what orders or times a rating finer than the day, or names it, is not the unit's
    return lambda r: ma.missing if _for_unit() else getattr(r, attr)


def _comment(r):
    if _for_unit() and not services.policy().liaison_comments:
        return ma.missing
    return r.comment


class RatingSchema(BaseSchema):
    """For a unit's liaison only unit_id, window_no, score, reasons, rated_on, source (and the comment
    where the ratings policy allows): no id, no time finer than the day."""

    id = computed(fields.Integer(), _office_only("id"))
    unit_id = fields.Integer()
    window_no = fields.String()
    score = fields.Integer()
    score_label = computed(fields.String(), lambda r: rules.SCORE_LABELS[r.score])
    reasons = fields.List(fields.String())
    reason_labels = computed(fields.List(fields.String()),
                             lambda r: [rules.REASONS.get(c, c) for c in r.reasons or []])
    comment = computed(fields.String(allow_none=True), _comment)
    source = fields.String(metadata={"description": "qr | import"})
    external_id = computed(fields.String(allow_none=True), _office_only("external_id"))
    rated_on = fields.Date()
    created_at = computed(fields.DateTime(), _office_only("created_at"))


class RatingSummarySchema(BaseSchema):
    count = fields.Integer()
    average = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True, metadata={"description": "满意率: share of scores ≥ 3"})
    bad_count = fields.Integer(metadata={"description": "差评: scores ≤ 2"})
    by_reason = fields.List(fields.Dict())
    by_score = fields.List(fields.Dict())


@blp.route("/ratings")
class Ratings(MethodView):
    @blp.arguments(RatingFilterSchema, location="query")
    @blp.response(200, RatingSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=500)
    @roles(*OFFICE, "leader", "unit_liaison")
    def get(self, args, pagination_parameters):
        """Ratings, newest first (filter by unit, window, score, dates); a liaison sees its own units

        A unit's liaison sees each rating's day, window, score and reasons (the comment only where the
        ratings policy's `liaison_comments` allows), never its id or time; a window's day with fewer than
        `liaison_min_ratings` ratings is not listed, only counted in `/ratings/summary`."""
        return paginate_select(services.ratings(current_user(), args), pagination_parameters)


@blp.route("/ratings/summary")
class Summary(MethodView):
    @blp.arguments(RatingFilterSchema, location="query")
    @blp.response(200, RatingSummarySchema)
    @roles(*OFFICE, "leader", "unit_liaison")
    def get(self, args):
        """Count, average, 满意率, 差评 count, and counts by reason and by score"""
        return services.summary(current_user(), args)


class FollowUpQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    overdue = fields.Boolean(metadata={"description": "true: open and past the deadline; false: the others"})
    unit_id = fields.Integer(validate=ID_RANGE)


def _rated(attr: str):
    return lambda f: getattr(db.session.get(Rating, f.rating_id), attr)


class FollowUpSchema(BaseSchema):
    """A 差评 follow-up; for the unit without the rating's id and, unless the policy allows, without its
    comment."""

    id = fields.Integer()
    rating_id = computed(fields.Integer(allow_none=True, metadata={"description": "null for the unit"}),
                         lambda f: None if _for_unit() else f.rating_id)
    unit_id = fields.Integer()
    window_no = computed(fields.String(), _rated("window_no"))
    score = computed(fields.Integer(), _rated("score"))
    score_label = computed(fields.String(), lambda f: rules.SCORE_LABELS[_rated("score")(f)])
    reasons = computed(fields.List(fields.String()), _rated("reasons"))
    reason_labels = computed(fields.List(fields.String()),
                             lambda f: [rules.REASONS.get(c, c) for c in _rated("reasons")(f) or []])
    comment = computed(fields.String(allow_none=True), lambda f: None if _for_unit() and not services.policy()
                       .liaison_comments else _rated("comment")(f))
    rated_on = computed(fields.Date(), _rated("rated_on"))
    due_on = fields.Date()
    working_days = fields.Integer()
    provisional = fields.Boolean()
    status = fields.String(metadata={"description": "open | closed"})
    overdue = computed(fields.Boolean(metadata={"description": "open and past due_on"}),
                       lambda f: f.status == "open" and f.due_on < clock.today())
    days_left = computed(fields.Integer(allow_none=True, metadata={
        "description": "working days to due_on, counted today (negative: past it); null once closed"}),
        lambda f: days_left(f.due_on, f.status == "open")["days_left"])
    days_left_provisional = computed(fields.Boolean(metadata={
        "description": "a year in between has no loaded calendar"}),
        lambda f: days_left(f.due_on, f.status == "open")["days_left_provisional"])
    closed_at = fields.DateTime(allow_none=True)
    note = fields.String(allow_none=True)


class FollowUpCloseSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


@blp.route("/unit/rating-follow-ups")
class FollowUps(MethodView):
    @blp.arguments(FollowUpQuerySchema, location="query")
    @blp.response(200, FollowUpSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles("unit_liaison")
    def get(self, args, pagination_parameters):
        """差评 follow-ups of my unit, earliest deadline first"""
        return paginate_select(services.follow_ups(current_user(), args), pagination_parameters)


@blp.route("/ratings/follow-ups")
class OfficeFollowUps(MethodView):
    @blp.arguments(FollowUpQuerySchema, location="query")
    @blp.response(200, FollowUpSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @roles(*OFFICE, "leader")
    def get(self, args, pagination_parameters):
        """Every unit's 差评 follow-ups, earliest deadline first (`overdue=true`: open and past the day)"""
        return paginate_select(services.follow_ups(current_user(), args), pagination_parameters)


@blp.route("/unit/rating-follow-ups/<int:follow_up_id>/close")
class CloseFollowUp(MethodView):
    @blp.arguments(FollowUpCloseSchema)
    @blp.response(200, FollowUpSchema)
    @blp.alt_response(409, description="已办结")
    @roles("unit_liaison")
    def post(self, body, follow_up_id):
        """Close a 差评 follow-up with a note on what the unit did"""
        f = services.close_follow_up(current_user(), follow_up_id, body["note"])
        db.session.commit()
        return f
