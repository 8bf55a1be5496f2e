"""import_job_lease: a heartbeat and lease token per import job, so a job whose worker died
is taken over and resumed instead of staying "running"

Revision ID: 0013_import_job_lease
Revises: 0012_import_jobs
Create Date: 2026-12-02 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_import_job_lease'
down_revision = '0012_import_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lease', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('takeovers', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade():
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        for column in ('takeovers', 'lease', 'heartbeat_at'):
            batch_op.drop_column(column)
