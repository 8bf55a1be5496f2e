"""Admin API: people — list/filter/paging, create, edit (allowlist), delete, disable..."""

from __future__ import annotations

import pytest

from tests.integration.admin_support import bearer, make_person, make_tenant


@pytest.fixture
def client(app):
    """A client that keeps no request context, so admin and person clients can alternate."""
    return app.test_client()


def test_list_filters_and_stable_cursor(app, client):
    auth = bearer(client, app)
    for i in range(5):
        make_person(app, f"p{i}", department="Sales" if i % 2 else "Ops")
    first = client.get("/api/v1/users?limit=3", headers=auth)
    assert first.status_code == 200
    body = first.get_json()
    assert len(body["items"]) == 3 and body["next_cursor"]
    make_person(app, "late")  # an insert between pages neither repeats nor skips anyone
    second = client.get(f"/api/v1/users?limit=3&cursor={body['next_cursor']}", headers=auth)
    names = [u["username"] for u in body["items"] + second.get_json()["items"]]
    third = second.get_json()["next_cursor"]
    while third:
        page = client.get(f"/api/v1/users?limit=3&cursor={third}", headers=auth).get_json()
        names += [u["username"] for u in page["items"]]
        third = page["next_cursor"]
    assert names == ["admin", "p0", "p1", "p2", "p3", "p4", "late"]
    found = client.get("/api/v1/users?q=P3", headers=auth).get_json()["items"]
    assert [u["username"] for u in found] == ["p3"]
    admins = client.get("/api/v1/users?role=superadmin", headers=auth).get_json()["items"]
    assert [u["username"] for u in admins] == ["admin"]
    assert client.get("/api/v1/users?cursor=!!!", headers=auth).status_code == 400
    assert client.get("/api/v1/users?status=weird", headers=auth).status_code == 422
    bad_date = client.get("/api/v1/users?last_login_after=yesterday", headers=auth)
    assert bad_date.status_code == 422 and set(bad_date.get_json()) >= {"error", "message"}


def test_status_filter_and_disable_enable_unlock(app, client):
    auth = bearer(client, app)
    uid = make_person(app, "bob")
    r = client.post(f"/api/v1/users/{uid}/disable", headers=auth)
    assert r.status_code == 200 and r.get_json()["status"] == "disabled"
    listed = client.get("/api/v1/users?status=disabled", headers=auth).get_json()["items"]
    assert [u["username"] for u in listed] == ["bob"]
    assert client.post(f"/api/v1/users/{uid}/enable", headers=auth).get_json()["status"] == "active"
    with app.app_context():
        from idp.extensions import db
        from idp.models.accounts import User
        from idp.models.base import utcnow

        db.session.get(User, __import__("uuid").UUID(uid)).locked_at = utcnow()
        db.session.commit()
    assert client.get("/api/v1/users?status=locked", headers=auth).get_json()["items"][0]["id"] == uid
    unlocked = client.post(f"/api/v1/users/{uid}/unlock", headers=auth).get_json()
    assert unlocked["status"] == "active" and unlocked["locked"] is False


def test_create_and_mass_assignment_refused(app, client):
    auth = bearer(client, app)
    created = client.post("/api/v1/users", json={"email": "new@example.com", "department": "R&D",
                                                 "phone_number": "+1 555"}, headers=auth)
    assert created.status_code == 201, created.get_json()
    uid = created.get_json()["id"]
    assert created.get_json()["department"] == "R&D" and created.get_json()["roles"] == []
    for field, value in [("roles", ["superadmin"]), ("tenant", "other"), ("is_active", False),
                         ("status", "active"), ("id", "x"), ("password", "x"),
                         ("locked_at", None), ("erased_at", None)]:
        r = client.patch(f"/api/v1/users/{uid}", json={field: value}, headers=auth)
        assert r.status_code == 422, (field, r.get_json())
        assert r.get_json()["error"] == "validation_failed"
    assert client.post("/api/v1/users", json={"email": "x@example.com", "roles": ["superadmin"]},
                       headers=auth).status_code == 422
    r = client.patch(f"/api/v1/users/{uid}", json={"locale": "de-DE", "manager": "Zoe"},
                     headers=auth)
    assert r.status_code == 200 and r.get_json()["locale"] == "de-DE"
    put = client.put(f"/api/v1/users/{uid}", json={"username": "newbie",
                                                   "email": "new@example.com"}, headers=auth)
    assert put.status_code == 200 and put.get_json()["locale"] is None
    assert client.put(f"/api/v1/users/{uid}", json={"locale": "x"}, headers=auth).status_code == 422
    dup = client.post("/api/v1/users", json={"email": "new@example.com"}, headers=auth)
    assert dup.status_code == 409
    assert client.post("/api/v1/users", data="nope", headers=auth).status_code == 422


