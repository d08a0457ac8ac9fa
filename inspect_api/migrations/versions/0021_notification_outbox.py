"""notification channels: routes per user or unit, and the outbox of messages to robots, SMS and mail

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 17:30:00

"""
from alembic import op
import sqlalchemy as sa

import inspect_api.db


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'channel_routes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('scope_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('kinds', sa.JSON(), nullable=False),
        sa.Column('created_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_channel_routes_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_routes')),
        sa.UniqueConstraint('scope', 'scope_id', 'channel', 'target',
                            name=op.f('uq_channel_routes_scope_scope_id_channel_target')),
    )
    with op.batch_alter_table('channel_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_routes_scope_id'), ['scope_id'], unique=False)
    op.create_table(
        'outbox_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=255), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=True),
        sa.Column('route_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sent_at', inspect_api.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', inspect_api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_outbox_messages_notification_id_notifications')),
        sa.ForeignKeyConstraint(['route_id'], ['channel_routes.id'],
                                name=op.f('fk_outbox_messages_route_id_channel_routes'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_messages_dedupe_key')),
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_notification_id'), ['notification_id'], unique=False)
        batch_op.create_index('ix_outbox_messages_status_next', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    op.drop_table('outbox_messages')
    op.drop_table('channel_routes')
