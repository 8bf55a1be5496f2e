"""The admin console, through the Flask test client (the browser test drives Chromium)."""

from __future__ import annotations

import io
import re

import pytest

from tests.factories import csrf_from
from tests.integration.admin_support import browser_login, make_person


@pytest.fixture
def client(app):
    """A client that keeps no request context, so admin and person clients can alternate."""
    return app.test_client()


def _admin(app, client):
    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")


def test_pages_render_for_an_admin(app, client):
    _admin(app, client)
    uid = make_person(app, "uma", name="Uma Thurman-Lee", department="Film")
    for path in ["/admin/users", f"/admin/users/{uid}", "/admin/audit", "/admin/roles",
                 "/admin/groups", "/admin/tenants", "/admin/clients", "/admin/keys",
                 "/admin/import", f"/admin/users/{uid}/disable", f"/admin/users/{uid}/erase",
                 "/admin/audit?type=auth.login&since=2020-01-01&user=uma",
                 "/admin/audit?before=2999-01-01T00:00:00%2B00:00|999999", "/admin/audit?before=x"]:
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:500])
    listing = client.get("/admin/users?q=thurman").get_data(as_text=True)
    assert "Uma Thurman-Lee" in listing and "root" not in re.findall(r'data-user="(\w+)"', listing)


def test_disable_via_confirmation_then_badge(app, client):
    _admin(app, client)
    uid = make_person(app, "dora")
    confirm = client.get(f"/admin/users/{uid}/disable").get_data(as_text=True)
    done = client.post(f"/admin/users/{uid}/disable", data={"csrf_token": csrf_from(confirm)})
    assert done.status_code == 302
    page = client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert 'data-badge="disabled"' in page
    # Without the CSRF token nothing happens.
    assert client.post(f"/admin/users/{uid}/enable").status_code == 400
    # Erasure needs the username typed.
    erase = client.get(f"/admin/users/{uid}/erase").get_data(as_text=True)
    wrong = client.post(f"/admin/users/{uid}/erase", data={"csrf_token": csrf_from(erase),
                                                           "confirm_username": "nope"})
    assert wrong.status_code == 422


def test_non_admin_gets_403_and_anonymous_goes_to_login(app, client):
    assert client.get("/admin/users").status_code == 302
    make_person(app, "mel")
    browser_login(client, "mel")
    assert client.get("/admin/users").status_code == 403


def test_csv_upload_dry_run_then_commit_without_the_file(app, client):
    from tests.integration.admin_support import finished_import

    _admin(app, client)
    page = client.get("/admin/import").get_data(as_text=True)
    data = b"email,name\nnew1@example.com,New One\nbroken,\n"
    response = client.post("/admin/import", data={
        "csrf_token": csrf_from(page), "dry_run": "1",
        "file": (io.BytesIO(data), "people.csv")}, content_type="multipart/form-data")
    html = finished_import(app, client, response)
    assert "Would be: 1 created" in html and "1 row with errors" in html
    assert "new1@example.com" not in client.get("/admin/users?q=new1").get_data(as_text=True)
    commit = re.search(r'action="([^"]+/commit)"', html).group(1)
    response = client.post(commit, data={"csrf_token": csrf_from(html)})
    html = finished_import(app, client, response)
    assert "1 created, 0 updated" in html and "Would be" not in html
    assert "new1@example.com" in client.get("/admin/users?q=new1").get_data(as_text=True)


