"""/account/apps (issue 16): the applications a person consented to, with the scopes, and
"Remove access" — the consent is forgotten, the app's refresh tokens are refused, audited."""

from __future__ import annotations

from sqlalchemy import select

from idp.audit import EventType
from idp.extensions import db
from idp.models.oauth import Consent
from tests.account_support import events, sign_in
from tests.factories import csrf_from, hidden, make_client, make_user, pkce_pair
from tests.oauth_flow import authorize_url, basic, exchange, follow_to_client, login


def _consent_and_tokens(client, client_id, secret, scope="openid email offline_access"):
    verifier, challenge = pkce_pair()
    response = login(client, client.get(authorize_url(client_id, scope=scope,
                                                      challenge=challenge)))
    response = client.get(response.headers["Location"])  # resume -> consent
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    approved = client.post("/consent", data={"csrf_token": csrf_from(html),
                                             "rid": hidden(html, "rid"), "approve": "Allow"})
    query = follow_to_client(client, approved)
    return exchange(client, client_id, secret, query["code"], verifier).get_json()


def _refresh(client, client_id, secret, token):
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": token},
                       headers=basic(client_id, secret))


def test_connected_apps_lists_consents_and_remove_access_revokes_refresh_tokens(app, client):
    make_user(app)
    client_id, secret = make_client(app, first_party=False,
                                    scopes=["openid", "email", "offline_access"])
    tokens = _consent_and_tokens(client, client_id, secret)
    assert "refresh_token" in tokens

    page = client.get("/account/apps").get_data(as_text=True)
    assert "Test RP" in page and "See your email address" in page
    assert "Keep access while you are away" in page and "Remove access" in page

    # without the CSRF token nothing is removed
    refused = client.post(f"/account/apps/{client_id}/remove")
    assert refused.status_code == 400
    with app.app_context():
        assert len(db.session.execute(select(Consent)).scalars().all()) == 1

    page = client.get("/account/apps").get_data(as_text=True)
    removed = client.post(f"/account/apps/{client_id}/remove",
                          data={"csrf_token": csrf_from(page)})
    assert removed.status_code == 302 and "removed=1" in removed.headers["Location"]
    after = client.get(removed.headers["Location"]).get_data(as_text=True)
    assert "Access was removed." in after and "No application has access" in after

    with app.app_context():
        assert db.session.execute(select(Consent)).scalars().all() == []
    denied = _refresh(client, client_id, secret, tokens["refresh_token"])
    assert denied.status_code == 400 and denied.get_json()["error"] == "invalid_grant"
    [event] = events(app, EventType.CONSENT_REVOKED)
    assert event.client_id == client_id and event.details["grants_revoked"] == 1

    # asking again shows the consent page again
    again = client.get(authorize_url(client_id))
    assert again.headers["Location"].startswith("/consent")


def test_removing_an_app_without_consent_is_a_clear_404(app, client):
    make_user(app)
    make_client(app, first_party=False)
    sign_in(client)
    page = client.get("/account/apps").get_data(as_text=True)
    assert "No application has access to your account." in page
    token = csrf_from(client.get("/account/sessions").get_data(as_text=True))
    response = client.post("/account/apps/nope/remove", data={"csrf_token": token})
    assert response.status_code == 404
    assert "That application has no access to remove." in response.get_data(as_text=True)
