"""SAML 2.0 providers (IdP metadata, IdP-initiated switch, accepted assertion IDs) and
ending the upstream session at logout (provider and ID token kept with the session)

Revision ID: 0009_saml_providers
Revises: 0008_client_registration
Create Date: 2026-12-02 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_saml_providers'
down_revision = '0008_client_registration'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('saml_metadata', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('metadata_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('allow_idp_initiated', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('end_session', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.alter_column('allow_idp_initiated', server_default=None)
        batch_op.alter_column('end_session', server_default=None)
    op.create_table(
        'saml_assertions',
        sa.Column('provider_id', sa.Uuid(), nullable=False),
        sa.Column('assertion_id', sa.String(length=255), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['provider_id'], ['identity_providers.id'],
                                name=op.f('fk_saml_assertions_provider_id_identity_providers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('provider_id', 'assertion_id', name=op.f('pk_saml_assertions')),
    )
    with op.batch_alter_table('saml_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saml_assertions_expires_at'), ['expires_at'],
                              unique=False)
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('upstream_id_token_enc', sa.LargeBinary(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_user_sessions_provider_id_identity_providers'),
                                    'identity_providers', ['provider_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_sessions_provider_id_identity_providers'),
                                 type_='foreignkey')
        batch_op.drop_column('upstream_id_token_enc')
        batch_op.drop_column('provider_id')
    op.drop_table('saml_assertions')
    with op.batch_alter_table('identity_providers', schema=None) as batch_op:
        batch_op.drop_column('end_session')
        batch_op.drop_column('allow_idp_initiated')
        batch_op.drop_column('metadata_url')
        batch_op.drop_column('saml_metadata')
