"""CSV import as a background job through the admin API: 202 with a job, its progress and
counts, the rows not imported as CSV, a dry run committed without sending the file again."""

from __future__ import annotations

import csv
import io

import pytest

from idp.admin.import_runner import import_runner
from tests.integration.admin_support import bearer, make_person, make_tenant


@pytest.fixture
def client(app):
    return app.test_client()


def _finished(app, client, response, auth) -> dict:
    assert response.status_code == 202, response.get_json()
    import_runner(app).join(120)
    status = client.get(response.headers["Location"], headers=auth)
    assert status.status_code == 200
    return status.get_json()


def test_rows_in_every_chunk_are_imported_and_bad_rows_reported_apart(app, client):
    """1,050 rows span three chunks; bad rows in the first and last stay apart from the
    imported ones, a row above the importer's rank is refused and audited."""
    make_person(app, "lead", roles=("tenant_admin",))
    auth = bearer(client, app, roles=("tenant_admin",))
    lines = ["email,name,roles"] + [f"p{i}@example.com,Person {i}," for i in range(1050)]
    lines[5] = "not-an-address,Broken,"
    lines[1040] = "boss@example.com,Boss,superadmin"
    response = client.post("/api/v1/import-jobs", json={"csv": "\n".join(lines)},
                           headers=auth)
    assert response.get_json()["status"] in {"pending", "running", "done"}
    job = _finished(app, client, response, auth)
    assert job["status"] == "done" and job["processed"] == job["total"] == 1050
    assert job["counts"] == {"created": 1048, "updated": 0, "unchanged": 0, "error": 2}
    assert job["error_count"] == 2 and job["dry_run"] is False
    errors = client.get(f"/api/v1/import-jobs/{job['id']}/errors", headers=auth)
    assert errors.status_code == 200 and errors.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(errors.get_data(as_text=True))))
    assert [(r["row"], r["email"]) for r in rows] == [("6", "not-an-address"),
                                                      ("1041", "boss@example.com")]
    assert "rights you do not hold" in rows[1]["message"]
    root = bearer(client, app)
    found = client.get("/api/v1/users?q=p1049@example.com", headers=root).get_json()["items"]
    assert [u["name"] for u in found] == ["Person 1049"]
    assert client.get("/api/v1/users?q=boss@example.com", headers=root).get_json()[
        "items"] == []
    denied = client.get("/api/v1/audit?type=authz.denied", headers=root).get_json()["items"]
    assert len(denied) == 1
    imported = client.get("/api/v1/audit?type=user.imported", headers=root).get_json()["items"]
    assert [e["details"]["created"] for e in imported] == [1048]
    assert imported[0]["details"]["job"] == job["id"]


def test_dry_run_changes_nothing_and_is_committed_without_the_file(app, client):
    auth = bearer(client, app)
    text = "email,department\ndry1@example.com,Sales\ndry2@example.com,Ops\n"
    job = _finished(app, client, client.post("/api/v1/import-jobs", json={
        "csv": text, "dry_run": True}, headers=auth), auth)
    assert job["dry_run"] and job["counts"]["created"] == 2
    assert client.get("/api/v1/users?q=dry1", headers=auth).get_json()["items"] == []
    real = _finished(app, client, client.post(f"/api/v1/import-jobs/{job['id']}/commit",
                                              headers=auth), auth)
    assert real["id"] != job["id"] and not real["dry_run"] and real["counts"]["created"] == 2
    assert [u["department"] for u in client.get("/api/v1/users?q=dry1", headers=auth)
            .get_json()["items"]] == ["Sales"]
    # Only a finished dry run can be committed: a real import again would be a mistake.
    again = client.post(f"/api/v1/import-jobs/{real['id']}/commit", headers=auth)
    assert again.status_code == 422 and again.get_json()["error"] == "validation_failed"


@pytest.mark.parametrize(("payload", "field"), [
    ({"csv": "mail,name\nx@example.com,X\n"}, "file"),
    ({"csv": "email,shoe_size\nx@example.com,44\n"}, "file"),
    ({"csv": "email\n"}, None),
    ({"csv": "email\na\rb\n"}, "file"),
    ({"csv": ""}, "csv"),
    ({"csv": 5}, "csv"),
    ({"csv": "email\nx@example.com\n", "dry_run": "yes"}, "dry_run"),
])
def test_bad_input_is_a_422_and_starts_no_job(app, client, payload, field):
    auth = bearer(client, app)
    response = client.post("/api/v1/import-jobs", json=payload, headers=auth)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"] == "validation_failed"
    assert response.get_json().get("field") == field or field is None


def test_jobs_stay_in_their_tenant_and_need_users_write(app, client):
    make_tenant(app, "other")
    auth = bearer(client, app, roles=("tenant_admin",))
    job = _finished(app, client, client.post("/api/v1/import-jobs", json={
        "csv": "email\nmine@example.com\n"}, headers=auth), auth)
    stranger = bearer(client, app, roles=("tenant_admin",), tenant="other")
    for path in ("", "/errors"):
        assert client.get(f"/api/v1/import-jobs/{job['id']}{path}",
                          headers=stranger).status_code == 404
    assert client.get("/api/v1/import-jobs/not-a-uuid", headers=auth).status_code == 404
    reader = bearer(client, app, roles=("auditor",))
    assert client.get(f"/api/v1/import-jobs/{job['id']}", headers=reader).status_code == 403
