"""Schema upkeep: one migrator at a time, and what state a database is in.

Two `idp db upgrade` runs (or two instances starting) on one empty PostgreSQL database
used to race: both created the same tables and one failed with an IntegrityError. The
migrator now holds a session-level advisory lock, so the second waits and then finds
the schema at head.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from idp.errors import Conflict

# Any fixed 64-bit number shared by every idp process ("idp-migr" in ASCII).
MIGRATION_LOCK_KEY = 0x6964702D6D696772
MIGRATION_LOCK_WAIT = "600s"  # longer than any migration; then a clear error, not a hang


@contextmanager
def migration_lock(engine: Engine, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the migration advisory lock (PostgreSQL; SQLite serialises writers itself)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        key = {"key": MIGRATION_LOCK_KEY}
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
            if on_wait is not None:
                on_wait()
            # The pool's 5 s lock_timeout suits requests, not waiting for a migration.
            conn.execute(text(f"SET lock_timeout = '{MIGRATION_LOCK_WAIT}'"))
            conn.execute(text("SET statement_timeout = 0"))
            try:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
            except DBAPIError as exc:
                raise Conflict(f"another migration held the lock for more than "
                               f"{MIGRATION_LOCK_WAIT}; is an 'idp db upgrade' stuck?") from exc
            conn.execute(text("RESET lock_timeout"))
            conn.execute(text("RESET statement_timeout"))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)


_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def head_revision() -> str:
    """The newest Alembic revision shipped with this version, read from the revision
    files' `revision` / `down_revision` lines without importing Alembic (start-up and a
    serving process's memory, issue 20; tests/unit/test_schema_head.py checks it against
    Alembic's own answer)."""
    from idp.app_setup import MIGRATIONS_DIR

    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text()):
            found = re.findall(r"['\"]([^'\"]+)['\"]", value)
            (revisions if name == "revision" else parents).update(found)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def database_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None: not migrated or unreadable)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None


def describe_database_problem(engine: Engine) -> str | None:
    """Why the database cannot serve: unreachable, not migrated, outdated; None if fine."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else exc.__class__.__name__
        return f"database unreachable at {where}: {reason}"
    with conn:
        try:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            version = None
    if version is None:
        return f"database at {where} is not migrated (no idp schema); run 'idp db upgrade'"
    head = head_revision()
    if version != head:
        return (f"database at {where} is at schema revision {version}, this version needs "
                f"{head}; run 'idp db upgrade'")
    return None
