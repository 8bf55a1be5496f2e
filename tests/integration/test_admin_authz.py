"""Authorization for every admin API route: each built-in role against each permission."""

from __future__ import annotations

import pytest

from idp.admin.openapi import OPERATIONS
from idp.rbac.roles import BUILTIN_ROLES, PERMISSIONS
from tests.integration.admin_support import ROLES, bearer, make_person, make_tenant

BODIES = {"post /users": {"email": "made@example.com"}, "post /roles": {"name": "custom-x"},
          "post /groups": {"name": "grp-x"}, "post /tenants": {"slug": "made-t"},
          "post /clients": {"name": "made"}, "post /users/{user_id}/roles": {"role": "member"},
          "post /users/{user_id}/mfa/reset": {"reason": "lost phone"},
          "post /groups/{group_id}/roles": {"role": "member"},
          "post /webhooks": {"url": "http://127.0.0.1:9/hook"}}
HOOK_URL = "http://127.0.0.1:9/hook"  # port 9 (discard) is closed here: deliveries fail fast


@pytest.fixture
def config_overrides(config_overrides):
    # The webhook routes' target: a closed port on loopback, allowed for this test only.
    config_overrides["outbound_allow"] = "127.0.0.1/32"
    return config_overrides


@pytest.fixture
def client(app):
    """A client that keeps no request context, so admin and person clients can alternate."""
    return app.test_client()


def _fixtures(client, app, auth):
    user = make_person(app, f"target{len(app.config.setdefault('_n', []))}")
    app.config["_n"].append(1)
    group = client.post("/api/v1/groups", json={"name": f"g{user[:8]}"}, headers=auth).get_json()
    role = client.post("/api/v1/roles", json={"name": f"r{user[:8]}", "permissions": []},
                       headers=auth).get_json()
    tenant = client.get("/api/v1/tenants", headers=auth).get_json()["items"][0]
    made = client.post("/api/v1/clients", json={"name": "c"}, headers=auth).get_json()
    hook = client.post("/api/v1/webhooks", json={"url": HOOK_URL}, headers=auth).get_json()
    return {"webhook_id": hook["id"], "delivery_id": "00000000-0000-0000-0000-000000000000",
            "ref": "no-such-provider",  # a 404 once allowed; refused roles get 403 first
            "user_id": user, "group_id": group["id"], "role_id": role["id"],
            "tenant_id": tenant["id"], "client_id": made["client_id"], "role_name": "member",
            "session_id": "00000000-0000-0000-0000-000000000000",
            "token_id": "00000000-0000-0000-0000-000000000000",
            "job_id": "00000000-0000-0000-0000-000000000000"}


def _ordered():
    # Destructive calls last so earlier calls still find their targets.
    return sorted(OPERATIONS, key=lambda k: (k[1] == "delete", "erase" in k[0], k))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_route(app, client, role):
    super_auth = bearer(client, app)
    ids = _fixtures(client, app, super_auth)
    auth = bearer(client, app, roles=(role,))
    held = set(BUILTIN_ROLES[role][1])
    for path, method in _ordered():
        permission = OPERATIONS[(path, method)][1]
        allowed = any(p in held for p in permission.split(" or "))
        url = "/api/v1" + path.format(**ids)
        payload = BODIES.get(f"{method} {path}", {"confirm": ids["user_id"]}
                             if path.endswith("/erase") else {})
        response = client.open(url, method=method.upper(), json=payload, headers=auth)
        assert response.status_code < 500, (role, method, path)
        if allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.json)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
            assert response.get_json()["error"] == "forbidden"


def test_builtin_roles_grant_exactly_their_permissions(app):
    from idp.extensions import db
    from idp.rbac.access import client_access
    from idp.tenancy.tenants import ensure_default_tenant

    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        for role, (_, perms) in BUILTIN_ROLES.items():
            access = client_access(db.session, [role], tenant.id)
            assert access.permissions == frozenset(perms), role
            assert access.all_tenants == (role == "superadmin")
        assert set(BUILTIN_ROLES["helpdesk"][1]) == {
            "users:read", "users:unlock", "users:disable", "mfa:reset", "sessions:revoke"}
        assert set(BUILTIN_ROLES["superadmin"][1]) == set(PERMISSIONS)


def test_groups_pass_roles_to_members_and_changes_are_audited(app, client):
    from tests.integration.admin_support import browser_login

    auth = bearer(client, app)
    uid = make_person(app, "gina")
    group = client.post("/api/v1/groups", json={"name": "support"}, headers=auth).get_json()
    client.post(f"/api/v1/groups/{group['id']}/roles", json={"role": "helpdesk"}, headers=auth)
    r = client.post(f"/api/v1/groups/{group['id']}/members", json={"user_id": uid}, headers=auth)
    assert r.status_code == 200 and uid in r.get_json()["members"]
    assert client.get(f"/api/v1/users/{uid}", headers=auth).get_json()["roles"] == ["helpdesk"]
    assert [u["id"] for u in client.get("/api/v1/users?group=support",
                                        headers=auth).get_json()["items"]] == [uid]
    csrf = browser_login(client, "gina")
    assert client.get("/api/v1/users").status_code == 200  # users:read via the group
    assert client.post("/api/v1/users", json={"email": "z@example.com"},
                       headers={"X-CSRFToken": csrf}).status_code == 403
    events = client.get(f"/api/v1/audit?user={uid}&type=group.", headers=auth).get_json()["items"]
    added = [e for e in events if e["type"] == "group.member.added"][0]
    assert added["details"]["before"] == [] and added["details"]["after"] == ["helpdesk"]


