"""Revision 0003_username_skeleton fills the look-alike skeleton of existing users."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from idp import create_app
from idp.app_setup import enable_migrations


def _filler(column):
    """A value for a NOT NULL column of the old schema (only its type matters here)."""
    kind = column.type
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, sa.DateTime):
        return datetime.now(UTC)
    if isinstance(kind, sa.Uuid):
        return uuid.uuid4()
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def _insert(conn, table, **values):
    row = {c.name: _filler(c) for c in table.columns
           if not c.nullable and c.name != "username_skeleton"}
    conn.execute(table.insert().values(**{**row, **values}))


def test_upgrade_backfills_skeletons_of_existing_users(tmp_path, empty_database_url):
    app = create_app({"database_url": empty_database_url, "keys_dir": str(tmp_path / "keys")})
    with app.app_context():
        from idp.extensions import db
        from idp.models import Base

        directory = enable_migrations(app).directory
        upgrade(directory=directory, revision="0002_outbox_event_id")
        # The models' tables give the types; username_skeleton is not written (not there yet).
        tenants, users = Base.metadata.tables["tenants"], Base.metadata.tables["users"]
        tenant = uuid.uuid4()
        with db.engine.begin() as conn:
            _insert(conn, tenants, id=tenant, slug="legacy")
            for name in ("bigbird", "bіgbird"):  # the second is Cyrillic: made before the rule
                _insert(conn, users, id=uuid.uuid4(), tenant_id=tenant, username=name,
                        username_normalized=name, email=None, email_normalized=None)
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            skeletons = conn.execute(sa.text("SELECT username_skeleton FROM users")).scalars()
            assert list(skeletons) == ["bigbird", "bigbird"]  # both kept, now recognisable
        db.session.remove()
        db.engine.dispose()
