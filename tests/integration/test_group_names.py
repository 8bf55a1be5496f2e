"""Group names are display names as directories send them ("Sales Team EMEA"): one rule
(accounts.groups.check_group_name) for the admin API, the console and SCIM. Control and
invisible characters, odd spaces and overlong names are a clear 4xx; role names stay
plain identifiers."""

from __future__ import annotations

import pytest

from tests.factories import csrf_from
from tests.integration.admin_support import bearer, browser_login, make_person
from tests.integration.scim_support import GROUP_SCHEMA, patch_op, scim_headers

GROUPS = "/scim/v2/Groups"
GOOD = ["Sales Team EMEA", "Ventes Île-de-France", "R&D (Berlin) / QA #2", "営業部", "a" * 100]
BAD = ["", "   ", " Sales", "Sales ", "Tab\there", "line\nbreak", "evil\u202etxt.exe",
       "zero\u200bwidth", "non\u00a0breaking", "a" * 101, None, 7]


@pytest.mark.parametrize("name", GOOD)
def test_directory_names_are_accepted_everywhere(app, client, name):
    scim = scim_headers(client, app)
    made = client.post(GROUPS, headers=scim, json={"schemas": [GROUP_SCHEMA],
                                                   "displayName": name})
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["displayName"] == name
    found = client.get(GROUPS, query_string={"filter": f'displayName eq "{name}"'},
                       headers=scim).get_json()
    assert [g["id"] for g in found["Resources"]] == [made.get_json()["id"]]
    admin = bearer(client, app)
    listed = client.get("/api/v1/groups", headers=admin).get_json()["items"]
    assert [g["name"] for g in listed] == [name]
    again = client.post("/api/v1/groups", json={"name": name}, headers=admin)
    assert again.status_code == 409  # the same rule, the same uniqueness


@pytest.mark.parametrize("name", BAD)
def test_dangerous_or_overlong_names_are_refused_with_4xx(app, client, name):
    admin = bearer(client, app)
    api = client.post("/api/v1/groups", json={"name": name}, headers=admin)
    assert api.status_code == 422, api.get_data(as_text=True)
    assert api.get_json()["field"] == "name"
    scim = scim_headers(client, app)
    via_scim = client.post(GROUPS, headers=scim, json={"schemas": [GROUP_SCHEMA],
                                                       "displayName": name})
    assert via_scim.status_code == 400, via_scim.get_data(as_text=True)
    assert via_scim.get_json()["scimType"] in {"invalidValue", "invalidSyntax"}
    assert client.get("/api/v1/groups", headers=admin).get_json()["items"] == []


def test_a_rename_follows_the_same_rule(app, client):
    scim = scim_headers(client, app)
    made = client.post(GROUPS, headers=scim, json={"schemas": [GROUP_SCHEMA],
                                                   "displayName": "Sales Team"}).get_json()
    renamed = client.patch(f"{GROUPS}/{made['id']}", headers=scim, json=patch_op(
        {"op": "replace", "path": "displayName", "value": "Sales Team EMEA"}))
    assert renamed.status_code == 200 and renamed.get_json()["displayName"] == "Sales Team EMEA"
    refused = client.patch(f"{GROUPS}/{made['id']}", headers=scim, json=patch_op(
        {"op": "replace", "path": "displayName", "value": "Sales\u202eTeam"}))
    assert refused.status_code == 400 and refused.get_json()["scimType"] == "invalidValue"
    assert client.get(f"{GROUPS}/{made['id']}", headers=scim).get_json()["displayName"] == \
        "Sales Team EMEA"


def test_the_console_takes_the_same_names_and_roles_stay_identifiers(app, client):
    make_person(app, "boss", roles=["superadmin"])
    browser_login(client, "boss")
    page = client.get("/admin/groups").get_data(as_text=True)
    client.post("/admin/groups", data={"csrf_token": csrf_from(page), "name": "Sales Team EMEA"})
    assert "Sales Team EMEA" in client.get("/admin/groups").get_data(as_text=True)
    refused = client.post("/admin/groups", data={"csrf_token": csrf_from(page),
                                                 "name": "bad\u202ename"})
    assert refused.status_code == 422
    assert [g["name"] for g in client.get("/api/v1/groups").get_json()["items"]] == [
        "Sales Team EMEA"]
    admin = bearer(client, app)
    role = client.post("/api/v1/roles", json={"name": "Sales Team", "permissions": []},
                       headers=admin)
    assert role.status_code == 422 and role.get_json()["field"] == "name"
