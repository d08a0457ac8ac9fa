"""From the database to a document's context (the renderer's plain-dict contract).

Photos appear in a context as references (`evidence:<id>`) and are turned into files of resized
watermarked copies only when the worker renders, so an issued context is plain JSON and a document
never embeds an original.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from inspect_api.core.calendar import period_label
from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.core.clock import LOCAL_TZ
from inspect_api.db import db
from inspect_api.documents import rules
from inspect_api.documents.formatting import chinese_date, chinese_datetime, staff_label
from inspect_api.org.models import Staff, Unit
from inspect_api.review.models import Rectification
from inspect_api.visits.models import Evidence, Finding, Visit
from inspect_api.visits.rules import COVERT_MODES

PHOTOS_PER_FINDING = 2
PHOTO_PX = 600  # long side of the photo copies documents embed (≈200 dpi at 74 mm)


def _instant(d: date) -> datetime:
    return datetime.combine(d, time.min, LOCAL_TZ).astimezone(UTC)


def default_wording(kind: str, policy: dict, selection: dict, units: dict[int, str]) -> dict:
    """The text a new draft starts from; the office edits it before approval."""
    if kind in rules.MATTER_KINDS:
        from inspect_api.matters import bulletins

        return {"closing_paragraphs": [], **bulletins.default_wording(kind, policy, selection)}
    common = {"addressee": policy["addressee"], "attachments": [], "cc": policy["cc"], "closing_paragraphs": []}
    if kind == "criticism" and selection.get("grades"):
        years = sorted({g["year"] for g in selection["grades"]})
        names = "、".join(units.get(g["unit_id"], "") for g in selection["grades"])
        year = "、".join(str(y) for y in years)
        return {**common, "title": f"关于对{names}{year}年度“三项制度”综合考评不合格的通报批评",
                "paragraphs": [f"根据{year}年度“三项制度”综合考评结果（现场检查逐项打分，并随机抽取服务对象无记名评议），"
                               f"{names}综合考评等次为不合格。依据年度考评办法，对{names}予以通报批评。现将有关情况通报如下："],
                "requirements": ["被通报单位要深刻反思，认真查找问题根源，制定整改方案，并在整改期限内将整改情况书面报送县效能办。",
                                 "各单位要引以为戒，举一反三，切实提升服务质量和效能。"],
                "closing_paragraphs": ["县效能办将对整改情况进行跟踪督查，并依规追究有关单位主要负责人的责任。"]}
    if kind == "criticism":
        return {**common, "title": "关于对部分单位窗口服务问题的通报批评",
                "paragraphs": ["为深入推进机关效能建设，近期县效能办采取明察暗访方式对部分单位窗口服务情况进行了督查。"
                               "现将督查发现的问题通报如下："],
                "requirements": ["被通报单位要高度重视，立即组织整改，并在整改期限内将整改情况书面报送县效能办。",
                                 "各单位要举一反三，认真开展自查自纠，坚决杜绝类似问题发生。"],
                "closing_paragraphs": ["县效能办将对整改情况进行跟踪督查，对整改不力的单位和个人依规严肃问责。"]}
    if kind == "rectification":
        unit = units.get(selection.get("unit_id"), "")
        return {**common, "addressee": f"{unit}：", "title": "关于限期整改效能督查发现问题的通知",
                "paragraphs": ["近期县效能办在督查中发现你单位存在以下问题，现通知你单位限期整改："],
                "requirements": ["立即组织对照检查，逐项整改到位。", "举一反三，完善制度，防止问题反弹。"],
                "report_to": "请于整改期限内将整改报告（附整改前后照片等佐证材料）通过系统报送县效能办。"}
    if kind == "referral":
        return {**common, "addressee": "县纪委监委：", "title": "关于移送效能问责线索的函",
                "paragraphs": ["县效能办在机关效能督查中发现以下问题，经审核确认，依据机关效能问责有关规定，"
                               "现将有关情况和处理建议函告如下："],
                "closing_paragraphs": ["请依规依纪处理，并将处理结果反馈县效能办。"]}
    if kind == "commendation":
        return {**common, "title": "关于对窗口服务工作表现突出的单位和个人予以通报表扬的通报",
                "paragraphs": ["近期县效能办在明察暗访中发现，以下单位和个人服务热情、办事高效，群众满意度高。"
                               "为树立先进典型，决定予以通报表扬："],
                "closing_paragraphs": ["希望受表扬的单位和个人珍惜荣誉，再接再厉；各单位要以先进为榜样，"
                                       "不断提升服务质量和效能。"]}
    start, end = date.fromisoformat(selection["period_start"]), date.fromisoformat(selection["period_end"])
    label = period_label(start, end)
    return {**common, "title": f"关于{label}机关效能建设督查情况的通报",
            "paragraphs": [f"{label}，县效能办按照“双随机”抽查要求，采取明察暗访、模拟办事等方式，"
                           "对全县窗口单位的作风效能情况进行了督查。现将有关情况通报如下："],
            "closing_paragraphs": ["各单位要对照通报问题认真抓好整改，县效能办将持续加大督查力度，"
                                   "督查结果纳入年度效能考评。"]}


def _staff_names(ids: set[int]) -> dict[int, Staff]:
    if not ids:
        return {}
    return {s.id: s for s in db.session.scalars(sa.select(Staff).where(Staff.id.in_(ids)))}


def _unit_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())


def observed_label(observed: datetime, precision: str) -> str:
    """2026年11月5日10时20分 (minute), 2026年11月5日上午 (half_day) or 2026年11月5日 (date)."""
    if precision == "minute":
        return chinese_datetime(observed)
    local = observed.astimezone(LOCAL_TZ)
    return chinese_date(local) + (("上午" if local.hour < 12 else "下午") if precision == "half_day" else "")


def finding_items(finding_ids: list[str], naming: str) -> list[dict]:
    """Findings as the renderer lists them, in the order given, photos as `evidence:<id>` references
    to their watermarked copies."""
    rows = {f.id: f for f in db.session.scalars(sa.select(Finding).where(Finding.id.in_(finding_ids)))}
    findings = [rows[i] for i in finding_ids if i in rows]
    staff = _staff_names({f.staff_id for f in findings if f.staff_id})
    units = _unit_names({f.unit_id for f in findings})
    visit_rows = db.session.execute(sa.select(Visit.id, Visit.started_at, Visit.mode).where(
        Visit.id.in_({f.visit_id for f in findings}))).all()
    visits = {vid: started for vid, started, _ in visit_rows}
    covert = {vid for vid, _, mode in visit_rows if mode in COVERT_MODES}
    precision = current_app.extensions["inspect_review_policy"].covert_time_for_units
    rects = {r.finding_id: r for r in db.session.scalars(sa.select(Rectification).where(
        Rectification.finding_id.in_(finding_ids), Rectification.status != "cancelled"))}
    photos: dict[str, list[str]] = {}
    for ev in db.session.scalars(sa.select(Evidence).where(Evidence.visit_id.in_(visits)).order_by(
            Evidence.uploaded_at, Evidence.id)):
        for f in findings:
            if f.visit_id == ev.visit_id and (ev.finding_id == f.id or (ev.item_code and ev.item_code == f.item_code)):
                photos.setdefault(f.id, []).append(f"evidence:{ev.id}")
    items = []
    for f in findings:
        person = staff.get(f.staff_id)
        rect = rects.get(f.id)
        observed = f.observed_at or visits.get(f.visit_id) or f.created_at
        items.append({
            "finding_id": f.id, "unit_id": f.unit_id, "unit_name": units.get(f.unit_id, ""),
            "staff_label": staff_label(naming, name=person.name if person else None,
                                       badge_no=f.badge_no or (person.badge_no if person else None),
                                       window_no=f.window_no, post=f.position),
            "window_no": f.window_no, "observed_at": observed,
            # a document names units and is read by them: a covert visit's time only as precisely as the
            # review policy lets units know it (the minute points at who the visitor was)
            "observed_label": observed_label(observed, precision if f.visit_id in covert else "minute"),
            "category_label": CATEGORIES.get(f.category, f.category), "severity_label": SEVERITIES[f.severity],
            "description": f.description or CATEGORIES.get(f.category, f.category),
            "photos": photos.get(f.id, [])[:PHOTOS_PER_FINDING],
            "rectification": None if rect is None else {"days": rect.working_days or 0, "due_on": rect.due_on,
                                                        "provisional": rect.provisional}})
    return items


def grade_items(refs: list[dict]) -> list[dict]:
    """不合格 grades as a criticism notice states them: the unit, the year, the score and the grade's own
    explanation (its reason), from the grade in force."""
    from inspect_api.assessment.models import UnitGrade
    from inspect_api.assessment.rules import GRADE_LABELS

    items = []
    names = _unit_names({r["unit_id"] for r in refs})
    for r in refs:
        g = db.session.scalar(sa.select(UnitGrade).where(UnitGrade.unit_id == r["unit_id"], UnitGrade.year == r["year"],
                                                        UnitGrade.in_force.is_(True)))
        if g is None:
            continue
        score = "" if g.score is None else f"{g.score:.2f}".rstrip("0").rstrip(".")
        items.append({"unit_id": g.unit_id, "unit_name": names.get(g.unit_id, ""), "year": g.year,
                      "grade_label": GRADE_LABELS[g.grade], "score": score, "explanation": g.reason})
    return items


def _period_filter(start: date, end: date, under: int | None):
    cond = [Visit.status == "submitted", Visit.submitted_at >= _instant(start),
            Visit.submitted_at < _instant(end + timedelta(days=1))]
    if under:
        root = db.session.get(Unit, under)
        cond.append(Visit.unit_id.in_(sa.select(Unit.id).where(Unit.path.startswith(root.path if root else "/none/"))))
    return cond


def _complaint_period_filter(start: date, end: date, under: int | None):
    """Findings from substantiated complaints (no visit) count in the period they were made in, i.e.
    when their complaint was closed."""
    cond = [Finding.complaint_id.is_not(None), Finding.created_at >= _instant(start),
            Finding.created_at < _instant(end + timedelta(days=1))]
    if under:
        root = db.session.get(Unit, under)
        cond.append(Finding.unit_id.in_(sa.select(Unit.id).where(Unit.path.startswith(root.path if root else "/none/"))))
    return cond


def bulletin_data(selection: dict, policy: dict) -> dict:
    """The figures of a supervision bulletin, aggregated in the database: the totals and categories are
    the statistics API's own summary, the ranking and the bottom (末位) the rankings module's (so the
    bulletin, the dashboards and the rankings API never disagree)."""
    from types import SimpleNamespace

    from inspect_api.rankings import services as rankings
    from inspect_api.stats import rules as stats_rules
    from inspect_api.stats import services as stats

    start, end = date.fromisoformat(selection["period_start"]), date.fromisoformat(selection["period_end"])
    under = selection.get("under")
    cfg = policy["bulletin"]
    figures = stats.summary(SimpleNamespace(role="office", unit_id=None), {"start": start, "end": end,
                                                                           "under": under})
    now, before = figures["current"], figures["previous"]
    prev = stats_rules.compared_period(stats_rules.Period(start, end))
    section = rankings.bulletin_section(start, end, under, best_count=cfg["best_count"],
                                        with_staff=cfg["ranking"] and cfg["bottom_staff"])
    if not cfg["ranking"]:  # the section is left out: nobody is ranked or named in this bulletin
        section |= {"ranking": [], "best": [], "bottom": [], "bottom_staff": []}
    typical = selection.get("typical_finding_ids")
    if typical is None:
        sev_order = sa.case({"severe": 0, "serious": 1, "minor": 2}, value=Finding.severity)
        typical = list(db.session.scalars(
            sa.select(Finding.id).outerjoin(Visit, Visit.id == Finding.visit_id)
            .where(Finding.status == "confirmed", sa.or_(sa.and_(*_period_filter(start, end, under)),
                                                         sa.and_(*_complaint_period_filter(start, end, under))))
            .order_by(sev_order, Finding.points.desc(), sa.func.coalesce(Visit.submitted_at, Finding.created_at),
                      Finding.id).limit(cfg["typical_cases"])))
    now_cat, prev_cat = now["confirmed"]["by_category"], before["confirmed"]["by_category"]
    return {
        "period_label": period_label(start, end),
        "previous_label": period_label(prev.start, prev.end),
        "summary": {"visits": now["visits"], "units_covered": now["units_visited"],
                    "findings": now["findings"]["total"], "confirmed": now["confirmed"]["total"],
                    "rectified": now["rectifications"].get("accepted", 0),
                    "overdue": now["rectifications"].get("overdue", 0)},
        "by_category": [{"label": label, "count": now_cat.get(code, 0), "previous": prev_cat.get(code, 0)}
                        for code, label in CATEGORIES.items() if now_cat.get(code) or prev_cat.get(code)],
        "by_severity": [{"label": label, "count": now["confirmed"]["by_severity"].get(code, 0)}
                        for code, label in SEVERITIES.items()],
        "ranking": section["ranking"], "best": section["best"], "bottom": section["bottom"],
        "bottom_staff": section["bottom_staff"], "ranking_method": section["ranking_method"],
        "bottom_note": section["bottom_note"], "commended_units": section["commended_units"],
        "typical_finding_ids": typical,
        # a window's confirmed findings rolled up to the department that staffs it (进驻部门负责); the
        # figures above count them at the window, as before
        "by_staffing_unit": [{"unit_id": d["unit_id"], "unit_name": d["name"], "label": "进驻部门负责",
                              "windows": [w["name"] for w in d["windows"] if w["confirmed"]],
                              "confirmed": d["confirmed"], "points": d["points"]}
                             for d in figures["by_staffing_unit"]["departments"] if d["confirmed"]],
    }


def build(doc, policy: dict, *, today: date) -> dict:
    """The full context of a document as it stands (for a preview, or frozen at issue)."""
    naming = policy["staff_naming"][doc.kind]
    w = doc.wording
    ctx = {"kind": doc.kind, "issuer": dict(policy["issuer"]), "number": doc.number, "draft": doc.status != "issuing",
           "title": w.get("title") or doc.title, "addressee": w["addressee"], "paragraphs": w["paragraphs"],
           "closing_paragraphs": w["closing_paragraphs"], "attachments": w["attachments"], "signed_on": today,
           "cc": w.get("cc"), "printed_by": policy["printed_by"], "printed_on": today}
    sel = doc.selection
    if doc.kind == "criticism":
        ctx |= {"items": finding_items(sel["finding_ids"], naming), "requirements": w["requirements"],
                "grades": grade_items(sel.get("grades") or [])}
    elif doc.kind == "rectification":
        ctx |= {"unit_name": _unit_names({sel["unit_id"]}).get(sel["unit_id"], ""),
                "items": finding_items(sel["finding_ids"], naming), "requirements": w["requirements"],
                "report_to": w["report_to"]}
    elif doc.kind == "referral":
        ctx |= _referral(sel["case_id"], naming)
    elif doc.kind in rules.MATTER_KINDS:
        from inspect_api.matters import bulletins

        ctx |= bulletins.build_context(doc.kind, sel, today=today) | {"requirements": w.get("requirements") or []}
    elif doc.kind == "commendation":
        units = _unit_names({e["unit_id"] for e in sel["entries"]})
        staff = _staff_names({e["staff_id"] for e in sel["entries"] if e.get("staff_id")})
        ctx["entries"] = [{"unit_name": units.get(e["unit_id"], ""), "reason": e["reason"],
                           "staff_label": staff_label(naming, name=staff[e["staff_id"]].name,
                                                      badge_no=staff[e["staff_id"]].badge_no)
                           if e.get("staff_id") in staff else None} for e in sel["entries"]]
    else:
        data = bulletin_data(sel, policy)
        ctx |= {k: v for k, v in data.items() if k not in ("typical_finding_ids", "previous_label", "bottom_staff")}
        # staff named at the bottom, as the policy names staff in bulletins (the full name stays out of
        # the frozen context when the policy says 张某)
        ctx["bottom_staff"] = [{"unit_id": p["unit_id"], "unit_name": p["unit_name"],
                                "staff_label": staff_label(naming, name=p["name"], badge_no=p["badge_no"],
                                                           window_no=p["window_no"])}
                               for p in data["bottom_staff"]]
        ctx["typical_cases"] = finding_items(data["typical_finding_ids"], naming)
        ctx["previous_label"] = data["previous_label"]
    ctx["title_words"] = title_words(ctx["title"], policy)
    return ctx


def title_words(title: str, policy: dict) -> list[str]:
    """The words the title's line breaks keep whole: the policy's break table, the issuer's names, and
    the name of every unit in the registry that the title contains (the longest first)."""
    names = {n for n in db.session.scalars(sa.select(Unit.name)) if n and len(n) > 1 and n in title}
    names |= {v for v in policy["issuer"].values() if v in title}
    return sorted(names, key=lambda n: (-len(n), n)) + list(policy.get("title_words") or [])


def _referral(case_id: int, naming: str) -> dict:
    from inspect_api.accountability.models import Proposal, ReferralCase

    case = db.session.get(ReferralCase, case_id)
    unit = db.session.get(Unit, case.unit_id) if case.unit_id else None
    if case.subject_type == "staff":
        person = db.session.get(Staff, case.subject_id)
        who = staff_label(naming, name=person.name, badge_no=person.badge_no) if person else "工作人员"
        label = f"{who}，{unit.name if unit else ''}{person.post if person else ''}（工牌号{person.badge_no if person else ''}）。"
    else:
        head = f"，主要负责人{unit.head_title or ''}{unit.head_name}" if unit and unit.head_name else ""
        label = f"{unit.name if unit else ''}{head}。"
    grounds = list(db.session.scalars(sa.select(Proposal.reason).where(Proposal.case_id == case_id)
                                      .order_by(Proposal.id)))
    return {"subject_label": label, "grounds": grounds, "items": finding_items(case.finding_ids, naming),
            "proposal": case.summary}


def named_units(ctx: dict) -> set[int]:
    """The units a document names (their liaisons may read it once issued)."""
    ids = {i["unit_id"] for key in ("items", "typical_cases", "grades") for i in ctx.get(key, [])}
    ids |= {r["unit_id"] for key in ("ranking", "bottom_staff") for r in ctx.get(key, []) if r.get("unit_id")}
    ids |= {u for m in ctx.get("matters", []) for u in m.get("unit_ids", [])}
    return ids


# --- JSON round trip of a context (dates are tagged) -----------------------------------------------------

def freeze(value):
    if isinstance(value, datetime):
        return {"$datetime": value.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {k: freeze(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [freeze(v) for v in value]
    return value


def thaw(value):
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return datetime.fromisoformat(value["$datetime"])
        if set(value) == {"$date"}:
            return date.fromisoformat(value["$date"])
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value


# --- photos: references → resized watermarked copies on disk, for the renderer ------------------------

def resolve_photos(ctx: dict, asset_dir: Path) -> dict:
    """Replace `evidence:<id>` references with files of resized watermarked copies in `asset_dir`
    (made once per photo and kept), so the renderer embeds small copies, never originals."""
    from PIL import Image

    from inspect_api.core.storage import get_storage

    storage = get_storage()
    asset_dir.mkdir(parents=True, exist_ok=True)
    refs = {p.split(":", 1)[1] for key in ("items", "typical_cases") for i in ctx.get(key, [])
            for p in i["photos"] if p.startswith("evidence:")}
    paths: dict[str, str] = {}
    if refs:
        # the media worker may not have made a recent photo's copies yet: make them here (off the request path)
        waiting = set(db.session.scalars(sa.select(Evidence.id).where(Evidence.id.in_(refs),
                                                                      Evidence.derivatives != "ready")))
        if waiting:
            from inspect_api.visits.media import ensure_ready

            failed = sorted(k for k, state in ensure_ready(waiting).items() if state != "ready")
            if failed:
                raise RuntimeError(f"照片副本无法生成 (copies of photos could not be made): {', '.join(failed)}")
        for ev in db.session.scalars(sa.select(Evidence).where(Evidence.id.in_(refs))):
            target = asset_dir / f"{Path(ev.watermarked_key).name.removesuffix('.jpg')}-{ev.sha256[:16]}-{PHOTO_PX}.jpg"
            if not target.exists():
                tmp = target.with_suffix(".part")
                with storage.open(ev.watermarked_key) as fh, Image.open(fh) as img:
                    img.thumbnail((PHOTO_PX, PHOTO_PX))
                    img.convert("RGB").save(tmp, "JPEG", quality=80, optimize=True)
                tmp.replace(target)
            paths[ev.id] = str(target)
    for key in ("items", "typical_cases"):
        for item in ctx.get(key, []):
            item["photos"] = [paths[p.split(":", 1)[1]] for p in item["photos"]
                              if p.startswith("evidence:") and p.split(":", 1)[1] in paths]
    return ctx
