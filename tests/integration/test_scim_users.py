"""SCIM Users over HTTP: create, read, filter, paginate, sort, project, replace, ETags,
errors in SCIM's shape, deactivation ending everything at once, DELETE by tenant choice."""

from __future__ import annotations

import pytest

from idp.audit import EventType
from idp.extensions import db
from idp.models.accounts import User
from tests.account_support import events, sign_in
from tests.factories import make_client, make_user
from tests.integration.scim_support import ENTERPRISE, new_user, patch_op, scim_headers
from tests.oauth_flow import basic, exchange, get_code

USERS = "/scim/v2/Users"


@pytest.fixture
def scim(client, app):
    return scim_headers(client, app)


def create(client, scim, user_name, **extra):
    response = client.post(USERS, json=new_user(user_name, **extra), headers=scim)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def listed(client, scim, query: str) -> dict:
    response = client.get(f"{USERS}?{query}", headers=scim)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/scim+json"
    return response.get_json()


def test_create_read_and_the_enterprise_extension(client, scim):
    made = client.post(USERS, headers=scim, json=new_user(
        "bjensen", externalId="00u1", displayName="Barbara Jensen",
        name={"givenName": "Barbara", "familyName": "Jensen"},
        phoneNumbers=[{"value": "+1 555 0100", "type": "mobile"}],
        **{ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations",
                        "manager": {"value": "26118915"}}}))
    assert made.status_code == 201
    body = made.get_json()
    assert made.headers["Location"] == f"http://localhost{USERS}/{body['id']}"
    assert made.headers["ETag"] == body["meta"]["version"]
    got = client.get(f"{USERS}/{body['id']}", headers=scim).get_json()
    assert got == body
    assert got["userName"] == "bjensen" and got["externalId"] == "00u1" and got["active"] is True
    assert got["name"] == {"givenName": "Barbara", "familyName": "Jensen"}
    assert got["phoneNumbers"] == [{"value": "+1 555 0100", "type": "mobile"}]
    assert got[ENTERPRISE] == {"employeeNumber": "701984", "department": "Tour Operations",
                               "manager": {"value": "26118915"}}
    assert got["meta"]["resourceType"] == "User" and got["meta"]["version"].startswith('W/"')


