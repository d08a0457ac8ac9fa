"""rating follow-ups: when the nightly job flagged one as overdue

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 13:30:00

"""
from alembic import op
import sqlalchemy as sa

import inspect_api.db


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rating_follow_ups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flagged_overdue_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('rating_follow_ups', schema=None) as batch_op:
        batch_op.drop_column('flagged_overdue_at')
