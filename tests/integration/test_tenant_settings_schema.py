"""Tenant settings of the wrong type are a 422 naming the field and are never stored, in
the admin API and the console alike (issue 11, one schema: tenancy/settings.py)."""

from __future__ import annotations

import json

import pytest

from idp.audit import EventType
from tests.account_support import events
from tests.factories import make_user
from tests.integration.admin_support import bearer, browser_login, make_person


@pytest.mark.parametrize(("settings", "field"), [
    ({"mfa_required_roles": "tenant_admin"}, "settings.mfa_required_roles"),
    ({"session": {"idle_timeout": "abc"}}, "settings.session.idle_timeout"),
    ({"session": {"absolute_timeout": -5}}, "settings.session.absolute_timeout"),
    ({"session": {"max_per_user": True}}, "settings.session.max_per_user"),
    ({"session": {"idle_timeout": 7200, "absolute_timeout": 60}}, "settings.session.idle_timeout"),
    ({"session": "long"}, "settings.session"),
    ({"idle_timeout": "abc"}, "settings.idle_timeout"),
    ({"mfa_required": "yes"}, "settings.mfa_required"),
    ({"registration": "sometimes"}, "settings.registration"),
    ({"password_policy": {"min_length": "twelve"}}, "settings.password_policy.min_length"),
    ({"password_policy": []}, "settings.password_policy"),
    ({"scim_deprovisioning": "delete"}, "settings.scim_deprovisioning"),
    ({"scim_deprovisioning": True}, "settings.scim_deprovisioning"),
])
def test_wrong_types_are_422_with_the_field_and_not_stored(app, client, settings, field):
    auth = bearer(client, app)
    tenant = client.get("/api/v1/tenants", headers=auth).get_json()["items"][0]
    response = client.patch(f"/api/v1/tenants/{tenant['id']}", json={"settings": settings},
                            headers=auth)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
    after = client.get(f"/api/v1/tenants/{tenant['id']}", headers=auth).get_json()
    assert after["settings"] == tenant["settings"]
    created = client.post("/api/v1/tenants", json={"slug": "acme", "settings": settings},
                          headers=auth)
    assert created.status_code == 422 and created.get_json()["field"] == field


def test_right_types_are_stored_and_null_restores_the_default(app, client):
    auth = bearer(client, app)
    tenant = client.get("/api/v1/tenants", headers=auth).get_json()["items"][0]
    good = {"mfa_required_roles": ["superadmin"], "mfa_required": False,
            "registration": "invite", "session": {"idle_timeout": 600, "absolute_timeout": 3600},
            "password_policy": {"min_length": 12}}
    response = client.patch(f"/api/v1/tenants/{tenant['id']}", json={"settings": good},
                            headers=auth)
    assert response.status_code == 200
    assert response.get_json()["settings"]["session"] == good["session"]
    response = client.patch(f"/api/v1/tenants/{tenant['id']}",
                            json={"settings": {"registration": None}}, headers=auth)
    assert response.status_code == 200 and response.get_json()["settings"]["registration"] is None


def test_the_console_uses_the_same_schema(app, client):
    """...and a rejection there is audited like one in the API."""
    make_user(app, email="root@example.com", username="root")
    make_person(app, "boss", roles=["superadmin"])
    token = browser_login(client, "boss")
    tenant = client.get("/api/v1/tenants").get_json()["items"][0]
    response = client.post(f"/admin/tenants/{tenant['id']}", data={
        "name": "Default", "csrf_token": token,
        "settings": json.dumps({"session": {"idle_timeout": "abc"}})})
    assert response.status_code == 422
    assert "settings.session.idle_timeout" in response.get_data(as_text=True)
    after = client.get(f"/api/v1/tenants/{tenant['id']}").get_json()
    assert "session" not in after["settings"]
    [row] = events(app, EventType.ADMIN_INPUT_REJECTED)
    assert row.details["path"] == f"/admin/tenants/{tenant['id']}" and row.actor_id
    assert row.details["field"] == "settings.session.idle_timeout"
