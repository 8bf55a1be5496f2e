"""SCIM provisioning: externalId of people and groups, the directory's userName,
employee number, the directory's contact lists and the SCIM deletion mark

Revision ID: 0005_scim
Revises: 0004_webhooks_amqp
Create Date: 2026-12-02 07:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_scim'
down_revision = '0004_webhooks_amqp'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('employee_number', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('scim_username', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('scim_deleted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('scim_contacts', sa.JSON(), nullable=True))
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('external_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('scim_contacts')
        batch_op.drop_column('scim_deleted_at')
        batch_op.drop_column('scim_username')
        batch_op.drop_column('external_id')
        batch_op.drop_column('employee_number')
