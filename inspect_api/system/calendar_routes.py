"""Calendar endpoints: which years are official, imported or assumed; importing a year's holiday
table (admin); and deadlines in working days for anyone who needs to show one."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from inspect_api.auth.access import current_user, roles
from inspect_api.auth.rules import ALL_ROLES
from inspect_api.core import calendar_store, clock
from inspect_api.core.blueprint import Blueprint
from inspect_api.core.schemas import BaseSchema
from inspect_api.db import db
from inspect_api.errors import Unprocessable
from inspect_api.system.services import import_calendar

blp = Blueprint("calendar", __name__, url_prefix="/calendar", description="工作日日历 Working-day calendar")
EVERYONE = tuple(r.value for r in ALL_ROLES)


class YearsQuerySchema(BaseSchema):
    first = fields.Integer(load_default=lambda: clock.today().year - 1, validate=validate.Range(min=2000, max=2100))
    last = fields.Integer(load_default=lambda: clock.today().year + 2, validate=validate.Range(min=2000, max=2100))

    @validates_schema
    def _order(self, data, **kwargs):
        if data["last"] < data["first"] or data["last"] - data["first"] > 50:
            raise ValidationError("last 须不早于 first, 且跨度不超过 50 年", "last")


class YearSchema(BaseSchema):
    year = fields.Integer()
    status = fields.String(metadata={"description": "official 官方日历 | loaded 已导入 | assumed 按周一至周五推算"})
    label = fields.String()
    source = fields.String(allow_none=True)


class ImportSchema(BaseSchema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportResultSchema(BaseSchema):
    years = fields.Dict(metadata={"description": "per year: holidays, working_weekends, replaced_rows"})
    deadlines_changed = fields.Integer(metadata={
        "description": "stored provisional deadlines (rectification, appeal) that moved; the people concerned "
                       "are notified"})


class DeadlineQuerySchema(BaseSchema):
    start = fields.Date(required=True, metadata={"description": "the day the clock starts (not counted)"})
    days = fields.Integer(required=True, validate=validate.Range(min=0, max=366))


class DeadlineSchema(BaseSchema):
    start = fields.Date()
    days = fields.Integer()
    deadline = fields.Date()
    provisional = fields.Boolean()
    assumed_years = fields.List(fields.Integer())
    text = fields.String(metadata={"description": "中文说明, 暂定时注明"})


@blp.route("/years")
class Years(MethodView):
    @blp.arguments(YearsQuerySchema, location="query")
    @blp.response(200, YearSchema(many=True))
    @roles(*EVERYONE)
    def get(self, args):
        """Where each year's working days come from"""
        return calendar_store.year_statuses(args["first"], args["last"])


@blp.route("/import")
class Import(MethodView):
    @blp.arguments(ImportSchema, location="files")
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(422, description="行号与原因; 或该年已有官方日历")
    @roles("admin")
    def post(self, files):
        """Import holiday tables (CSV `date,kind,name`; kind holiday/休 or workday/班); each year in the
        file replaces that year's earlier import"""
        upload = files["file"]
        try:
            text = upload.stream.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Unprocessable("文件须为 UTF-8 编码的 CSV (file must be UTF-8)", {"fields": {"file": ["not UTF-8"]}},
                                code="not_utf8") from exc
        summary = import_calendar(text, source=upload.filename or "upload.csv", actor=current_user())
        db.session.commit()
        return {"years": {str(k): v for k, v in summary["years"].items()},
                "deadlines_changed": summary["deadlines_changed"]}


@blp.route("/deadline")
class Deadline(MethodView):
    @blp.arguments(DeadlineQuerySchema, location="query")
    @blp.response(200, DeadlineSchema)
    @roles(*EVERYONE)
    def get(self, args):
        """N working days after a start day, on the official calendar (provisional where a year is assumed)"""
        d = calendar_store.current_calendar().add_working_days(args["start"], args["days"])
        return {"start": args["start"], "days": args["days"], "deadline": d.date, "provisional": d.provisional,
                "assumed_years": list(d.assumed_years), "text": d.describe()}
