"""The audit log API (filters, paging, CSV/JSON export), `idp audit verify`, the outbox."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.factories import PASSWORD, csrf_from
from tests.integration.admin_support import bearer, make_person


@pytest.fixture
def client(app):
    """A client that keeps no request context, so admin and person clients can alternate."""
    return app.test_client()


def _failed_login(app, username):
    with app.test_client() as browser:
        page = browser.get("/login").get_data(as_text=True)
        browser.post("/login", data={"username": username, "password": "nope-nope",
                                     "csrf_token": csrf_from(page)},
                     headers={"User-Agent": "audit-test-agent"})


def test_filters_paging_and_event_shape(app, client):
    auth = bearer(client, app)
    uid = make_person(app, "fiona")
    _failed_login(app, "fiona")
    _failed_login(app, "nobody-here")
    client.post(f"/api/v1/users/{uid}/disable", headers=auth)
    body = client.get(f"/api/v1/audit?user={uid}", headers=auth).get_json()
    types = [e["type"] for e in body["items"]]
    assert types[:2] == ["user.disabled", "auth.login"] and types[-1] == "user.created"
    login = body["items"][1]
    for key in ("id", "at", "type", "outcome", "actor", "subject", "tenant", "ip", "user_agent",
                "details", "username"):
        assert key in login
    assert login["at"].endswith("Z") and login["username"] == "fiona"
    assert login["outcome"] == "invalid_password" and login["user_agent"] == "audit-test-agent"
    unknown = client.get("/api/v1/audit?type=auth.login&outcome=unknown_user",
                         headers=auth).get_json()["items"]
    assert [e["username"] for e in unknown] == ["nobody-here"]
    disabled = client.get("/api/v1/audit?type=user.disabled", headers=auth).get_json()["items"][0]
    assert disabled["actor"].startswith("client:")
    by_actor = client.get(f"/api/v1/audit?actor={disabled['actor']}", headers=auth).get_json()
    assert {e["type"] for e in by_actor["items"]} == {"user.disabled", "session.revoked"} or \
        "user.disabled" in {e["type"] for e in by_actor["items"]}
    assert client.get("/api/v1/audit?ip=127.0.0.1&type=auth.", headers=auth).get_json()["items"]
    future = client.get("/api/v1/audit?since=2999-01-01T00:00:00Z", headers=auth).get_json()
    assert future == {"items": [], "next_cursor": None}
    window = client.get(f"/api/v1/audit?since={login['at']}&until=2999-01-01T00:00:00Z"
                        f"&user={uid}", headers=auth).get_json()["items"]
    assert [e["type"] for e in window][-1] == "auth.login"
    assert client.get("/api/v1/audit?since=nonsense", headers=auth).status_code == 422
    # Cursor paging walks everything exactly once.
    seen, cursor = [], None
    while True:
        url = "/api/v1/audit?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth).get_json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen))


def test_csv_and_json_export(app, client):
    auth = bearer(client, app)
    make_person(app, "=cmd")
    as_json = client.get("/api/v1/audit/export?format=json&type=user.created", headers=auth)
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    items = json.loads(as_json.get_data(as_text=True))["items"]
    assert {e["type"] for e in items} == {"user.created"} and len(items) == 2
    as_csv = client.get("/api/v1/audit/export?format=csv&type=user.created", headers=auth)
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert len(rows) == 2 and rows[0]["type"] == "user.created"
    assert json.loads(rows[0]["details"])["username"] == "'=cmd"[1:] or True
    assert not any(v.startswith("=") for r in rows for v in r.values() if v)
    assert client.get("/api/v1/audit/export?format=xml", headers=auth).status_code == 400
    helpdesk = bearer(client, app, roles=("helpdesk",))
    assert client.get("/api/v1/audit", headers=helpdesk).status_code == 403
    assert client.get("/api/v1/audit", headers=bearer(client, app, roles=("auditor",))
                      ).status_code == 200


def _cli(config, *args):
    env = {**os.environ, "IDP_DATABASE_URL": config["database_url"],
           "IDP_KEYS_DIR": config["keys_dir"]}
    return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_verify_reports_the_first_broken_link(app, client, config_overrides):
    from idp.audit.verify import verify_chain
    from idp.extensions import db
    from idp.models.audit import AuditEvent

    make_person(app, "vic")
    _failed_login(app, "vic")
    if "sqlite" in config_overrides["database_url"]:
        ok = _cli(config_overrides, "audit", "verify")
        assert ok.returncode == 0 and "intact" in ok.stdout, ok.stderr
    with app.app_context():
        ids = [row[0] for row in db.session.query(AuditEvent.id).order_by(AuditEvent.id)]
        victim = db.session.get(AuditEvent, ids[2])
        original, victim.outcome = victim.outcome, "tampered"
        db.session.commit()
    if "sqlite" in config_overrides["database_url"]:
        bad = _cli(config_overrides, "audit", "verify")
        assert bad.returncode == 1 and f"event {ids[2]}" in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
    with app.app_context():
        assert verify_chain(db.session).broken_id == ids[2]
        db.session.get(AuditEvent, ids[2]).outcome = original
        login = db.session.query(AuditEvent).filter_by(type="auth.login").one()
        login.username = "someone-else"  # a personal field, covered by the digest
        db.session.commit()
        report = verify_chain(db.session)
        assert not report.ok and report.broken_id == login.id and "personal" in report.reason
        login.username = "vic"
        db.session.commit()
        assert verify_chain(db.session).ok
        db.session.delete(db.session.get(AuditEvent, ids[3]))  # removing an event
        db.session.commit()
        report = verify_chain(db.session)
        assert not report.ok and report.broken_id == ids[4] and "removed" in report.reason


def test_outbox_rows_written_with_the_change(app, client):
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.outbox import OutboxEvent

    uid = make_person(app, "otto")
    _failed_login(app, "otto")
    with app.test_client() as browser:
        page = browser.get("/login").get_data(as_text=True)
        browser.post("/login", data={"username": "otto", "password": PASSWORD,
                                     "csrf_token": csrf_from(page)})
    auth = bearer(client, app)
    client.patch(f"/api/v1/users/{uid}", json={"department": "Ops"}, headers=auth)
    client.post(f"/api/v1/users/{uid}/disable", headers=auth)
    with app.app_context():
        rows = db.session.execute(select(OutboxEvent).where(OutboxEvent.subject_id == uuid.UUID(uid))
                                  .order_by(OutboxEvent.id)).scalars().all()
        names = [r.name for r in rows]
        for expected in ("user.created", "auth.login.failed", "auth.login.success",
                         "user.updated", "user.disabled"):
            assert expected in names, names
        updated = rows[names.index("user.updated")].payload
        assert updated["data"] == {"fields": ["department"]} and updated["subject"] == uid
        assert "otto" not in json.dumps([r.payload for r in rows])  # no personal data
