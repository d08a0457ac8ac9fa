"""unit grades: the grade of a unit and year in force (a run re-grades only the units it covers)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 17:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('unit_grades', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_force', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_unit_grades_unit_year_in_force', ['unit_id', 'year', 'in_force'], unique=False)
    # until now the approved run of a year held every unit's grade
    op.execute("UPDATE unit_grades SET in_force = (run_id IN (SELECT id FROM grade_runs WHERE status = 'approved'))")


def downgrade():
    with op.batch_alter_table('unit_grades', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_grades_unit_year_in_force')
        batch_op.drop_column('in_force')
