"""An import job whose worker died (a row left "running", its heartbeat old) is taken over
when the job is looked at and resumed from its last committed row: the console and the API
show it finished with the right counts and nobody is created twice. The old worker, should
it wake up, commits nothing more; a failed job is restarted from where it stopped."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from idp.admin.import_runner import import_runner
from tests.integration.admin_support import bearer, browser_login, make_person

ROWS = 2500


@pytest.fixture
def client(app):
    return app.test_client()


class WorkerDied(Exception):
    pass


def _csv() -> str:
    return "\n".join(["email,name"] + [f"lease{i}@example.com,Lease {i}" for i in range(ROWS)])


def _half_run_job(app, creator_id: str) -> tuple[str, str]:
    """Start a job as the person `creator_id`, commit its first chunk, then 'die' (the row
    stays running) and age its heartbeat past the lease; returns (job id, its lease)."""
    from idp.accounts.import_jobs import LEASE_SECONDS, create_job, run_job
    from idp.extensions import db
    from idp.models.accounts import User
    from idp.models.imports import ImportJob
    from idp.rbac.access import user_access
    from idp.rbac.authorization import Caller
    from idp.request_context import system_context
    from idp.tenancy.tenants import query_tenant

    with app.app_context():
        user = db.session.get(User, uuid.UUID(creator_id))
        caller = Caller(user.tenant_id, user_access(db.session, user), user=user)
        job = create_job(db.session, caller, query_tenant(db.session, None), _csv(),
                         dry_run=False)
        db.session.commit()
        commits = []

        def checkpoint():
            db.session.commit()
            commits.append(1)
            if len(commits) == 2:  # the lease taken, then one chunk committed
                raise WorkerDied

        with pytest.raises(WorkerDied):
            run_job(db.session, system_context(), caller, job, checkpoint, chunk=1000)
        job_id, lease = job.id, job.lease
        db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            heartbeat_at=job.heartbeat_at - timedelta(seconds=LEASE_SECONDS + 60)))
        db.session.commit()
        state = db.session.get(ImportJob, job_id)
        assert (state.status, state.processed) == ("running", 1000)
        db.session.remove()
        return str(job_id), lease


def _people(app) -> tuple[int, int]:
    from idp.extensions import db
    from idp.models.accounts import User

    with app.app_context():
        rows = db.session.execute(select(func.count(), func.count(func.distinct(
            User.email_normalized))).where(User.email.like("lease%@example.com"))).one()
        return tuple(rows)


def test_a_dead_workers_job_is_resumed_and_shown_finished(app, client):
    make_person(app, "lead", roles=("tenant_admin",))
    job_id, _ = _half_run_job(app, _user_id(app, "lead"))
    assert _people(app) == (1000, 1000)

    auth = bearer(client, app)
    first = client.get(f"/api/v1/import-jobs/{job_id}", headers=auth).get_json()
    assert first["status"] == "running" and first["takeovers"] == 1
    assert first["message"].startswith("Resumed at row 1002 after its worker stopped")
    import_runner(app).join(300)
    job = client.get(f"/api/v1/import-jobs/{job_id}", headers=auth).get_json()
    assert (job["status"], job["processed"], job["total"]) == ("done", ROWS, ROWS)
    assert job["counts"] == {"created": ROWS, "updated": 0, "unchanged": 0, "error": 0}
    assert job["takeovers"] == 1  # a finished job is never taken over again
    assert _people(app) == (ROWS, ROWS)
    # Resumed as the one who started it: user.imported names them and the job, once.
    root = bearer(client, app)
    imported = client.get("/api/v1/audit?type=user.imported", headers=root).get_json()["items"]
    assert [(e["actor"], e["details"]["job"], e["details"]["created"]) for e in imported] == [
        (_user_id(app, "lead"), job_id, ROWS)]

    make_person(app, "viewer", roles=("tenant_admin",))
    browser = app.test_client()
    browser_login(browser, "viewer")
    page = browser.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert 'id="import-state">finished<' in page
    assert f"{ROWS} created, 0 updated, 0 unchanged" in page
    assert "Resumed at row 1002 after its worker stopped" in page


def test_the_old_worker_commits_nothing_after_a_takeover(app):
    from idp.accounts.import_jobs import LeaseLost, _renew_lease, claim_job
    from idp.extensions import db
    from idp.models.base import utcnow
    from idp.models.imports import ImportJob

    make_person(app, "lead", roles=("tenant_admin",))
    job_id, old_lease = _half_run_job(app, _user_id(app, "lead"))
    with app.app_context():
        job = db.session.get(ImportJob, uuid.UUID(job_id))
        stale_view = (job.takeovers, old_lease)
        new_lease = claim_job(db.session, job, utcnow())
        assert new_lease and new_lease != old_lease
        assert claim_job(db.session, job, utcnow()) is None  # claimed: not stale any more
        db.session.commit()
        job.takeovers = stale_view[0]  # what the old worker still believes
        db.session.expire(job, ["lease"])
        with pytest.raises(LeaseLost):
            _renew_lease(db.session, job, old_lease)
        db.session.rollback()


def test_a_failed_job_restarts_from_its_last_committed_row(app, client):
    from idp.accounts.import_jobs import fail_job
    from idp.extensions import db
    from idp.models.imports import ImportJob

    make_person(app, "lead", roles=("tenant_admin",))
    job_id, _ = _half_run_job(app, _user_id(app, "lead"))
    with app.app_context():
        fail_job(db.session.get(ImportJob, uuid.UUID(job_id)),
                 "The import stopped: OperationalError.")
        db.session.commit()
    auth = bearer(client, app)
    assert client.get(f"/api/v1/import-jobs/{job_id}", headers=auth).get_json()[
        "status"] == "failed"  # failed is final: looking at it resumes nothing
    again = client.post(f"/api/v1/import-jobs/{job_id}/restart", headers=auth)
    assert again.status_code == 202, again.get_json()
    import_runner(app).join(300)
    job = client.get(f"/api/v1/import-jobs/{job_id}", headers=auth).get_json()
    assert (job["status"], job["processed"], job["counts"]["created"]) == ("done", ROWS, ROWS)
    assert _people(app) == (ROWS, ROWS)
    done = client.post(f"/api/v1/import-jobs/{job_id}/restart", headers=auth)
    assert done.status_code == 422 and done.get_json()["error"] == "validation_failed"


def _user_id(app, username: str) -> str:
    from idp.accounts.users import query_user
    from idp.extensions import db

    with app.app_context():
        return str(query_user(db.session, username).id)
