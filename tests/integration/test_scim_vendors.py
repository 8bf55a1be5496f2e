"""The requests Entra ID and Okta actually send, from their published SCIM examples
(Microsoft "Tutorial: Develop and plan provisioning for a SCIM endpoint", Okta "SCIM 2.0
protocol reference"), accepted as sent. (Okta's examples use okta.local, a reserved
name no mail can reach; the addresses here use example.com.)"""

from __future__ import annotations

from tests.integration.scim_support import (
    ENTERPRISE,
    GROUP_SCHEMA,
    PATCH,
    USER_SCHEMA,
    patch_op,
    scim_headers,
)

USERS, GROUPS = "/scim/v2/Users", "/scim/v2/Groups"


def entra_user(user_name: str, external_id: str) -> dict:
    """Microsoft's "Create User" request."""
    return {"schemas": [USER_SCHEMA, ENTERPRISE], "externalId": external_id,
            "userName": user_name, "active": True,
            "emails": [{"primary": True, "type": "work", "value": user_name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName",
                     "givenName": "givenName"},
            "roles": []}


def test_entra_id_user_lifecycle(app, client):
    scim = scim_headers(client, app)
    upn = "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081@testuser.com"
    made = client.post(USERS, json=entra_user(upn, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"),
                       headers=scim)
    assert made.status_code == 201, made.get_data(as_text=True)
    user = made.get_json()
    assert user["userName"] == upn and user["name"]["givenName"] == "givenName"
    # "Get User by query": Entra matches on userName (or externalId) first
    found = client.get(f'{USERS}?filter=userName eq "{upn}"', headers=scim).get_json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user["id"]
    zero = client.get(f'{USERS}?filter=userName eq "non-existent user"', headers=scim)
    assert zero.get_json()["totalResults"] == 0
    # "Update User [Multi-valued properties]"
    multi = client.patch(f"{USERS}/{user['id']}", headers=scim, json={
        "schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value',
             "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]})
    assert multi.status_code == 200, multi.get_data(as_text=True)
    assert multi.get_json()["emails"][0]["value"] == "updatedEmail@microsoft.com"
    assert multi.get_json()["name"]["familyName"] == "updatedFamilyName"
    # "Update User [Single-valued properties]" and the manager as a bare id
    single = client.patch(f"{USERS}/{user['id']}", headers=scim, json={
        "schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "userName", "value": "5b50642d-79fc@contoso.com"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "00000000-0000-0000-0000-0000000000aa"}]})
    assert single.status_code == 200, single.get_data(as_text=True)
    assert single.get_json()["userName"] == "5b50642d-79fc@contoso.com"
    assert single.get_json()[ENTERPRISE]["manager"]["value"].endswith("aa")
    # "Disable User": a string boolean; then the replace without a path carrying an object
    off = client.patch(f"{USERS}/{user['id']}", headers=scim, json={
        "schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert off.status_code == 200 and off.get_json()["active"] is False
    on = client.patch(f"{USERS}/{user['id']}", headers=scim, json={
        "schemas": [PATCH], "Operations": [{"op": "replace", "value": {
            "active": "True", "displayName": "Updated Name", "name.givenName": "Given",
            f"{ENTERPRISE}:department": "Sales"}}]})
    assert on.status_code == 200, on.get_data(as_text=True)
    body = on.get_json()
    assert body["active"] is True and body["displayName"] == "Updated Name"
    assert body["name"]["givenName"] == "Given" and body[ENTERPRISE]["department"] == "Sales"
    # "Delete User"
    assert client.delete(f"{USERS}/{user['id']}", headers=scim).status_code == 204
    assert client.get(f"{USERS}/{user['id']}", headers=scim).status_code == 404


def test_entra_id_group_membership(app, client):
    scim = scim_headers(client, app)
    member = client.post(USERS, json=entra_user("member@contoso.com", "m-1"),
                         headers=scim).get_json()
    group = client.post(GROUPS, headers=scim, json={
        "schemas": [GROUP_SCHEMA, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName",
        "meta": {"resourceType": "Group"}})
    assert group.status_code == 201, group.get_data(as_text=True)
    gid = group.get_json()["id"]
    assert group.get_json()["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    by_name = client.get(f'{GROUPS}?excludedAttributes=members&filter=displayName eq "displayName"',
                         headers=scim).get_json()
    assert by_name["totalResults"] == 1 and "members" not in by_name["Resources"][0]
    added = client.patch(f"{GROUPS}/{gid}", headers=scim, json={"schemas": [PATCH], "Operations": [
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": member["id"]}]}]})
    assert added.status_code == 200, added.get_data(as_text=True)
    assert [m["value"] for m in added.get_json()["members"]] == [member["id"]]
    user_view = client.get(f"{USERS}/{member['id']}", headers=scim).get_json()
    assert [g["value"] for g in user_view["groups"]] == [gid]
    by_member = client.get(f'{GROUPS}?filter=members.value eq "{member["id"]}"', headers=scim)
    assert by_member.get_json()["totalResults"] == 1
    removed = client.patch(f"{GROUPS}/{gid}", headers=scim, json={"schemas": [PATCH],
                           "Operations": [{"op": "Remove", "path": "members",
                                           "value": [{"$ref": None, "value": member["id"]}]}]})
    assert removed.status_code == 200 and "members" not in removed.get_json()
    new_name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    renamed = client.patch(f"{GROUPS}/{gid}", headers=scim, json={"schemas": [PATCH],
                           "Operations": [{"op": "Replace", "path": "displayName",
                                           "value": new_name}]})
    assert renamed.get_json()["displayName"].endswith("updatedDisplayName")
    assert client.delete(f"{GROUPS}/{gid}", headers=scim).status_code == 204
    assert client.get(f"{GROUPS}/{gid}", headers=scim).status_code == 404


def test_okta_user_and_group_forms(app, client):
    scim = scim_headers(client, app)
    made = client.post(USERS, headers=scim, json={
        "schemas": [USER_SCHEMA], "userName": "test.user@okta.example.com",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.example.com", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": True})
    assert made.status_code == 201, made.get_data(as_text=True)
    uid = made.get_json()["id"]
    found = client.get(f'{USERS}?filter=userName eq "test.user@okta.example.com"&startIndex=1&count=100',
                       headers=scim).get_json()
    assert found["Resources"][0]["id"] == uid
    # Okta deactivates with a replace without a path
    off = client.patch(f"{USERS}/{uid}", headers=scim, json=patch_op(
        {"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.get_json()["active"] is False
    # Okta's PUT carries the whole user (id included)
    put = client.put(f"{USERS}/{uid}", headers=scim, json={
        **made.get_json(), "name": {"givenName": "Another", "familyName": "User"},
        "active": True})
    assert put.status_code == 200, put.get_data(as_text=True)
    assert put.get_json()["name"]["givenName"] == "Another" and put.get_json()["active"] is True
    group = client.post(GROUPS, headers=scim, json={
        "schemas": [GROUP_SCHEMA], "displayName": "Test-SCIMv2", "members": []}).get_json()
    gid = group["id"]
    client.patch(f"{GROUPS}/{gid}", headers=scim, json=patch_op(
        {"op": "add", "path": "members",
         "value": [{"value": uid, "display": "test.user@okta.example.com"}]}))
    # Okta renames with the id inside the value
    renamed = client.patch(f"{GROUPS}/{gid}", headers=scim, json=patch_op(
        {"op": "replace", "value": {"id": gid, "displayName": "Test-SCIMv2-renamed"}}))
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    assert renamed.get_json()["displayName"] == "Test-SCIMv2-renamed"
    assert [m["value"] for m in renamed.get_json()["members"]] == [uid]
    gone = client.patch(f"{GROUPS}/{gid}", headers=scim, json=patch_op(
        {"op": "remove", "path": f'members[value eq "{uid}"]'}))
    assert gone.status_code == 200 and "members" not in gone.get_json()
