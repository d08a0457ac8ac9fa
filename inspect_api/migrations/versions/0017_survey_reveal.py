"""survey draws: when the seed was revealed

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 14:50:00

"""
from alembic import op
import sqlalchemy as sa

import inspect_api.db


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('survey_draws', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revealed_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('survey_draws', schema=None) as batch_op:
        batch_op.drop_column('revealed_at')
