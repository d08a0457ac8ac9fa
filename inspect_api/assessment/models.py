"""Annual assessment tables: imported service recipients, survey draws and who was drawn, the anonymous
survey responses, grade runs and the grade of each unit in a run.

Anonymity of the survey (000 六: 无记名投票): a response row holds the draw, the unit, the score and the
reasons, and nothing else — no recipient id, no time, and a random id, so its position says nothing
either. That a drawn recipient answered is a flag on the selection row, with no time on it. No row links
the two.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import TimestampMixin, db

SURVEY_SOURCE = sa.Enum("ratings", "recipients", name="survey_source", native_enum=False, create_constraint=True,
                        length=16)
DRAW_STATUS = sa.Enum("draft", "committed", "drawn", name="survey_draw_status", native_enum=False,
                      create_constraint=True, length=16)
RUN_STATUS = sa.Enum("draft", "approved", "superseded", name="grade_run_status", native_enum=False,
                     create_constraint=True, length=16)
GRADE = sa.Enum("excellent", "pass", "fail", "not_assessable", name="assessment_grade", native_enum=False,
                create_constraint=True, length=16)


class SurveyRecipient(TimestampMixin, db.Model):
    """A service recipient of a unit in a year, imported by the office (contact data: office only)."""

    __tablename__ = "survey_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # The natural key within (year, unit): "ref:<reference>" or "tel:<phone>"; re-importing changes nothing.
    key: Mapped[str] = mapped_column(sa.String(80))
    name: Mapped[str | None] = mapped_column(sa.String(64))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    reference: Mapped[str | None] = mapped_column(sa.String(64))
    imported_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.UniqueConstraint("year", "unit_id", "key", name="uq_survey_recipients_year_unit_key"),)


class SurveyDraw(TimestampMixin, db.Model):
    __tablename__ = "survey_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(SURVEY_SOURCE)
    per_unit: Mapped[int]
    # The units asked for (None: every active unit of the policy's kinds at the draw).
    unit_ids: Mapped[list | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(DRAW_STATUS, default="draft")
    seed_commitment: Mapped[str | None] = mapped_column(sa.String(64))
    seed: Mapped[str | None] = mapped_column(sa.String(128))  # never served
    public_entropy: Mapped[str | None] = mapped_column(sa.String(255))
    inputs: Mapped[str | None] = mapped_column(sa.Text)  # canonical JSON of every draw input
    inputs_digest: Mapped[str | None] = mapped_column(sa.String(64))
    result: Mapped[str | None] = mapped_column(sa.Text)  # canonical JSON of the draw
    result_digest: Mapped[str | None] = mapped_column(sa.String(64))
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    committed_at: Mapped[datetime | None]
    drawn_at: Mapped[datetime | None]
    drawn_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Once the year's grades resting on it are approved, the seed is published so anyone can re-run it.
    revealed_at: Mapped[datetime | None]


class SurveySelection(db.Model):
    """One drawn rating or recipient. `responded` has no time on purpose (see the module's notes)."""

    __tablename__ = "survey_selections"

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_draws.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    position: Mapped[int]  # order in the unit's draw, from 1
    rating_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ratings.id"))
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("survey_recipients.id"))
    responded: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.UniqueConstraint("draw_id", "rating_id", name="uq_survey_selections_draw_rating"),
        sa.UniqueConstraint("draw_id", "recipient_id", name="uq_survey_selections_draw_recipient"),
    )


def _random_id() -> str:
    return str(uuid.uuid4())


class SurveyResponse(db.Model):
    """An anonymous survey answer: no recipient, no time."""

    __tablename__ = "survey_responses"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=_random_id)
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_draws.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    score: Mapped[int] = mapped_column(sa.SmallInteger)
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)

    __table_args__ = (sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)


class GradeRun(TimestampMixin, db.Model):
    """One computation of a year's grades; approved by a second office user, then frozen."""

    __tablename__ = "grade_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(RUN_STATUS, default="draft", index=True)
    survey_draw_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_draws.id"))
    # The approved run of the year when this one was computed: approving is refused once another was approved.
    previous_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grade_runs.id"))
    policy: Mapped[dict] = mapped_column(sa.JSON)  # the assessment policy used, as data
    policy_version: Mapped[int]
    inputs_digest: Mapped[str] = mapped_column(sa.String(64))
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]


class UnitGrade(db.Model):
    __tablename__ = "unit_grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("grade_runs.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    year: Mapped[int]
    grade: Mapped[str] = mapped_column(GRADE)
    score: Mapped[float | None]
    inspection_score: Mapped[float | None]
    survey_score: Mapped[float | None]
    raters: Mapped[int]
    inputs: Mapped[dict] = mapped_column(sa.JSON)  # counts, points, rating mean, raters, finding ids, scores
    steps: Mapped[list] = mapped_column(sa.JSON)  # each rule applied, in order, with its numbers
    reason: Mapped[str] = mapped_column(sa.Text)
    # The unit's grade of the year in force: set when its run is approved, cleared when a later approved
    # run grades the same unit again. A run that re-grades two units leaves every other unit's grade alone.
    in_force: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    __table_args__ = (sa.UniqueConstraint("run_id", "unit_id", name="uq_unit_grades_run_unit"),
                      sa.Index("ix_unit_grades_unit_year_in_force", "unit_id", "year", "in_force"))
