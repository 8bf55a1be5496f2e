"""SCIM confinement: a provisioning client sees and changes only its own tenant, and only
people and groups it outranks (the admin rank rule); each refusal is audited."""

from __future__ import annotations

from idp.audit import EventType
from tests.account_support import events
from tests.integration.admin_support import make_person, make_tenant
from tests.integration.scim_support import GROUP_SCHEMA, new_user, patch_op, scim_headers

USERS, GROUPS = "/scim/v2/Users", "/scim/v2/Groups"


def test_a_client_never_sees_or_touches_another_tenant(app, client):
    make_tenant(app, "acme")
    make_tenant(app, "globex")
    acme = scim_headers(client, app, tenant="acme")
    globex = scim_headers(client, app, tenant="globex")
    theirs = client.post(USERS, json=new_user("wile"), headers=globex).get_json()
    group = client.post(GROUPS, headers=globex, json={
        "schemas": [GROUP_SCHEMA], "displayName": "coyotes",
        "members": [{"value": theirs["id"]}]}).get_json()
    ours = client.post(USERS, json=new_user("road"), headers=acme).get_json()
    assert client.get(f"{USERS}/{theirs['id']}", headers=acme).status_code == 404
    assert client.patch(f"{USERS}/{theirs['id']}", headers=acme, json=patch_op(
        {"op": "replace", "path": "active", "value": False})).status_code == 404
    assert client.delete(f"{USERS}/{theirs['id']}", headers=acme).status_code == 404
    assert client.get(f"{GROUPS}/{group['id']}", headers=acme).status_code == 404
    listed = client.get(f'{USERS}?filter=userName eq "wile"', headers=acme).get_json()
    assert listed["totalResults"] == 0
    everyone = client.get(USERS, headers=acme).get_json()
    assert [r["userName"] for r in everyone["Resources"]] == ["road"]
    assert client.get(GROUPS, headers=acme).get_json()["totalResults"] == 0
    # a member from the other tenant is not a person here
    refused = client.post(GROUPS, headers=acme, json={
        "schemas": [GROUP_SCHEMA], "displayName": "mixed",
        "members": [{"value": ours["id"]}, {"value": theirs["id"]}]})
    assert refused.status_code == 400 and refused.get_json()["scimType"] == "invalidValue"
    # the same userName may exist in both tenants
    assert client.post(USERS, json=new_user("wile"), headers=acme).status_code == 201
    still = client.get(f"{USERS}/{theirs['id']}", headers=globex).get_json()
    assert still["active"] is True


def test_a_client_cannot_see_or_touch_someone_it_does_not_outrank(app, client):
    boss = make_person(app, "boss", roles=["superadmin"])
    scim = scim_headers(client, app, roles=("tenant_admin",))
    names = [r["userName"] for r in client.get(USERS, headers=scim).get_json()["Resources"]]
    assert "boss" not in names and "admin" not in names
    assert client.get(f'{USERS}?filter=userName eq "boss"', headers=scim).get_json()[
        "totalResults"] == 0
    for method, body in (("get", None), ("delete", None),
                         ("patch", patch_op({"op": "replace", "path": "active", "value": False})),
                         ("put", new_user("boss"))):
        response = getattr(client, method)(f"{USERS}/{boss}", headers=scim, json=body)
        assert response.status_code == 403, (method, response.get_data(as_text=True))
        assert response.get_json()["schemas"][0].endswith(":Error")
    denied = events(app, EventType.AUTHZ_DENIED)
    assert len(denied) == 4
    assert {e.actor_id for e in denied} == {denied[0].actor_id}
    assert denied[0].actor_id.startswith("client:") and str(denied[0].subject_id) == boss
    # nor hand the boss a group, nor put the boss in one
    group = client.post(GROUPS, headers=scim, json={"schemas": [GROUP_SCHEMA],
                                                    "displayName": "staff"}).get_json()
    added = client.patch(f"{GROUPS}/{group['id']}", headers=scim, json=patch_op(
        {"op": "add", "path": "members", "value": [{"value": boss}]}))
    assert added.status_code == 403
    after = client.get(f"{GROUPS}/{group['id']}", headers=scim).get_json()
    assert "members" not in after


def test_a_helpdesk_client_reads_and_disables_but_cannot_create(app, client):
    alice = make_person(app, "alice")
    scim = scim_headers(client, app, roles=("helpdesk",))
    assert client.get(f"{USERS}/{alice}", headers=scim).status_code == 200
    created = client.post(USERS, json=new_user("mallory"), headers=scim)
    assert created.status_code == 403
    renamed = client.patch(f"{USERS}/{alice}", headers=scim, json=patch_op(
        {"op": "replace", "path": "displayName", "value": "x"}))
    assert renamed.status_code == 403
    assert events(app, EventType.AUTHZ_DENIED)[-1].details["permission"] == "users:write"
    assert client.get(f"{USERS}/{alice}", headers=scim).get_json().get("displayName") is None
    disabled = client.patch(f"{USERS}/{alice}", headers=scim, json=patch_op(
        {"op": "replace", "path": "active", "value": False}))
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False


def test_a_provisioning_client_gets_only_the_scim_scope(app, client):
    import base64

    from tests.integration.scim_support import scim_client

    cid, secret = scim_client(app)
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    admin = client.post("/token", data={"grant_type": "client_credentials", "scope": "idp:admin"},
                        headers={"Authorization": f"Basic {basic}"})
    assert admin.status_code == 400 and admin.get_json()["error"] == "invalid_scope"
    scim = scim_headers(client, app)
    assert client.get("/api/v1/users", headers=scim).status_code in (401, 403)
