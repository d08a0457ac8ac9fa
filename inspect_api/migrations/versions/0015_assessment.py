"""annual assessment: survey draws, survey responses, grades

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 13:10:00

"""
from alembic import op
import sqlalchemy as sa

import inspect_api.db


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('survey_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['imported_by'], ['users.id'], name=op.f('fk_survey_recipients_imported_by_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_survey_recipients_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_recipients')),
    sa.UniqueConstraint('year', 'unit_id', 'key', name='uq_survey_recipients_year_unit_key')
    )
    with op.batch_alter_table('survey_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_recipients_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_recipients_year'), ['year'], unique=False)

    op.create_table('survey_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('ratings', 'recipients', name='survey_source', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('per_unit', sa.Integer(), nullable=False),
    sa.Column('unit_ids', sa.JSON(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'committed', 'drawn', name='survey_draw_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('seed_commitment', sa.String(length=64), nullable=True),
    sa.Column('seed', sa.String(length=128), nullable=True),
    sa.Column('public_entropy', sa.String(length=255), nullable=True),
    sa.Column('inputs', sa.Text(), nullable=True),
    sa.Column('inputs_digest', sa.String(length=64), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('result_digest', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('committed_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drawn_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drawn_by', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_survey_draws_created_by_users')),
    sa.ForeignKeyConstraint(['drawn_by'], ['users.id'], name=op.f('fk_survey_draws_drawn_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_draws'))
    )
    with op.batch_alter_table('survey_draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_draws_year'), ['year'], unique=False)

    op.create_table('survey_selections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('responded', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['draw_id'], ['survey_draws.id'], name=op.f('fk_survey_selections_draw_id_survey_draws'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_survey_selections_rating_id_ratings')),
    sa.ForeignKeyConstraint(['recipient_id'], ['survey_recipients.id'], name=op.f('fk_survey_selections_recipient_id_survey_recipients')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_survey_selections_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_selections')),
    sa.UniqueConstraint('draw_id', 'rating_id', name='uq_survey_selections_draw_rating'),
    sa.UniqueConstraint('draw_id', 'recipient_id', name='uq_survey_selections_draw_recipient')
    )
    with op.batch_alter_table('survey_selections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_selections_draw_id'), ['draw_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_selections_unit_id'), ['unit_id'], unique=False)

    op.create_table('survey_responses',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.SmallInteger(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_survey_responses_score_range')),
    sa.ForeignKeyConstraint(['draw_id'], ['survey_draws.id'], name=op.f('fk_survey_responses_draw_id_survey_draws'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_survey_responses_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses'))
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_responses_draw_id'), ['draw_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_responses_unit_id'), ['unit_id'], unique=False)

    op.create_table('grade_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'approved', 'superseded', name='grade_run_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('survey_draw_id', sa.Integer(), nullable=False),
    sa.Column('previous_run_id', sa.Integer(), nullable=True),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('inputs_digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('approved_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_grade_runs_approved_by_users')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_grade_runs_created_by_users')),
    sa.ForeignKeyConstraint(['previous_run_id'], ['grade_runs.id'], name=op.f('fk_grade_runs_previous_run_id_grade_runs')),
    sa.ForeignKeyConstraint(['survey_draw_id'], ['survey_draws.id'], name=op.f('fk_grade_runs_survey_draw_id_survey_draws')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_runs'))
    )
    with op.batch_alter_table('grade_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grade_runs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_grade_runs_year'), ['year'], unique=False)

    op.create_table('unit_grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('grade', sa.Enum('excellent', 'pass', 'fail', 'not_assessable', name='assessment_grade', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('inspection_score', sa.Double(), nullable=True),
    sa.Column('survey_score', sa.Double(), nullable=True),
    sa.Column('raters', sa.Integer(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['grade_runs.id'], name=op.f('fk_unit_grades_run_id_grade_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_grades_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_grades')),
    sa.UniqueConstraint('run_id', 'unit_id', name='uq_unit_grades_run_unit')
    )
    with op.batch_alter_table('unit_grades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_grades_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_grades_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('unit_grades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_grades_unit_id'))
        batch_op.drop_index(batch_op.f('ix_unit_grades_run_id'))
    op.drop_table('unit_grades')
    with op.batch_alter_table('grade_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_runs_year'))
        batch_op.drop_index(batch_op.f('ix_grade_runs_status'))
    op.drop_table('grade_runs')
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_responses_unit_id'))
        batch_op.drop_index(batch_op.f('ix_survey_responses_draw_id'))
    op.drop_table('survey_responses')
    with op.batch_alter_table('survey_selections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_selections_unit_id'))
        batch_op.drop_index(batch_op.f('ix_survey_selections_draw_id'))
    op.drop_table('survey_selections')
    with op.batch_alter_table('survey_draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_draws_year'))
    op.drop_table('survey_draws')
    with op.batch_alter_table('survey_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_recipients_year'))
        batch_op.drop_index(batch_op.f('ix_survey_recipients_unit_id'))
    op.drop_table('survey_recipients')
