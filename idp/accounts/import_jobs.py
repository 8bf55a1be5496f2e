"""CSV imports as background jobs: the same row rule as `idp users import`, run in chunks.

The job row holds the CSV, so the run survives the browser closing and a finished dry run
can be committed without uploading the file again. Each chunk is imported (or, for a dry
run, checked and rolled back) and its progress saved in one transaction: a crash loses at
most the chunk in flight, and a rerun continues from `processed` (the import is idempotent
by email). Bad rows are collected as errors, apart from the counts of imported rows.
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from idp.accounts.bulk import ImportReport, read_csv
from idp.accounts.bulk_import import import_rows
from idp.audit import EventType, record
from idp.errors import NotFound, ValidationFailed
from idp.models.base import utcnow
from idp.models.imports import ImportJob
from idp.models.tenancy import Tenant
from idp.rbac.authorization import Caller
from idp.request_context import RequestContext

CHUNK = 1000
# Seconds without a heartbeat (one per committed chunk, about a second each) after which a
# pending or running job is presumed to have lost its worker and is taken over.
LEASE_SECONDS = 120
# About 100,000 rows of a typical export; the rest of the API keeps its 1 MB limit.
IMPORT_MAX_BYTES = 32 * 1024 * 1024
ACTIONS = ("created", "updated", "unchanged", "error")
ERROR_COLUMNS = ["row", "email", "message"]


def create_job(db: Session, caller: Caller, tenant: Tenant, csv_text: str, *,
               dry_run: bool) -> ImportJob:
    """A pending job for `csv_text` (its header is checked now: a bad header is a 422)."""
    rows = read_csv(csv_text)
    if not rows:
        raise ValidationFailed("The CSV has a header but no rows.")
    job = ImportJob(tenant_id=tenant.id, csv_text=csv_text, dry_run=dry_run, total=len(rows),
                    processed=0, counts=dict.fromkeys(ACTIONS, 0), errors=[],
                    status="pending", created_by=caller.actor_id)
    db.add(job)
    db.flush()
    return job


def commit_dry_run(db: Session, caller: Caller, job: ImportJob) -> ImportJob:
    """A real import of a finished dry run's CSV, as a new job."""
    if not job.dry_run or job.status != "done":
        raise ValidationFailed("Only a finished dry run can be committed.", field="job")
    tenant = db.get(Tenant, job.tenant_id)
    return create_job(db, caller, tenant, job.csv_text, dry_run=False)


def query_job(db: Session, caller: Caller, job_id: str) -> ImportJob:
    """The job, if it is in the caller's tenant; NotFound otherwise."""
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("No such import.") from None
    stmt = caller.scoped(select(ImportJob).where(ImportJob.id == key), ImportJob.tenant_id)
    job = db.execute(stmt).scalar_one_or_none()
    if job is None:
        raise NotFound("No such import.")
    return job


