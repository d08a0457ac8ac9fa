"""Scenarios, the evaluation of a mystery-shopper record (for the visit upsert), and comparisons."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from inspect_api.audit import services as audit
from inspect_api.core.calendar import WorkingCalendar
from inspect_api.core.clock import local
from inspect_api.core.deadlines import check_promised_date
from inspect_api.db import db
from inspect_api.errors import NotFound, PreconditionFailed, Unprocessable
from inspect_api.org.models import ServiceItem, Staff, Unit
from inspect_api.shopper import rules
from inspect_api.shopper.models import Scenario, ShopperRecord

RULES_ID = "shopper_v1"
SHOPPER_NS = uuid.UUID("0c5b8f8e-7f3e-4b4f-9a4e-2f8f3d1c6a77")
SCENARIO_FIELDS = ("code", "title", "service_item_id", "persona", "ask", "materials_brought", "notes", "is_active")

def calendar() -> WorkingCalendar:
    """The official calendar plus the holiday tables admins imported for later years."""
    from inspect_api.core.calendar_store import current_calendar

    return current_calendar()


def uses_shopper_rules(template: dict) -> bool:
    return (template.get("scoring") or {}).get("rules") == RULES_ID


# --- scenarios ----------------------------------------------------------------------------------

def _item(item_id: int) -> ServiceItem:
    item = db.session.get(ServiceItem, item_id)
    if item is None:
        raise Unprocessable("服务事项不存在 (unknown service item)", {"fields": {"service_item_id": ["unknown"]}})
    return item


def _check_brought(item: ServiceItem, brought: list[str]) -> None:
    codes = {m["code"] for m in item.materials}
    unknown = [c for c in brought if c not in codes]
    if unknown:
        raise Unprocessable("带去的材料不在该事项的法定材料清单中 (unknown material codes)",
                            {"fields": {"materials_brought": unknown}})
    if len(set(brought)) != len(brought):
        raise Unprocessable("材料重复 (duplicate material codes)", {"fields": {"materials_brought": ["duplicate"]}})


def snapshot(s: Scenario) -> dict:
    return {f: getattr(s, f) for f in SCENARIO_FIELDS}


def _code_free(code: str, scenario_id: int | None = None) -> None:
    """No other scenario has this code (a taken one is a 409, not the unique index's 500)."""
    stmt = sa.select(Scenario.id).where(Scenario.code == code)
    if scenario_id is not None:
        stmt = stmt.where(Scenario.id != scenario_id)
    if db.session.scalar(stmt):
        from inspect_api.errors import Conflict

        raise Conflict("情景编码已存在 (code taken)", {"fields": {"code": ["already exists"]}}, code="duplicate")


def create_scenario(data: dict, actor) -> Scenario:
    _code_free(data["code"])
    item = _item(data["service_item_id"])
    _check_brought(item, data.get("materials_brought", []))
    scenario = Scenario(**{k: v for k, v in data.items() if k in SCENARIO_FIELDS}, created_by=actor.id)
    db.session.add(scenario)
    db.session.flush()
    audit.record("scenario.create", "scenario", scenario.id, actor=actor, after=snapshot(scenario))
    return scenario


def update_scenario(scenario: Scenario, changes: dict, actor) -> Scenario:
    before = snapshot(scenario)
    if "code" in changes:
        _code_free(changes["code"], scenario.id)
    item = _item(changes.get("service_item_id", scenario.service_item_id))
    _check_brought(item, changes.get("materials_brought", scenario.materials_brought))
    for key, value in changes.items():
        setattr(scenario, key, value)
    if snapshot(scenario) != before:
        scenario.version += 1
        try:
            db.session.flush()
        except StaleDataError as exc:  # changed since it was read (see Scenario's version_id_col)
            raise PreconditionFailed("情景已被修改 (stale version)") from exc
        audit.record("scenario.update", "scenario", scenario.id, actor=actor, before=before, after=snapshot(scenario))
    return scenario


def get_scenario(scenario_id: int, *, lock: bool = False) -> Scenario:
    """The scenario; `lock`: read fresh and locked until commit (a PATCH checks If-Match against it)."""
    scenario = db.session.get(Scenario, scenario_id, with_for_update=lock or None, populate_existing=lock)
    if scenario is None:
        raise NotFound("模拟办事情景不存在 (no such scenario)")
    return scenario


def expectations(scenario: Scenario) -> dict:
    """What a correct answer at the window is: every missing material in one go, the committed time
    limit, a receipt when the matter can't be done on the spot."""
    item = db.session.get(ServiceItem, scenario.service_item_id)
    brought = set(scenario.materials_brought)
    return {
        "service_item": {"id": item.id, "code": item.code, "name": item.name, "unit_id": item.unit_id},
        "materials_required": item.materials,
        "materials_missing": [m for m in item.materials if m["code"] not in brought],
        "committed_limit_days": item.committed_limit_days,
        "statutory_limit_days": item.statutory_limit_days,
        "receipt_expected": not item.on_the_spot,
    }


# --- evaluating one visit's record ---------------------------------------------------------------

@dataclass
class Evaluation:
    record: dict  # the ShopperRecord row
    findings: list[dict]  # finding rows (without visit/unit/timestamps)
    notice: rules.Notice
    score: rules.ShopperScore
    names: dict[str, str]


def _handles(unit: Unit, item: ServiceItem) -> bool:
    """The visited unit handles the item.

    Where the registry names the item's accepting windows (受理窗口), a window handles it exactly
    when it is one of them, whoever's tree it sits in; a hall or department handles it when one of
    them is under it. Otherwise the unit tree decides (one sits inside the other), where a window
    counts as part of its staffing department (进驻部门) too.
    """
    item_unit = db.session.get(Unit, item.unit_id)
    accepting = set(item.accepting_window_ids or [])
    if accepting:
        if unit.kind == "window":
            return unit.id in accepting
        return db.session.scalar(sa.select(sa.func.count()).where(
            Unit.id.in_(accepting), Unit.path.startswith(unit.path))) > 0
    units = [unit]
    if unit.staffing_unit_id is not None:
        units.append(db.session.get(Unit, unit.staffing_unit_id))
    return any(u.path.startswith(item_unit.path) or item_unit.path.startswith(u.path) for u in units)


def _referral(item: ServiceItem, sent_to_unit_id: int | None) -> bool | None:
    """Whether the shopper was sent to a window that accepts the item; None when that can't be told
    (no window recorded, or the item's accepting windows are not registered)."""
    if sent_to_unit_id is None or not item.accepting_window_ids:
        return None
    return sent_to_unit_id in set(item.accepting_window_ids)


def evaluate(visit_id: str, content: dict, template: dict, visited_on: date) -> Evaluation:
    """Check a mystery-shopper record against its scenario and the official materials list, and
    derive the findings the rules raise (read-only)."""
    shopper = content["shopper"]
    try:
        policy = rules.policy_from_template(template["scoring"])
    except ValueError as exc:  # the template validator should have caught it
        raise Unprocessable(f"检查表评分规则无效: {exc}") from exc
    scenario = db.session.get(Scenario, shopper["scenario_id"])
    if scenario is None or not scenario.is_active:
        raise Unprocessable("模拟办事情景不存在或已停用 (unknown scenario)", {"fields": {"shopper": ["scenario_id"]}})
    item = db.session.get(ServiceItem, scenario.service_item_id)
    required = [m["code"] for m in item.materials]
    unknown = [c for c in shopper["materials_told"] if c not in required]
    if unknown:
        raise Unprocessable("告知的材料不在法定材料清单中; 清单外的请填在 materials_told_other",
                            {"fields": {"shopper": {"materials_told": unknown}}})
    notice = rules.assess_notice(required, scenario.materials_brought, shopper["materials_told"],
                                 shopper["materials_told_other"])
    promise = None
    if shopper["promised_date"]:
        promise = check_promised_date(calendar(), visited_on, date.fromisoformat(shopper["promised_date"]),
                                      item.committed_limit_days)
    unit = db.session.get(Unit, content["unit_id"])
    sent_to = shopper.get("sent_to_unit_id")
    if sent_to is not None and db.session.get(Unit, sent_to) is None:
        raise Unprocessable("被指引去的窗口不存在 (unknown unit)", {"fields": {"shopper": {"sent_to_unit_id": [sent_to]}}})
    facts = rules.ShopperFacts(
        notice=notice, unit_handles_matter=_handles(unit, item), sent_elsewhere=shopper["sent_elsewhere"],
        referred_correctly=_referral(item, shopper.get("sent_to_unit_id")) if shopper["sent_elsewhere"] else None,
        done_on_spot=shopper["done_on_spot"], receipt_given=shopper["receipt_given"], promise=promise,
        attitude=shopper["attitude"])
    names = {m["code"]: m["name"] for m in item.materials}
    found = rules.shopper_findings(facts, policy, names)
    result = rules.score(notice, found)
    staff_id = None
    if shopper["first_receiver_badge"]:
        staff_id = db.session.scalar(sa.select(Staff.id).where(Staff.badge_no == shopper["first_receiver_badge"]))
    window = shopper["first_receiver_window"] or content["window_no"]
    findings = [{
        "id": str(uuid.uuid5(SHOPPER_NS, f"{visit_id}/{f.rule}")), "source": "shopper", "item_code": None,
        "category": f.category, "severity": f.severity, "points": f.points,
        "badge_no": shopper["first_receiver_badge"], "window_no": window, "position": None, "observed_at": None,
        "description": f.description, "staff_id": staff_id,
    } for f in found]
    record = {
        "visit_id": visit_id, "scenario_id": scenario.id, "service_item_id": item.id,
        "queue_minutes": shopper["queue_minutes"], "wait_minutes": shopper["wait_minutes"],
        "first_receiver_badge": shopper["first_receiver_badge"], "first_receiver_window": window,
        "first_receiver_staff_id": staff_id, "sent_elsewhere": shopper["sent_elsewhere"],
        "sent_to": shopper["sent_to"], "sent_to_unit_id": shopper.get("sent_to_unit_id"),
        "materials_told": shopper["materials_told"],
        "materials_told_other": list(notice.invented), "done_on_spot": shopper["done_on_spot"],
        "receipt_given": shopper["receipt_given"],
        "promised_date": date.fromisoformat(shopper["promised_date"]) if shopper["promised_date"] else None,
        "attitude": shopper["attitude"], "told_come_back": shopper["told_come_back"], "notes": shopper["notes"],
        "completeness": notice.completeness, "missing_count": len(notice.missing),
        "untold_count": len(notice.untold), "invented_count": len(notice.invented), "score": result.score,
        "promise_provisional": bool(promise is not None and promise.provisional),
    }
    return Evaluation(record, findings, notice, result, names)


def write_record(visit_id: str, record: dict | None) -> None:
    db.session.execute(sa.delete(ShopperRecord).where(ShopperRecord.visit_id == visit_id))
    if record is not None:
        db.session.execute(ShopperRecord.__table__.insert(), [record])


def record_of(visit_id: str) -> ShopperRecord | None:
    return db.session.get(ShopperRecord, visit_id)


# --- comparison -------------------------------------------------------------------------------------

def visited_on(content: dict, received) -> date:
    started = content.get("started_at")
    from datetime import datetime

    moment = datetime.fromisoformat(started) if started else received
    return local(moment).date()
