"""Authorization code flow end to end over the real HTTP stack (Flask test client)."""

from __future__ import annotations

import base64
import hashlib
import time

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.factories import REDIRECT_URI, make_client, make_user, pkce_pair
from tests.oauth_flow import authorize_url, basic, exchange, follow_to_client, get_code, login


def _jwks(client):
    return KeySet.import_key_set(client.get("/jwks.json").get_json())


def _decode(client, token):
    return jwt.decode(token, _jwks(client), algorithms=["RS256", "ES256"])


def test_full_code_flow_issues_verifiable_tokens(app, client):
    user_id = make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid, state="xyz-state", nonce="nonce-123")
    assert query["state"] == "xyz-state"
    assert query["iss"] == "http://localhost"
    response = exchange(client, cid, secret, query["code"], verifier)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["refresh_token"].startswith("idp_rt_")
    id_token = _decode(client, body["id_token"])
    claims = id_token.claims
    assert claims["iss"] == "http://localhost" and claims["sub"] == user_id
    assert claims["aud"] == cid and claims["nonce"] == "nonce-123"
    assert claims["amr"] == ["pwd"] and abs(claims["auth_time"] - time.time()) < 60
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert claims["email"] == "alice@example.com"
    access = _decode(client, body["access_token"])
    assert access.header["typ"] == "at+jwt" and access.header["kid"]
    for name in ("iss", "sub", "aud", "client_id", "scope", "exp", "iat", "jti"):
        assert name in access.claims
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200 and info.get_json()["sub"] == user_id
    assert info.get_json()["email"] == "alice@example.com"


def test_unknown_client_shows_error_page_and_never_redirects(app, client):
    response = client.get(authorize_url("no-such-client"))
    assert response.status_code == 400 and "Location" not in response.headers
    assert b"not valid" in response.data


def test_unregistered_redirect_uri_is_not_followed(app, client):
    cid, _ = make_client(app)
    response = client.get(authorize_url(cid, redirect_uri="https://evil.example.com/cb"))
    assert response.status_code == 400 and "Location" not in response.headers


def test_redirect_uri_must_match_exactly(app, client):
    cid, _ = make_client(app)
    response = client.get(authorize_url(cid, redirect_uri=REDIRECT_URI + "/"))
    assert response.status_code == 400 and "Location" not in response.headers


def test_prompt_none_without_session_gives_login_required(app, client):
    cid, _ = make_client(app)
    response = client.get(authorize_url(cid, prompt="none", state="s9"))
    query = follow_to_client(client, response)
    query.pop("error_description", None)
    assert query == {"error": "login_required", "state": "s9", "iss": "http://localhost"}


def test_code_replay_is_refused_and_revokes_issued_tokens(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    first = exchange(client, cid, secret, query["code"], verifier).get_json()
    replay = exchange(client, cid, secret, query["code"], verifier)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    introspection = client.post("/introspect", data={"token": first["access_token"]},
                                headers=basic(cid, secret)).get_json()
    assert introspection == {"active": False}
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": first["refresh_token"]},
                            headers=basic(cid, secret))
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"


def test_code_is_bound_to_redirect_uri_and_client(app, client):
    make_user(app)
    cid, secret = make_client(app)
    other, other_secret = make_client(app)
    query, verifier = get_code(client, cid)
    wrong_uri = exchange(client, cid, secret, query["code"], verifier,
                         redirect_uri="https://rp.example.com/other")
    assert wrong_uri.get_json()["error"] == "invalid_grant"
    wrong_client = exchange(client, other, other_secret, query["code"], verifier)
    assert wrong_client.get_json()["error"] == "invalid_grant"


