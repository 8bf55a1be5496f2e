"""Engine settings per backend: SQLite durable WAL, PostgreSQL pooling and timeouts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session


def engine_options(url: str) -> dict:
    """SQLAlchemy engine options suited to the backend in `url`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if parsed.get_backend_name() == "postgresql":
        return {
            "pool_size": 10, "max_overflow": 10, "pool_pre_ping": True, "pool_recycle": 1800,
            "pool_timeout": 5,
            # A stalled database must not hang requests forever.
            "connect_args": {"connect_timeout": 5,
                             "options": "-c statement_timeout=10000 -c lock_timeout=5000"},
        }
    return {"pool_pre_ping": True}


def prepare_sqlite_path(url: str, root: Path) -> str:
    """Make a relative SQLite path absolute under `root` and create its folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return url
    path = Path(parsed.database)
    if not path.is_absolute():
        path = root / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(parsed.set(database=str(path)))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # WAL lets readers run beside the writer; synchronous=FULL makes commits durable.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Session, "after_flush")
def _note_flush(session, flush_context):
    session.info["wrote"] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_write(state):
    if state.is_update or state.is_delete or state.is_insert:
        state.session.info["wrote"] = True


def commit_if_written(session) -> None:
    """Commit when this request wrote anything; a read-only request skips the round trip."""
    if session.info.pop("wrote", False) or session.new or session.dirty or session.deleted:
        session.commit()
