"""The statistics rollup: running totals per unit and per local day (grain `d`) or month (grain `m`)
of when the visits were submitted, kept by database triggers (inspect_api/stats/rollup.py).

A row is a delta, not a total: every change to a visit, a finding or a rectification appends the
rows that undo its old contribution and add its new one, so writers never wait on one another for a
shared counter row; readers sum, and the nightly compaction (`inspect-api stats compact`) folds each
key's rows into one. Only open rectifications carry `open_due`: their due day in a day row, the first
day of its month in a month row (whether one is overdue depends on the day the figures are asked for).
"""

from __future__ import annotations

import sqlalchemy as sa

from inspect_api.core.categories import CATEGORIES, SEVERITIES
from inspect_api.db import db

# the review statuses a statistic counts (drafts never do), and the rectification states
FINDING_STATUSES = ("pending_review", "confirmed", "dismissed", "returned", "withdrawn")
RECT_STATES = ("open", "reported", "accepted", "overdue", "cancelled")
UNIT_VISIBLE = ("confirmed", "withdrawn")

MEASURES: tuple[str, ...] = (
    "visits",
    *(f"f_{s}" for s in FINDING_STATUSES),  # non-draft findings by status
    "points",  # deduction points of confirmed findings
    *(f"c_{c}" for c in CATEGORIES), "c_other",  # confirmed findings by category
    *(f"s_{s}" for s in SEVERITIES),  # confirmed findings by severity
    *(f"r_{s}" for s in RECT_STATES),  # rectifications of non-draft findings, by stored status
    *(f"rv_{s}" for s in RECT_STATES),  # the same, of the findings a unit's liaison sees
)

stats_rollup = sa.Table(
    "stats_rollup", db.metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("grain", sa.String(1), nullable=False),
    sa.Column("bucket", sa.Date(), nullable=False),
    sa.Column("unit_id", sa.Integer(), nullable=False),
    sa.Column("open_due", sa.Date(), nullable=True),
    *(sa.Column(m, sa.Integer(), nullable=False, server_default="0") for m in MEASURES),
    sa.Index("ix_stats_rollup_grain_bucket", "grain", "bucket", "unit_id"),
    sa.Index("ix_stats_rollup_open_due", "open_due"),
)