def test_pkce_wrong_verifier_is_refused(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, _ = get_code(client, cid)
    response = exchange(client, cid, secret, query["code"], pkce_pair()[0])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_pkce_downgrade_verifier_without_challenge_is_refused(app, client):
    make_user(app)
    cid, secret = make_client(app)
    first = client.get(authorize_url(cid))  # no code_challenge
    query = follow_to_client(client, login(client, first))
    response = exchange(client, cid, secret, query["code"], pkce_pair()[0])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_plain_pkce_is_refused(app, client):
    cid, _ = make_client(app)
    response = client.get(authorize_url(cid, code_challenge="a" * 43,
                                        code_challenge_method="plain"))
    assert follow_to_client(client, response)["error"] == "invalid_request"


def test_public_client_must_use_pkce(app, client):
    cid, _ = make_client(app, public=True)
    response = client.get(authorize_url(cid))
    assert follow_to_client(client, response)["error"] == "invalid_request"


def test_public_client_exchanges_code_with_verifier_only(app, client):
    make_user(app)
    cid, _ = make_client(app, public=True)
    query, verifier = get_code(client, cid)
    response = client.post("/token", data={"grant_type": "authorization_code", "client_id": cid,
                                           "code": query["code"], "redirect_uri": REDIRECT_URI,
                                           "code_verifier": verifier})
    assert response.status_code == 200, response.get_json()
    missing = client.post("/token", data={"grant_type": "authorization_code", "client_id": cid,
                                          "code": "whatever", "redirect_uri": REDIRECT_URI})
    assert missing.status_code == 400


def test_refresh_rotates_and_reuse_revokes_the_family(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    first = exchange(client, cid, secret, query["code"], verifier).get_json()

    def refresh(token):
        return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": token},
                           headers=basic(cid, secret))

    second = refresh(first["refresh_token"])
    assert second.status_code == 200
    rotated = second.get_json()
    assert rotated["refresh_token"] != first["refresh_token"] and "id_token" in rotated
    reuse = refresh(first["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    # The whole family is gone, including the token issued by the rotation.
    assert refresh(rotated["refresh_token"]).get_json()["error"] == "invalid_grant"
    active = client.post("/introspect", data={"token": rotated["access_token"]},
                         headers=basic(cid, secret)).get_json()
    assert active == {"active": False}


def _age_sessions(app, seconds: int) -> None:
    from datetime import timedelta

    from idp.extensions import db
    from idp.models.sessions import UserSession

    with app.app_context():
        for row in db.session.query(UserSession):
            row.auth_time -= timedelta(seconds=seconds)
        db.session.commit()


def test_max_age_forces_a_fresh_login(app, client):
    make_user(app)
    cid, _ = make_client(app)
    get_code(client, cid)
    _age_sessions(app, seconds=2)  # signed in two seconds ago, instead of sleeping
    response = client.get(authorize_url(cid, max_age="0"))
    assert response.headers["Location"].startswith("/login")
    query = follow_to_client(client, login(client, response))
    assert "code" in query


def test_prompt_login_forces_login_even_with_session(app, client):
    make_user(app)
    cid, _ = make_client(app)
    get_code(client, cid)
    response = client.get(authorize_url(cid, prompt="login"))
    assert response.headers["Location"].startswith("/login")


def test_session_is_reused_without_prompt(app, client):
    make_user(app)
    cid, _ = make_client(app)
    get_code(client, cid)
    response = client.get(authorize_url(cid))
    assert "code" in follow_to_client(client, response)


def test_form_post_response_mode(app, client):
    make_user(app)
    cid, _ = make_client(app)
    first = client.get(authorize_url(cid, response_mode="form_post", state="fp"))
    page = login(client, first)
    page = client.get(page.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'action="{REDIRECT_URI}"' in html
    assert 'name="state" value="fp"' in html and 'name="iss" value="http://localhost"' in html
    assert 'name="code"' in html


def test_consent_page_for_third_party_clients_is_remembered(app, client):
    from tests.factories import csrf_from, hidden

    make_user(app)
    cid, _ = make_client(app, first_party=False)
    response = login(client, client.get(authorize_url(cid)))
    response = client.get(response.headers["Location"])  # resume -> consent
    assert response.headers["Location"].startswith("/consent")
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Allow Test RP?" in html
    approved = client.post("/consent", data={"csrf_token": csrf_from(html),
                                             "rid": hidden(html, "rid"), "approve": "Allow"})
    assert "code" in follow_to_client(client, approved)
    again = client.get(authorize_url(cid))
    assert "code" in follow_to_client(client, again)


def test_consent_denied_returns_access_denied(app, client):
    from tests.factories import csrf_from, hidden

    make_user(app)
    cid, _ = make_client(app, first_party=False)
    response = client.get(login(client, client.get(authorize_url(cid))).headers["Location"])
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    denied = client.post("/consent", data={"csrf_token": csrf_from(html),
                                           "rid": hidden(html, "rid"), "deny": "Deny"})
    query = follow_to_client(client, denied)
    assert query["error"] == "access_denied" and query["iss"] == "http://localhost"


def test_prompt_none_with_missing_consent_gives_consent_required(app, client):
    make_user(app)
    cid, _ = make_client(app, first_party=False)
    first_party, _ = make_client(app)
    get_code(client, first_party)
    query = follow_to_client(client, client.get(authorize_url(cid, prompt="none")))
    assert query["error"] == "consent_required"


def test_unsigned_request_object_is_refused_without_redirect(app, client):
    cid, _ = make_client(app)
    response = client.get(authorize_url(cid, request="eyJhbGciOiJub25lIn0.e30."))
    assert response.status_code == 400 and "Location" not in response.headers


def test_disabled_user_cannot_exchange_code(app, client):
    from idp.extensions import db
    from idp.models.accounts import User

    user_id = make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    with app.app_context():
        import uuid

        db.session.get(User, uuid.UUID(user_id)).is_active = False
        db.session.commit()
    response = exchange(client, cid, secret, query["code"], verifier)
    assert response.get_json()["error"] == "invalid_grant"