def run_job(db: Session, ctx: RequestContext, caller: Caller, job: ImportJob,
            checkpoint: Callable[[], None], *, chunk: int = CHUNK,
            lease: str | None = None) -> ImportJob:
    """Import the job's rows chunk by chunk from `processed`, calling `checkpoint` (the
    adapter's commit) after each; `user.imported` is audited once at the end of a real
    import. Holding `lease` (from claim_job), each chunk renews it in its own transaction:
    LeaseLost when another worker has taken the job over, with the chunk not committed."""
    tenant = db.get(Tenant, job.tenant_id)
    rows = read_csv(job.csv_text)
    lease = lease or _take_lease(db, job)
    job.status = "running"
    _renew_lease(db, job, lease)
    checkpoint()
    for start in range(job.processed, len(rows), chunk):
        report = ImportReport(job.dry_run)
        part = rows[start:start + chunk]
        import_rows(db, _fresh(ctx), caller, tenant, part, report, first_row=start + 2)
        job.processed = start + len(part)
        job.counts = {a: job.counts.get(a, 0) + report.count(a) for a in ACTIONS}
        job.errors = [*job.errors, *({"row": r.row, "email": r.email, "message": r.message}
                                     for r in report.errors)]
        _renew_lease(db, job, lease)
        checkpoint()
    if not job.dry_run:
        record(db, _fresh(ctx), EventType.USER_IMPORTED, tenant_id=tenant.id,
               details={"dry_run": False, "job": str(job.id), **job.counts})
    _renew_lease(db, job, lease)
    job.status, job.finished_at, job.lease = "done", utcnow(), None
    checkpoint()
    return job


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead): stop, commit nothing."""


def _take_lease(db: Session, job: ImportJob) -> str:
    job.lease, job.heartbeat_at = secrets.token_hex(16), utcnow()
    db.flush()
    return job.lease


def _renew_lease(db: Session, job: ImportJob, lease: str) -> None:
    """Renew the heartbeat if the lease is still ours, in the chunk's transaction: the
    UPDATE locks the row, so a takeover either waits for this commit or wins first."""
    db.flush()
    renewed = db.execute(update(ImportJob).where(
        ImportJob.id == job.id, ImportJob.lease == lease,
        ImportJob.takeovers == job.takeovers).values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if renewed != 1:
        raise LeaseLost(f"import job {job.id} was taken over by another worker")


def is_stale(job: ImportJob, now: datetime) -> bool:
    """True when the job should be running but its worker has not been heard of for
    LEASE_SECONDS (the process died or was killed)."""
    seen = job.heartbeat_at or job.created_at
    return job.status in {"pending", "running"} and seen < now - timedelta(seconds=LEASE_SECONDS)


def claim_job(db: Session, job: ImportJob, now: datetime) -> str | None:
    """Take a stale job over with one atomic UPDATE (two viewers never both resume it); the
    new lease, or None when it is not stale or someone else claimed it first."""
    if not is_stale(job, now):
        return None
    lease = secrets.token_hex(16)
    cutoff = now - timedelta(seconds=LEASE_SECONDS)
    claimed = db.execute(update(ImportJob).where(
        ImportJob.id == job.id, ImportJob.status.in_(("pending", "running")),
        ImportJob.takeovers == job.takeovers,
        func.coalesce(ImportJob.heartbeat_at, ImportJob.created_at) < cutoff).values(
        lease=lease, heartbeat_at=now, takeovers=ImportJob.takeovers + 1,
        message=f"Resumed at row {job.processed + 2} after its worker stopped "
                f"(last heard of at {(job.heartbeat_at or job.created_at):%Y-%m-%d %H:%M:%S} "
                "UTC).").execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return None
    db.refresh(job)
    return lease


def restart_job(db: Session, job: ImportJob) -> ImportJob:
    """A failed job is run again from its last committed row (what was imported stays)."""
    if job.status != "failed":
        raise ValidationFailed("Only a failed import can be restarted.", field="job")
    job.status, job.finished_at, job.message, job.lease = "pending", None, None, None
    job.heartbeat_at = utcnow()
    db.flush()
    return job


def fail_job(job: ImportJob, message: str) -> None:
    """Mark the job failed (what was imported before stays; a restart continues)."""
    job.status, job.message, job.finished_at = "failed", message[:500], utcnow()


def _fresh(ctx: RequestContext) -> RequestContext:
    return replace(ctx, now=utcnow(), repeat_gate=None)


def job_json(job: ImportJob) -> dict:
    """The job as the API shows it (without the CSV and the error rows)."""
    return {"id": str(job.id), "status": job.status, "dry_run": job.dry_run,
            "total": job.total, "processed": job.processed, "counts": dict(job.counts),
            "error_count": len(job.errors), "message": job.message,
            "created_by": job.created_by, "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
            "takeovers": job.takeovers or 0}


def errors_csv(job: ImportJob) -> str:
    """The rows that were not imported, as CSV (row number, email, why)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ERROR_COLUMNS)
    writer.writeheader()
    for error in job.errors:
        writer.writerow({k: (f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in error.items()})
    return buffer.getvalue()
