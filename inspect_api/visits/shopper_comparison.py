"""The mystery-shopper comparison: a read model over submitted visits and their shopper records (here,
above both: shopper scores a visit's record while visits syncs it, so shopper never reads visits)."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Response, request

from inspect_api.db import db
from inspect_api.org.models import ServiceItem, Unit
from inspect_api.shopper import rules
from inspect_api.shopper.models import ShopperRecord
from inspect_api.visits.models import Finding, Visit


def comparison(scenario_id: int | None, by: str) -> list[dict]:
    """Comparable results per unit, window or service item over submitted mystery-shopper visits."""
    stmt = (sa.select(ShopperRecord, Visit.unit_id, Visit.window_no)
            .join(Visit, Visit.id == ShopperRecord.visit_id)
            .where(Visit.status == "submitted"))
    if scenario_id is not None:
        stmt = stmt.where(ShopperRecord.scenario_id == scenario_id)
    records = db.session.execute(stmt).all()
    categories: dict[str, list[str]] = {}
    if records:
        ids = [r.ShopperRecord.visit_id for r in records]
        for visit_id, category in db.session.execute(
                sa.select(Finding.visit_id, Finding.category).where(Finding.visit_id.in_(ids),
                                                                    Finding.source == "shopper")):
            categories.setdefault(visit_id, []).append(category)
    rows = [rules.RunRow(unit_id=r.unit_id, window_no=r.ShopperRecord.first_receiver_window or r.window_no,
                         service_item_id=r.ShopperRecord.service_item_id,
                         completeness=r.ShopperRecord.completeness, invented_count=r.ShopperRecord.invented_count,
                         categories=tuple(categories.get(r.ShopperRecord.visit_id, ())),
                         wait_minutes=r.ShopperRecord.wait_minutes, score=r.ShopperRecord.score)
            for r in records]
    out = rules.compare(rows, by)
    unit_names = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
    item_names = dict(db.session.execute(sa.select(ServiceItem.id, ServiceItem.name)).all())
    for row in out:
        if "unit_id" in row:
            row["unit_name"] = unit_names.get(row["unit_id"])
        if "service_item_id" in row:
            row["service_item_name"] = item_names.get(row["service_item_id"])
    return out


CSV_COLUMNS = [
    ("rank", "排名"), ("unit_id", "单位ID"), ("unit_name", "单位"), ("window_no", "窗口"),
    ("service_item_id", "事项ID"), ("service_item_name", "服务事项"), ("runs", "暗访次数"),
    ("avg_completeness", "一次性告知完整率"), ("complete_notice_rate", "完整告知次数占比"),
    ("invented_total", "清单外要求材料次数"), ("shirking_runs", "推诿次数"), ("avg_wait_minutes", "平均等候(分钟)"),
    ("avg_score", "平均得分"), ("findings_by_category", "问题(按类别)"),
]


def as_csv(rows: list[dict], by: str) -> Response:
    buf = io.StringIO()
    buf.write("\ufeff")
    present = [(k, label) for k, label in CSV_COLUMNS if any(k in r for r in rows) or k in ("rank", "runs")]
    writer = csv.writer(buf)
    writer.writerow([label for _, label in present])
    for r in rows:
        out = []
        for key, _ in present:
            value = r.get(key)
            if key == "findings_by_category":
                value = "; ".join(f"{k}:{v}" for k, v in sorted((value or {}).items()))
            elif isinstance(value, float):
                value = f"{value:.3f}"
            out.append("" if value is None else value)
        writer.writerow(out)
    name = f"shopper-comparison-{by}.csv"
    return Response(buf.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
        "X-Requested-Format": request.args.get("format", "csv")})
