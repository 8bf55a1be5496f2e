"""users.username_skeleton: the look-alike (Unicode TR 39) form of each username

Revision ID: 0003_username_skeleton
Revises: 0002_outbox_event_id
Create Date: 2026-12-02 07:30:00

Existing rows get their skeleton computed here (batched). The index is not unique:
accounts made before the rule may already look alike; new clashes are refused by the
service.
"""
import sqlalchemy as sa
from alembic import op

from idp.accounts.confusables import username_skeleton

revision = '0003_username_skeleton'
down_revision = '0002_outbox_event_id'
branch_labels = None
depends_on = None

_users = sa.table('users', sa.column('id', sa.Uuid()), sa.column('username', sa.String()),
                  sa.column('username_skeleton', sa.String()))


def _backfill() -> None:
    bind = op.get_bind()
    while True:
        rows = bind.execute(sa.select(_users.c.id, _users.c.username)
                            .where(_users.c.username_skeleton.is_(None)).limit(1000)).all()
        if not rows:
            return
        for row_id, username in rows:
            bind.execute(_users.update().where(_users.c.id == row_id)
                         .values(username_skeleton=username_skeleton(username or '')))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username_skeleton', sa.String(length=300), nullable=True))
    _backfill()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_tenant_username_skeleton',
                              ['tenant_id', 'username_skeleton'], unique=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_tenant_username_skeleton')
        batch_op.drop_column('username_skeleton')
