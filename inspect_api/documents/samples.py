"""Realistic sample contexts for the four document kinds, for the demo county 清川县.

Used by `scripts/render_samples.py` (docs/samples/*.png) and by the rendering tests. Photos are drawn
with Pillow into a folder the caller names (the renderer only reads photos inside its asset root), as
resized JPEG copies the way the evidence store hands them to documents.
"""

from __future__ import annotations

import copy
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from inspect_api.documents.formatting import CHINA_TZ, StaffNaming, staff_label

ISSUER_FILE = {
    "name": "清川县机关效能建设领导小组办公室文件",
    "short": "清效办",
    "office_name": "清川县机关效能建设领导小组办公室",
}
# 通报-style header: the issuer's name without 文件.
ISSUER_BULLETIN = {**ISSUER_FILE, "name": "清川县机关效能建设领导小组办公室"}

CC_LEADERS = "县委办公室，县人大常委会办公室，县政府办公室，县政协办公室，县纪委监委。"
ALL_UNITS = "各乡镇人民政府，县直各单位："
SIGNED_ON = date(2026, 11, 23)


def _local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A time seen on site (China Standard Time) as stored: aware, in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ).astimezone(UTC)


def _cjk_font_file() -> tuple[str, int] | None:
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\t%{index}", "Noto Sans CJK SC"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, index = out.partition("\t")
    return (path, int(index or 0)) if "CJK" in path else None


