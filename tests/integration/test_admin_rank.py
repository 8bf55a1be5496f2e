"""The rank rule (ASVS 5.0 V8): an admin acts on a person, service client, role or group only
when holding every right the target holds; superadmin-held principals only by superadmins.
Table-driven over the API (each built-in role x each target kind x each action) and the
console, plus the hostile walk that found the gap."""

from __future__ import annotations

import pytest

from tests.integration.admin_support import bearer, browser_login, make_person, service_client

# Who outranks whom among the built-in roles (written out, not computed from the code).
OUTRANKS = {
    "superadmin": {"superadmin", "tenant_admin", "helpdesk", "auditor", "member"},
    "tenant_admin": {"tenant_admin", "helpdesk", "auditor", "member"},
    "helpdesk": {"helpdesk", "member"},           # an auditor holds audit:read
    "auditor": {"auditor", "member"},             # a helpdesk holds users:unlock...
    "member": {"member"},
    "editor": {"member"},                        # custom: users:read + users:write
}
HELD = {
    "superadmin": {"users:read", "users:write", "users:disable", "users:unlock", "mfa:reset",
                   "sessions:revoke", "roles:write"},
    "tenant_admin": {"users:read", "users:write", "users:disable", "users:unlock",
                     "mfa:reset", "sessions:revoke", "roles:write"},
    "helpdesk": {"users:read", "users:disable", "users:unlock", "mfa:reset", "sessions:revoke"},
    "auditor": {"users:read"},
    "member": set(),
    "editor": {"users:read", "users:write"},
}
TARGETS = ["superadmin", "tenant_admin", "helpdesk", "auditor", "member"]
# action: (permission, method, path, body, success statuses)
ACTIONS = {
    "read": ("users:read", "GET", "/users/{id}", None, {200}),
    "edit email": ("users:write", "PATCH", "/users/{id}", {"email": "{name}@attacker.example.com"},
                   {200}),
    "require new password": ("users:write", "POST", "/users/{id}/require-password-change",
                             None, {200}),
    "disable": ("users:disable", "POST", "/users/{id}/disable", None, {200}),
    "unlock": ("users:unlock", "POST", "/users/{id}/unlock", None, {200}),
    "reset MFA": ("mfa:reset", "POST", "/users/{id}/mfa/reset", {"reason": "ticket 7"}, {200}),
    "sign out": ("sessions:revoke", "DELETE", "/users/{id}/sessions", None, {200}),
    "take a role": ("roles:write", "DELETE", "/users/{id}/roles/member", None, {204, 404}),
}


@pytest.fixture
def client(app):
    """No kept request context, so several bearers and browsers can alternate."""
    return app.test_client()


def _actor(client, app, role: str) -> dict:
    if role == "editor":
        root = bearer(client, app)
        made = client.post("/api/v1/roles", json={"name": "editor", "permissions": [
            "users:read", "users:write"]}, headers=root)
        assert made.status_code == 201, made.get_json()
    return bearer(client, app, roles=(role,))


@pytest.mark.parametrize("actor", list(OUTRANKS))
def test_each_role_against_each_target_and_action(app, client, actor):
    auth = _actor(client, app, actor)
    # Spares, so no target is ever the tenant's last admin (that rule answers 409).
    make_person(app, "spare-super", roles=("superadmin",))
    make_person(app, "spare-admin", roles=("tenant_admin",))
    failures = []
    for target in TARGETS:
        for action, (permission, method, path, payload, ok) in ACTIONS.items():
            name = f"{target}-{action.replace(' ', '')}"
            target_id = make_person(app, name, roles=(target, "member"))
            body = {k: v.format(name=name) for k, v in payload.items()} if payload else None
            response = client.open("/api/v1" + path.format(id=target_id), method=method,
                                   json=body, headers=auth)
            allowed = permission in HELD[actor] and target in OUTRANKS[actor]
            expected = ok if allowed else {403}
            if response.status_code not in expected:
                failures.append((actor, target, action, response.status_code,
                                 response.get_json()))
    assert not failures, failures


def test_lists_hide_what_the_caller_does_not_outrank(app, client):
    root = bearer(client, app)
    super_client, _ = service_client(app, ["superadmin"])
    plain_client, _ = service_client(app, [])
    boss = make_person(app, "boss", roles=("tenant_admin",))
    clerk = make_person(app, "clerk")
    desk = bearer(client, app, roles=("helpdesk",))
    admin = bearer(client, app, roles=("tenant_admin",))

    people = {u["username"] for u in client.get("/api/v1/users?limit=200",
                                                  headers=desk).get_json()["items"]}
    assert "clerk" in people and "boss" not in people and "admin" not in people
    people = {u["id"] for u in client.get("/api/v1/users?limit=200",
                                            headers=admin).get_json()["items"]}
    assert {boss, clerk} <= people
    clients = {c["client_id"] for c in client.get("/api/v1/clients",
                                                    headers=admin).get_json()["items"]}
    assert plain_client in clients and super_client not in clients
    roles = {r["name"] for r in client.get("/api/v1/roles", headers=desk).get_json()["items"]}
    assert roles == {"helpdesk", "member"}
    assert "superadmin" in {r["name"] for r in client.get(
        "/api/v1/roles", headers=root).get_json()["items"]}


