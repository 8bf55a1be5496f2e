"""Back-Channel Logout: clients.backchannel_logout_uri / _session_required, and the
backchannel_logouts queue the deliverer works through

Revision ID: 0004_backchannel_logout
Revises: 0003_username_skeleton
Create Date: 2026-12-02 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_backchannel_logout'
down_revision = '0003_username_skeleton'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backchannel_logout_uri', sa.String(length=500),
                                      nullable=True))
        batch_op.add_column(sa.Column('backchannel_logout_session_required', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
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
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('backchannel_logout_session_required')
        batch_op.drop_column('backchannel_logout_uri')
