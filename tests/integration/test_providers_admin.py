"""Managing upstream providers: the admin API (/api/v1/providers), the CLI (as a real
process), the login page's "Sign in with N" buttons, and the secret encrypted at rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.federation import IdentityProvider
from tests.integration.admin_support import bearer, make_tenant
from tests.saml_idp import SamlIdp

ISSUER = "https://login.corp.example"
VALID = {"name": "Corp SSO", "issuer": ISSUER, "client_id": "our-idp",
         "client_secret": "upstream-secret-value", "domains": ["corp.example"]}


def _types(app):
    with app.app_context():
        return [e.type for e in db.session.execute(select(AuditEvent)).scalars()]


def test_create_list_show_delete_over_the_admin_api(app, client):
    headers = bearer(client, app)
    created = client.post("/api/v1/providers", json=VALID, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["slug"] == "corp-sso" and body["has_client_secret"] is True
    assert body["redirect_uri"] == "http://localhost/login/external/corp-sso/callback"
    assert body["scopes"] == ["openid", "email", "profile"]
    assert "upstream-secret-value" not in created.get_data(as_text=True)
    with app.app_context():
        row = db.session.execute(select(IdentityProvider)).scalar_one()
        assert b"upstream-secret-value" not in row.client_secret_enc  # AES-GCM at rest
    listed = client.get("/api/v1/providers", headers=headers).get_json()
    assert [p["slug"] for p in listed["items"]] == ["corp-sso"]
    assert client.get(f"/api/v1/providers/{body['id']}", headers=headers).status_code == 200
    assert client.delete("/api/v1/providers/corp-sso", headers=headers).status_code == 204
    assert client.get("/api/v1/providers/corp-sso", headers=headers).status_code == 404
    assert {"provider.created", "provider.deleted"} <= set(_types(app))


@pytest.mark.parametrize(("change", "status", "text"), [
    ({"client_id": None}, 422, "client_id"),
    ({"issuer": "ftp://corp.example"}, 422, "issuer"),
    ({"issuer": "http://127.0.0.1:9"}, 422, "IDP_OUTBOUND_ALLOW"),
    ({"type": "saml"}, 422, "metadata"),
    ({"type": "ldap"}, 422, "type must be one of"),
    ({"scopes": ["email"]}, 422, "openid"),
    ({"domains": ["not a domain"]}, 422, "domains"),
    ({"domains": "corp.example"}, 400, "list"),
    ({"roles": ["no-such-role"]}, 422, "role"),
    ({"name": ""}, 422, "name"),
])
def test_bad_input_is_a_clear_4xx(app, client, change, status, text):
    response = client.post("/api/v1/providers", json={**VALID, **change},
                           headers=bearer(client, app))
    assert response.status_code == status, response.get_json()
    assert text in response.get_json()["message"]


def test_permissions_and_tenants(app, client):
    assert client.get("/api/v1/providers").status_code == 401
    member = bearer(client, app, roles=("auditor",))
    assert client.post("/api/v1/providers", json=VALID, headers=member).status_code == 403
    client.post("/api/v1/providers", json=VALID, headers=bearer(client, app))
    make_tenant(app, "other")
    other_admin = bearer(client, app, roles=("tenant_admin",), tenant="other")
    assert client.get("/api/v1/providers", headers=other_admin).get_json()["items"] == []
    assert client.get("/api/v1/providers/corp-sso", headers=other_admin).status_code == 404
    assert client.delete("/api/v1/providers/corp-sso", headers=other_admin).status_code == 404


def test_login_page_shows_a_button_per_provider(app, client):
    assert "data-provider" not in client.get("/login").get_data(as_text=True)
    client.post("/api/v1/providers", json=VALID, headers=bearer(client, app))
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/login/external/corp-sso"' in html and "Sign in with Corp SSO" in html
    assert client.get("/login/external/nope").status_code == 404
    stale = client.get("/login/external/corp-sso/callback?code=x&state=y")
    assert stale.status_code == 400  # no flow started here: refused, never a 500


def test_cli_create_list_delete(tmp_path):
    env = {**os.environ, "IDP_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
           "IDP_KEYS_DIR": str(tmp_path / "keys"), "IDP_ISSUER": "https://id.example.com"}

    def idp(*args, stdin=None):
        return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)

    assert idp("db", "upgrade").returncode == 0
    made = idp("providers", "create", "--name", "Google", "--client-id", "g-client",
               "--client-secret-stdin", "--domain", "corp.example", "--json",
               stdin="g-secret\n")
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    assert out["slug"] == "google"
    assert out["redirect_uri"] == "https://id.example.com/login/external/google/callback"
    listed = json.loads(idp("providers", "list", "--json").stdout)
    assert listed[0]["issuer"] == "https://accounts.google.com"  # the Google preset
    assert "g-secret" not in idp("providers", "list", "--json").stdout
    saml = idp("providers", "create", "--name", "S", "--type", "saml", "--metadata-url",
               "https://idp.invalid/md")
    assert saml.returncode != 0
    assert saml.stderr.splitlines()[-1] == \
        "error: the metadata URL could not be read (see IDP_OUTBOUND_ALLOW)."
    idp_metadata = tmp_path / "idp.xml"
    idp_metadata.write_text(SamlIdp(tmp_path).metadata)
    made_saml = idp("providers", "create", "--name", "Corp SAML", "--type", "saml",
                    "--metadata-file", str(idp_metadata), "--json")
    assert made_saml.returncode == 0, made_saml.stderr
    assert json.loads(made_saml.stdout)["metadata_url"] == \
        "https://id.example.com/login/external/corp-saml/metadata"
    assert idp("providers", "delete", "corp-saml").returncode == 0
    assert idp("providers", "delete", out["id"]).returncode == 0
    assert json.loads(idp("providers", "list", "--json").stdout) == []
    missing = idp("providers", "delete", "nope")
    assert missing.returncode != 0 and "No such provider" in missing.stderr


def test_admins_see_a_persons_linked_sign_ins(app, client):
    from idp.federation.identities import link_identity
    from idp.models.accounts import User
    from idp.request_context import system_context
    from tests.factories import make_user

    headers = bearer(client, app)
    client.post("/api/v1/providers", json=VALID, headers=headers)
    user_id = make_user(app)
    empty = client.get(f"/api/v1/users/{user_id}/identities", headers=headers)
    assert empty.status_code == 200 and empty.get_json()["items"] == []
    with app.app_context():
        provider = db.session.execute(select(IdentityProvider)).scalar_one()
        user = db.session.execute(select(User).where(User.username == "alice")).scalar_one()
        link_identity(db.session, system_context(), provider, user,
                      {"sub": "upstream-42", "email": "alice@corp.example"})
        db.session.commit()
    items = client.get(f"/api/v1/users/{user_id}/identities", headers=headers).get_json()["items"]
    assert [(i["provider"], i["subject"], i["email"]) for i in items] == [
        ("corp-sso", "upstream-42", "alice@corp.example")]
    assert client.get("/api/v1/users/nope/identities", headers=headers).status_code == 404


def test_a_provider_of_another_tenant_opens_no_sign_in_here(app, client):
    make_tenant(app, "other")
    client.post("/api/v1/providers", json={**VALID, "tenant": "other"},
                headers=bearer(client, app))
    assert "data-provider" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/external/corp-sso").status_code == 404
    assert client.get("/login/external/corp-sso/callback?state=x&code=y").status_code == 404


def test_a_tenant_that_requires_sso_refuses_passwords_but_not_its_admins(app, client):
    from tests.factories import PASSWORD, csrf_from
    from tests.integration.admin_support import make_person

    headers = bearer(client, app)
    tenant_id = client.get("/api/v1/tenants", headers=headers).get_json()["items"][0]["id"]
    bad = client.patch(f"/api/v1/tenants/{tenant_id}", json={"settings": {"require_sso": "yes"}},
                       headers=headers)
    assert bad.status_code == 422
    assert client.patch(f"/api/v1/tenants/{tenant_id}", json={"settings": {"require_sso": True}},
                        headers=headers).status_code == 200
    make_person(app, "erin")
    make_person(app, "root2", roles=("tenant_admin",))
    browser = app.test_client()

    def password_login(username):
        token = csrf_from(browser.get("/login").get_data(as_text=True))
        return browser.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": token})

    refused = password_login("erin")
    assert refused.status_code == 403 and b"signs in through its own provider" in refused.data
    assert "idp_session=" not in " ".join(refused.headers.getlist("Set-Cookie"))
    assert "sso_required" in [e for e in _outcomes(app)]
    admin = password_login("root2")  # break-glass: on to the (enforced) second factor
    assert admin.status_code == 302 and admin.headers["Location"].startswith("/login/mfa")


def _outcomes(app):
    with app.app_context():
        return [e.outcome for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.type == "auth.login")).scalars()]


def test_console_adds_lists_and_deletes_a_provider(app):
    from tests.factories import csrf_from
    from tests.integration.admin_support import browser_login, make_person

    browser = app.test_client()
    make_person(app, "root", roles=["superadmin"])
    browser_login(browser, "root")
    page = browser.get("/admin/providers")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "No providers." in html
    made = browser.post("/admin/providers", data={
        "csrf_token": csrf_from(html), "name": "Corp SSO", "type": "oidc", "issuer": ISSUER,
        "client_id": "our-idp", "client_secret": "console-secret", "domains": "corp.example",
        "link_by_verified_email": "on"})
    assert made.status_code == 302
    listed = browser.get("/admin/providers").get_data(as_text=True)
    assert "http://localhost/login/external/corp-sso/callback" in listed
    assert "console-secret" not in listed and "corp.example" in listed
    shown = browser.get("/api/v1/providers/corp-sso").get_json()
    assert shown["link_by_verified_email"] is True and shown["has_client_secret"] is True
    bad = browser.post("/admin/providers", data={"csrf_token": csrf_from(listed), "name": "X",
                                                 "issuer": ISSUER})
    assert bad.status_code == 422 and "client_id" in bad.get_data(as_text=True)
    assert 'action="/admin/providers/corp-sso/edit"' in listed
    edited = browser.post("/admin/providers/corp-sso/edit", data={
        "csrf_token": csrf_from(listed), "name": "Corp", "issuer": ISSUER,
        "client_id": "our-idp", "scopes": "openid email", "domains": "corp.example corp.test",
        "end_session": "on"})
    assert edited.status_code == 302, edited.get_data(as_text=True)[:300]
    shown = browser.get("/api/v1/providers/corp-sso").get_json()
    assert shown["name"] == "Corp" and shown["domains"] == ["corp.example", "corp.test"]
    assert shown["end_session"] is True and shown["has_client_secret"] is True  # kept
    assert shown["link_by_verified_email"] is False  # the box was left unticked
    listed = browser.get("/admin/providers").get_data(as_text=True)
    assert 'value="corp.example corp.test"' in listed
    gone = browser.post("/admin/providers/corp-sso/delete",
                        data={"csrf_token": csrf_from(listed)})
    assert gone.status_code == 302
    assert "No providers." in browser.get("/admin/providers").get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?code=x", "?state=&code=x", "?error=access_denied"])
def test_a_callback_without_a_sign_in_in_progress_is_refused(app, client, query):
    client.post("/api/v1/providers", json=VALID, headers=bearer(client, app))
    refused = client.get(f"/login/external/corp-sso/callback{query}")
    assert refused.status_code == 400 and b"Sign-in failed" in refused.data


def test_edit_over_the_admin_api(app, client):
    headers = bearer(client, app)
    client.post("/api/v1/providers", json=VALID, headers=headers)
    edited = client.patch("/api/v1/providers/corp-sso", headers=headers, json={
        "domains": ["corp.example", "corp.test"], "client_secret": "rotated-secret",
        "end_session": True})
    assert edited.status_code == 200, edited.get_json()
    body = edited.get_json()
    assert body["domains"] == ["corp.example", "corp.test"] and body["end_session"] is True
    assert body["changed"] == ["domains", "end_session", "client_secret"]
    assert body["issuer"] == ISSUER and body["slug"] == "corp-sso"  # the rest kept
    with app.app_context():
        row = db.session.execute(select(IdentityProvider)).scalar_one()
        secret = app.extensions["idp"].keyring.decrypt(row.client_secret_enc,
                                                       f"provider-secret:{row.id}")
        assert secret == b"rotated-secret"
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.type == "provider.updated")).scalar_one()
        assert event.details["changed"] == body["changed"]
        assert "rotated-secret" not in json.dumps(event.details)
    for change, status, text in [({"type": "github"}, 422, "cannot change"),
                                 ({"colour": "red"}, 400, "Unknown field: colour"),
                                 ({"scopes": ["email"]}, 422, "openid"),
                                 ({"end_session": "yes"}, 400, "true or false")]:
        refused = client.patch("/api/v1/providers/corp-sso", headers=headers, json=change)
        assert refused.status_code == status and text in refused.get_json()["message"], change
    make_tenant(app, "other")
    other_admin = bearer(client, app, roles=("tenant_admin",), tenant="other")
    assert client.patch("/api/v1/providers/corp-sso", headers=other_admin,
                        json={"name": "x"}).status_code == 404
