"""SCIM Groups over HTTP: members are people of the tenant, PUT replaces the member list,
ETags, filters and sorting, and what a person's `groups` shows."""

from __future__ import annotations

from idp.audit import EventType
from tests.account_support import events
from tests.integration.scim_support import GROUP_SCHEMA, new_user, patch_op, scim_headers

USERS, GROUPS = "/scim/v2/Users", "/scim/v2/Groups"


def person(client, scim, name: str) -> str:
    response = client.post(USERS, json=new_user(name), headers=scim)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def group(client, scim, name: str, members=()) -> dict:
    response = client.post(GROUPS, headers=scim, json={
        "schemas": [GROUP_SCHEMA], "displayName": name,
        "members": [{"value": m} for m in members]})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def member_ids(body: dict) -> set[str]:
    return {m["value"] for m in body.get("members", [])}


def test_put_replaces_members_and_if_match_guards_it(app, client):
    scim = scim_headers(client, app)
    ann, bob, cy = (person(client, scim, n) for n in ("ann", "bob", "cy"))
    made = group(client, scim, "engineering", [ann, bob])
    assert member_ids(made) == {ann, bob}
    replaced = client.put(f"{GROUPS}/{made['id']}", headers={
        **scim, "If-Match": made["meta"]["version"]}, json={
        "schemas": [GROUP_SCHEMA], "displayName": "engineering", "externalId": "grp-1",
        "members": [{"value": bob}, {"value": cy}]})
    assert replaced.status_code == 200, replaced.get_data(as_text=True)
    assert member_ids(replaced.get_json()) == {bob, cy}
    assert replaced.get_json()["externalId"] == "grp-1"
    stale = client.patch(f"{GROUPS}/{made['id']}", headers={
        **scim, "If-Match": made["meta"]["version"]}, json=patch_op(
        {"op": "add", "path": "members", "value": [{"value": ann}]}))
    assert stale.status_code == 412
    added = [e.details["group"] for e in events(app, EventType.GROUP_MEMBER_ADDED)]
    removed = [e.details["group"] for e in events(app, EventType.GROUP_MEMBER_REMOVED)]
    assert added.count("engineering") == 3 and removed == ["engineering"]
    ann_view = client.get(f"{USERS}/{ann}", headers=scim).get_json()
    assert "groups" not in ann_view
    cy_view = client.get(f"{USERS}/{cy}", headers=scim).get_json()
    assert cy_view["groups"] == [{"value": made["id"], "display": "engineering",
                                  "type": "direct",
                                  "$ref": f"http://localhost{GROUPS}/{made['id']}"}]


def test_group_lists_filter_sort_and_hide_deleted_members(app, client):
    scim = scim_headers(client, app)
    ann = person(client, scim, "ann")
    group(client, scim, "zeta", [ann])
    group(client, scim, "alpha")
    names = client.get(f"{GROUPS}?sortBy=displayName", headers=scim).get_json()
    assert [g["displayName"] for g in names["Resources"]] == ["alpha", "zeta"]
    found = client.get(f'{GROUPS}?filter=displayName co "et"', headers=scim).get_json()
    assert [g["displayName"] for g in found["Resources"]] == ["zeta"]
    assert client.delete(f"{USERS}/{ann}", headers=scim).status_code == 204
    zeta = client.get(f'{GROUPS}?filter=displayName eq "zeta"', headers=scim).get_json()
    assert "members" not in zeta["Resources"][0]
    renamed = client.post(GROUPS, json={"schemas": [GROUP_SCHEMA], "displayName": "alpha"},
                          headers=scim)
    assert renamed.status_code == 409 and renamed.get_json()["scimType"] == "uniqueness"


def test_multiple_emails_round_trip_while_one_is_used(app, client):
    scim = scim_headers(client, app)
    emails = [{"value": "home@example.org", "type": "home"},
              {"value": "Work@Example.COM", "type": "work", "primary": True}]
    body = client.post(USERS, headers=scim, json=new_user("multi", emails=emails)).get_json()
    # as sent, but for the domain, which email normalisation lower-cases
    assert body["emails"] == [emails[0], {**emails[1], "value": "Work@example.com"}]
    from idp.extensions import db
    from idp.models.accounts import User

    with app.app_context():
        assert db.session.get(User, __import__("uuid").UUID(body["id"])).email == \
            "Work@example.com"
