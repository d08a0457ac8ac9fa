"""evidence.sha256 indexed: the files of a photo are named after its SHA-256, and the clean-up of
files no row names looks rows up by it

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 00:00:00
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_sha256', ['sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_sha256')
