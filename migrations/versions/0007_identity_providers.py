"""identity_providers and federated_identities: signing in with an upstream provider

Revision ID: 0007_identity_providers
Revises: 0006_protocol_clients
Create Date: 2026-12-02 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_identity_providers'
down_revision = '0006_protocol_clients'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'identity_providers',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('slug', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=True),
        sa.Column('client_id', sa.String(length=255), nullable=True),
        sa.Column('client_secret_enc', sa.LargeBinary(), nullable=True),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('domains', sa.JSON(), nullable=False),
        sa.Column('roles', sa.JSON(), nullable=False),
        sa.Column('groups', sa.JSON(), nullable=False),
        sa.Column('link_by_verified_email', sa.Boolean(), nullable=False),
        sa.Column('existing_accounts_only', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_identity_providers_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_providers')),
        sa.UniqueConstraint('slug', name=op.f('uq_identity_providers_slug')),
    )
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_providers_tenant_id'), ['tenant_id'],
                              unique=False)
    op.create_table(
        'federated_identities',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('provider_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_login_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'],
                                name=op.f('fk_federated_identities_provider_id_identity_providers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_federated_identities_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federated_identities')),
        sa.UniqueConstraint('provider_id', 'subject',
                            name=op.f('uq_federated_identities_provider_id_subject')),
    )
    with op.batch_alter_table('federated_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federated_identities_provider_id'), ['provider_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_federated_identities_user_id'), ['user_id'],
                              unique=False)


def downgrade():
    op.drop_table('federated_identities')
    op.drop_table('identity_providers')
