"""Runs import jobs on a background thread of the serving process (the adapter side of
idp.accounts.import_jobs: it owns the app context, the session and the commits)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid

from flask import Flask, current_app
from sqlalchemy import text

from idp.accounts.import_jobs import CHUNK, LeaseLost, claim_job, fail_job, run_job
from idp.extensions import db
from idp.models.accounts import User
from idp.models.base import utcnow
from idp.models.imports import ImportJob
from idp.models.oauth import Client
from idp.rbac.access import client_access, user_access
from idp.rbac.authorization import Caller
from idp.request_context import RequestContext

log = logging.getLogger(__name__)
SQLITE_CHUNK = 200


class ImportRunner:
    """One daemon thread per job; `join` lets tests and shutdown wait for them."""

    def __init__(self) -> None:
        self._threads: dict[uuid.UUID, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, job_id: uuid.UUID, caller: Caller, ctx: RequestContext,
              lease: str | None = None) -> None:
        """Run the (committed) job in the background, as `caller`."""
        app = current_app._get_current_object()
        user_id = caller.user.id if caller.user is not None else None
        thread = threading.Thread(target=self._run,
                                  args=(app, job_id, caller, user_id, ctx, lease),
                                  name=f"idp-import-{job_id}", daemon=True)
        with self._lock:
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
            self._threads[job_id] = thread
        thread.start()

    def join(self, timeout: float | None = None) -> None:
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)

    def resume_if_stale(self, job: ImportJob, ctx: RequestContext) -> None:
        """Take over a job whose worker died (no heartbeat for LEASE_SECONDS) and resume it
        from its last committed row, as the person or client who started it; fail it with
        the reason when they can no longer import (a restart then runs it as the admin)."""
        lease = claim_job(db.session, job, utcnow())
        if lease is None:
            return
        caller = _creator(db.session, job)
        if caller is None:
            fail_job(job, "The import stopped (its worker died) and cannot resume as "
                          "the one who started it: restart it to continue.")
        db.session.commit()
        if caller is not None:
            log.warning("import job %s lost its worker; resuming at row %s", job.id,
                        job.processed + 2)
            self.start(job.id, caller, dataclasses.replace(ctx, actor_id=caller.actor_id),
                       lease)

    @staticmethod
    def _run(app: Flask, job_id, caller: Caller, user_id, ctx: RequestContext,
             lease: str | None) -> None:
        with app.app_context():
            session = db.session

            def checkpoint() -> None:
                session.commit()
                _begin_writing(session)

            try:
                _begin_writing(session)
                user = session.get(User, user_id) if user_id is not None else None
                job = session.get(ImportJob, job_id)
                run_job(session, ctx, dataclasses.replace(caller, user=user), job,
                        checkpoint, chunk=_chunk(session), lease=lease)
            except LeaseLost:  # another worker runs it now: leave the job to that one
                log.warning("import job %s was taken over; this worker stops", job_id)
                session.rollback()
            except Exception as exc:  # noqa: BLE001 - the job records why it stopped
                log.exception("import job %s failed", job_id)
                session.rollback()
                job = session.get(ImportJob, job_id)
                if job is not None:
                    fail_job(job, f"The import stopped: {exc.__class__.__name__}.")
                    session.commit()
            finally:
                db.session.remove()


def _creator(session, job: ImportJob) -> Caller | None:
    """The caller who started the job, with the rights they hold now; None when they are
    gone or disabled."""
    if job.created_by == "system":
        return Caller.operator()
    if job.created_by.startswith("client:"):
        client = session.get(Client, job.created_by.removeprefix("client:"))
        if client is None or client.revoked_at is not None:
            return None
        return Caller(client.tenant_id, client_access(session, list(client.roles or []),
                                                      client.tenant_id), client_id=client.id)
    user = session.get(User, uuid.UUID(job.created_by))
    if user is None or not user.is_active:
        return None
    return Caller(user.tenant_id, user_access(session, user), user=user)


def _begin_writing(session) -> None:
    """On SQLite, take the write lock when the transaction starts (waiting busy_timeout):
    a transaction that read first and writes later fails at once when a request wrote in
    between (SQLITE_BUSY_SNAPSHOT). PostgreSQL needs nothing."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))


def _chunk(session) -> int:
    """Rows per transaction: smaller on SQLite, where a chunk holds the one write lock and
    requests that write wait for it."""
    return SQLITE_CHUNK if session.get_bind().dialect.name == "sqlite" else CHUNK


def import_runner(app: Flask) -> ImportRunner:
    """The app's runner (created on first use)."""
    return app.extensions.setdefault("idp_import_runner", ImportRunner())
