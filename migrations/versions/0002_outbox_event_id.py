"""outbox_events.event_id: an immutable event identity a database restore cannot rewind

Revision ID: 0002_outbox_event_id
Revises: 0001
Create Date: 2026-12-02 07:20:00

Existing rows (published or not) get a random UUID each before the column becomes
NOT NULL and unique.
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = '0002_outbox_event_id'
down_revision = '0001'
branch_labels = None
depends_on = None

_outbox = sa.table('outbox_events', sa.column('id', sa.BigInteger()),
                   sa.column('event_id', sa.Uuid()))


def _backfill() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # A long outbox takes longer than the pool's 10 s statement timeout.
        op.execute('SET LOCAL statement_timeout = 0')
        op.execute('UPDATE outbox_events SET event_id = gen_random_uuid() WHERE event_id IS NULL')
        return
    ids = bind.execute(sa.select(_outbox.c.id).where(_outbox.c.event_id.is_(None))).scalars()
    for row_id in list(ids):
        bind.execute(_outbox.update().where(_outbox.c.id == row_id).values(event_id=uuid.uuid4()))


def upgrade():
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_id', sa.Uuid(), nullable=True))
    _backfill()
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.alter_column('event_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_events_event_id'), ['event_id'])


def downgrade():
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbox_events_event_id'), type_='unique')
        batch_op.drop_column('event_id')
