"""Mystery-shopper scenarios and the structured record of each simulated transaction."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from inspect_api.db import TimestampMixin, db


class Scenario(TimestampMixin, db.Model):
    """What the shopper asks for, as whom, with which materials (deliberately incomplete)."""

    __tablename__ = "shopper_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(128))
    service_item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id"), index=True)
    persona: Mapped[str] = mapped_column(sa.Text)  # e.g. 个体户, 办理营业执照变更
    ask: Mapped[str] = mapped_column(sa.Text)  # what to ask at the window
    materials_brought: Mapped[list] = mapped_column(sa.JSON, default=list)  # material codes
    notes: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1)

    # Optimistic versioning: every UPDATE says `WHERE version = <the version read>`, so a write based on
    # a version someone else changed meanwhile fails (services.update_scenario: 412) instead of
    # silently overwriting it. The services count the version themselves (only real changes bump it).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class ShopperRecord(db.Model):
    """One mystery-shopper visit's observations and what the rules made of them."""

    __tablename__ = "shopper_records"

    visit_id: Mapped[str] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    scenario_id: Mapped[int] = mapped_column(sa.ForeignKey("shopper_scenarios.id"), index=True)
    service_item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id"), index=True)
    queue_minutes: Mapped[int | None]
    wait_minutes: Mapped[int | None]
    first_receiver_badge: Mapped[str | None] = mapped_column(sa.String(32))
    first_receiver_window: Mapped[str | None] = mapped_column(sa.String(16))
    first_receiver_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))
    sent_elsewhere: Mapped[bool] = mapped_column(default=False)
    sent_to: Mapped[str | None] = mapped_column(sa.String(255))
    sent_to_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))  # the window sent to
    materials_told: Mapped[list] = mapped_column(sa.JSON, default=list)  # official material codes
    materials_told_other: Mapped[list] = mapped_column(sa.JSON, default=list)  # free text (乱要材料?)
    done_on_spot: Mapped[bool] = mapped_column(default=False)
    receipt_given: Mapped[bool | None]
    promised_date: Mapped[date | None]
    attitude: Mapped[str] = mapped_column(sa.String(16))
    told_come_back: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    # What the rules computed (kept so comparisons are one indexed query).
    completeness: Mapped[float]
    missing_count: Mapped[int]
    untold_count: Mapped[int]
    invented_count: Mapped[int]
    score: Mapped[float]
    promise_provisional: Mapped[bool] = mapped_column(default=False)
