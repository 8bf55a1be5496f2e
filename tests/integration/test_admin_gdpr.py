"""GDPR: erasure leaves no personal data anywhere; export holds everything about a person."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import JSON, String, Text, select

from tests.factories import PASSWORD
from tests.integration.admin_support import bearer, browser_login, make_person

EMAIL = "erin.example@example.com"
NAME = "Erin Quimby-Lawson"


@pytest.fixture
def client(app):
    """A client that keeps no request context, so admin and person clients can alternate."""
    return app.test_client()


def _populate(app, client):
    """A person with a profile, roles, a group, sessions, a consent, MFA, logins, failures."""
    uid = make_person(app, "erinq", name=NAME, phone_number="+44 20 7946 0958",
                      department="Legal", location="Leeds", manager="Mo")
    with app.app_context():
        from idp.accounts.consents import grant_consent
        from idp.extensions import db
        from idp.models.accounts import User
        from idp.models.mfa import TotpCredential
        from idp.request_context import system_context
        from tests.factories import make_client

        user = db.session.get(User, uuid.UUID(uid))
        user.email, user.email_normalized = EMAIL, EMAIL
        cid, _ = make_client(app, first_party=False)
        grant_consent(db.session, system_context(), user.id, user.tenant_id, cid,
                      ["openid", "email"])
        db.session.add(TotpCredential(user_id=user.id, secret_encrypted=b"\x00" * 40))
        db.session.commit()
    auth = bearer(client, app)
    group = client.post("/api/v1/groups", json={"name": "legal"}, headers=auth).get_json()
    client.post(f"/api/v1/groups/{group['id']}/members", json={"user_id": uid}, headers=auth)
    client.post(f"/api/v1/users/{uid}/roles", json={"role": "auditor"}, headers=auth)
    with app.test_client() as person:
        person.post("/login", data={"username": EMAIL, "password": "wrong"})  # CSRF-less: 400
        page = person.get("/login").get_data(as_text=True)
        from tests.factories import csrf_from

        person.post("/login", data={"username": EMAIL.upper(), "password": "wrong-password",
                                    "csrf_token": csrf_from(page)})
        browser_login(person, EMAIL, PASSWORD, second_factor=False)
    with app.test_client() as rp_browser:  # an OAuth authorization: token family + refresh
        from tests.factories import make_client
        from tests.oauth_flow import exchange, get_code

        rp, rp_secret = make_client(app)
        params, verifier = get_code(rp_browser, rp, username=EMAIL, scope="openid email")
        assert exchange(rp_browser, rp, rp_secret, params["code"], verifier).status_code == 200
    with app.app_context():  # an emailed token (password reset) and an invitation by address
        from idp.accounts.account_tokens import Purpose, issue_token
        from idp.extensions import db
        from idp.models.accounts import User
        from idp.request_context import system_context

        user = db.session.get(User, uuid.UUID(uid))
        issue_token(db.session, system_context(), Purpose.PASSWORD_RESET,
                    tenant_id=user.tenant_id, user_id=user.id, email=EMAIL, ttl=3600)
        issue_token(db.session, system_context(), Purpose.INVITE, tenant_id=user.tenant_id,
                    email=EMAIL.upper(), ttl=3600)
        db.session.commit()
    return uid, auth


def _text_hits(app, needles):
    """Every (table, column) whose text holds one of `needles` (case-insensitive)."""
    from idp.extensions import db
    from idp.models.base import Base

    hits = []
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in db.session.execute(select(*columns)).all():
                for column, value in zip(columns, row, strict=True):
                    text = str(value).casefold() if value is not None else ""
                    hits += [(table.name, column.name, n) for n in needles if n.casefold() in text]
    return hits


def test_erasure_leaves_no_personal_data_anywhere(app, client):
    uid, auth = _populate(app, client)
    assert _text_hits(app, [EMAIL, NAME])  # the search does find the person before erasure
    refused = client.post(f"/api/v1/users/{uid}/erase", json={}, headers=auth)
    assert refused.status_code == 422 and refused.get_json()["field"] == "confirm"
    erased = client.post(f"/api/v1/users/{uid}/erase", json={"confirm": uid}, headers=auth)
    assert erased.status_code == 200, erased.get_json()
    stub = erased.get_json()
    assert stub["username"] == f"deleted_user_{uid}" and stub["email"] is None
    assert stub["status"] == "erased" and stub["roles"] == [] and stub["groups"] == []
    assert all(stub[k] is None for k in ("name", "phone_number", "department", "location"))
    assert _text_hits(app, [EMAIL, NAME, "erinq", "+44 20 7946"]) == []
    with app.app_context():
        from idp.extensions import db
        from idp.models.accounts import PasswordCredential
        from idp.models.mfa import TotpCredential
        from idp.models.oauth import Consent
        from idp.models.sessions import UserSession

        person = uuid.UUID(uid)
        for model in (PasswordCredential, TotpCredential, Consent, UserSession):
            assert db.session.execute(select(model).where(model.user_id == person)).first() is None
    # The audit trail is kept (pseudonymised), the erasure is audited, the chain verifies.
    events = client.get(f"/api/v1/audit?user={uid}&limit=200", headers=auth).get_json()["items"]
    assert events[0]["type"] == "user.erased" and len(events) > 3
    logins = [e for e in events if e["type"] == "auth.login"]
    assert logins and all(e["username"].startswith("pseud:") for e in logins)
    assert all(e["ip"] is None or e["ip"].startswith("pseud:") for e in events[1:])
    with app.app_context():
        from idp.audit.verify import verify_chain
        from idp.extensions import db

        report = verify_chain(db.session)
        assert report.ok and report.pseudonymised >= len(events) - 1, report
    # The person can no longer sign in, and erasure is not repeatable.
    with app.test_client() as person:
        page = person.get("/login").get_data(as_text=True)
        from tests.factories import csrf_from

        r = person.post("/login", data={"username": EMAIL, "password": PASSWORD,
                                        "csrf_token": csrf_from(page)})
        assert r.status_code == 401
    again = client.post(f"/api/v1/users/{uid}/erase", json={"confirm": uid}, headers=auth)
    assert again.status_code == 409


def test_export_contains_everything_the_records_hold(app, client):
    uid, auth = _populate(app, client)
    response = client.get(f"/api/v1/users/{uid}/export", headers=auth)
    assert response.status_code == 200
    doc = response.get_json()
    profile = doc["profile"]
    assert profile["email"] == EMAIL and profile["name"] == NAME
    assert profile["department"] == "Legal" and profile["phone_number"].startswith("+44")
    assert doc["roles"] == ["auditor"] and doc["groups"][0]["name"] == "legal"
    assert [e["details"]["role"] for e in doc["role_history"] if e["type"] == "role.assigned"] \
        == ["auditor"]
    outcomes = {e["outcome"] for e in doc["login_history"] if e["type"] == "auth.login"}
    assert {"success", "invalid_password"} <= outcomes
    assert len(doc["sessions"]) == 2 and "token_hash" not in doc["sessions"][0]
    assert sorted(doc["consents"][0]["scopes"]) == ["email", "openid"]
    totp = doc["mfa_factors"]["totp_credentials"]
    assert len(totp) == 1 and not any("secret" in k for k in totp[0])
    assert doc["password"]["set"] is True and "hash" not in str(doc["password"])
    assert {e["type"] for e in doc["audit_events"]} >= {"user.created", "auth.login",
                                                        "role.assigned", "group.member.added"}
    # Every table holding rows about the person appears in the document.
    sections = {"role_assignments": "roles", "group_members": "groups",
                "user_sessions": "sessions", "consents": "consents",
                "password_credentials": "password", "password_history": "password"}
    with app.app_context():
        from idp.extensions import db
        from idp.models.base import Base

        for table in Base.metadata.sorted_tables:
            if "user_id" not in table.c:
                continue
            held = db.session.execute(select(table.c.user_id).where(
                table.c.user_id == uuid.UUID(uid))).all()
            if not held:
                continue
            where = (doc[sections[table.name]] if table.name in sections else
                     doc["mfa_factors"].get(table.name) or doc["other_records"].get(table.name))
            assert where, f"{table.name} holds rows about the person but the export has none"
    assert "token_grants" in doc["other_records"]  # the person's authorizations
    assert not any(k for rows in doc["other_records"].values() for r in rows for k in r
                   if "hash" in k or "secret" in k)
    events = client.get(f"/api/v1/audit?user={uid}&type=user.exported", headers=auth)
    assert events.get_json()["items"], "the export itself is audited"


def test_self_service_account_export(app, client):
    make_person(app, "selfie", name="Selma Fie")
    browser_login(client, "selfie")
    account = client.get("/account").get_data(as_text=True)
    assert 'href="/account/export" id="export-link"' in account and "Download your data" in account
    response = client.get("/account/export")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["profile"]["username"] == "selfie" and doc["profile"]["name"] == "Selma Fie"
    client.cookie_jar.clear() if hasattr(client, "cookie_jar") else None
