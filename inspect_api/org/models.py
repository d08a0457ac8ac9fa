"""Units, staff and service items. Rows are deactivated, never deleted: visits refer to them.

`change_seq` is the trail sequence number of a row's last change; the delta feed pages by it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_api.db import TimestampMixin, db

UNIT_KIND = sa.Enum("county", "department", "hall", "window", "other", name="unit_kind",
                    native_enum=False, create_constraint=True, length=16)

SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Unit(TimestampMixin, db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(UNIT_KIND)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # Materialised path of ids, "/1/4/9/", so a subtree is one indexed prefix query.
    path: Mapped[str] = mapped_column(sa.String(512), index=True)
    head_name: Mapped[str | None] = mapped_column(sa.String(64))
    head_title: Mapped[str | None] = mapped_column(sa.String(64))
    address: Mapped[str | None] = mapped_column(sa.String(255))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    opening_hours: Mapped[str | None] = mapped_column(sa.String(64))
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    # 进驻部门: the department that staffs a window (and answers for it); the window sits in the
    # hall's tree. None for other units, and for a window staffed by its own parent.
    staffing_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    change_seq: Mapped[int] = mapped_column(SEQ, default=0, index=True)

    parent = relationship("Unit", remote_side=[id], lazy="select", foreign_keys=[parent_id])


class Staff(TimestampMixin, db.Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    badge_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    post: Mapped[str] = mapped_column(sa.String(64))  # 岗位
    position: Mapped[str | None] = mapped_column(sa.String(64))  # 职务
    window_no: Mapped[str | None] = mapped_column(sa.String(16))
    backup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))  # AB角
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    change_seq: Mapped[int] = mapped_column(SEQ, default=0, index=True)

    unit = relationship(Unit, lazy="select")
    backup = relationship("Staff", remote_side=[id], lazy="select")


class ServiceItem(TimestampMixin, db.Model):
    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    # The official list of required materials (申请材料清单): [{"code": "M1", "name": "...", "note": ...}]
    materials: Mapped[list] = mapped_column(sa.JSON, default=list)
    statutory_limit_days: Mapped[int]  # 法定时限, working days
    committed_limit_days: Mapped[int]  # 承诺时限, working days, never above the statutory one
    on_the_spot: Mapped[bool] = mapped_column(default=False)  # 即办件
    # 受理窗口: ids of the window units where the item is accepted, ascending; [] = not recorded (the
    # unit tree decides then).
    accepting_window_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    change_seq: Mapped[int] = mapped_column(SEQ, default=0, index=True)

    unit = relationship(Unit, lazy="select")

    __table_args__ = (
        sa.CheckConstraint("committed_limit_days <= statutory_limit_days", name="committed_within_statutory"),
        sa.CheckConstraint("committed_limit_days >= 0", name="committed_not_negative"),
    )
