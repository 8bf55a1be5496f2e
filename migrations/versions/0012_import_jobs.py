"""import_jobs: CSV imports run in the background; clients' own token lifetimes

Revision ID: 0012_import_jobs
Revises: 0011_fapi_clients
Create Date: 2026-12-02 10:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_import_jobs'
down_revision = '0011_fapi_clients'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_jobs',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('csv_text', sa.Text(), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('processed', sa.Integer(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('errors', sa.JSON(), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=True),
        sa.Column('created_by', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE',
                                name=op.f('fk_import_jobs_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
    )
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_jobs_tenant_id'), ['tenant_id'],
                              unique=False)
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_token_ttl', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refresh_token_ttl', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('id_token_ttl', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('require_pkce', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        for column in ('require_pkce', 'id_token_ttl', 'refresh_token_ttl', 'access_token_ttl'):
            batch_op.drop_column(column)
    with op.batch_alter_table('import_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_jobs_tenant_id'))
    op.drop_table('import_jobs')
