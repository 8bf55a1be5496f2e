"""Tenant settings as a form in the console, checked by the same schema as the API."""

from __future__ import annotations

import pytest

from tests.factories import csrf_from
from tests.integration.admin_support import bearer, browser_login, make_person


@pytest.fixture
def client(app):
    return app.test_client()


def _admin(app, client) -> str:
    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")
    return client.get("/api/v1/tenants").get_json()["items"][0]["id"]


def _save(client, tid, **fields):
    form = client.get(f"/admin/tenants/{tid}/settings").get_data(as_text=True)
    data = {"csrf_token": csrf_from(form), "name": "Default", "mfa_required_roles": [
        "superadmin", "tenant_admin", "helpdesk"], **fields}
    return client.post(f"/admin/tenants/{tid}/settings", data=data)


def test_settings_form_saves_the_document_and_it_takes_effect(app, client):
    tid = _admin(app, client)
    saved = _save(client, tid, registration="off", **{
        "session.idle_timeout": "900", "session.absolute_timeout": "3600",
        "password_policy.min_length": "12", "password_policy.require_special": "no"})
    assert saved.status_code == 302
    settings = client.get(f"/api/v1/tenants/{tid}").get_json()["settings"]
    assert settings["registration"] == "off"
    assert settings["session"] == {"idle_timeout": 900, "absolute_timeout": 3600}
    assert settings["password_policy"] == {"min_length": 12, "require_special": False}
    assert settings["mfa_required_roles"] == ["superadmin", "tenant_admin", "helpdesk"]
    assert app.test_client().get("/register").status_code == 403
    form = client.get(f"/admin/tenants/{tid}/settings").get_data(as_text=True)
    assert 'name="session.idle_timeout" value="900"' in form
    assert '<option value="no" selected>' in form


def test_the_email_verification_choice_is_on_the_form(app, client):
    tid = _admin(app, client)
    assert _save(client, tid, email_verification="require").status_code == 302
    assert client.get(f"/api/v1/tenants/{tid}").get_json()["settings"][
        "email_verification"] == "require"
    form = client.get(f"/admin/tenants/{tid}/settings").get_data(as_text=True)
    assert '<option value="require" selected>' in form
    refused = _save(client, tid, email_verification="later")
    assert refused.status_code == 422
    assert 'id="email_verification-error"' in refused.get_data(as_text=True)


def test_the_scim_deprovisioning_choice_is_on_the_form(app, client):
    tid = _admin(app, client)
    assert _save(client, tid, scim_deprovisioning="erase").status_code == 302
    assert client.get(f"/api/v1/tenants/{tid}").get_json()["settings"][
        "scim_deprovisioning"] == "erase"
    form = client.get(f"/admin/tenants/{tid}/settings").get_data(as_text=True)
    assert '<option value="erase" selected>' in form
    refused = _save(client, tid, scim_deprovisioning="shred")
    assert refused.status_code == 422
    assert 'id="scim_deprovisioning-error"' in refused.get_data(as_text=True)
    assert client.get(f"/api/v1/tenants/{tid}").get_json()["settings"][
        "scim_deprovisioning"] == "erase"
    assert _save(client, tid, scim_deprovisioning="").status_code == 302
    assert client.get(f"/api/v1/tenants/{tid}").get_json()["settings"][
        "scim_deprovisioning"] is None


def test_bad_values_are_inline_errors_that_keep_the_input(app, client):
    tid = _admin(app, client)
    refused = _save(client, tid, registration="invite", **{
        "session.idle_timeout": "soon", "password_policy.min_length": "12"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="session-idle_timeout-error"' in html and "whole number from 1 to" in html
    assert 'value="soon" placeholder="default" aria-invalid="true"' in html
    assert 'name="password_policy.min_length" value="12"' in html
    assert '<option value="invite" selected>' in html
    assert client.get(f"/api/v1/tenants/{tid}").get_json()["settings"].get("session") is None
    longer = _save(client, tid, **{"session.idle_timeout": "7200",
                                   "session.absolute_timeout": "3600"})
    assert longer.status_code == 422 and "must not exceed absolute_timeout" in longer.get_data(as_text=True)
    policy = _save(client, tid, **{"password_policy.history": "99"})
    assert policy.status_code == 422 and 'id="password_policy-history-error"' in policy.get_data(
        as_text=True)


@pytest.mark.parametrize("settings, field", [
    ({"session": {"idle_timeout": -5}}, "settings.session.idle_timeout"),
    ({"session": {"idle_timeout": "900"}}, "settings.session.idle_timeout"),
    ({"session": {"forever": 1}}, "settings.session.forever"),
    ({"registration": "sometimes"}, "settings.registration"),
    ({"mfa_required": "yes"}, "settings.mfa_required"),
    ({"password_policy": {"require_digit": "no"}}, "settings.password_policy.require_digit"),
])
def test_api_refuses_what_the_form_refuses(app, client, settings, field):
    headers = bearer(client, app)
    tid = client.get("/api/v1/tenants", headers=headers).get_json()["items"][0]["id"]
    response = client.patch(f"/api/v1/tenants/{tid}", headers=headers,
                            json={"settings": settings})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
