"""Schemas of visits, responses, findings, evidence and the batch sync."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.fastload import FastLoadMixin
from inspect_api.core.schemas import ID_RANGE, BaseSchema, computed
from inspect_api.visits.rules import MODES, STATUSES

UUID = fields.UUID


def _checklist(visit) -> dict:
    return {"code": visit.checklist_code, "version": visit.checklist_version, "content_hash": visit.checklist_hash}


def _gps(visit) -> dict | None:
    return ({"lat": visit.gps_lat, "lng": visit.gps_lng, "accuracy_m": visit.gps_accuracy_m}
            if visit.gps_lat is not None else None)


def _evidence_links(ev) -> dict:
    from flask import url_for

    from inspect_api.visits.services import VARIANTS

    return {v: url_for("visits.EvidenceFile", evidence_id=ev.id, variant=v) for v in VARIANTS}


def _expected_photos(visit) -> list:
    from inspect_api.visits.services import expected_photos

    return expected_photos(visit)


def _shopper(visit) -> dict | None:
    from inspect_api.shopper.schemas import ShopperRecordSchema
    from inspect_api.shopper.services import record_of

    rec = record_of(visit.id) if visit.mode == "mystery_shopper" else None
    return ShopperRecordSchema().dump(rec) if rec is not None else None


class GpsSchema(BaseSchema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = fields.Float(allow_none=True, validate=validate.Range(min=0, max=100_000))


class ChecklistRefSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    version = fields.Integer(required=True, validate=ID_RANGE)
    content_hash = fields.String(dump_only=True)


class ResponseSchema(BaseSchema):
    item_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    answer = fields.Raw(allow_none=True, load_default=None,
                        metadata={"description": "yes_no: \"yes\"/\"no\"; choice: a choice code; number; text"})
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))
    answered_at = fields.AwareDateTime(allow_none=True)
    failed = fields.Boolean(dump_only=True)


class FindingSchema(BaseSchema):
    id = UUID(required=True, metadata={"description": "chosen by the phone; derived findings get server ids"})
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES)))
    severity = fields.String(required=True, validate=validate.OneOf(list(SEVERITIES)))
    item_code = fields.String(allow_none=True, validate=validate.Length(max=32))
    badge_no = fields.String(allow_none=True, validate=validate.Length(min=1, max=32),
                             metadata={"description": "工牌号, when the badge was seen"})
    window_no = fields.String(allow_none=True, validate=validate.Length(min=1, max=16))
    position = fields.String(allow_none=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "岗位/位置, when no badge was seen"})
    observed_at = fields.AwareDateTime(allow_none=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=4000))
    source = fields.String(dump_only=True, metadata={"description": "item | manual | badge"})
    points = fields.Integer(dump_only=True)
    staff_id = fields.Integer(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)


class ShopperSchema(BaseSchema):
    """The mystery-shopper record (模拟办事记录): what happened at the window, as observed."""

    scenario_id = fields.Integer(required=True, validate=ID_RANGE)
    queue_minutes = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=600))
    wait_minutes = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=600))
    first_receiver_badge = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=32))
    first_receiver_window = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=16))
    sent_elsewhere = fields.Boolean(load_default=False)
    sent_to = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=255))
    sent_to_unit_id = fields.Integer(allow_none=True, load_default=None, validate=ID_RANGE, metadata={
        "description": "被指引去的窗口 (unit id), 用于判断指引是否正确 (correct referral)"})
    materials_told = fields.List(fields.String(validate=validate.Length(min=1, max=16)), load_default=list,
                                 validate=validate.Length(max=100),
                                 metadata={"description": "codes from the service item's official materials list"})
    materials_told_other = fields.List(fields.String(validate=validate.Length(max=255)), load_default=list,
                                       validate=validate.Length(max=50),
                                       metadata={"description": "requirements not on the official list (乱要材料)"})
    done_on_spot = fields.Boolean(load_default=False)
    receipt_given = fields.Boolean(allow_none=True, load_default=None)
    promised_date = fields.Date(allow_none=True, load_default=None)
    attitude = fields.String(required=True, validate=validate.OneOf(["warm", "ordinary", "cold", "rude"]),
                             metadata={"description": "warm 热情, ordinary 一般, cold 生冷, rude 粗暴"})
    told_come_back = fields.Boolean(load_default=False)
    notes = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=4000))


class VisitContentSchema(FastLoadMixin, BaseSchema):
    """What the phone writes. A PUT replaces the whole draft with this."""

    mode = fields.String(required=True, validate=validate.OneOf(list(MODES)))
    unit_id = fields.Integer(required=True, validate=ID_RANGE)
    window_no = fields.String(allow_none=True, validate=validate.Length(max=16))
    staff_id = fields.Integer(allow_none=True, validate=ID_RANGE)
    checklist = fields.Nested(ChecklistRefSchema, required=True)
    team = fields.List(fields.Integer(validate=ID_RANGE), required=True, validate=validate.Length(min=1, max=20),
                       metadata={"description": "user ids of the inspectors (两人以上)"})
    assignment_id = fields.Integer(allow_none=True, validate=ID_RANGE)
    started_at = fields.AwareDateTime(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    device_time = fields.AwareDateTime(allow_none=True, metadata={"description": "the phone's clock now"})
    gps = fields.Nested(GpsSchema, allow_none=True)
    notes = fields.String(allow_none=True, validate=validate.Length(max=8000))
    responses = fields.List(fields.Nested(ResponseSchema), load_default=list, validate=validate.Length(max=500))
    findings = fields.List(fields.Nested(FindingSchema), load_default=list, validate=validate.Length(max=200))
    shopper = fields.Nested(ShopperSchema, allow_none=True, load_default=None,
                            metadata={"description": "required for mystery_shopper visits on a scored checklist"})

    @validates_schema
    def _times(self, data, **kwargs):
        if data.get("started_at") and data.get("ended_at") and data["ended_at"] < data["started_at"]:
            raise ValidationError("结束时间早于开始时间 (ended before it started)", "ended_at")
        ids = [str(f["id"]) for f in data.get("findings", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("问题 id 重复 (duplicate finding ids)", "findings")


class ExpectedPhotoSchema(BaseSchema):
    item_code = fields.String()
    finding_id = fields.String()
    question = fields.String()
    present = fields.Boolean()


class EvidenceSchema(BaseSchema):
    id = fields.String()
    visit_id = fields.String()
    finding_id = fields.String(allow_none=True)
    item_code = fields.String(allow_none=True)
    sha256 = fields.String()
    size_bytes = fields.Integer()
    media_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    captured_at = fields.DateTime(allow_none=True)
    gps_lat = fields.Float(allow_none=True)
    gps_lng = fields.Float(allow_none=True)
    uploaded_at = fields.DateTime()
    derivatives = fields.String(validate=validate.OneOf(["pending", "ready", "failed"]), metadata={"description": (
        "the display copy, thumbnail and watermarked copy: `pending` while the media worker makes them "
        "(their links answer 202 with `Retry-After`), `ready`, or `failed` (their links answer 404 "
        "`derivative_failed`); the original is stored before the upload answers, whatever this says")})
    links = computed(fields.Dict(metadata={"description": "URLs of the original and the derived copies"}),
                     _evidence_links)


class DerivativePendingSchema(BaseSchema):
    derivatives = fields.String(metadata={"description": "`pending`: ask again after `Retry-After` seconds"})
    retry_after = fields.Integer(metadata={"description": "seconds, as in the `Retry-After` header"})


class VisitSchema(BaseSchema):
    id = fields.String()
    code = fields.String()
    status = fields.String(metadata={"description": ", ".join(f"{k} {v}" for k, v in STATUSES.items())})
    version = fields.Integer()
    mode = fields.String()
    unit_id = fields.Integer(validate=ID_RANGE)
    window_no = fields.String(allow_none=True)
    staff_id = fields.Integer(allow_none=True)
    checklist = computed(fields.Nested(ChecklistRefSchema), _checklist)
    team = fields.List(fields.Integer())
    assignment_id = fields.Integer(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    device_time = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
    clock_skew_seconds = fields.Integer(allow_none=True, metadata={"description": "phone minus server"})
    gps = computed(fields.Nested(GpsSchema, allow_none=True), _gps)
    notes = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    responses = fields.List(fields.Nested(ResponseSchema))
    findings = fields.List(fields.Nested(FindingSchema))
    evidence = fields.List(fields.Nested(EvidenceSchema))
    expected_photos = computed(fields.List(fields.Nested(ExpectedPhotoSchema)), _expected_photos)
    deducted_points = computed(fields.Integer(), lambda visit: sum(f.points for f in visit.findings
                                                                   if f.source in ("item", "shopper")))
    shopper = computed(fields.Dict(allow_none=True, metadata={"description": "the mystery-shopper record and its scores"}),
                       _shopper)


class VisitSummarySchema(BaseSchema):
    id = fields.String()
    code = fields.String()
    status = fields.String()
    version = fields.Integer()
    mode = fields.String()
    unit_id = fields.Integer()
    checklist = computed(fields.Nested(ChecklistRefSchema), _checklist)
    team = fields.List(fields.Integer())
    started_at = fields.DateTime(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    finding_count = computed(fields.Integer(), lambda visit: len(visit.findings))
    missing_photos = computed(fields.Integer(), lambda visit: sum(1 for p in _expected_photos(visit) if not p.present))


class VisitQuerySchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(list(STATUSES)))
    mine = fields.Boolean(load_default=False, metadata={"description": "only visits I am on the team of"})
    unit_id = fields.Integer(validate=ID_RANGE)


class SyncItemSchema(VisitContentSchema):
    id = UUID(required=True)
    base_version = fields.Integer(allow_none=True, metadata={
        "description": "the version the phone last saw; required when the visit already exists"})
    submit = fields.Boolean(load_default=False, metadata={"description": "submit after saving"})


class SyncRequestSchema(FastLoadMixin, BaseSchema):
    visits = fields.List(fields.Nested(SyncItemSchema), required=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def _unique(self, data, **kwargs):
        ids = [str(v["id"]) for v in data.get("visits", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("同一批次中检查记录 id 重复 (a visit appears twice in the batch)", "visits")


class SyncResultSchema(BaseSchema):
    id = fields.String()
    status = fields.Integer(metadata={"description": "HTTP status this item would have had on its own"})
    outcome = fields.String(metadata={"description": "created | updated | unchanged | submitted | error"})
    version = fields.Integer(allow_none=True)
    visit_status = fields.String(allow_none=True)
    code = fields.String(allow_none=True, metadata={
        "description": "the visit's number (V2026-000123) as stored; null when the item was refused"})
    error = fields.Dict(allow_none=True)


class SyncResponseSchema(BaseSchema):
    results = fields.List(fields.Nested(SyncResultSchema))


# --- the mystery-shopper comparison (visits/shopper_comparison.py) ---


class ComparisonQuerySchema(BaseSchema):
    scenario_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                 metadata={"description": "one scenario; all when omitted"})
    by = fields.String(load_default="unit", validate=validate.OneOf(["unit", "window", "service_item"]))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class ComparisonRowSchema(BaseSchema):
    class Meta(BaseSchema.Meta):
        unknown = "include"

    rank = fields.Integer()
    unit_id = fields.Integer()
    unit_name = fields.String()
    window_no = fields.String(allow_none=True)
    service_item_id = fields.Integer()
    service_item_name = fields.String()
    runs = fields.Integer()
    avg_completeness = fields.Float()
    complete_notice_rate = fields.Float()
    invented_total = fields.Integer()
    findings_by_category = fields.Dict()
    shirking_runs = fields.Integer()
    avg_wait_minutes = fields.Float(allow_none=True)
    avg_score = fields.Float()
