"""Indexes for the admin people search at a million people (issue 20)

users (created_at, id) and (tenant_id, created_at, id): the people list pages in that
order, with or without a tenant. role_assignments (role_id, user_id): the role filter.
On PostgreSQL, the audit log's (type, at) index is rebuilt with varchar_pattern_ops,
so a type prefix filter (`type=scim.`: LIKE 'scim.%') is an index range under any
collation, not a walk through every event; and pg_trgm GIN indexes on name and
family_name serve the contains-search (`q`: LIKE / ILIKE '%term%'); SQLite has no GIN
and gets plain indexes of the same names, so both schemas match the models.

The indexes are built inside the migration's transaction (CREATE INDEX, not
CONCURRENTLY): on a large PostgreSQL database writes to users wait while they are
built (about a minute per million people); build them CONCURRENTLY by hand first if
that matters, with the same names, and this migration skips them (IF NOT EXISTS).

Revision ID: 0014_search_indexes
Revises: 0013_import_job_lease
Create Date: 2026-12-02 15:00:00
"""
from alembic import op

revision = '0014_search_indexes'
down_revision = '0013_import_job_lease'
branch_labels = None
depends_on = None

# Not username_normalized / email_normalized: pg_trgm answers `=` too, and the planner then
# took the trigram index for the exact lookups by those columns (sign-in, import).
TRIGRAM_COLUMNS = ('name', 'family_name')


def upgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        # Building these on a large table outlasts the app's per-statement deadline
        # (idp/database.py), which the migration's connection also carries.
        op.execute('SET LOCAL statement_timeout = 0')
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for column in TRIGRAM_COLUMNS:
        if postgres:
            op.execute(f'CREATE INDEX IF NOT EXISTS ix_users_{column}_trgm '
                       f'ON users USING gin ({column} gin_trgm_ops)')
        else:
            op.create_index(f'ix_users_{column}_trgm', 'users', [column], unique=False,
                            if_not_exists=True)
    op.create_index('ix_users_created_id', 'users', ['created_at', 'id'], unique=False,
                    if_not_exists=True)
    op.create_index('ix_users_tenant_created_id', 'users', ['tenant_id', 'created_at', 'id'],
                    unique=False, if_not_exists=True)
    op.create_index('ix_role_assignments_role_user', 'role_assignments',
                    ['role_id', 'user_id'], unique=False, if_not_exists=True)
    if postgres:
        op.execute('DROP INDEX IF EXISTS ix_audit_events_type_at')
        op.execute('CREATE INDEX ix_audit_events_type_at '
                   'ON audit_events (type varchar_pattern_ops, at)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_audit_events_type_at')
        op.execute('CREATE INDEX ix_audit_events_type_at ON audit_events (type, at)')
    op.drop_index('ix_role_assignments_role_user', table_name='role_assignments')
    op.drop_index('ix_users_tenant_created_id', table_name='users')
    op.drop_index('ix_users_created_id', table_name='users')
    for column in reversed(TRIGRAM_COLUMNS):
        op.drop_index(f'ix_users_{column}_trgm', table_name='users')
    # pg_trgm stays: other objects may use it, and it costs nothing unused.
