"""Engine settings per backend: SQLite durable WAL, PostgreSQL pooling and timeouts."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from pathlib import Path

import psycopg
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
            # A stalled database must not hang requests forever: the server cancels long
            # statements, the kernel gives up on a silent peer, and connecting is bounded.
            # A frozen server (SIGSTOP, paused VM) still ACKs at TCP level, so none of these
            # fire there: DeadlineConnection's client-side deadline covers that case.
            "connect_args": {"connect_timeout": CONNECT_TIMEOUT, "tcp_user_timeout": 10_000,
                             "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 2,
                             "keepalives_count": 3,
                             "options": f"-c statement_timeout={STATEMENT_TIMEOUT * 1000} "
                                        "-c lock_timeout=5000"},
        }
    return {"pool_pre_ping": True}


# Seconds. The client deadline sits just above statement_timeout so a live server always
# cancels first (a clean error, the connection kept); it only fires when the server is
# frozen. A request then fails after at most one deadline plus one connect attempt (the
# pool is invalidated by the first failure): 11 + 2 s, inside the 15 s promised.
STATEMENT_TIMEOUT = 10
CLIENT_DEADLINE = 11.0
CONNECT_TIMEOUT = 2  # libpq's minimum
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "db_deadline", default=CLIENT_DEADLINE)


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait (query, commit, ping) has a deadline."""

    def wait(self, gen, interval=0.1, timeout=None):
        if timeout is not None:  # psycopg's own bounded waits (cancel, notifies) as they are
            return super().wait(gen, interval, timeout)
        deadline = _deadline.get()
        try:
            return super().wait(gen, interval, deadline)
        except _WAIT_TIMEOUT as exc:
            # Half a conversation is lost: the connection can never be trusted again.
            # Closed, SQLAlchemy sees a disconnect and invalidates the whole pool.
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"no answer from the database within {deadline:g} s") from exc


# psycopg raises this (an OperationalError) when a wait passes its timeout.
_WAIT_TIMEOUT = getattr(psycopg.errors, "_WaitTimeout", psycopg.OperationalError)


@contextlib.contextmanager
def database_deadline(seconds: float | None):
    """Run the block with another client-side deadline for each database wait (None:
    none at all)."""
    token = _deadline.set(seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


class ConnectGate:
    """While connecting fails, one thread at a time tries again (at most once per connect
    timeout) and the others fail at once: requests queued behind a dead database answer
    503 in milliseconds instead of each waiting out connect_timeout; the first success
    reopens the gate."""

    def __init__(self):
        self._trial = threading.Lock()
        self._failing = False
        self._next_trial = 0.0

    def connect(self, cargs, cparams) -> DeadlineConnection:
        trial = self._failing
        # A pause of one connect timeout between trials: a request that already spent its
        # deadline cannot add two more connect attempts to it.
        if trial and (time.monotonic() < self._next_trial
                      or not self._trial.acquire(blocking=False)):
            raise psycopg.OperationalError("the database is not answering (it failed a "
                                           "moment ago; retrying shortly)")
        try:
            conn = DeadlineConnection.connect(*cargs, **cparams)
        except psycopg.OperationalError:
            self._failing = True
            self._next_trial = time.monotonic() + CONNECT_TIMEOUT
            raise
        finally:
            if trial:
                self._trial.release()
        self._failing = False
        return conn


def install_deadline(engine: Engine) -> None:
    """Make every psycopg connection of `engine` a DeadlineConnection, behind a ConnectGate."""
    if engine.dialect.driver != "psycopg":
        return
    gate = ConnectGate()

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        return gate.connect(cargs, cparams)


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
