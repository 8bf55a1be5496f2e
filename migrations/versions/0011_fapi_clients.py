"""Protocol (issue 18, FAPI): clients.require_dpop_nonce (RFC 9449 8) and
clients.security_profile ("fapi2": the FAPI 2.0 Security Profile)

Revision ID: 0011_fapi_clients
Revises: 0010_scim_tokens
Create Date: 2026-12-02 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_fapi_clients'
down_revision = '0010_scim_tokens'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_dpop_nonce', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('security_profile', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('security_profile')
        batch_op.drop_column('require_dpop_nonce')
