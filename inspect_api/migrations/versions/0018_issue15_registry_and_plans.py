"""registry: a window's staffing department, an item's accepting windows; sampling plans: problems
of the calendar the draw stood on; findings without a time observed get their visit's time

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 17:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sampling_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_problems', sa.JSON(), nullable=True))
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staffing_unit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_units_staffing_unit_id'), ['staffing_unit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_units_staffing_unit_id_units'), 'units', ['staffing_unit_id'],
                                    ['id'])
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepting_window_ids', sa.JSON(), nullable=True))
    op.execute("UPDATE service_items SET accepting_window_ids = '[]'")
    # A finding is observed when the phone says, else when its visit took place (as new ones are now).
    op.execute("UPDATE findings SET observed_at = (SELECT COALESCE(visits.started_at, visits.ended_at, "
               "visits.submitted_at) FROM visits WHERE visits.id = findings.visit_id) "
               "WHERE observed_at IS NULL AND visit_id IS NOT NULL")
    with op.batch_alter_table('shopper_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_to_unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_shopper_records_sent_to_unit_id_units'), 'units',
                                    ['sent_to_unit_id'], ['id'])
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.alter_column('accepting_window_ids', existing_type=sa.JSON(), nullable=False)


def downgrade():
    with op.batch_alter_table('shopper_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_shopper_records_sent_to_unit_id_units'), type_='foreignkey')
        batch_op.drop_column('sent_to_unit_id')
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_column('accepting_window_ids')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_units_staffing_unit_id_units'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_units_staffing_unit_id'))
        batch_op.drop_column('staffing_unit_id')
    with op.batch_alter_table('sampling_plans', schema=None) as batch_op:
        batch_op.drop_column('calendar_problems')
