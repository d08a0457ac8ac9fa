"""visits.assignment_id: a foreign key to sampling_assignments, one visit per assignment

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 18:00:00

Before the keys, the data is made to agree with them: a visit pointing at an assignment that does not
exist, or at one fulfilled by another visit, loses the link; an assignment still marked as fulfilled by
a visit that moved to another (or to none) is released; an assignment a visit points at but that
records no visit records the earliest such visit.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE visits SET assignment_id = NULL WHERE assignment_id IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM sampling_assignments a WHERE a.id = visits.assignment_id)")
    op.execute("UPDATE sampling_assignments SET visit_id = (SELECT MIN(v.id) FROM visits v "
               "WHERE v.assignment_id = sampling_assignments.id) "
               "WHERE visit_id IS NULL AND EXISTS (SELECT 1 FROM visits v WHERE v.assignment_id = sampling_assignments.id)")
    op.execute("UPDATE visits SET assignment_id = NULL WHERE assignment_id IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM sampling_assignments a WHERE a.id = visits.assignment_id AND a.visit_id = visits.id)")
    op.execute("UPDATE sampling_assignments SET visit_id = NULL WHERE visit_id IS NOT NULL AND NOT EXISTS "
               "(SELECT 1 FROM visits v WHERE v.id = sampling_assignments.visit_id "
               "AND v.assignment_id = sampling_assignments.id)")
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_visits_assignment_id'), ['assignment_id'])
        batch_op.create_foreign_key(batch_op.f('fk_visits_assignment_id_sampling_assignments'),
                                    'sampling_assignments', ['assignment_id'], ['id'])


def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_visits_assignment_id_sampling_assignments'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_visits_assignment_id'), type_='unique')
