"""evidence.derivatives: the display copy, thumbnail and watermarked copy are made by the media worker

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 20:30:00

Photos stored before this revision already have their copies: they are `ready`.
"""
from alembic import op
import sqlalchemy as sa

import inspect_api.db


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('derivatives', sa.Enum('pending', 'ready', 'failed', name='derivatives_status',
                                                             native_enum=False, create_constraint=True, length=16),
                                      server_default='ready', nullable=False))
        batch_op.add_column(sa.Column('derivatives_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('derivatives_claimed_at', inspect_api.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('derivatives_error', sa.String(length=500), nullable=True))
        batch_op.create_index('ix_evidence_derivatives_queue', ['derivatives', 'uploaded_at'], unique=False)


def downgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_derivatives_queue')
        batch_op.drop_column('derivatives_error')
        batch_op.drop_column('derivatives_claimed_at')
        batch_op.drop_column('derivatives_attempts')
        batch_op.drop_column('derivatives')
