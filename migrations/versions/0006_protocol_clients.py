"""Protocol (issue 18): clients.backchannel_logout_uri / _session_required, the
backchannel_logouts queue the deliverer works through; clients.require_pushed_authorization_requests
and pushed_requests (RFC 9126); refresh_tokens.dpop_jkt (RFC 9449);
device_authorizations (RFC 8628)

Revision ID: 0006_protocol_clients
Revises: 0005_scim
Create Date: 2026-12-02 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_protocol_clients'
down_revision = '0005_scim'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backchannel_logout_uri', sa.String(length=500),
                                      nullable=True))
        batch_op.add_column(sa.Column('backchannel_logout_session_required', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('require_pushed_authorization_requests', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=64), nullable=True))
    op.create_table('device_authorizations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('device_code_hash', sa.String(length=64), nullable=False),
    sa.Column('user_code', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('last_polled_at', sa.DateTime(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('session_id', sa.Uuid(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_authorizations')),
    sa.UniqueConstraint('device_code_hash', name=op.f('uq_device_authorizations_device_code_hash')),
    sa.UniqueConstraint('user_code', name=op.f('uq_device_authorizations_user_code'))
    )
    with op.batch_alter_table('device_authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_authorizations_expires_at'), ['expires_at'],
                              unique=False)
    op.create_table('pushed_requests',
    sa.Column('uri_hash', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('uri_hash', name=op.f('pk_pushed_requests'))
    )
    with op.batch_alter_table('pushed_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pushed_requests_expires_at'), ['expires_at'],
                              unique=False)
    op.create_table('backchannel_logouts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('abandoned_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backchannel_logouts'))
    )
    with op.batch_alter_table('backchannel_logouts', schema=None) as batch_op:
        batch_op.create_index('ix_backchannel_logouts_due', ['delivered_at', 'next_attempt_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('backchannel_logouts', schema=None) as batch_op:
        batch_op.drop_index('ix_backchannel_logouts_due')
    op.drop_table('backchannel_logouts')
    with op.batch_alter_table('device_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_authorizations_expires_at'))
    op.drop_table('device_authorizations')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('pushed_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pushed_requests_expires_at'))
    op.drop_table('pushed_requests')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('require_pushed_authorization_requests')
        batch_op.drop_column('backchannel_logout_session_required')
        batch_op.drop_column('backchannel_logout_uri')
