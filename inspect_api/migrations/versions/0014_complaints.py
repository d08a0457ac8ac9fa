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
    pass


def downgrade():
    pass
