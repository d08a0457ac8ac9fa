"""The finding categories and severities of domain/DOMAIN.md: the codes every feature speaks
(checklists raise them, shopper rules score them, review, ratings, rankings and assessment count them).

A module of its own so that no feature imports another only for these lists."""

from __future__ import annotations

# The finding categories of domain/DOMAIN.md: the only codes an item may raise.
CATEGORIES = {
    "badge_missing": "未佩戴工牌 / 未亮牌上岗",
    "desk_plate_missing": "未设岗位桌牌 / 职责未公示",
    "certificate_not_shown": "执法未亮证",
    "off_post": "擅自离岗、串岗",
    "late_or_early": "迟到早退",
    "unrelated_activity": "上班做与工作无关的事",
    "incomplete_notice": "一次性告知不到位",
    "poor_attitude": "服务态度生冷、粗暴",
    "unequal_treatment": "区别对待",
    "shirking": "推诿扯皮、首问不负责",
    "no_inquiry_register": "未做首问登记",
    "no_receipt": "不能当场办理却未出具回执",
    "overdue": "超过承诺时限未办结且未说明",
    "commitment_not_public": "服务承诺/时限/投诉电话未公示",
    "no_evaluation": "未落实“好差评”",
    "extra_requirement": "要求提供清单之外的材料",
}

# Problems of the place, not of a person (desk plate, notice board, rating device): they are never
# attributed to the staff at the window, and never imply that a badge was missing.
UNIT_LEVEL_CATEGORIES = frozenset({"desk_plate_missing", "commitment_not_public", "no_evaluation"})

SEVERITIES = {"minor": "一般", "serious": "较重", "severe": "严重"}
