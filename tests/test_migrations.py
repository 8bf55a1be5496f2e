"""Migrations: an empty database upgraded to head matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect

from idp import create_app
from idp.app_setup import enable_migrations
from idp.models import Base


def test_upgrade_to_head_matches_models(tmp_path, empty_database_url):
    app = create_app({"database_url": empty_database_url, "keys_dir": str(tmp_path / "keys")})
    with app.app_context():
        upgrade(directory=enable_migrations(app).directory)
        from idp.extensions import db

        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = set(inspect(conn).get_table_names())
        db.session.remove()
        db.engine.dispose()
    assert diff == []
    assert "migrate" not in create_app({"database_url": empty_database_url,
                                        "keys_dir": str(tmp_path / "keys")}).extensions
    assert {"users", "clients", "signing_keys", "audit_events", "refresh_tokens"} <= tables


def test_sqlite_uses_wal_and_durable_commits(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/x.db")
    import idp.database  # noqa: F401 - installs the connect listener

    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_outbox_rows_written_before_event_ids_get_a_distinct_one(tmp_path, empty_database_url):
    from sqlalchemy import text

    app = create_app({"database_url": empty_database_url, "keys_dir": str(tmp_path / "keys")})
    with app.app_context():
        from idp.extensions import db

        directory = enable_migrations(app).directory
        upgrade(directory=directory, revision="0001")
        with db.engine.begin() as conn:
            for n in range(3):
                conn.execute(text("INSERT INTO outbox_events (name, at, payload) "
                                  "VALUES ('user.updated', '2026-01-01 00:00:00', :p)"),
                             {"p": f'{{"n": {n}}}'})
        upgrade(directory=directory)
        with db.engine.connect() as conn:
            event_ids = conn.execute(text("SELECT event_id FROM outbox_events")).scalars().all()
        db.session.remove()
        db.engine.dispose()
    assert len(event_ids) == 3 and None not in event_ids and len(set(event_ids)) == 3
