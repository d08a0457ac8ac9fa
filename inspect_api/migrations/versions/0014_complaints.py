"""complaints (投诉举报) and complaint-sourced findings

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 13:10:00

"""
from alembic import op
import sqlalchemy as sa

import inspect_api.db


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_no', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.Enum('web', 'hotline', 'letter', 'in_person', name='complaint_channel', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('window_no', sa.String(length=16), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=True),
    sa.Column('occurred_time', sa.Time(), nullable=True),
    sa.Column('contact_name', sa.String(length=32), nullable=True),
    sa.Column('contact_phone', sa.String(length=20), nullable=True),
    sa.Column('contact_email', sa.String(length=128), nullable=True),
    sa.Column('status', sa.Enum('received', 'assigned', 'investigating', 'investigated', 'answered', 'closed', name='complaint_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('level', sa.Enum('citizen_routine', 'citizen_heavy', 'citizen_multi_department', name='complaint_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('flagged_overdue_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('forwarded_unit_id', sa.Integer(), nullable=True),
    sa.Column('forwarded_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('forward_note', sa.Text(), nullable=True),
    sa.Column('unit_content', sa.Text(), nullable=True),
    sa.Column('unit_report', sa.Text(), nullable=True),
    sa.Column('unit_reported_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unit_reported_by', sa.Integer(), nullable=True),
    sa.Column('investigation_note', sa.Text(), nullable=True),
    sa.Column('investigated_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('investigated_by', sa.Integer(), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answer_channel', sa.Enum('phone', 'sms', 'email', 'letter', 'in_person', 'online', name='complaint_answer_channel', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('answered_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Enum('substantiated', 'unsubstantiated', name='complaint_outcome', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('outcome_reason', sa.Text(), nullable=True),
    sa.Column('closed_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by'], ['users.id'], name=op.f('fk_complaints_answered_by_users')),
    sa.ForeignKeyConstraint(['closed_by'], ['users.id'], name=op.f('fk_complaints_closed_by_users')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_complaints_created_by_users')),
    sa.ForeignKeyConstraint(['forwarded_unit_id'], ['units.id'], name=op.f('fk_complaints_forwarded_unit_id_units')),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_complaints_handler_id_users')),
    sa.ForeignKeyConstraint(['investigated_by'], ['users.id'], name=op.f('fk_complaints_investigated_by_users')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_complaints_staff_id_staff')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_complaints_unit_id_units')),
    sa.ForeignKeyConstraint(['unit_reported_by'], ['users.id'], name=op.f('fk_complaints_unit_reported_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('tracking_no', name=op.f('uq_complaints_tracking_no'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_forwarded_unit_id'), ['forwarded_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_handler_id'), ['handler_id'], unique=False)
        batch_op.create_index('ix_complaints_outcome_closed_at', ['outcome', 'closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_unit_id'), ['unit_id'], unique=False)

    # A finding now comes from a visit or from a substantiated complaint (exactly one of the two), and
    # its source may be `complaint`. Autogenerate does not see CHECK constraints of non-native enums, so
    # the source CHECK is dropped and created again by hand (SQLite: the batch copies the table; env.py
    # turns foreign keys off meanwhile, or dropping the old copy would cascade into rectifications).
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complaint_id', sa.Integer(), nullable=True))
        batch_op.alter_column('visit_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_findings_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_findings_complaint_id_complaints'), 'complaints', ['complaint_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_findings_finding_source'), type_='check')
        batch_op.create_check_constraint(
            'finding_source', "source IN ('item', 'manual', 'badge', 'shopper', 'complaint')")
        batch_op.create_check_constraint('finding_origin', "(visit_id IS NULL) <> (complaint_id IS NULL)")


def downgrade():
    # Findings that came from complaints have no visit to belong to: they go, with what hangs on them.
    gone = "SELECT id FROM findings WHERE visit_id IS NULL"
    for table in ('rectification_reports', 'appeals', 'rectifications'):
        op.execute(f"DELETE FROM {table} WHERE finding_id IN ({gone})")
    op.execute("DELETE FROM findings WHERE visit_id IS NULL")
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_findings_finding_origin'), type_='check')
        batch_op.drop_constraint(op.f('ck_findings_finding_source'), type_='check')
        batch_op.create_check_constraint(
            'finding_source', "source IN ('item', 'manual', 'badge', 'shopper')")
        batch_op.drop_constraint(batch_op.f('fk_findings_complaint_id_complaints'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_findings_complaint_id'))
        batch_op.alter_column('visit_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=False)
        batch_op.drop_column('complaint_id')

    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_unit_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_status'))
        batch_op.drop_index('ix_complaints_outcome_closed_at')
        batch_op.drop_index(batch_op.f('ix_complaints_handler_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_forwarded_unit_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_due_on'))

    op.drop_table('complaints')