def test_role_assignment_audited_with_before_after_and_no_escalation(app, client):
    auth = bearer(client, app)
    uid = make_person(app, "rita")
    r = client.post(f"/api/v1/users/{uid}/roles", json={"role": "auditor"}, headers=auth)
    assert r.status_code == 201 and r.get_json()["roles"] == ["auditor"]
    assert client.delete(f"/api/v1/users/{uid}/roles/auditor", headers=auth).status_code == 204
    events = client.get(f"/api/v1/audit?user={uid}&type=role.", headers=auth).get_json()["items"]
    revoked, assigned = events[0], events[1]
    assert assigned["type"] == "role.assigned" and assigned["details"]["after"] == ["auditor"]
    assert revoked["type"] == "role.revoked" and revoked["details"] == {
        "role": "auditor", "before": ["auditor"], "after": []}
    tenant_admin = bearer(client, app, roles=("tenant_admin",))
    escalate = client.post(f"/api/v1/users/{uid}/roles", json={"role": "superadmin"},
                           headers=tenant_admin)
    assert escalate.status_code == 403
    custom = client.post("/api/v1/roles", json={"name": "too-much",
                                                "permissions": ["tenants:write"]},
                         headers=tenant_admin)
    assert custom.status_code == 403
    bogus = client.post("/api/v1/roles", json={"name": "odd", "permissions": ["nope"]},
                        headers=auth)
    assert bogus.status_code == 422
    reserved = client.post("/api/v1/roles", json={"name": "superadmin"}, headers=auth)
    assert reserved.status_code == 409


def test_tenant_admin_sees_only_own_tenant_everywhere(app, client):
    make_tenant(app, "globex")
    other_user = make_person(app, "ola", tenant="globex")
    super_auth = bearer(client, app)
    other_client = bearer(client, app, tenant="globex")  # a superadmin client in globex
    del other_client
    grp = client.post("/api/v1/groups", json={"name": "mine"}, headers=super_auth).get_json()
    auth = bearer(client, app, roles=("tenant_admin",), tenant="globex")
    assert client.get(f"/api/v1/groups/{grp['id']}", headers=auth).status_code == 404
    tenants = client.get("/api/v1/tenants", headers=auth).get_json()["items"]
    assert [t["slug"] for t in tenants] == ["globex"]
    default_id = client.get("/api/v1/tenants", headers=super_auth).get_json()["items"][0]["id"]
    assert client.get(f"/api/v1/tenants/{default_id}", headers=auth).status_code == 404
    users = client.get("/api/v1/users", headers=auth).get_json()["items"]
    assert [u["id"] for u in users] == [other_user]
    audit = client.get("/api/v1/audit", headers=auth).get_json()["items"]
    assert audit and all(e["tenant"] == users[0]["tenant"] for e in audit)
    clients = client.get("/api/v1/clients", headers=auth).get_json()["items"]
    assert all(c["tenant_id"] == users[0]["tenant"] for c in clients)
    default_client = client.get("/api/v1/clients", headers=super_auth).get_json()["items"][0]
    assert client.get(f"/api/v1/clients/{default_client['client_id']}",
                      headers=auth).status_code == 404


UI_PAGES = {"/admin/users": "users:read", "/admin/audit": "audit:read",
            "/admin/roles": "users:read", "/admin/groups": "users:read",
            "/admin/tenants": "users:read", "/admin/clients": "clients:write|audit:read",
            "/admin/keys": "keys:write", "/admin/import": "users:write"}


@pytest.mark.parametrize("role", ROLES)
def test_console_pages_by_role(app, client, role):
    from tests.integration.admin_support import browser_login

    make_person(app, f"ui-{role}", roles=[role])
    browser_login(client, f"ui-{role}")
    held = set(BUILTIN_ROLES[role][1])
    for path, needed in UI_PAGES.items():
        expected = 200 if set(needed.split("|")) & held else 403
        assert client.get(path).status_code == expected, (role, path)


def test_custom_role_grants_exactly_its_permissions(app, client):
    auth = bearer(client, app)
    role = client.post("/api/v1/roles", json={"name": "readers", "permissions": ["users:read"]},
                       headers=auth)
    assert role.status_code == 201
    cid_auth = bearer(client, app, roles=("readers",))
    assert client.get("/api/v1/users", headers=cid_auth).status_code == 200
    assert client.get("/api/v1/audit", headers=cid_auth).status_code == 403
    uid = make_person(app, "cora")
    assert client.post(f"/api/v1/users/{uid}/roles", json={"role": "readers"},
                       headers=auth).get_json()["roles"] == ["readers"]
    changed = client.patch(f"/api/v1/roles/{role.get_json()['id']}",
                           json={"permissions": ["users:read", "audit:read"]}, headers=auth)
    assert changed.status_code == 200
    assert client.get("/api/v1/audit", headers=bearer(client, app, roles=("readers",))
                      ).status_code == 200
    builtin = client.get("/api/v1/roles", headers=auth).get_json()["items"][0]
    assert client.delete(f"/api/v1/roles/{builtin['id']}", headers=auth).status_code == 403
