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
import uuid
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.bulk import ImportReport, import_rows, read_csv
from idp.audit import EventType, record
from idp.errors import NotFound, ValidationFailed
from idp.models.base import utcnow
from idp.models.imports import ImportJob
from idp.models.tenancy import Tenant
from idp.rbac.authorization import Caller
from idp.request_context import RequestContext

CHUNK = 500
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
            checkpoint: Callable[[], None], *, chunk: int = CHUNK) -> ImportJob:
    """Import the job's rows chunk by chunk, calling `checkpoint` (the adapter's commit)
    after each; `user.imported` is audited once at the end of a real import."""
    tenant = db.get(Tenant, job.tenant_id)
    rows = read_csv(job.csv_text)
    job.status = "running"
    checkpoint()
    for start in range(job.processed, len(rows), chunk):
        report = ImportReport(job.dry_run)
        part = rows[start:start + chunk]
        import_rows(db, _fresh(ctx), caller, tenant, part, report, first_row=start + 2)
        job.processed = start + len(part)
        job.counts = {a: job.counts.get(a, 0) + report.count(a) for a in ACTIONS}
        job.errors = [*job.errors, *({"row": r.row, "email": r.email, "message": r.message}
                                     for r in report.errors)]
        checkpoint()
    if not job.dry_run:
        record(db, _fresh(ctx), EventType.USER_IMPORTED, tenant_id=tenant.id,
               details={"dry_run": False, "job": str(job.id), **job.counts})
    job.status, job.finished_at = "done", utcnow()
    checkpoint()
    return job


def fail_job(job: ImportJob, message: str) -> None:
    """Mark the job failed (what was imported before stays; a rerun continues)."""
    job.status, job.message, job.finished_at = "failed", message[:500], utcnow()


def _fresh(ctx: RequestContext) -> RequestContext:
    return replace(ctx, now=utcnow(), repeat_gate=None)


def job_json(job: ImportJob) -> dict:
    """The job as the API shows it (without the CSV and the error rows)."""
    return {"id": str(job.id), "status": job.status, "dry_run": job.dry_run,
            "total": job.total, "processed": job.processed, "counts": dict(job.counts),
            "error_count": len(job.errors), "message": job.message,
            "created_by": job.created_by, "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def errors_csv(job: ImportJob) -> str:
    """The rows that were not imported, as CSV (row number, email, why)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ERROR_COLUMNS)
    writer.writeheader()
    for error in job.errors:
        writer.writerow({k: (f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in error.items()})
    return buffer.getvalue()