def test_email_form_user_name_is_kept_as_sent(client, scim, app):
    body = client.post(USERS, headers=scim, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Test.User@contoso.com", "active": "True"}).get_json()
    assert body["userName"] == "Test.User@contoso.com"
    assert body["emails"][0]["value"] == "Test.User@contoso.com"
    assert body["active"] is True
    found = listed(client, scim, 'filter=userName eq "test.user@CONTOSO.com"')
    assert [r["id"] for r in found["Resources"]] == [body["id"]]
    with app.app_context():
        assert db.session.get(User, __import__("uuid").UUID(body["id"])).username == "Test.User"


def test_filters_on_the_issue_attributes(client, scim):
    ann = create(client, scim, "ann", externalId="x-1", displayName="Ann Archer")
    bob = create(client, scim, "bob", externalId="x-2", displayName="Bob Baker", active=False)
    create(client, scim, "carl", displayName="Carl Cook")

    def ids(expression):
        return {r["userName"] for r in listed(client, scim, f"filter={expression}")["Resources"]}

    assert ids('userName eq "ANN"') == {"ann"}
    assert ids('userName co "o"') == {"bob"}
    assert ids('userName sw "c"') == {"carl"}
    assert ids('emails.value eq "bob@example.com"') == {"bob"}
    assert ids('emails[type eq "work" and value co "ann@"]') == {"ann"}
    assert ids('externalId pr') == {"ann", "bob"}
    assert ids('externalId eq "X-1"') == set()  # externalId is case-exact
    assert ids('displayName sw "bob" or displayName ew "cook"') == {"bob", "carl"}
    assert ids('active eq false') == {"bob"}
    assert ids('active eq true and not (userName eq "ann")') >= {"carl"}
    since = bob["meta"]["lastModified"]
    assert "bob" in ids(f'meta.lastModified ge "{since}"')
    assert "ann" not in ids(f'meta.lastModified gt "{since}"')
    assert ids(f'id eq "{ann["id"]}"') == {"ann"}


@pytest.mark.parametrize("expression", ['userName eq', 'nosuch eq "x"', 'userName zz "x"',
                                        'meta.lastModified gt "yesterday"', 'active co "t"'])
def test_bad_filters_are_invalid_filter(client, scim, expression):
    response = client.get(f"{USERS}?filter={expression}", headers=scim)
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidFilter"
    assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_pagination_sorting_and_attribute_selection(client, scim):
    for name in ("dora", "abe", "cy", "bea"):
        create(client, scim, name)
    page = listed(client, scim, "sortBy=userName&startIndex=2&count=2&filter=userName ne \"admin\"")
    assert page["totalResults"] == 4 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["bea", "cy"]
    down = listed(client, scim, "sortBy=userName&sortOrder=descending&count=1")
    assert down["Resources"][0]["userName"] == "dora"
    slim = listed(client, scim, "attributes=userName&count=1")["Resources"][0]
    assert set(slim) == {"schemas", "id", "userName"}
    trimmed = listed(client, scim, "excludedAttributes=emails,meta&count=1")["Resources"][0]
    assert "emails" not in trimmed and "meta" not in trimmed and "userName" in trimmed
    assert listed(client, scim, "count=0")["Resources"] == []
    searched = client.post(f"{USERS}/.search", headers=scim, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName eq "cy"', "attributes": ["userName"]}).get_json()
    assert [r["userName"] for r in searched["Resources"]] == ["cy"]
    bad = client.get(f"{USERS}?sortBy=password", headers=scim)
    assert bad.status_code == 400 and bad.get_json()["scimType"] == "invalidValue"


def test_uniqueness_mutability_and_value_errors(client, scim):
    body = create(client, scim, "dup")
    again = client.post(USERS, json=new_user("DUP"), headers=scim)
    assert again.status_code == 409 and again.get_json()["scimType"] == "uniqueness"
    read_only = client.patch(f"{USERS}/{body['id']}", headers=scim, json=patch_op(
        {"op": "add", "path": "groups", "value": [{"value": "x"}]}))
    assert read_only.status_code == 400 and read_only.get_json()["scimType"] == "mutability"
    bad_path = client.patch(f"{USERS}/{body['id']}", headers=scim, json=patch_op(
        {"op": "replace", "path": "emails[type eq", "value": "x"}))
    assert bad_path.status_code == 400 and bad_path.get_json()["scimType"] == "invalidPath"
    no_name = client.post(USERS, json={"schemas": [], "emails": [{"value": "a@example.com"}]},
                          headers=scim)
    assert no_name.status_code == 400 and no_name.get_json()["scimType"] == "invalidValue"
    not_json = client.post(USERS, data="{", headers=scim)
    assert not_json.status_code == 400 and not_json.get_json()["scimType"] == "invalidSyntax"
    assert client.get(f"{USERS}/not-a-uuid", headers=scim).status_code == 404
    assert client.get("/scim/v2/Nope", headers=scim).get_json()["status"] == "404"


def test_put_replaces_and_if_match_guards_against_lost_updates(client, scim):
    body = create(client, scim, "pat", displayName="Pat", nickName="P")
    stale = body["meta"]["version"]
    replaced = client.put(f"{USERS}/{body['id']}", headers={**scim, "If-Match": stale},
                          json=new_user("pat", displayName="Patricia"))
    assert replaced.status_code == 200
    assert replaced.get_json()["displayName"] == "Patricia"
    assert "nickName" not in replaced.get_json()  # PUT replaces: what is left out is cleared
    refused = client.put(f"{USERS}/{body['id']}", headers={**scim, "If-Match": stale},
                         json=new_user("pat", displayName="Lost update"))
    assert refused.status_code == 412
    assert client.get(f"{USERS}/{body['id']}", headers=scim).get_json()["displayName"] == \
        "Patricia"


def test_authentication_is_a_bearer_token_with_scope_idp_scim(client, app):
    assert client.get(USERS).status_code == 401
    assert client.get(USERS).get_json()["schemas"][0].endswith(":Error")
    from tests.integration.admin_support import bearer

    admin_only = bearer(client, app, roles=("tenant_admin",))
    assert client.get(USERS, headers=admin_only).status_code in (401, 403)
    assert client.get(USERS, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_active_false_ends_sessions_refresh_tokens_and_login_then_true_restores(app, client,
                                                                              scim):
    alice_id = make_user(app)
    browser = app.test_client()
    rp, secret = make_client(app, scopes=["openid", "offline_access"])
    query, verifier = get_code(browser, rp, scope="openid offline_access")
    tokens = exchange(browser, rp, secret, query["code"], verifier).get_json()
    off = client.patch(f"{USERS}/{alice_id}", headers=scim, json=patch_op(
        {"op": "replace", "path": "active", "value": False}))
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert browser.get("/account").status_code == 302
    refreshed = browser.post("/token", headers=basic(rp, secret), data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert sign_in(app.test_client()).status_code == 401
    disabled = events(app, EventType.USER_DISABLED)[-1]
    assert disabled.actor_id.startswith("client:") and str(disabled.subject_id) == alice_id
    on = client.patch(f"{USERS}/{alice_id}", headers=scim, json=patch_op(
        {"op": "replace", "path": "active", "value": True}))
    assert on.get_json()["active"] is True
    assert sign_in(app.test_client()).status_code == 302


def test_delete_disables_by_default_and_the_person_is_gone_for_scim(app, client, scim):
    alice_id = make_user(app)
    assert client.delete(f"{USERS}/{alice_id}", headers=scim).status_code == 204
    assert client.get(f"{USERS}/{alice_id}", headers=scim).status_code == 404
    assert listed(client, scim, 'filter=userName eq "alice"')["totalResults"] == 0
    assert sign_in(app.test_client()).status_code == 401
    with app.app_context():
        row = db.session.get(User, __import__("uuid").UUID(alice_id))
        assert row.is_active is False and row.erased_at is None and row.email
    gone = events(app, EventType.USER_DEPROVISIONED)[-1]
    assert gone.details == {"mode": "disable"} and gone.actor_id.startswith("client:")


def test_delete_erases_when_the_tenant_chose_erasure(app, client, scim):
    from tests.integration.admin_support import bearer

    alice_id = make_user(app)
    admin = bearer(client, app)
    tenant = client.get("/api/v1/tenants", headers=admin).get_json()["items"][0]
    chosen = client.patch(f"/api/v1/tenants/{tenant['id']}", headers=admin,
                          json={"settings": {"scim_deprovisioning": "erase"}})
    assert chosen.status_code == 200, chosen.get_data(as_text=True)
    assert chosen.get_json()["settings"]["scim_deprovisioning"] == "erase"
    assert client.delete(f"{USERS}/{alice_id}", headers=scim).status_code == 204
    with app.app_context():
        row = db.session.get(User, __import__("uuid").UUID(alice_id))
        assert row.erased_at is not None and row.email is None and row.external_id is None
    assert events(app, EventType.USER_ERASED)[-1].actor_id.startswith("client:")
    assert events(app, EventType.USER_DEPROVISIONED)[-1].details == {"mode": "erase"}
    assert client.get(f"{USERS}/{alice_id}", headers=scim).status_code == 404


def test_every_change_is_audited_with_the_scim_client_as_actor(app, client, scim):
    body = create(client, scim, "audited")
    client.patch(f"{USERS}/{body['id']}", headers=scim, json=patch_op(
        {"op": "replace", "path": "displayName", "value": "Audited Person"}))
    created = events(app, EventType.USER_CREATED)[-1]
    updated = events(app, EventType.USER_UPDATED)[-1]
    assert created.actor_id == updated.actor_id and created.actor_id.startswith("client:idp_ci_")
    assert updated.details == {"fields": ["name"]}


def test_scim_changes_reach_the_event_stream_like_other_user_changes(app, client, scim):
    from sqlalchemy import select

    from idp.models.outbox import OutboxEvent

    body = create(client, scim, "streamed")
    client.patch(f"{USERS}/{body['id']}", headers=scim, json=patch_op(
        {"op": "replace", "path": "active", "value": False}))
    client.delete(f"{USERS}/{body['id']}", headers=scim)
    with app.app_context():
        rows = db.session.execute(select(OutboxEvent).where(
            OutboxEvent.subject_id == __import__("uuid").UUID(body["id"]))
            .order_by(OutboxEvent.id)).scalars().all()
        published = [(r.name, r.payload["actor"], r.payload["data"]) for r in rows]
    assert {actor for _, actor, _ in published} == {published[0][1]}
    assert published[0][1].startswith("client:")
    names = [name for name, _, _ in published]
    assert names[0] == "user.created" and "user.disabled" in names
    assert ("user.deprovisioned", {"mode": "disable"}) in [(n, d) for n, _, d in published]


def test_directory_owned_values_survive_an_admin_put_and_are_size_checked(app, client, scim):
    from tests.integration.admin_support import bearer

    body = create(client, scim, "kept", externalId="dir-42")
    admin = bearer(client, app, roles=("tenant_admin",))
    put = client.put(f"/api/v1/users/{body['id']}", headers=admin, json={
        "username": "kept", "email": "kept@example.com", "name": "Kept Person"})
    assert put.status_code == 200, put.get_data(as_text=True)
    again = client.get(f"{USERS}/{body['id']}", headers=scim).get_json()
    assert again["externalId"] == "dir-42" and again["displayName"] == "Kept Person"
    too_long = client.post(USERS, json=new_user("long", externalId="x" * 256), headers=scim)
    assert too_long.status_code == 400 and too_long.get_json()["scimType"] == "invalidValue"
    huge_name = client.patch(f"{USERS}/{body['id']}", headers=scim, json=patch_op(
        {"op": "replace", "path": "userName", "value": "a" * 400 + "@example.com"}))
    assert huge_name.status_code == 400


def test_nul_characters_are_a_clear_400_on_any_database(client, scim):
    """The app-wide input limits refuse them; SCIM answers in its own error shape."""
    in_filter = client.get(USERS, query_string={"filter": 'userName eq "a\x00b"'}, headers=scim)
    in_body = client.post(USERS, json=new_user("nul", externalId="a\x00b"), headers=scim)
    assert in_filter.get_json()["scimType"] == "invalidValue"
    assert in_body.get_json()["scimType"] == "invalidSyntax"
    for response in (in_filter, in_body):
        assert response.status_code == 400
        assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
