"""webhook subscriptions and deliveries; per-channel marks on the outbox (RabbitMQ, webhooks)

Revision ID: 0004_webhooks_amqp
Revises: 0003_username_skeleton
Create Date: 2026-12-02 08:00:00

Rows already in the outbox are marked as handled for the new channels: a subscription or
a broker configured now starts with the events that follow, not with the whole history.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_webhooks_amqp'
down_revision = '0003_username_skeleton'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amqp_published_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('webhooks_queued_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_outbox_events_amqp_unpublished', ['amqp_published_at', 'id'])
        batch_op.create_index('ix_outbox_events_webhooks_unqueued', ['webhooks_queued_at', 'id'])
    op.execute("UPDATE outbox_events SET amqp_published_at = at, webhooks_queued_at = at")
    op.create_table(
        'webhook_subscriptions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=False),
        sa.Column('secret', sa.LargeBinary(), nullable=False),
        sa.Column('previous_secret', sa.LargeBinary(), nullable=True),
        sa.Column('previous_secret_until', sa.DateTime(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('failing_since', sa.DateTime(), nullable=True),
        sa.Column('disabled_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_webhook_subscriptions_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions')),
    )
    op.create_index(op.f('ix_webhook_subscriptions_tenant_id'), 'webhook_subscriptions',
                    ['tenant_id'])
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('subscription_id', sa.Uuid(), nullable=False),
        sa.Column('event_id', sa.Uuid(), nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('last_latency_ms', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'],
                                name=op.f('fk_webhook_deliveries_subscription_id_webhook_subscriptions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries',
                    ['status', 'next_attempt_at'])
    op.create_index(op.f('ix_webhook_deliveries_subscription_id'), 'webhook_deliveries',
                    ['subscription_id'])


def downgrade():
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_events_webhooks_unqueued')
        batch_op.drop_index('ix_outbox_events_amqp_unpublished')
        batch_op.drop_column('webhooks_queued_at')
        batch_op.drop_column('amqp_published_at')