def make_sample_photo(path: Path, *, sign: str, stamp: datetime, seed: int = 0,
                      size: tuple[int, int] = (800, 600), quality: int = 80) -> Path:
    """A resized evidence copy as the store makes it: a service counter with its sign, and the
    camera's time stamp burnt in. Drawn, not photographed, but with real JPEG content."""
    width, height = size
    img = Image.new("RGB", size, (214 - seed % 20, 208, 196 + seed % 30))
    draw = ImageDraw.Draw(img)
    # wall panels, counter, a monitor, an empty chair
    for x in range(0, width, max(40, width // 10)):
        draw.line([(x, 0), (x, int(height * 0.55))], fill=(196, 190, 178), width=2)
    draw.rectangle([0, int(height * 0.55), width, height], fill=(120, 86, 58))
    draw.rectangle([0, int(height * 0.55), width, int(height * 0.6)], fill=(150, 110, 76))
    mx = int(width * (0.18 + (seed % 5) * 0.08))
    draw.rectangle([mx, int(height * 0.30), mx + width // 5, int(height * 0.50)], fill=(30, 32, 38))
    draw.rectangle([mx + 6, int(height * 0.31), mx + width // 5 - 6, int(height * 0.48)], fill=(70, 110, 160))
    draw.rectangle([mx + width // 10 - 6, int(height * 0.50), mx + width // 10 + 6, int(height * 0.55)],
                   fill=(30, 32, 38))
    cx = int(width * 0.68)
    draw.rounded_rectangle([cx, int(height * 0.28), cx + width // 7, int(height * 0.56)], 12, fill=(40, 60, 90))
    font_file = _cjk_font_file()
    sign_box = [int(width * 0.30), int(height * 0.06), int(width * 0.70), int(height * 0.18)]
    draw.rectangle(sign_box, fill=(180, 20, 30))
    stamp_text = stamp.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
    if font_file is not None:
        big = ImageFont.truetype(font_file[0], size=height // 16, index=font_file[1])
        small = ImageFont.truetype(font_file[0], size=height // 26, index=font_file[1])
        draw.text(((sign_box[0] + sign_box[2]) // 2, (sign_box[1] + sign_box[3]) // 2), sign,
                  font=big, fill=(255, 240, 200), anchor="mm")
        draw.text((width - 12, height - 12), stamp_text, font=small, fill=(255, 170, 0), anchor="rd")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=quality)
    return path


def _photos(photo_dir: Path | None, prefix: str, sign: str, stamp: datetime, count: int, seed: int) -> list[str]:
    if photo_dir is None or count == 0:
        return []
    return [
        str(make_sample_photo(Path(photo_dir) / f"{prefix}-{k}.jpg", sign=sign, stamp=stamp, seed=seed + k))
        for k in range(1, count + 1)
    ]


def _items(photo_dir: Path | None) -> list[dict]:
    seen1 = _local(2026, 11, 5, 10, 20)
    seen2 = _local(2026, 11, 7, 15, 40)
    seen3 = _local(2026, 11, 10, 9, 15)
    return [
        {
            "unit_name": "清川县不动产登记中心",
            "staff_label": staff_label(StaffNaming.SURNAME, name="王芳", window_no="2"),
            "window_no": "2",
            "observed_at": seen1,
            "category_label": "上班做与工作无关的事",
            "severity_label": "较重",
            "description": "暗访人员在2号窗口等候办理存量房转移登记期间，该窗口工作人员持续使用手机浏览购物网站约12分钟，"
            "对前来咨询的群众未予理睬，经暗访人员两次询问后方才应答。",
            "photos": _photos(photo_dir, "item1", "2号窗口 不动产登记", seen1, 2, 1),
            "rectification": {"days": 5, "due_on": date(2026, 11, 30), "provisional": False},
        },
        {
            "unit_name": "清川县人力资源和社会保障局",
            "staff_label": staff_label(StaffNaming.SURNAME, name="吴强", window_no="3"),
            "window_no": "3",
            "observed_at": seen2,
            "category_label": "擅自离岗、串岗",
            "severity_label": "一般",
            "description": "下午上班时间，3号窗口未放置“暂停服务”提示牌，窗口无人值守达25分钟，AB角人员未及时补位，"
            "3名群众在窗口前等候。",
            "photos": _photos(photo_dir, "item2", "3号窗口 社会保障", seen2, 1, 3),
            "rectification": {"days": 10, "due_on": date(2026, 12, 7), "provisional": False},
        },
        {
            "unit_name": "清川县市场监督管理局",
            "staff_label": staff_label(StaffNaming.BADGE, post="登记注册审批岗"),
            "window_no": None,
            "observed_at": seen3,
            "category_label": "一次性告知不到位",
            "severity_label": "较重",
            "description": "模拟办事人员申请有限责任公司设立登记，工作人员未一次性告知所需材料，群众两次往返补交材料后才予受理，"
            "且未出具补正材料告知书。",
            "photos": [],
            "rectification": {"days": 5, "due_on": date(2026, 11, 30), "provisional": False},
        },
    ]


def criticism_context(photo_dir: Path | None = None) -> dict:
    return {
        "kind": "criticism",
        "issuer": dict(ISSUER_FILE),
        "number": "清效办〔2026〕3号",
        "draft": False,
        "title": "关于对县不动产登记中心等单位违反机关效能建设规定问题的通报批评",
        "addressee": ALL_UNITS,
        "paragraphs": [
            "为深入推进机关作风和效能建设，持续优化营商环境，2026年11月3日至14日，县效能办采取明查暗访、模拟办事等方式，"
            "对县政务服务中心办事大厅及部分县直单位服务窗口落实首问负责、一次性告知、限时办结“三项制度”情况进行了督查。",
            "从督查情况看，大部分单位能够严格执行各项制度，服务态度和办事效率明显改善，但仍有少数单位和个别工作人员"
            "纪律松弛、作风漂浮，群众反映较为强烈。经县机关效能建设领导小组同意，现将有关问题通报如下：",
        ],
        "items": _items(photo_dir),
        "requirements": [
            "各单位要以此为戒，举一反三，立即组织开展自查自纠，切实加强对窗口工作人员的日常管理和教育。",
            "被通报单位要严格按照整改期限落实整改，并于整改期满后3个工作日内将整改情况书面报送县效能办。",
            "县效能办将持续开展明查暗访，对整改不到位、问题反复出现的单位，将按照有关规定追究单位主要负责人和相关人员责任。",
        ],
        "closing_paragraphs": ["特此通报。"],
        "attachments": ["2026年11月明查暗访发现问题清单"],
        "signed_on": SIGNED_ON,
        "cc": CC_LEADERS,
        "printed_by": "清川县机关效能建设领导小组办公室",
        "printed_on": SIGNED_ON,
    }


RANKED_UNITS = [
    ("国家税务总局清川县税务局", 98.5, 0, 2),
    ("清川县住房公积金管理中心", 97.0, 1, 1),
    ("清川县公安局", 95.5, 1, -1),
    ("清川县政务服务中心办事大厅", 94.0, 2, 0),
    ("清川县医疗保障局", 92.5, 2, 3),
    ("清川县交通运输局", 91.0, 3, -2),
    ("清川县自然资源局", 89.5, 3, 0),
    ("清川县民政局", 88.0, 4, 1),
    ("清川县市场监督管理局", 85.5, 5, -3),
    ("清川县人力资源和社会保障局", 83.0, 6, -1),
    ("清川县城关镇便民服务中心", 80.5, 7, None),
    ("清川县不动产登记中心", 76.0, 9, -2),
]


# 满意率 of the units with enough ratings for the rating component to count (the others print —).
SATISFACTION = {"国家税务总局清川县税务局": 0.992, "清川县住房公积金管理中心": 0.985, "清川县公安局": 0.978,
                "清川县政务服务中心办事大厅": 0.981, "清川县人力资源和社会保障局": 0.957, "清川县不动产登记中心": 0.912}


def bulletin_context(photo_dir: Path | None = None, *, typical_cases: int | None = None) -> dict:
    """The October bulletin; `typical_cases=N` swaps the three worked cases for N generated ones."""
    return {
        "kind": "bulletin",
        "issuer": dict(ISSUER_BULLETIN),
        "number": "清效办〔2026〕12号",
        "draft": False,
        "title": "关于2026年10月全县机关效能建设督查情况的通报",
        "addressee": ALL_UNITS,
        "period_label": "2026年10月",
        "paragraphs": [
            "根据《清川县机关效能建设督查工作办法》和年度督查计划，县效能办于2026年10月采取“双随机”抽查、明查暗访和"
            "模拟办事相结合的方式，对全县窗口单位落实“三项制度”情况开展了专项督查。现将有关情况通报如下：",
        ],
        "summary": {"visits": 46, "units_covered": 28, "findings": 37, "confirmed": 33, "rectified": 27, "overdue": 2},
        "by_category": [
            {"label": "未佩戴工牌", "count": 9, "previous": 12},
            {"label": "擅自离岗、串岗", "count": 7, "previous": 5},
            {"label": "上班做与工作无关的事", "count": 6, "previous": 8},
            {"label": "一次性告知不到位", "count": 5, "previous": 4},
            {"label": "态度生冷", "count": 3, "previous": 3},
            {"label": "未做首问登记", "count": 2, "previous": 4},
            {"label": "服务承诺未公示", "count": 1, "previous": 2},
        ],
        "by_severity": [
            {"label": "一般", "count": 24},
            {"label": "较重", "count": 7},
            {"label": "严重", "count": 2},
        ],
        "ranking_method": "综合得分由明查暗访得分（100分减去已确认问题扣分）和群众评价得分（好差评平均分折算百分制，"
                          "评价满20条的单位计入）按0.7∶0.3的权重加权计算，评价条数不足的单位按明查暗访得分计。",
        "ranking": [
            {"rank": i, "unit_name": name, "score": score, "findings": findings, "change": change,
             "satisfaction_rate": SATISFACTION.get(name)}
            for i, (name, score, findings, change) in enumerate(RANKED_UNITS, start=1)
        ],
        "best": ["国家税务总局清川县税务局", "清川县住房公积金管理中心", "清川县公安局"],
        "bottom": ["清川县不动产登记中心"],
        "bottom_staff": [{"unit_name": "清川县不动产登记中心", "staff_label": "刘某"}],
        "typical_cases": _items(photo_dir) if typical_cases is None else many_cases(typical_cases, photo_dir),
        "commended_units": ["国家税务总局清川县税务局", "清川县住房公积金管理中心", "清川县公安局"],
        "closing_paragraphs": [
            "各单位要对照通报问题，认真查找本单位在作风和效能建设方面存在的薄弱环节，"
            "于2026年11月30日前将整改情况报送县效能办。县效能办将适时组织“回头看”，对整改不力的单位予以通报批评。",
        ],
        "attachments": ["2026年10月窗口单位效能督查得分表", "2026年10月督查发现问题整改台账"],
        "signed_on": SIGNED_ON,
        "cc": CC_LEADERS,
        "printed_by": "清川县机关效能建设领导小组办公室",
        "printed_on": SIGNED_ON,
    }


def rectification_context(photo_dir: Path | None = None) -> dict:
    items = _items(photo_dir)[:1]
    seen = _local(2026, 12, 15, 14, 30)
    items.append({
        "unit_name": "清川县不动产登记中心",
        "staff_label": staff_label(StaffNaming.BADGE, badge_no="QC-0008"),
        "window_no": "2",
        "observed_at": seen,
        "category_label": "不能当场办理却未出具回执",
        "severity_label": "一般",
        "description": "群众办理不动产抵押权首次登记，因材料需补充核验不能当场办结，窗口工作人员未出具受理回执，"
        "也未告知承诺办结时间和投诉电话。",
        "photos": _photos(photo_dir, "rect2", "2号窗口 不动产登记", seen, 1, 7),
        # 10 working days from 2026-12-21 end in January 2027, whose 调休 days are not yet published.
        "rectification": {"days": 10, "due_on": date(2027, 1, 5), "provisional": True},
    })
    return {
        "kind": "rectification",
        "issuer": dict(ISSUER_FILE),
        "number": "清效办〔2026〕15号",
        "draft": False,
        "title": "关于限期整改窗口服务问题的通知",
        "addressee": "清川县不动产登记中心：",
        "unit_name": "清川县不动产登记中心",
        "paragraphs": [
            "近期，县效能办在明查暗访中发现你单位窗口服务存在以下问题，经核实确认，现通知你单位限期整改。",
        ],
        "items": items,
        "requirements": [
            "单位主要负责人要切实履行第一责任人职责，召开专题会议研究整改措施，明确责任人和完成时限。",
            "对涉及的工作人员进行批评教育，并将整改情况纳入年度考核。",
            "严格落实首问负责、一次性告知、限时办结制度，健全窗口AB角补位机制。",
        ],
        "report_to": "请于整改期限届满后3个工作日内，将整改报告（加盖单位公章）通过效能督查系统“整改报告”栏目上传，"
        "并报送纸质件一份至县效能办（县政务服务中心四楼412室，联系电话：0799-6123456）。",
        "closing_paragraphs": [],
        "attachments": [],
        "signed_on": date(2026, 12, 18),
        "cc": None,
        "printed_by": "清川县机关效能建设领导小组办公室",
        "printed_on": date(2026, 12, 18),
    }


def commendation_context(photo_dir: Path | None = None) -> dict:
    return {
        "kind": "commendation",
        "issuer": dict(ISSUER_FILE),
        "number": "清效办〔2026〕9号",
        "draft": False,
        "title": "关于对2026年第三季度优质服务窗口和个人予以通报表扬的通报",
        "addressee": ALL_UNITS,
        "paragraphs": [
            "2026年第三季度，全县各窗口单位认真落实首问负责、一次性告知、限时办结“三项制度”，涌现出一批服务热情、"
            "办事高效、群众满意的先进集体和个人。经明查暗访、群众评议和综合考评，县机关效能建设领导小组决定，"
            "对以下单位和个人予以通报表扬：",
        ],
        "entries": [
            {"unit_name": "国家税务总局清川县税务局办税服务厅", "staff_label": None,
             "reason": "推行“预约办+延时办”服务，季度群众满意率100%，连续三次暗访均无问题。"},
            {"unit_name": "清川县住房公积金管理中心", "staff_label": None,
             "reason": "公积金提取实现“一次不跑”，平均办结时间由3个工作日缩短至当场办结。"},
            {"unit_name": "清川县政务服务中心办事大厅", "staff_label": "谢雨桐",
             "reason": "在导服台主动为老年群众帮办代办，全季度首问登记完整，收到群众表扬信3封。"},
            {"unit_name": "清川县公安局户政窗口", "staff_label": "胡晓东",
             "reason": "周末为即将高考的学生加班办理身份证，做到急事急办、特事特办。"},
        ],
        "closing_paragraphs": [
            "希望受表扬的单位和个人珍惜荣誉，再接再厉。各单位要以先进为榜样，进一步改进作风、提升效能，"
            "为优化营商环境作出新的更大贡献。",
        ],
        "attachments": [],
        "signed_on": date(2026, 10, 20),
        "cc": CC_LEADERS,
        "printed_by": "清川县机关效能建设领导小组办公室",
        "printed_on": date(2026, 10, 21),
    }


def referral_context(photo_dir: Path | None = None) -> dict:
    items = _items(photo_dir)[:2]
    return {
        "kind": "referral",
        "issuer": dict(ISSUER_FILE),
        "number": "清效办〔2026〕21号",
        "draft": False,
        "title": "关于移送效能问责线索的函",
        "addressee": "县纪委监委：",
        "subject_label": "周敏，清川县政务服务中心综合受理岗（工牌号QC-0301）。",
        "grounds": [
            "清川县政务服务中心周敏 12个月内被确认问题 2 次，达到 2 次。依规则“同一工作人员12个月内被确认问题2次予以"
            "效能告诫”（staff_two_findings_warning），建议：效能告诫。",
        ],
        "paragraphs": ["县效能办在机关效能督查中发现以下问题，经审核确认，依据机关效能问责有关规定，"
                       "现将有关情况和处理建议函告如下："],
        "items": items,
        "proposal": "建议对周敏同志予以效能告诫，并责成清川县政务服务中心对窗口人员开展作风纪律教育。",
        "closing_paragraphs": ["请依规依纪处理，并将处理结果反馈县效能办。"],
        "attachments": [],
        "signed_on": date(2026, 11, 23),
        "cc": None,
        "printed_by": "清川县机关效能建设领导小组办公室",
        "printed_on": date(2026, 11, 23),
    }


def _matters_context(kind: str, title: str, subject: str, items: list[dict]) -> dict:
    done = sum(1 for i in items if i["state_label"] == "办结")
    late = sum(1 for i in items if i["state_label"] == "逾期未办结")
    return {
        "kind": kind, "issuer": dict(ISSUER_BULLETIN), "number": None, "draft": True, "title": title,
        "addressee": "各乡镇人民政府，县直各单位：",
        "paragraphs": [f"县政府督查室对{subject}进行了督查。现将办理情况通报如下："],
        "subject_label": subject, "matters": items,
        "summary": {"total": len(items), "done": done, "done_late": 0, "unfinished": 0,
                    "in_progress": len(items) - done, "overdue": late},
        "requirements": ["主办单位主要负责人是落实议定事项的第一责任人，要亲自主持办理，协调解决有关问题。",
                         "协办单位要按照会议明确的职责密切配合；对逾期未办结的事项，主办单位要书面说明原因和下一步措施。"],
        "closing_paragraphs": ["办理情况纳入年度效能考评。"], "attachments": [], "signed_on": date(2026, 11, 27),
        "cc": "县委办公室，县政府办公室", "printed_by": "清川县机关效能建设领导小组办公室", "printed_on": date(2026, 11, 27),
    }


def _matter_item(title, source, lead, co, due, state, progress=None, level=None) -> dict:
    return {"title": title, "kind_label": "会议议定事项", "source": source, "lead_unit_name": lead, "co_unit_names": co,
            "level_label": level, "due_text": due, "state_label": state, "progress": progress, "unit_ids": [1]}


def meeting_bulletin_context(photo_dir: Path | None = None) -> dict:
    meeting = "2026年11月20日县政府第12次常务会议议定："
    return _matters_context("meeting_bulletin", "关于县政府第12次常务会议议定事项2026年第四季度落实情况的督查通报",
                            "县政府第12次常务会议议定事项2026年第四季度落实情况", [
        _matter_item("老旧小区改造资金拨付", meeting + "12月底前完成老旧小区改造资金拨付。", "清川县住房和城乡建设局",
                     ["清川县财政局"], "2026年11月24日", "办结", "资金已全部拨付到位。"),
        _matter_item("城区停车位规划", meeting + "编制城区停车位专项规划。", "清川县自然资源局",
                     ["清川县公安局", "清川县住房和城乡建设局"], "2026年11月25日", "逾期未办结"),
        _matter_item("农贸市场提升改造", meeting + "推进城关农贸市场提升改造。", "清川县市场监督管理局", [],
                     "未明确办结时限，请适时报告办理进展", "正在办理", "已完成设计招标，计划12月中旬开工。")])


def matter_bulletin_context(photo_dir: Path | None = None) -> dict:
    item = _matter_item("城关镇老旧小区漏水问题", "县长林振华批示：请住建局牵头，三日内拿出解决方案。", "清川县住房和城乡建设局",
                        ["清川县自然资源局"], "2026年11月26日", "办结", "维修方案已制定，11月25日开工，已全部修复。", "要件")
    item["kind_label"] = "领导批办事项"
    return _matters_context("matter_bulletin", "关于县长林振华批办事项“城关镇老旧小区漏水问题”办理情况的督查通报",
                            "城关镇老旧小区漏水问题", [item])


def keywork_summary_context(photo_dir: Path | None = None) -> dict:
    items = [_matter_item("全年新增城镇就业3000人", "2026年度目标：全年新增城镇就业3000人。", "清川县人力资源和社会保障局", [],
                          "2026年12月31日", "正在办理", "截至11月底已新增城镇就业2860人，完成95.3%。"),
             _matter_item("政务服务事项网上可办率达到95%", "2026年度目标：政务服务事项网上可办率达到95%。",
                          "清川县政务服务中心", ["清川县市场监督管理局"], "2026年12月31日", "办结", "网上可办率已达96.2%。")]
    for i in items:
        i["kind_label"] = "重点工作"
    return _matters_context("keywork_summary", "关于2026年度重点工作第四季度推进情况的督查通报",
                            "2026年度重点工作第四季度推进情况", items)


SAMPLES = {
    "criticism": criticism_context,
    "referral": referral_context,
    "bulletin": bulletin_context,
    "rectification": rectification_context,
    "commendation": commendation_context,
    "matter_bulletin": matter_bulletin_context,
    "meeting_bulletin": meeting_bulletin_context,
    "keywork_summary": keywork_summary_context,
}


def sample_context(kind: str, photo_dir: Path | None = None) -> dict:
    """A fresh copy of the sample context of `kind`; photos are drawn into `photo_dir` when given. Its
    title keeps the words of the shipped break table whole, as an issued document's does."""
    context = copy.deepcopy(SAMPLES[kind](photo_dir))
    context.setdefault("title_words", _break_table())
    return context


def _break_table() -> list[str]:
    from inspect_api.config import PROJECT_ROOT
    from inspect_api.documents.policy import load

    policy = load(str(PROJECT_ROOT / "checklists"))
    units = ["县不动产登记中心", *(case[0] for case in _CASE_TEMPLATES)]  # the registry's names, as build() adds them
    return [*units, *policy["title_words"]]


_CASE_TEMPLATES = [
    ("清川县不动产登记中心", "2", "上班做与工作无关的事", "较重", "工作人员在岗时使用手机观看短视频，群众等候约8分钟。"),
    ("清川县人力资源和社会保障局", "3", "擅自离岗、串岗", "一般", "窗口无人值守15分钟，未放置“暂停服务”提示牌。"),
    ("清川县市场监督管理局", None, "一次性告知不到位", "较重", "未一次性告知所需材料，群众两次往返补交材料。"),
    ("清川县公安局", "4", "未佩戴工牌", "一般", "窗口工作人员未佩戴工牌，桌牌未摆放。"),
    ("清川县医疗保障局", "6", "态度生冷", "较重", "对群众咨询答复生硬，未主动解释办理流程。"),
    ("清川县城关镇便民服务中心", None, "未做首问登记", "一般", "群众咨询事项未做首问登记，无法追溯办理情况。"),
]


def many_cases(count: int, photo_dir: Path | None = None, *, photos_per_case: int = 1,
               photo_size: tuple[int, int] = (480, 360)) -> list[dict]:
    """`count` typical cases cycling through common findings, each with small photos: for long documents."""
    cases = []
    for i in range(count):
        unit, window, category, severity, text = _CASE_TEMPLATES[i % len(_CASE_TEMPLATES)]
        seen = _local(2026, 10, 1 + i % 28, 9 + i % 8, (i * 7) % 60)
        photos = []
        if photo_dir is not None:
            for k in range(photos_per_case):
                path = Path(photo_dir) / f"case-{i + 1}-{k + 1}.jpg"
                make_sample_photo(path, sign=f"{window or '综合'}号窗口", stamp=seen, seed=i + k, size=photo_size,
                                  quality=70)
                photos.append(str(path))
        cases.append({
            "unit_name": unit,
            "staff_label": staff_label(StaffNaming.BADGE, badge_no=f"QC-{i % 30 + 1:04d}"),
            "window_no": window,
            "observed_at": seen,
            "category_label": category,
            "severity_label": severity,
            "description": f"第{i + 1}次检查发现：{text}",
            "photos": photos,
            "rectification": None,
        })
    return cases
