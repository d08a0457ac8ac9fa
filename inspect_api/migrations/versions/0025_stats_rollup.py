"""stats_rollup: the statistics' running totals per unit and local day / month, kept by triggers

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 20:30:00

The table, its triggers on visits, findings and rectifications (inspect_api/stats/rollup.py writes
their SQL for each dialect), and the rollup of what is already there. A later change to the triggers'
SQL needs a revision of its own that drops and creates them again (`rollup.drop_ddl` / `create_ddl`)
and rebuilds the table.
"""
from alembic import op
import sqlalchemy as sa

from inspect_api.stats import rollup
from inspect_api.stats.models import MEASURES


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stats_rollup',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('bucket', sa.Date(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('open_due', sa.Date(), nullable=True),
        *(sa.Column(m, sa.Integer(), server_default='0', nullable=False) for m in MEASURES),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_rollup')),
    )
    op.create_index('ix_stats_rollup_grain_bucket', 'stats_rollup', ['grain', 'bucket', 'unit_id'], unique=False)
    op.create_index('ix_stats_rollup_open_due', 'stats_rollup', ['open_due'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in rollup.create_ddl(dialect):
        op.execute(statement)
    for statement in rollup.rebuild_sql(dialect):
        op.execute(statement)


def downgrade():
    for statement in rollup.drop_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index('ix_stats_rollup_open_due', table_name='stats_rollup')
    op.drop_index('ix_stats_rollup_grain_bucket', table_name='stats_rollup')
    op.drop_table('stats_rollup')