def test_hostile_walk_tenant_admin_cannot_take_over_the_superadmin(app, client):
    """The finding: rotate the superadmin's client, or re-address the superadmin's mail."""
    super_client, _ = service_client(app, ["superadmin"])
    admin = bearer(client, app, roles=("tenant_admin",))
    root_id = client.get("/api/v1/users?q=admin@localhost", headers=bearer(client, app)
                         ).get_json()["items"][0]["id"]

    for method, path, body in [
            ("POST", f"/clients/{super_client}/rotate", None),
            ("POST", f"/clients/{super_client}/revoke", None),
            ("GET", f"/clients/{super_client}", None),
            ("DELETE", f"/clients/{super_client}", None),
            ("PATCH", f"/users/{root_id}", {"email": "attacker@example.com"}),
            ("POST", f"/users/{root_id}/mfa/reset", {"reason": "x"}),
            ("POST", f"/users/{root_id}/disable", None)]:
        response = client.open("/api/v1" + path, method=method, json=body, headers=admin)
        assert response.status_code == 403, (method, path, response.get_json())
        assert response.get_json()["error"] == "forbidden"
    root = bearer(client, app)
    person = client.get(f"/api/v1/users/{root_id}", headers=root).get_json()
    assert person["email"] == "admin@localhost" and person["status"] == "active"
    # The denials are in the audit log, naming actor, target and permission.
    events = client.get("/api/v1/audit?type=authz.denied&limit=50", headers=root).get_json()
    kinds = {(e["details"]["target_kind"], e["details"]["permission"]) for e in events["items"]}
    assert ("client", "clients:write") in kinds and ("user", "mfa:reset") in kinds
    mail_change = next(e for e in events["items"] if e["details"]["permission"] == "users:write")
    assert mail_change["actor"].startswith("client:") and mail_change["subject"] == root_id
    assert mail_change["outcome"] == "failure"


def test_roles_and_groups_above_the_caller_are_out_of_reach(app, client):
    root = bearer(client, app)
    admin = bearer(client, app, roles=("tenant_admin",))
    mighty = client.post("/api/v1/roles", json={"name": "mighty", "permissions": [
        "tenants:write", "users:read"]}, headers=root).get_json()
    group = client.post("/api/v1/groups", json={"name": "owners"}, headers=root).get_json()
    assert client.post(f"/api/v1/groups/{group['id']}/roles", json={"role": "superadmin"},
                       headers=root).status_code == 200
    me = make_person(app, "climber", roles=("tenant_admin",))

    assert client.patch(f"/api/v1/roles/{mighty['id']}", json={"permissions": []},
                        headers=admin).status_code == 403
    assert client.delete(f"/api/v1/roles/{mighty['id']}", headers=admin).status_code == 403
    assert client.post(f"/api/v1/groups/{group['id']}/members", json={"user_id": me},
                       headers=admin).status_code == 403
    assert client.delete(f"/api/v1/groups/{group['id']}", headers=admin).status_code == 403
    assert client.post(f"/api/v1/users/{me}/roles", json={"role": "mighty"},
                       headers=admin).status_code == 403
    assert client.post("/api/v1/clients", json={"name": "x", "roles": ["superadmin"]},
                       headers=admin).status_code == 403
    names = {g["name"] for g in client.get("/api/v1/groups", headers=admin).get_json()["items"]}
    assert "owners" not in names
    # A peer's rights are one's own: a tenant admin may still manage another tenant admin.
    peer = make_person(app, "peer", roles=("tenant_admin",))
    assert client.post(f"/api/v1/users/{peer}/unlock", headers=admin).status_code == 200


CONSOLE = ["disable", "unlock", "require-password-change", "revoke-sessions", "reset-mfa",
           "delete"]


def test_console_applies_the_same_rule(app, client):
    make_person(app, "desk", roles=("helpdesk",))
    boss = make_person(app, "boss", roles=("tenant_admin",))
    clerk = make_person(app, "clerk")
    csrf = browser_login(client, "desk")
    for action in CONSOLE:
        form = {"csrf_token": csrf, "reason": "ticket 9"}
        refused = client.post(f"/admin/users/{boss}/{action}", data=form)
        assert refused.status_code == 403, (action, refused.status_code)
        assert client.get(f"/admin/users/{boss}/{action}").status_code == 403
    assert client.get(f"/admin/users/{boss}").status_code == 403
    page = client.get("/admin/users").get_data(as_text=True)
    assert "clerk" in page and "boss" not in page
    done = client.post(f"/admin/users/{clerk}/unlock", data={"csrf_token": csrf})
    assert done.status_code == 302