def test_csv_upload_with_a_bad_header_shows_the_form_again(app, client):
    _admin(app, client)
    page = client.get("/admin/import").get_data(as_text=True)
    response = client.post("/admin/import", data={
        "csrf_token": csrf_from(page), "file": (io.BytesIO(b"mail,nom\nx,y\n"), "p.csv")},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="file-error"' in html
    assert "at least an &#39;email&#39; column" in html and 'type="file"' in html


def test_password_expired_badge(app, client):
    import uuid

    from idp.extensions import db
    from idp.models.accounts import User

    _admin(app, client)
    uid = make_person(app, "pwold")
    with app.app_context():
        db.session.get(User, uuid.UUID(uid)).must_change_password = True
        db.session.commit()
    assert 'data-badge="password-expired"' in client.get(f"/admin/users/{uid}").get_data(
        as_text=True)


def test_console_forms_roles_groups_tenants_keys_clients(app, client):
    from tests.factories import make_client

    _admin(app, client)
    uid = make_person(app, "gus")

    def post(path, **data):
        token = csrf_from(client.get(path).get_data(as_text=True))
        return client.post(path, data={"csrf_token": token, **data})

    assert post("/admin/roles", name="viewers", permissions=["users:read"]).status_code == 302
    assert "viewers" in client.get("/admin/roles").get_data(as_text=True)
    assert post("/admin/groups", name="ops").status_code == 302
    groups = client.get("/api/v1/groups").get_json()["items"]
    gid = groups[0]["id"]
    token = csrf_from(client.get("/admin/groups").get_data(as_text=True))
    assert client.post(f"/admin/groups/{gid}/members", data={"csrf_token": token,
                                                             "user": "gus"}).status_code == 302
    assert client.post(f"/admin/groups/{gid}/roles", data={"csrf_token": token,
                                                           "role": "viewers"}).status_code == 302
    assert client.get(f"/api/v1/users/{uid}").get_json()["roles"] == ["viewers"]
    assert post("/admin/tenants", slug="initech", name="Initech").status_code == 302
    assert "initech" in client.get("/admin/tenants").get_data(as_text=True)
    before = client.get("/jwks.json").get_json()["keys"]
    token = csrf_from(client.get("/admin/keys").get_data(as_text=True))
    refused = client.post("/admin/keys/rotate", data={"csrf_token": token})
    assert refused.status_code == 409 and "Rotate again in" in refused.get_data(as_text=True)
    assert client.post("/admin/keys/rotate", data={"csrf_token": token,
                                                   "force": "1"}).status_code == 302
    assert client.get("/jwks.json").get_json()["keys"] != before
    cid, _ = make_client(app)
    page = client.get(f"/admin/clients/{cid}/rotate").get_data(as_text=True)
    assert "Rotate the secret?" in page and 'name="grace"' in page
    rotated = client.post(f"/admin/clients/{cid}/rotate", data={"csrf_token": csrf_from(page),
                                                                "grace": "60"})
    assert rotated.status_code == 302
    assert "shown only now" in client.get(rotated.location).get_data(as_text=True)
    revoked = client.post(f"/admin/clients/{cid}/revoke", data={"csrf_token": csrf_from(page)})
    assert revoked.status_code == 302
    assert client.get(f"/api/v1/clients/{cid}").get_json()["revoked_at"]


def test_service_client_created_in_the_console_works_and_is_deleted(app, client):
    from tests.oauth_flow import basic

    _admin(app, client)
    assert "New service (machine to machine)" in client.get("/admin/clients").get_data(
        as_text=True)
    page = client.get("/admin/clients/new?kind=service").get_data(as_text=True)
    made = client.post("/admin/clients/new", data={
        "csrf_token": csrf_from(page), "kind": "service", "name": "billing",
        "scopes": "invoices:read", "audiences": "https://api.example.com", "expires_days": "30",
        "token_alg": "ES256"})
    assert made.status_code == 302
    html = client.get(made.location).get_data(as_text=True)
    assert "shown only now" in html
    secret = re.search(r"(idp_sk_[A-Za-z0-9_-]+)", html).group(1)
    cid = client.get("/api/v1/clients").get_json()["items"][-1]["client_id"]
    shown = client.get(f"/api/v1/clients/{cid}").get_json()
    assert shown["name"] == "billing" and shown["audiences"] == ["https://api.example.com"]
    assert shown["expires_at"] and shown["grant_types"] == ["client_credentials"]
    token = client.post("/token", data={"grant_type": "client_credentials",
                                        "scope": "invoices:read"}, headers=basic(cid, secret))
    assert token.status_code == 200
    assert secret not in client.get(f"/admin/clients/{cid}").get_data(as_text=True)
    bad = client.post("/admin/clients/new", data={"csrf_token": csrf_from(page), "name": "x",
                                                  "kind": "service", "expires_days": "soon"})
    assert bad.status_code == 422 and "whole number from 1 to 3650" in bad.get_data(
        as_text=True)
    detail = client.get(f"/admin/clients/{cid}/delete").get_data(as_text=True)
    assert "Delete the client?" in detail
    deleted = client.post(f"/admin/clients/{cid}/delete", data={"csrf_token": csrf_from(detail)})
    assert deleted.status_code == 302
    assert client.get(f"/api/v1/clients/{cid}").status_code == 404


def test_helpdesk_cannot_create_clients_in_the_console(app, client):
    make_person(app, "hal", roles=["helpdesk"])
    browser_login(client, "hal")
    page = client.get("/account").get_data(as_text=True)  # any page with a form
    refused = client.post("/admin/clients", data={"csrf_token": csrf_from(page), "name": "x"})
    assert refused.status_code == 403


def test_console_edits_roles_group_members_and_tenants(app, client):
    import json

    from tests.integration.admin_support import make_person

    _admin(app, client)
    gus = make_person(app, "gus")

    def post(page_path, action, **data):
        token = csrf_from(client.get(page_path).get_data(as_text=True))
        return client.post(action, data={"csrf_token": token, **data})

    assert post("/admin/roles", "/admin/roles", name="viewers",
                permissions=["users:read"]).status_code == 302
    role = next(r for r in client.get("/api/v1/roles").get_json()["items"] if r["name"] == "viewers")
    assert post("/admin/roles", f"/admin/roles/{role['id']}",
                permissions=["users:read", "audit:read"]).status_code == 302
    assert client.get(f"/api/v1/roles/{role['id']}").get_json()["permissions"] == [
        "audit:read", "users:read"]
    builtin = next(r for r in client.get("/api/v1/roles").get_json()["items"] if r["builtin"])
    assert post("/admin/roles", f"/admin/roles/{builtin['id']}",
                permissions=["users:read"]).status_code == 403

    assert post("/admin/groups", "/admin/groups", name="ops").status_code == 302
    gid = client.get("/api/v1/groups").get_json()["items"][0]["id"]
    assert post("/admin/groups", f"/admin/groups/{gid}/members", user="gus").status_code == 302
    assert "gus" in client.get("/admin/groups").get_data(as_text=True)
    assert post("/admin/groups", f"/admin/groups/{gid}/members/{gus}/remove").status_code == 302
    assert client.get(f"/api/v1/groups/{gid}").get_json()["members"] == []

    tenant = client.get("/api/v1/tenants").get_json()["items"][0]
    policy = {"password_policy": {"min_length": 20}, "mfa_required_roles": ["tenant_admin"]}
    assert post("/admin/tenants", f"/admin/tenants/{tenant['id']}", name="Default Co",
                settings=json.dumps(policy)).status_code == 302
    shown = client.get(f"/api/v1/tenants/{tenant['id']}").get_json()
    assert shown["name"] == "Default Co" and shown["settings"]["password_policy"] == {"min_length": 20}
    weak = client.post("/api/v1/users", json={"email": "new@example.com",
                                              "password": "Sh0rt!Passw0rd"},
                       headers={"X-CSRFToken": _csrf(client)})
    assert weak.status_code == 422 and "20" in weak.get_json()["message"]
    bad = post("/admin/tenants", f"/admin/tenants/{tenant['id']}", name="X", settings="{oops")
    assert bad.status_code == 422 and "JSON object" in bad.get_data(as_text=True)
    unknown = post("/admin/tenants", f"/admin/tenants/{tenant['id']}", name="X",
                   settings='{"password_policy": {"min_lenght": 3}}')
    assert unknown.status_code == 422 and "min_lenght" in unknown.get_data(as_text=True)


def _csrf(client) -> str:
    return csrf_from(client.get("/admin/roles").get_data(as_text=True))


def test_console_edits_a_profile_with_the_api_allowlist(app, client):
    from tests.integration.admin_support import make_person

    _admin(app, client)
    gus = make_person(app, "gus", department="Sales")
    make_person(app, "ann")
    page = client.get(f"/admin/users/{gus}").get_data(as_text=True)
    assert "Edit profile" in page and 'value="Sales"' in page
    saved = client.post(f"/admin/users/{gus}/profile", data={
        "csrf_token": csrf_from(page), "username": "gus", "email": "gus@example.com",
        "department": "", "phone_number": "+1 555 0100", "roles": "superadmin"})
    assert saved.status_code == 302
    person = client.get(f"/api/v1/users/{gus}").get_json()
    assert person["phone_number"] == "+1 555 0100" and person["department"] is None
    assert person["roles"] == []  # not an editable field: ignored by the form
    taken = client.post(f"/admin/users/{gus}/profile", data={
        "csrf_token": csrf_from(page), "email": "ANN@Example.com"})
    assert taken.status_code == 409 and "already taken" in taken.get_data(as_text=True)


@pytest.fixture
def config_overrides(config_overrides, request):
    """The settings, plus what a test passes by indirect parametrization."""
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.mark.parametrize("config_overrides", [{"outbound_allow": "127.0.0.1/32"}],
                         indirect=True)
def test_webhook_console_creates_shows_the_log_and_redelivers(app, client):
    from sqlalchemy.orm import sessionmaker

    from idp.events.worker import EventsWorker
    from idp.extensions import db
    from tests.integration.webhook_receiver import Receiver

    _admin(app, client)
    with Receiver() as receiver:
        receiver.answers["/hook"] = [500]
        listing = client.get("/admin/webhooks").get_data(as_text=True)
        created = client.post("/admin/webhooks", data={
            "csrf_token": csrf_from(listing), "url": receiver.url("/hook"),
            "event_types": "user.*"})
        page = created.get_data(as_text=True)
        assert created.status_code == 200 and "whsec_" in page  # the secret, once
        webhook_id = re.search(r"/admin/webhooks/([0-9a-f-]{36})/secret", page).group(1)
        make_person(app, "newcomer")
        with app.app_context():
            EventsWorker(app.extensions["idp"], sessionmaker(bind=db.engine)).run_once()
        detail = client.get(f"/admin/webhooks/{webhook_id}").get_data(as_text=True)
        assert "user.created" in detail and "500" in detail and "whsec_" not in detail
        delivery = re.search(r'data-delivery="(\d+)"', detail).group(1)
        bad = client.post("/admin/webhooks", data={"csrf_token": csrf_from(detail),
                                                   "url": "http://10.0.0.1/x"})
        assert bad.status_code == 422
    with app.app_context():
        from idp.models.webhooks import WebhookDelivery

        row = db.session.get(WebhookDelivery, int(delivery))
        row.status = "dead"  # as after a day of failures
        db.session.commit()
    detail = client.get(f"/admin/webhooks/{webhook_id}").get_data(as_text=True)
    again = client.post(f"/admin/webhooks/{webhook_id}/deliveries/{delivery}/redeliver",
                        data={"csrf_token": csrf_from(detail)})
    assert again.status_code == 302
    assert ">pending<" in client.get(f"/admin/webhooks/{webhook_id}").get_data(as_text=True)
    gone = client.post(f"/admin/webhooks/{webhook_id}/delete",
                       data={"csrf_token": csrf_from(detail)})
    assert gone.status_code == 302
    assert client.get(f"/admin/webhooks/{webhook_id}").status_code == 404
