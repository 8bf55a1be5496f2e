"""Fixes found by relying parties (issue 18): each asserted over HTTP as the RP sees it."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey

from tests.factories import REDIRECT_URI, csrf_from, make_client, make_user
from tests.oauth_flow import authorize_url, basic, exchange, get_code

POST_LOGOUT = "https://rp.example.com/bye"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _segment(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _payload(token: str) -> dict:
    return _segment(token, 1)


def _rotate_and_unpublish(app):
    """Two rotations, then the key that signed earlier ID tokens leaves the JWKS."""
    from idp.extensions import db
    from idp.models.base import utcnow
    from idp.models.keys import SigningKey
    from idp.oauth.keys.signing import rotate_signing_keys
    from idp.request_context import system_context

    with app.app_context():
        svc = app.extensions["idp"]
        rotate_signing_keys(db.session, svc.keyring, system_context(), 600, force=True)
        for row in db.session.query(SigningKey).filter_by(status="retired"):
            row.publish_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        svc.keys.invalidate()


def _signed_in_with_tokens(app, client, **client_kw):
    make_user(app)
    cid, secret = make_client(app, post_logout=[POST_LOGOUT], **client_kw)
    query, verifier = get_code(client, cid)
    return cid, secret, exchange(client, cid, secret, query["code"], verifier).get_json()


# --- RP-initiated logout after a key rotation ------------------------------------------

def test_logout_hint_signed_by_an_unpublished_key_still_signs_out(app, client):
    _, _, tokens = _signed_in_with_tokens(app, client)
    kid = _segment(tokens["id_token"], 0)["kid"]
    _rotate_and_unpublish(app)
    published = {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}
    assert kid not in published
    response = client.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT,
        "state": "s-9"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["state"] == ["s-9"]
    assert client.get("/account").status_code == 302  # signed out


def test_logout_hint_that_cannot_be_checked_falls_back_to_confirmation(app, client):
    _signed_in_with_tokens(app, client)
    page = client.get("/logout", query_string={"id_token_hint": "a.b.c",
                                               "post_logout_redirect_uri": POST_LOGOUT})
    assert page.status_code == 200 and b"Sign out?" in page.data
    html = page.get_data(as_text=True)
    assert "could not be checked" in html and "a.b.c" not in html
    done = client.post("/logout", data={"confirm": "yes", "csrf_token": csrf_from(html)})
    assert done.status_code == 200 and b"You are signed out" in done.data
    assert client.get("/account").status_code == 302


def test_logout_hint_of_a_key_retired_longer_than_a_session_is_not_trusted(app, client):
    from idp.extensions import db
    from idp.models.base import utcnow
    from idp.models.keys import SigningKey

    _, _, tokens = _signed_in_with_tokens(app, client)
    _rotate_and_unpublish(app)
    with app.app_context():
        for row in db.session.query(SigningKey).filter_by(status="retired"):
            row.retired_at = utcnow() - timedelta(seconds=43200 + 60)
        db.session.commit()
    page = client.get("/logout", query_string={"id_token_hint": tokens["id_token"],
                                               "post_logout_redirect_uri": POST_LOGOUT})
    assert page.status_code == 200 and b"could not be checked" in page.data


# --- private_key_jwt audience arrays ----------------------------------------------------

def _assertion(key, cid, aud):
    now = int(time.time())
    claims = {"iss": cid, "sub": cid, "aud": aud, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)


def test_private_key_jwt_accepts_an_audience_array_naming_us(app, client):
    key = ECKey.generate_key("P-256", private=True)
    public = {**key.as_dict(private=False), "kid": "k1", "alg": "ES256"}
    cid, _ = make_client(app, grant_types=["client_credentials"], scopes=["a"],
                         jwks={"keys": [public]})

    def token(aud):
        return client.post("/token", data={
            "grant_type": "client_credentials", "client_id": cid,
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": _assertion(key, cid, aud)})

    # openid-client <= 5.6 sends [issuer, token endpoint]
    assert token(["http://localhost", "http://localhost/token"]).status_code == 200
    assert token(["https://other.example", "http://localhost/token"]).status_code == 200
    assert token(["http://localhost"]).status_code == 200
    refused = token(["https://other.example", "https://api.example"])
    assert refused.status_code in (400, 401)
    assert refused.get_json()["error"] == "invalid_client"
    assert token([]).get_json()["error"] == "invalid_client"


# --- redirect_uri required in OpenID requests -------------------------------------------

def test_openid_request_without_redirect_uri_is_refused_without_redirect(app, client):
    make_user(app)
    cid, _ = make_client(app)  # exactly one registered URI: OAuth would default to it
    for value in (None, ""):
        url = authorize_url(cid, redirect_uri=value, challenge="x" * 43)
        if value is None:
            url = url.replace("redirect_uri=None&", "")
        response = client.get(url)
        assert response.status_code == 400, url
        assert "Location" not in response.headers
        assert b"redirect_uri" in response.data


def test_plain_oauth_request_may_still_use_the_single_registered_uri(app, client):
    make_user(app)
    cid, _ = make_client(app)
    url = authorize_url(cid, scope="profile", redirect_uri="", challenge="x" * 43)
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- a failed PKCE check spends the code --------------------------------------------------

def test_wrong_pkce_verifier_consumes_the_code(app, client):
    from idp.extensions import db
    from idp.models.audit import AuditEvent

    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    wrong = exchange(client, cid, secret, query["code"], "w" * 43)
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    right = exchange(client, cid, secret, query["code"], verifier)
    assert right.status_code == 400 and right.get_json()["error"] == "invalid_grant"
    with app.app_context():
        types = {e.type for e in db.session.query(AuditEvent)}
    assert "oauth.code.redemption_failed" in types


def test_missing_verifier_also_consumes_the_code(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    missing = client.post("/token", data={"grant_type": "authorization_code",
                                          "code": query["code"], "redirect_uri": REDIRECT_URI},
                          headers=basic(cid, secret))
    assert missing.get_json()["error"] == "invalid_request"
    assert exchange(client, cid, secret, query["code"], verifier).get_json()["error"] == \
        "invalid_grant"


# --- invalid_client names the registered method --------------------------------------------

def test_invalid_client_names_the_registered_method(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    in_body = client.post("/token", data={"grant_type": "client_credentials",
                                          "client_id": cid, "client_secret": secret})
    assert in_body.get_json()["error"] == "invalid_client"
    text = in_body.get_json()["error_description"]
    assert "client_secret_basic" in text and "client_secret_post" in text
    assert "private_key_jwt" not in text
    wrong = client.post("/token", data={"grant_type": "client_credentials"},
                        headers=basic(cid, "nope"))
    assert wrong.status_code == 401
    assert wrong.get_json()["error_description"] == \
        "Client authentication failed (client_secret_basic)."


# --- lean access tokens ------------------------------------------------------------------

def test_access_token_is_lean_and_its_size_is_reported(app, client):
    _, _, tokens = _signed_in_with_tokens(app, client)
    claims = _payload(tokens["access_token"])
    assert "sid" not in claims
    assert all(v not in (None, "", [], {}) for v in claims.values())
    # RS256 with scope "openid profile email": was 980+ bytes with `sid`
    assert len(tokens["access_token"]) < 940
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'idp_access_token_bytes_count{alg="RS256"}' in metrics


def test_es256_access_tokens_are_the_small_choice(app, client):
    make_user(app)
    cid, secret = make_client(app, token_alg="ES256", scopes=["api"])
    query, verifier = get_code(client, cid, scope="api")
    tokens = exchange(client, cid, secret, query["code"], verifier).get_json()
    claims = _payload(tokens["access_token"])
    assert "sid" not in claims and claims["scope"] == "api"
    assert len(tokens["access_token"]) < 680, len(tokens["access_token"])
