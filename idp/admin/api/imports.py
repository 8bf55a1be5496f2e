"""/api/v1/import-jobs: a CSV import (or dry run) as a background job, its status and errors.

POST answers 202 with the job and `Location`; GET the job until `status` is `done` (or
`failed`); the rows that were not imported come as CSV from `/errors`. A finished dry run is
committed with POST `/commit`, without sending the CSV again. A job whose worker died is
taken over when it is looked at (GET), and resumed from its last committed row; a failed
one is run again from there with POST `/restart`.
"""

from __future__ import annotations

from flask import Response, current_app, request, url_for

from idp.accounts.import_jobs import (
    IMPORT_MAX_BYTES,
    commit_dry_run,
    create_job,
    errors_csv,
    job_json,
    query_job,
    restart_job,
)
from idp.admin.api import body, bp
from idp.admin.import_runner import import_runner
from idp.admin.permissions import admin_context, require, resolve_caller
from idp.errors import ValidationFailed
from idp.extensions import db
from idp.tenancy.tenants import query_tenant


def _started(job) -> tuple[dict, int, dict]:
    db.session.commit()
    import_runner(current_app).start(job.id, resolve_caller(), admin_context())
    location = url_for("admin_api.show_import_job", job_id=str(job.id))
    return job_json(job), 202, {"Location": location}


@bp.post("/import-jobs")
@require("users:write")
def create_import_job():
    request.max_content_length = IMPORT_MAX_BYTES
    data = body()
    text, dry_run = data.get("csv"), data.get("dry_run", False)
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("csv must be the CSV text (a header line, then rows).",
                               field="csv")
    if not isinstance(dry_run, bool):
        raise ValidationFailed("dry_run must be true or false.", field="dry_run")
    caller = resolve_caller()
    tenant = query_tenant(db.session, str(caller.tenant_id))
    return _started(create_job(db.session, caller, tenant, text, dry_run=dry_run))


@bp.get("/import-jobs/<job_id>")
@require("users:write")
def show_import_job(job_id: str):
    job = query_job(db.session, resolve_caller(), job_id)
    import_runner(current_app).resume_if_stale(job, admin_context())
    return job_json(job)


@bp.get("/import-jobs/<job_id>/errors")
@require("users:write")
def import_job_errors(job_id: str):
    job = query_job(db.session, resolve_caller(), job_id)
    return Response(errors_csv(job), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'})


@bp.post("/import-jobs/<job_id>/commit")
@require("users:write")
def commit_import_job(job_id: str):
    caller = resolve_caller()
    return _started(commit_dry_run(db.session, caller, query_job(db.session, caller, job_id)))


@bp.post("/import-jobs/<job_id>/restart")
@require("users:write")
def restart_import_job(job_id: str):
    return _started(restart_job(db.session, query_job(db.session, resolve_caller(), job_id)))
