"""Sampling plans, their drawn assignments, and inspectors' declared conflicts of interest."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_api.db import TimestampMixin, db

PLAN_STATUS = sa.Enum("draft", "committed", "drawn", "revealed", name="plan_status", native_enum=False,
                      create_constraint=True, length=16)


class SamplingPlan(TimestampMixin, db.Model):
    __tablename__ = "sampling_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(128))
    period_start: Mapped[date]
    period_end: Mapped[date]
    # Which units are in the pool: {"under": [unit ids], "kinds": [...], "tags": [...], "exclude": [ids]}
    pool: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    sample_size: Mapped[int | None]
    sample_rate: Mapped[float | None]
    stratify_by_department: Mapped[bool] = mapped_column(default=True)
    min_per_stratum: Mapped[int] = mapped_column(default=0)
    min_visits_per_year: Mapped[int | None]
    team_size: Mapped[int] = mapped_column(default=2)
    allow_single_inspector: Mapped[bool] = mapped_column(default=False)
    max_visits_per_inspector: Mapped[int | None]
    visit_minutes: Mapped[int] = mapped_column(default=60)
    travel_minutes: Mapped[int] = mapped_column(default=30)
    recent_window_days: Mapped[int] = mapped_column(default=90)
    default_opening_hours: Mapped[str] = mapped_column(sa.String(64), default="09:00-12:00,14:00-17:00")
    release_time: Mapped[str] = mapped_column(sa.String(5), default="07:30")  # local time on the day
    weights: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(PLAN_STATUS, default="draft")
    seed_commitment: Mapped[str | None] = mapped_column(sa.String(64))
    # Secret until revealed; never served before the period has ended.
    seed: Mapped[str | None] = mapped_column(sa.String(128))
    public_entropy: Mapped[str | None] = mapped_column(sa.String(255))
    inputs: Mapped[str | None] = mapped_column(sa.Text)  # canonical JSON of every draw input
    inputs_digest: Mapped[str | None] = mapped_column(sa.String(64))
    result: Mapped[str | None] = mapped_column(sa.Text)  # canonical JSON of the draw
    result_digest: Mapped[str | None] = mapped_column(sa.String(64))
    calendar_provisional: Mapped[bool] = mapped_column(default=False)
    # Problems of the calendar the draw stood on, outside the reproducible draw result: years with no
    # loaded holiday table at the draw, then the visits that fell on a day the imported table made
    # non-working. [{code, message_zh, unit_id, details}]
    calendar_problems: Mapped[list | None] = mapped_column(sa.JSON, default=list)
    committed_at: Mapped[datetime | None]
    drawn_at: Mapped[datetime | None]
    drawn_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revealed_at: Mapped[datetime | None]
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    assignments = relationship("SamplingAssignment", lazy="select", order_by="SamplingAssignment.day, "
                               "SamplingAssignment.start_minute, SamplingAssignment.id")


class AssignmentInspector(db.Model):
    __tablename__ = "assignment_inspectors"

    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("sampling_assignments.id", ondelete="CASCADE"),
                                               primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)


class SamplingAssignment(db.Model):
    __tablename__ = "sampling_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("sampling_plans.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    start_minute: Mapped[int]
    end_minute: Mapped[int]
    release_at: Mapped[datetime] = mapped_column(index=True)
    released_at: Mapped[datetime | None]  # when the release job handed it out (idempotence)
    visit_id: Mapped[str | None] = mapped_column(sa.String(36))

    inspectors = relationship(AssignmentInspector, lazy="selectin", cascade="all, delete-orphan")
    plan = relationship("SamplingPlan", lazy="select", viewonly=True)

    @property
    def team(self) -> list[int]:
        return sorted(i.user_id for i in self.inspectors)


class InspectorConflict(db.Model):
    """A unit an inspector must not be sent to: where a relative works, or another declared tie."""

    __tablename__ = "inspector_conflicts"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(sa.String(255))
    declared_at: Mapped[datetime]
