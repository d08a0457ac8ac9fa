"""supervised matters (督查督办): matters, co-units, reports with attachments, extensions; three bulletin kinds

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa

import inspect_api.db


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('criticism', 'bulletin', 'rectification', 'commendation', 'referral')"
NEW_KINDS = ("kind IN ('criticism', 'bulletin', 'rectification', 'commendation', 'referral', 'matter_bulletin', "
             "'meeting_bulletin', 'keywork_summary')")


def upgrade():
    op.create_table(
        'supervised_matters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('leader_assigned', 'meeting_decision', 'key_work', name='matter_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('meeting_kind', sa.String(length=16), nullable=True),
        sa.Column('meeting_name', sa.String(length=200), nullable=True),
        sa.Column('meeting_on', sa.Date(), nullable=True),
        sa.Column('target_year', sa.Integer(), nullable=True),
        sa.Column('leader_name', sa.String(length=64), nullable=True),
        sa.Column('leader_title', sa.String(length=64), nullable=True),
        sa.Column('principal_leader', sa.Boolean(), nullable=False),
        sa.Column('lead_unit_id', sa.Integer(), nullable=False),
        sa.Column('lead_duty', sa.Text(), nullable=True),
        sa.Column('level', sa.Enum('urgent', 'important', 'ordinary', name='matter_level', native_enum=False, create_constraint=True, length=16), nullable=True),
        sa.Column('working_days', sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column('statutory_days', sa.Integer(), nullable=True),
        sa.Column('assigned_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('due_ends_at', sa.Enum('am', 'pm', name='matter_day_half', native_enum=False, create_constraint=True, length=2), nullable=False),
        sa.Column('original_due_on', sa.Date(), nullable=True),
        sa.Column('provisional', sa.Boolean(), nullable=False),
        sa.Column('status', sa.Enum('open', 'result_reported', 'closed', name='matter_status', native_enum=False, create_constraint=True, length=16), nullable=False),
        sa.Column('overdue', sa.Boolean(), nullable=False),
        sa.Column('flagged_overdue_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reminded_for', sa.Date(), nullable=True),
        sa.Column('result_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('verdict', sa.Enum('done', 'done_late', 'unfinished', name='matter_verdict', native_enum=False, create_constraint=True, length=16), nullable=True),
        sa.Column('verdict_note', sa.Text(), nullable=True),
        sa.Column('closed_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['closed_by'], ['users.id'], name=op.f('fk_supervised_matters_closed_by_users')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_supervised_matters_created_by_users')),
        sa.ForeignKeyConstraint(['lead_unit_id'], ['units.id'], name=op.f('fk_supervised_matters_lead_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supervised_matters')),
    )
    with op.batch_alter_table('supervised_matters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervised_matters_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervised_matters_meeting_name'), ['meeting_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervised_matters_lead_unit_id'), ['lead_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervised_matters_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervised_matters_status'), ['status'], unique=False)
        batch_op.create_index('ix_supervised_matters_status_due', ['status', 'due_on'], unique=False)

    op.create_table(
        'matter_units',
        sa.Column('matter_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('duty', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['matter_id'], ['supervised_matters.id'], name=op.f('fk_matter_units_matter_id_supervised_matters'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_matter_units_unit_id_units')),
        sa.PrimaryKeyConstraint('matter_id', 'unit_id', name=op.f('pk_matter_units')),
    )
    with op.batch_alter_table('matter_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_units_unit_id'), ['unit_id'], unique=False)

    op.create_table(
        'matter_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('matter_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('progress', 'result', name='matter_report_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('submitted_by', sa.Integer(), nullable=False),
        sa.Column('submitted_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['matter_id'], ['supervised_matters.id'], name=op.f('fk_matter_reports_matter_id_supervised_matters'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_matter_reports_submitted_by_users')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_matter_reports_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_reports')),
    )
    with op.batch_alter_table('matter_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_reports_matter_id'), ['matter_id'], unique=False)

    op.create_table(
        'matter_attachments',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('media_type', sa.String(length=64), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=True),
        sa.Column('storage_key', sa.String(length=255), nullable=False),
        sa.Column('uploaded_by', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['matter_reports.id'], name=op.f('fk_matter_attachments_report_id_matter_reports'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_matter_attachments_uploaded_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_attachments')),
    )
    with op.batch_alter_table('matter_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_attachments_report_id'), ['report_id'], unique=False)

    op.create_table(
        'matter_extensions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('matter_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('current_due_on', sa.Date(), nullable=True),
        sa.Column('new_due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'approved', 'refused', name='matter_extension_status', native_enum=False, create_constraint=True, length=16), nullable=False),
        sa.Column('requested_by', sa.Integer(), nullable=False),
        sa.Column('requested_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_matter_extensions_decided_by_users')),
        sa.ForeignKeyConstraint(['matter_id'], ['supervised_matters.id'], name=op.f('fk_matter_extensions_matter_id_supervised_matters'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_matter_extensions_requested_by_users')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_matter_extensions_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_matter_extensions')),
    )
    with op.batch_alter_table('matter_extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_extensions_matter_id'), ['matter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matter_extensions_status'), ['status'], unique=False)

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_documents_document_kind'), type_='check')
        batch_op.create_check_constraint('document_kind', NEW_KINDS)


def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_documents_document_kind'), type_='check')
        batch_op.create_check_constraint('document_kind', OLD_KINDS)
    op.drop_table('matter_extensions')
    op.drop_table('matter_attachments')
    op.drop_table('matter_reports')
    op.drop_table('matter_units')
    op.drop_table('supervised_matters')
