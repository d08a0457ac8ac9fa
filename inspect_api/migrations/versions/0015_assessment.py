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
    pass


def downgrade():
    pass