def test_admin_rights_need_a_second_factor(app, client):
    make_person(app, "pat", roles=("tenant_admin",))
    make_person(app, "audrey", roles=("auditor",))
    make_person(app, "cora")
    csrf = browser_login(client, "pat", second_factor=False)
    refused = client.get("/api/v1/users", headers={"X-CSRFToken": csrf})
    assert refused.status_code == 403 and refused.get_json()["error"] == "mfa_required"
    assert client.get("/admin/users").status_code == 403
    # Read-only rights change nobody: an auditor's password session may read.
    reader = app.test_client()
    browser_login(reader, "audrey", second_factor=False)
    assert reader.get("/api/v1/users").status_code == 200
    # A role granted later gives nothing to the old password-only session...
    plain = app.test_client()
    browser_login(plain, "cora", second_factor=False)
    root = bearer(client, app)
    cora = client.get("/api/v1/users?q=cora", headers=root).get_json()["items"][0]["id"]
    assert client.post(f"/api/v1/users/{cora}/roles", json={"role": "helpdesk"},
                       headers=root).status_code == 201
    assert plain.get("/api/v1/users").get_json()["error"] == "mfa_required"
    # ...while a session that passed a second factor keeps working.
    fresh = app.test_client()
    browser_login(fresh, "pat")
    assert fresh.get("/api/v1/users").status_code == 200
    denied = client.get("/api/v1/audit?type=authz.denied", headers=root).get_json()["items"]
    assert {e["details"]["permission"] for e in denied} == {"mfa"}
    assert {e["actor"] for e in denied} == {e["subject"] for e in denied} >= {cora}


def test_csv_import_cannot_reach_above_the_importer(app, client):
    """A CSV row is an admin action too: no role above the importer, no edit of a better."""
    import io

    from tests.factories import csrf_from

    make_person(app, "lead", roles=("tenant_admin",))
    csrf = browser_login(client, "lead")
    data = (b"email,name,roles\n"
            b"admin@localhost,Hijacked,\n"            # the bootstrap superadmin
            b"fresh@example.com,Fresh,superadmin\n"  # a new superadmin
            b"ok@example.com,Fine,helpdesk\n")
    page = client.get("/admin/import").get_data(as_text=True)
    response = client.post("/admin/import", data={
        "csrf_token": csrf_from(page) or csrf, "file": (io.BytesIO(data), "people.csv")},
        content_type="multipart/form-data")
    from tests.integration.admin_support import finished_import

    html = finished_import(app, client, response)
    assert "1 created" in html and "2 rows with errors" in html, html[:2000]
    assert html.count("rights you do not hold") == 2
    root = bearer(client, app)
    people = {u["email"]: u for u in client.get("/api/v1/users?limit=200",
                                                  headers=root).get_json()["items"]}
    assert people["admin@localhost"]["name"] != "Hijacked"
    assert "fresh@example.com" not in people and people["ok@example.com"]["roles"] == [
        "helpdesk"]
    denied = client.get("/api/v1/audit?type=authz.denied", headers=root).get_json()["items"]
    assert len(denied) == 2


def test_console_pages_need_what_their_api_routes_need(app, client):
    """Issue 13: a custom role with only clients:write was refused the console's clients
    page (the page called the API's role list, which needs users:read)."""
    root = bearer(client, app)
    assert client.post("/api/v1/roles", json={"name": "keeper", "permissions": [
        "clients:write"]}, headers=root).status_code == 201
    make_person(app, "kim", roles=("keeper",))
    browser = app.test_client()
    browser_login(browser, "kim")
    assert browser.get("/api/v1/clients").status_code == 200
    page = browser.get("/admin/clients")
    assert page.status_code == 200 and "Applications" in page.get_data(as_text=True)
    assert browser.get("/admin/clients/new?kind=service").status_code == 200


# Service clients are principals too: each built-in role x client targets x client actions.
CLIENT_ACTIONS = {"read": ("GET", "", {200}), "rotate": ("POST", "/rotate", {200}),
                  "revoke": ("POST", "/revoke", {200})}
CLIENT_TARGETS = {"superadmin": ["superadmin"], "tenant_admin": ["tenant_admin"],
                  "helpdesk": ["helpdesk"], "no role": []}


@pytest.mark.parametrize("actor", ["superadmin", "tenant_admin", "helpdesk", "auditor"])
def test_each_role_against_each_service_client(app, client, actor):
    auth = bearer(client, app, roles=(actor,))
    can_write = actor in ("superadmin", "tenant_admin")
    failures = []
    for target, roles in CLIENT_TARGETS.items():
        outranked = actor == "superadmin" or all(r in OUTRANKS[actor] for r in roles)
        for action, (method, suffix, ok) in CLIENT_ACTIONS.items():
            target_id, _ = service_client(app, roles)
            allowed = outranked and (can_write or (action == "read" and actor == "auditor"))
            response = client.open(f"/api/v1/clients/{target_id}{suffix}", method=method,
                                   headers=auth)
            if response.status_code not in (ok if allowed else {403}):
                failures.append((actor, target, action, response.status_code))
    assert not failures, failures
