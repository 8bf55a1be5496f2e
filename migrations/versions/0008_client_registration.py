"""initial_access_tokens and client_registrations: dynamic client registration (RFC 7591/7592)

Revision ID: 0008_client_registration
Revises: 0007_identity_providers
Create Date: 2026-12-02 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_client_registration'
down_revision = '0007_identity_providers'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'initial_access_tokens',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('hint', sa.String(length=16), nullable=False),
        sa.Column('max_uses', sa.Integer(), nullable=True),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('grant_types', sa.JSON(), nullable=False),
        sa.Column('redirect_uri_prefixes', sa.JSON(), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=80), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_initial_access_tokens_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_initial_access_tokens')),
        sa.UniqueConstraint('digest', name=op.f('uq_initial_access_tokens_digest')),
    )
    with op.batch_alter_table('initial_access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_initial_access_tokens_tenant_id'), ['tenant_id'],
                              unique=False)
    op.create_table(
        'client_registrations',
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('initial_access_token_id', sa.Uuid(), nullable=True),
        sa.Column('policy', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'],
                                name=op.f('fk_client_registrations_client_id_clients'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['initial_access_token_id'], ['initial_access_tokens.id'],
            name=op.f('fk_client_registrations_initial_access_token_id_initial_access_tokens'),
            ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_client_registrations')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_client_registrations_token_digest')),
    )
    with op.batch_alter_table('client_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_registrations_initial_access_token_id'),
                              ['initial_access_token_id'], unique=False)


def downgrade():
    with op.batch_alter_table('client_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_registrations_initial_access_token_id'))
    op.drop_table('client_registrations')
    with op.batch_alter_table('initial_access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initial_access_tokens_tenant_id'))
    op.drop_table('initial_access_tokens')