def test_delete_is_separate_and_protects_last_admin_and_self(app, client):
    auth = bearer(client, app)
    uid = make_person(app, "gone")
    assert client.delete(f"/api/v1/users/{uid}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/users/{uid}", headers=auth).status_code == 404
    with app.app_context():
        from sqlalchemy import select

        from idp.extensions import db
        from idp.models.accounts import User

        admin_id = str(db.session.execute(select(User.id).where(User.username == "admin")).scalar())
    # The bootstrap admin is the last superadmin: neither delete nor disable nor erase.
    r = client.delete(f"/api/v1/users/{admin_id}", headers=auth)
    assert r.status_code == 409 and r.get_json()["error"] == "last_admin"
    assert client.post(f"/api/v1/users/{admin_id}/disable", headers=auth).status_code == 409
    assert client.post(f"/api/v1/users/{admin_id}/erase", json={"confirm": admin_id},
                       headers=auth).status_code == 409
    assert client.delete(f"/api/v1/users/{admin_id}/roles/superadmin",
                         headers=auth).status_code == 409


def test_self_deletion_and_self_lockout_refused(app, client):
    from tests.integration.admin_support import browser_login

    make_person(app, "boss", roles=["tenant_admin"])
    make_person(app, "boss2", roles=["tenant_admin"])
    csrf = browser_login(client, "boss")
    me = client.get("/api/v1/users?q=boss&limit=1").get_json()["items"][0]
    assert me["username"] == "boss"
    headers = {"X-CSRFToken": csrf}
    r = client.delete(f"/api/v1/users/{me['id']}", headers=headers)
    assert r.status_code == 409 and r.get_json()["error"] == "self_action"
    assert client.post(f"/api/v1/users/{me['id']}/disable", headers=headers).status_code == 409
    r = client.delete(f"/api/v1/users/{me['id']}/roles/tenant_admin", headers=headers)
    assert r.status_code == 409 and r.get_json()["error"] == "self_action"
    # Without the CSRF header a browser session cannot change anything.
    assert client.post(f"/api/v1/users/{me['id']}/unlock").status_code == 403


def test_sessions_list_and_revoke(app, client):
    from tests.integration.admin_support import browser_login

    uid = make_person(app, "sam")
    with app.test_client() as other:
        browser_login(other, "sam")
    auth = bearer(client, app)
    sessions = client.get(f"/api/v1/users/{uid}/sessions", headers=auth).get_json()["items"]
    assert len(sessions) == 1
    assert client.delete(f"/api/v1/users/{uid}/sessions", headers=auth).get_json() == {"revoked": 1}
    assert client.get(f"/api/v1/users/{uid}/sessions", headers=auth).get_json()["items"] == []


def test_cross_tenant_ids_answer_404(app, client):
    make_tenant(app, "acme")
    other = make_person(app, "eve", tenant="acme")
    auth = bearer(client, app, roles=("tenant_admin",))
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("post", "/disable"),
                         ("post", "/unlock"), ("post", "/erase"), ("get", "/export"),
                         ("get", "/sessions"), ("delete", "/sessions")]:
        r = getattr(client, method)(f"/api/v1/users/{other}{path}", json={}, headers=auth)
        assert r.status_code == 404, (method, path, r.status_code)
    listed = client.get("/api/v1/users", headers=auth).get_json()["items"]
    assert other not in [u["id"] for u in listed]
    # A superadmin sees every tenant.
    assert client.get(f"/api/v1/users/{other}", headers=bearer(client, app)).status_code == 200


