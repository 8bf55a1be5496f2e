"""A CSV import in batches: 2,000 rows through the job (as the console and API run it) keep
the row rules, the errors per row, the audit per person and the chain; a person imported
with a bcrypt hash signs in with their password and then holds an Argon2id hash."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from idp.admin.import_runner import import_runner
from tests.factories import csrf_from
from tests.integration.admin_support import bearer, make_person

PASSWORD = "Imported-Pass-1!"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def bcrypt_hash() -> str:
    import bcrypt

    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


def _run(app, client, auth, text: str) -> dict:
    response = client.post("/api/v1/import-jobs", json={"csv": text}, headers=auth)
    assert response.status_code == 202, response.get_json()
    import_runner(app).join(300)
    job = client.get(response.headers["Location"], headers=auth).get_json()
    assert job["status"] == "done", job
    return job


def _count(app, model, *where) -> int:
    from idp.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)
                                  ).scalar_one()


def test_two_thousand_rows_keep_the_rules_errors_and_audit(app, client, bcrypt_hash):
    from idp.models.accounts import PasswordCredential, User
    from idp.models.audit import AuditEvent
    from idp.models.outbox import OutboxEvent

    make_person(app, "known", department="Old")
    auth = bearer(client, app)
    lines = ["email,username,password_hash,roles,name,department"]
    lines += [f"p{i}@example.com,p{i},{bcrypt_hash if i % 2 else ''},"
              f"{'auditor' if i % 3 == 0 else ''},Person {i},D{i % 7}" for i in range(2000)]
    lines[11] = "not-an-address,bad,,,Bad,"                            # invalid email
    lines[1200] = "dup@example.com,p1,,,Dup,"                          # username of row 3
    lines[1500] = "known@example.com,ignored,,,Known,New"              # an existing person
    lines[1700] = "p5@example.com,p5again,,,Again,Moved"               # row 7, again
    lines[1800] = "weird@example.com,weird,$1$md5,,Weird,"             # unsupported hash
    lines[1900] = "nobody@example.com,nobody,,no-such-role,Nobody,"    # unknown role
    job = _run(app, client, auth, "\n".join(lines))

    assert job["processed"] == job["total"] == 2000
    assert job["counts"] == {"created": 1994, "updated": 2, "unchanged": 0, "error": 4}
    errors = client.get(f"/api/v1/import-jobs/{job['id']}/errors", headers=auth)
    assert errors.get_data(as_text=True).splitlines()[1:] == [
        "12,not-an-address,Invalid email address: An email address must have an @-sign.",
        "1201,dup@example.com,That username or email is already taken.",
        "1801,weird@example.com,password_hash is not an Argon2 or bcrypt hash.",
        "1901,nobody@example.com,No role 'no-such-role'.",
    ]
    people = _count(app, User, User.email.like("%@example.com"))
    assert people == 1994 + 1  # the imported ones and "known"
    replaced = {10, 1199, 1499, 1699, 1799, 1899}  # lines[i + 1] above
    with_hash = sum(1 for i in range(2000) if i % 2 and i not in replaced)
    assert _count(app, PasswordCredential, PasswordCredential.hash.like("$2b$%")) == with_hash
    root = bearer(client, app)
    moved = client.get("/api/v1/users?q=p5@example.com", headers=root).get_json()["items"]
    assert [(u["username"], u["department"]) for u in moved] == [("p5", "Moved")]
    known = client.get("/api/v1/users?q=known@example.com", headers=root).get_json()["items"]
    assert [u["department"] for u in known] == ["New"]

    # One user.created per new person and one role.assigned per role given, each with its
    # outbox row (webhooks and streams see them as before); user.imported names the job.
    others = 2  # "known" and the bootstrap admin
    assert _count(app, AuditEvent, AuditEvent.type == "user.created") == 1994 + others
    auditors = sum(1 for i in range(2000) if i % 3 == 0 and i not in replaced)
    imported_people = select(User.id).where(User.email.like("p%@example.com"))
    assert _count(app, AuditEvent, AuditEvent.type == "role.assigned",
                  AuditEvent.subject_id.in_(imported_people)) == auditors
    assert _count(app, OutboxEvent, OutboxEvent.name == "user.created") == 1994 + others
    imported = client.get("/api/v1/audit?type=user.imported", headers=root).get_json()["items"]
    assert [(e["details"]["job"], e["details"]["created"]) for e in imported] == [
        (job["id"], 1994)]
    with app.app_context():
        from idp.audit.verify import verify_chain
        from idp.extensions import db

        report = verify_chain(db.session)
    assert report.ok, report


def test_a_bcrypt_hash_signs_in_once_and_becomes_argon2id(app, client, bcrypt_hash):
    from idp.extensions import db
    from idp.models.accounts import User

    auth = bearer(client, app)
    _run(app, client, auth, f"email,username,password_hash\nann@example.com,ann,{bcrypt_hash}\n")
    with app.test_client() as browser:
        page = browser.get("/login").get_data(as_text=True)
        wrong = browser.post("/login", data={"username": "ann", "password": "Other-Pass-2!",
                                             "csrf_token": csrf_from(page)})
        assert wrong.status_code == 401
        with app.app_context():
            ann = db.session.execute(select(User).where(User.username == "ann")).scalar_one()
            assert ann.credential.hash == bcrypt_hash  # stored as it came
        page = browser.get("/login").get_data(as_text=True)
        signed_in = browser.post("/login", data={"username": "ann", "password": PASSWORD,
                                                 "csrf_token": csrf_from(page)})
        assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[-400:]
    with app.app_context():
        ann = db.session.execute(select(User).where(User.username == "ann")).scalar_one()
        assert ann.credential.hash.startswith("$argon2id$")
