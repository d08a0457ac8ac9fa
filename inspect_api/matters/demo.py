"""Demo supervised matters: a few of each kind for the demo county (`inspect_api/demo_data/matters.csv`),
registered through the ordinary service, so their deadlines, trail and notifications are real. Dates are
given as days before today, so the demo looks alive whenever it is loaded."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from inspect_api.core import clock
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import db
from inspect_api.matters import services
from inspect_api.org.models import Unit


def load(path, actor) -> int:
    """Register the file's matters as `actor` (an office account); returns how many."""
    codes = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    today = clock.today()
    made = 0
    with path.open("rb") as fh:
        for row in csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8")):
            assigned = datetime.combine(today - timedelta(days=int(row["交办距今天数"] or 0)), time(9, 0), LOCAL_TZ)
            assigned = min(assigned, clock.now())
            data = {"kind": row["类型"], "title": row["标题"], "content": row["内容"],
                    "leader_name": row["批办领导"] or None, "leader_title": row["领导职务"] or None,
                    "principal_leader": row["主要领导"] == "是", "meeting_kind": row["会议类型"] or None,
                    "meeting_name": row["会议名称"] or None,
                    "meeting_on": today - timedelta(days=int(row["会议日期距今天数"])) if row["会议日期距今天数"] else None,
                    "target_year": int(row["年度"]) if row["年度"] else None,
                    "lead_unit_id": codes[row["主办单位编码"]], "lead_duty": row["主办职责"] or None,
                    "co_units": [{"unit_id": codes[c.split(":", 1)[0]], "duty": c.split(":", 1)[1]}
                                 for c in row["协办单位"].split(";") if c],
                    "level": row["等级"] or None, "days": Decimal(row["工作日数"]) if row["工作日数"] else None,
                    "statutory_days": int(row["法定时限"]) if row["法定时限"] else None, "assigned_at": assigned}
            if data["kind"] == "meeting_decision" and data["meeting_kind"] == "standing":
                data["due_on"] = today + timedelta(days=20)  # the deadline the meeting set
            if data["kind"] == "key_work":
                data["target_year"] = today.year
            services.create(data, actor)
            made += 1
    return made