def test_unauthenticated_and_bad_tokens(app, client):
    r = client.get("/api/v1/users")
    assert r.status_code == 401 and set(r.get_json()) >= {"error", "message"}
    r = client.get("/api/v1/users", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"
    assert "Bearer" in r.headers["WWW-Authenticate"]
    # A token without scope idp:admin is refused with insufficient_scope.
    import base64

    from tests.factories import make_client

    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["reports"])
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    token = client.post("/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}"}).get_json()["access_token"]
    r = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (401, 403) and r.get_json()["error"] in {"invalid_token",
                                                                     "insufficient_scope"}


def test_rate_limit_answers_429_json(app, client):
    auth = bearer(client, app)
    app.config["ADMIN_API_RATE_LIMIT"] = "3 per minute"
    statuses = [client.get("/api/v1/roles", headers=auth).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    body = client.get("/api/v1/roles", headers=auth).get_json()
    assert body["error"] == "rate_limited" and body["message"]


def test_last_login_filters(app, client):
    import uuid
    from datetime import UTC, datetime

    from idp.extensions import db
    from idp.models.accounts import User

    auth = bearer(client, app)
    old, new = make_person(app, "olda"), make_person(app, "newt")
    with app.app_context():
        db.session.get(User, uuid.UUID(old)).last_login_at = datetime(2024, 1, 1, tzinfo=UTC)
        db.session.get(User, uuid.UUID(new)).last_login_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.commit()
    before = client.get("/api/v1/users?last_login_before=2025-01-01T00:00:00Z", headers=auth)
    after = client.get("/api/v1/users?last_login_after=2025-01-01T00:00:00Z", headers=auth)
    assert [u["id"] for u in before.get_json()["items"]] == [old]
    assert [u["id"] for u in after.get_json()["items"]] == [new]


def test_create_with_password_obeys_the_tenant_policy(app, client):
    auth = bearer(client, app)
    weak = client.post("/api/v1/users", json={"email": "weak@example.com", "password": "abc"},
                       headers=auth)
    assert weak.status_code == 422 and weak.get_json()["field"] == "password"
    strong = client.post("/api/v1/users", json={"email": "strong@example.com",
                                                 "password": "Quartz-Harbor-Lamp-77!"},
                         headers=auth)
    assert strong.status_code == 201


def test_no_self_lockout_through_custom_roles_and_groups(app, client):
    """A person whose roles:write comes from a custom role held through a group cannot
    take it from themselves by editing or deleting the role or the group."""
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.accounts import User
    from idp.rbac import groups as group_ops
    from idp.request_context import system_context
    from idp.tenancy.tenants import query_tenant
    from tests.integration.admin_support import browser_login

    make_person(app, "rita")
    with app.app_context():
        tenant = query_tenant(db.session, None)
        role = group_ops.create_role(db.session, system_context(), tenant, {
            "name": "role-admins", "permissions": ["roles:write", "users:read"]})
        group = group_ops.create_group(db.session, system_context(), tenant, {"name": "admins"})
        group_ops.set_group_role(db.session, system_context(), group, role, True)
        rita = db.session.execute(select(User).where(User.username == "rita")).scalar_one()
        group_ops.add_member(db.session, system_context(), group, rita)
        db.session.commit()
        role_id, group_id, rita_id = str(role.id), str(group.id), str(rita.id)
    headers = {"X-CSRFToken": browser_login(client, "rita")}

    def refused(response):
        assert response.status_code == 409, response.get_data(as_text=True)
        assert response.get_json()["error"] == "self_action"

    refused(client.patch(f"/api/v1/roles/{role_id}", json={"permissions": ["users:read"]},
                         headers=headers))
    refused(client.delete(f"/api/v1/roles/{role_id}", headers=headers))
    refused(client.delete(f"/api/v1/groups/{group_id}/roles/role-admins", headers=headers))
    refused(client.delete(f"/api/v1/groups/{group_id}", headers=headers))
    refused(client.delete(f"/api/v1/groups/{group_id}/members/{rita_id}", headers=headers))
    assert client.get(f"/api/v1/roles/{role_id}").get_json()["permissions"] == [
        "roles:write", "users:read"]
    kept = client.patch(f"/api/v1/roles/{role_id}", json={"permissions": ["roles:write"]},
                        headers=headers)
    assert kept.status_code == 200 and kept.get_json()["permissions"] == ["roles:write"]


def _custom_role(app, name: str, permissions: list[str], holder: str) -> str:
    """A custom role of the default tenant, assigned directly to `holder`; returns its id."""
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.accounts import User
    from idp.rbac import groups as group_ops
    from idp.rbac.roles import assign_role
    from idp.request_context import system_context
    from idp.tenancy.tenants import query_tenant

    with app.app_context():
        tenant = query_tenant(db.session, None)
        role = group_ops.create_role(db.session, system_context(), tenant,
                                     {"name": name, "permissions": permissions})
        user = db.session.execute(select(User).where(User.username == holder)).scalar_one()
        assign_role(db.session, system_context(), user, name, tenant)
        db.session.commit()
        return str(role.id)


def _self_lockout_events(app) -> list:
    from sqlalchemy import select

    from idp.audit import EventType
    from idp.extensions import db
    from idp.models.audit import AuditEvent

    kinds = [EventType.ROLE_UPDATED, EventType.ROLE_DELETED, EventType.ROLE_REVOKED]
    with app.app_context():
        return db.session.execute(select(AuditEvent.type).where(
            AuditEvent.type.in_([k.value for k in kinds]))).scalars().all()


def test_no_self_lockout_through_a_directly_held_custom_role(app, client):
    """Editing, deleting or unassigning one's own custom role so that roles:write goes is
    refused (409 self_action), and nothing changes or is audited."""
    from tests.integration.admin_support import browser_login

    rita_id = make_person(app, "rita")
    role_id = _custom_role(app, "role-admins", ["roles:write", "users:read"], "rita")
    headers = {"X-CSRFToken": browser_login(client, "rita")}

    def refused(response):
        assert response.status_code == 409, response.get_data(as_text=True)
        assert set(response.get_json()) >= {"error", "message"}
        assert response.get_json()["error"] == "self_action"

    refused(client.patch(f"/api/v1/roles/{role_id}", json={"permissions": ["users:read"]},
                         headers=headers))
    refused(client.patch(f"/api/v1/roles/{role_id}", json={"permissions": []}, headers=headers))
    refused(client.delete(f"/api/v1/roles/{role_id}", headers=headers))
    refused(client.delete(f"/api/v1/users/{rita_id}/roles/role-admins", headers=headers))
    # There is no PUT on roles, so no second way round the rule.
    assert client.put(f"/api/v1/roles/{role_id}", json={"permissions": []},
                      headers=headers).status_code == 405
    role = client.get(f"/api/v1/roles/{role_id}").get_json()
    assert role["permissions"] == ["roles:write", "users:read"]
    me = client.get(f"/api/v1/users/{rita_id}").get_json()
    assert "role-admins" in me["roles"]
    assert _self_lockout_events(app) == []


def test_role_changes_that_leave_the_actor_roles_write_are_allowed(app, client):
    """The rule looks at the acting person's effective rights only: someone else's role may
    lose roles:write, and one's own direct role may go while a group still grants it."""
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.accounts import User
    from idp.rbac import groups as group_ops
    from idp.rbac.roles import query_role
    from idp.request_context import system_context
    from idp.tenancy.tenants import query_tenant
    from tests.integration.admin_support import browser_login

    rita_id = make_person(app, "rita")
    bob_id = make_person(app, "bob")
    mine = _custom_role(app, "role-admins", ["roles:write", "users:read"], "rita")
    theirs = _custom_role(app, "editors", ["roles:write", "users:read"], "bob")
    headers = {"X-CSRFToken": browser_login(client, "rita")}

    other = client.patch(f"/api/v1/roles/{theirs}", json={"permissions": ["users:read"]},
                         headers=headers)
    assert other.status_code == 200 and other.get_json()["permissions"] == ["users:read"]
    assert client.delete(f"/api/v1/users/{bob_id}/roles/editors",
                         headers=headers).status_code == 204
    with app.app_context():  # roles:write now also reaches rita through a group
        tenant = query_tenant(db.session, None)
        group = group_ops.create_group(db.session, system_context(), tenant, {"name": "ops"})
        group_ops.set_group_role(db.session, system_context(), group,
                                 query_role(db.session, "role-admins", tenant), True)
        rita = db.session.execute(select(User).where(User.username == "rita")).scalar_one()
        group_ops.add_member(db.session, system_context(), group, rita)
        db.session.commit()
    own_direct = client.delete(f"/api/v1/users/{rita_id}/roles/role-admins", headers=headers)
    assert own_direct.status_code == 204, own_direct.get_data(as_text=True)
    assert client.get(f"/api/v1/roles/{mine}").get_json()["permissions"] == [
        "roles:write", "users:read"]


def test_builtin_roles_cannot_be_edited_or_deleted(app, client):
    """Built-in roles (superadmin among them) are immutable, in the API and in the service."""
    from sqlalchemy import select

    from idp.errors import Conflict
    from idp.extensions import db
    from idp.models.rbac import Role
    from idp.rbac import groups as group_ops
    from idp.request_context import system_context

    auth = bearer(client, app)
    roles = client.get("/api/v1/roles", headers=auth).get_json()["items"]
    superadmin = next(r for r in roles if r["builtin"] and r["name"] == "superadmin")
    edited = client.patch(f"/api/v1/roles/{superadmin['id']}", json={"permissions": []},
                          headers=auth)
    assert edited.status_code == 403 and set(edited.get_json()) >= {"error", "message"}
    assert client.delete(f"/api/v1/roles/{superadmin['id']}", headers=auth).status_code == 403
    with app.app_context():
        role = db.session.execute(select(Role).where(
            Role.name == "superadmin", Role.builtin.is_(True))).scalar_one()
        with pytest.raises(Conflict):
            group_ops.update_role(db.session, system_context(), role, {"permissions": []})
        with pytest.raises(Conflict):
            group_ops.delete_role(db.session, system_context(), role)
        db.session.rollback()
    after = client.get(f"/api/v1/roles/{superadmin['id']}", headers=auth).get_json()
    assert after["permissions"] == superadmin["permissions"] and "roles:write" in after[
        "permissions"]


def test_require_password_change_from_api_and_console(app, client):
    from tests.factories import csrf_from
    from tests.integration.admin_support import browser_login

    pat = make_person(app, "pat")
    sam = make_person(app, "sam")
    auth = bearer(client, app, roles=("tenant_admin",))
    response = client.post(f"/api/v1/users/{pat}/require-password-change", headers=auth)
    assert response.status_code == 200 and response.get_json()["password_expired"] is True
    events = client.get(f"/api/v1/audit?user={pat}&type=user.password.change_required",
                        headers=auth).get_json()["items"]
    assert len(events) == 1
    helpdesk = bearer(client, app, roles=("helpdesk",))
    assert client.post(f"/api/v1/users/{sam}/require-password-change",
                       headers=helpdesk).status_code == 403

    console = app.test_client()
    make_person(app, "boss", roles=["tenant_admin"])
    browser_login(console, "boss")
    page = console.get(f"/admin/users/{sam}/require-password-change").get_data(as_text=True)
    assert "Require a new password" in page
    done = console.post(f"/admin/users/{sam}/require-password-change",
                        data={"csrf_token": csrf_from(page)})
    assert done.status_code == 302
    assert client.get(f"/api/v1/users/{sam}", headers=auth).get_json()["password_expired"]


def test_api_enforces_email_uniqueness_across_case_and_unicode_forms(app, client):
    auth = bearer(client, app, roles=("tenant_admin",))
    first = client.post("/api/v1/users", json={"email": "Zoe@Example.com"}, headers=auth)
    assert first.status_code == 201
    for other in ("zoe@example.com", "ZOE@EXAMPLE.COM", "Ｚoe@example.com"):
        again = client.post("/api/v1/users", json={"email": other}, headers=auth)
        assert again.status_code == 409, (other, again.get_data(as_text=True))
        assert again.get_json()["error"] and again.get_json()["message"]
    second = client.post("/api/v1/users", json={"email": "yan@example.com"}, headers=auth)
    moved = client.patch(f"/api/v1/users/{second.get_json()['id']}",
                         json={"email": "zoe@EXAMPLE.com"}, headers=auth)
    assert moved.status_code == 409
    bad = client.post("/api/v1/users", json={"email": "not-an-address"}, headers=auth)
    assert bad.status_code == 422
