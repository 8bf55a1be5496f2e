"""Applications in the console: register web, single-page and native apps, edit them, the
secret shown once after a redirect, confirmation pages, and the limits shared with the API."""

from __future__ import annotations

import re

import pytest

from tests.factories import REDIRECT_URI, csrf_from
from tests.integration.admin_support import bearer, browser_login, make_person
from tests.oauth_flow import get_code


@pytest.fixture
def client(app):
    return app.test_client()


def _admin(app, client):
    make_person(app, "root", roles=["superadmin"])
    browser_login(client, "root")


def _register(client, kind, **fields):
    form = client.get(f"/admin/clients/new?kind={kind}").get_data(as_text=True)
    return client.post("/admin/clients/new", data={"csrf_token": csrf_from(form), "kind": kind,
                                                   **fields})


def _client_ids(client) -> list[str]:
    return [c["client_id"] for c in client.get("/api/v1/clients").get_json()["items"]]


def test_web_app_registered_secret_once_and_sign_in_through_it(app, client):
    _admin(app, client)
    made = _register(client, "web", name="Shop", redirect_uris=REDIRECT_URI + "\n",
                     post_logout_redirect_uris="https://rp.example.com/bye",
                     refresh_token="1", first_party="1", auth_method="client_secret_post")
    assert made.status_code == 302  # POST/redirect/GET: the POST renders no secret
    cid = made.location.rsplit("/", 1)[-1]
    page = client.get(made.location).get_data(as_text=True)
    secret = re.search(r'id="secret-value">(idp_sk_[A-Za-z0-9_-]+)<', page).group(1)
    assert 'data-copy="secret-value"' in page and "Shop was registered" in page
    again = client.get(made.location).get_data(as_text=True)  # the reload
    assert secret not in again and "shown only now" not in again
    assert _client_ids(client).count(cid) == 1 and len(_client_ids(client)) == 1
    shown = client.get(f"/api/v1/clients/{cid}").get_json()
    assert shown["auth_method"] == "client_secret_post" and shown["first_party"] is True
    assert shown["grant_types"] == ["authorization_code", "refresh_token"]
    assert shown["post_logout_redirect_uris"] == ["https://rp.example.com/bye"]

    query, verifier = get_code(client, cid, username="root")
    tokens = client.post("/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, "client_id": cid, "client_secret": secret})
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    assert tokens.get_json()["refresh_token"]


def test_bad_redirect_uri_is_an_inline_error_that_keeps_the_input(app, client):
    _admin(app, client)
    typed = "https://ok.example.com/cb\nhttps://*.example.com/cb"
    refused = _register(client, "web", name="Wild", redirect_uris=typed)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="redirect_uris" name="redirect_uris" rows="3" aria-invalid="true"' in html
    assert "wildcards are not allowed" in html and 'id="redirect_uris-error"' in html
    assert typed in html and 'value="Wild"' in html
    assert _client_ids(client) == []
    refusals = client.get("/api/v1/audit?type=admin.input.rejected").get_json()["items"]
    assert refusals[0]["details"]["field"] == "redirect_uris"


def test_spa_and_native_apps_are_public_with_pkce(app, client):
    _admin(app, client)
    spa = _register(client, "spa", name="Dash", redirect_uris="https://dash.example.com/cb")
    native = _register(client, "native", name="Phone",
                       redirect_uris="com.example.phone:/cb\nhttp://127.0.0.1/cb")
    assert spa.status_code == native.status_code == 302
    for made in (spa, native):
        page = client.get(made.location).get_data(as_text=True)
        assert "shown only now" not in page and "PKCE required" in page
        shown = client.get("/api/v1/clients/" + made.location.rsplit("/", 1)[-1]).get_json()
        assert shown["public"] is True and shown["auth_method"] == "none"
        assert shown["secrets"] == []
    assert "Native or mobile app" in client.get(native.location).get_data(as_text=True)
    bad = _register(client, "native", name="Bad", redirect_uris="myapp:/cb")
    assert bad.status_code == 422 and "reverse-domain" in bad.get_data(as_text=True)


def test_edit_keeps_rules_and_audits(app, client):
    _admin(app, client)
    made = _register(client, "web", name="Shop", redirect_uris=REDIRECT_URI)
    cid = made.location.rsplit("/", 1)[-1]
    client.get(made.location)
    form = client.get(f"/admin/clients/{cid}/edit").get_data(as_text=True)
    assert REDIRECT_URI in form and 'value="Shop"' in form
    wrong = client.post(f"/admin/clients/{cid}/edit", data={
        "csrf_token": csrf_from(form), "kind": "web", "name": "Shop 2",
        "redirect_uris": "http://shop.example.com/cb"})
    assert wrong.status_code == 422 and "only on a loopback" in wrong.get_data(as_text=True)
    saved = client.post(f"/admin/clients/{cid}/edit", data={
        "csrf_token": csrf_from(form), "kind": "web", "name": "Shop 2", "first_party": "1",
        "redirect_uris": "https://shop.example.com/cb\nhttps://shop.example.com/cb2"})
    assert saved.status_code == 302
    page = client.get(saved.location).get_data(as_text=True)
    assert "Shop 2 was saved" in page and "shown only now" not in page  # secret kept
    shown = client.get(f"/api/v1/clients/{cid}").get_json()
    assert shown["redirect_uris"] == ["https://shop.example.com/cb",
                                      "https://shop.example.com/cb2"]
    assert shown["name"] == "Shop 2" and shown["first_party"] is True
    events = client.get("/api/v1/audit?type=client.updated").get_json()["items"]
    assert events and events[0]["details"]["changed"] == ["first_party", "name",
                                                          "redirect_uris"]


def test_api_patch_uses_the_same_rules(app, client):
    headers = bearer(client, app)
    made = client.post("/api/v1/clients", headers=headers, json={
        "name": "web", "redirect_uris": [REDIRECT_URI]}).get_json()
    path = f"/api/v1/clients/{made['client_id']}"
    bad = client.patch(path, headers=headers, json={"redirect_uris": ["https://x/*"]})
    assert bad.status_code == 422 and bad.get_json()["field"] == "redirect_uris"
    flip = client.patch(path, headers=headers, json={"public": True, "auth_method": "none"})
    assert flip.status_code == 422 and flip.get_json()["field"] == "public"
    ok = client.patch(path, headers=headers, json={"scopes": ["openid"]})
    assert ok.status_code == 200 and ok.get_json()["scopes"] == ["openid"]
    assert ok.get_json()["redirect_uris"] == [REDIRECT_URI]


def test_rotate_revoke_delete_confirm_and_share_the_grace_limit(app, client):
    _admin(app, client)
    made = _register(client, "web", name="Shop", redirect_uris=REDIRECT_URI)
    cid = made.location.rsplit("/", 1)[-1]
    first = re.search(r"(idp_sk_[A-Za-z0-9_-]+)", client.get(made.location).get_data(
        as_text=True)).group(1)
    confirm = client.get(f"/admin/clients/{cid}/rotate").get_data(as_text=True)
    assert "Rotate the secret?" in confirm and "0 to 2592000" in confirm
    too_long = client.post(f"/admin/clients/{cid}/rotate", data={
        "csrf_token": csrf_from(confirm), "grace": "99999999"})
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and "2592000" in html and 'value="99999999"' in html
    api = client.post(f"/api/v1/clients/{cid}/rotate", headers=bearer(client, app),
                      json={"grace": 99999999})
    assert api.status_code == 422 and api.get_json()["field"] == "grace"
    rotated = client.post(f"/admin/clients/{cid}/rotate", data={
        "csrf_token": csrf_from(confirm), "grace": "0"})
    assert rotated.status_code == 302
    second = re.search(r"(idp_sk_[A-Za-z0-9_-]+)", client.get(rotated.location).get_data(
        as_text=True)).group(1)
    assert second != first
    assert "Revoke the client?" in client.get(f"/admin/clients/{cid}/revoke").get_data(
        as_text=True)
    delete = client.get(f"/admin/clients/{cid}/delete").get_data(as_text=True)
    assert "Delete the client?" in delete
    assert client.post(f"/admin/clients/{cid}/delete",
                       data={"csrf_token": csrf_from(delete)}).status_code == 302
    assert cid not in _client_ids(client)
    assert client.get(f"/api/v1/clients/{cid}").status_code == 404


def test_removing_a_role_or_a_group_member_is_confirmed(app, client):
    _admin(app, client)
    uid = make_person(app, "gus", roles=["helpdesk"])
    person = client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert f"/admin/users/{uid}/roles/helpdesk/remove" in person
    confirm = client.get(f"/admin/users/{uid}/roles/helpdesk/remove").get_data(as_text=True)
    assert "Take helpdesk from gus?" in confirm
    assert client.get(f"/api/v1/users/{uid}").get_json()["roles"] == ["helpdesk"]
    client.post(f"/admin/users/{uid}/roles/helpdesk/remove",
                data={"csrf_token": csrf_from(confirm)})
    assert client.get(f"/api/v1/users/{uid}").get_json()["roles"] == []

    groups = client.get("/admin/groups").get_data(as_text=True)
    client.post("/admin/groups", data={"csrf_token": csrf_from(groups), "name": "ops"})
    gid = client.get("/api/v1/groups").get_json()["items"][0]["id"]
    client.post(f"/admin/groups/{gid}/members", data={"csrf_token": csrf_from(groups),
                                                      "user": "gus"})
    confirm = client.get(f"/admin/groups/{gid}/members/{uid}/remove").get_data(as_text=True)
    assert "Remove gus from ops?" in confirm
    assert client.get(f"/api/v1/groups/{gid}").get_json()["members"] == [uid]
    client.post(f"/admin/groups/{gid}/members/{uid}/remove",
                data={"csrf_token": csrf_from(confirm)})
    assert client.get(f"/api/v1/groups/{gid}").get_json()["members"] == []
