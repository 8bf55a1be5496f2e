"""Pushed authorization requests (RFC 9126) over HTTP, with the negative cases of its
security considerations: authentication, single use, lifetime, binding to the client."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import REDIRECT_URI, make_client, make_user, pkce_pair
from tests.oauth_flow import basic, exchange, follow_to_client, login

URN = "urn:ietf:params:oauth:request_uri:"


def _push(client, cid, secret, **extra):
    verifier, challenge = pkce_pair()
    data = {"response_type": "code", "client_id": cid, "redirect_uri": REDIRECT_URI,
            "scope": "openid profile", "state": "st-par", "nonce": "n-par",
            "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return client.post("/par", data=data, headers=basic(cid, secret)), verifier


def test_par_then_authorize_by_reference_issues_a_code(app, client):
    make_user(app)
    cid, secret = make_client(app)
    pushed, verifier = _push(client, cid, secret)
    assert pushed.status_code == 201
    assert pushed.headers["Cache-Control"].startswith("no-store")
    body = pushed.get_json()
    assert body["request_uri"].startswith(URN) and body["expires_in"] == 60
    first = client.get("/authorize", query_string={"client_id": cid,
                                                   "request_uri": body["request_uri"],
                                                   "state": "ignored-on-the-url"})
    query = follow_to_client(client, login(client, first))
    assert query["state"] == "st-par" and query["iss"] == "http://localhost"
    tokens = exchange(client, cid, secret, query["code"], verifier)
    assert tokens.status_code == 200 and tokens.get_json()["id_token"]


def test_request_uri_is_single_use_and_bound_to_its_client(app, client):
    make_user(app)
    cid, secret = make_client(app)
    other, _ = make_client(app)
    request_uri = _push(client, cid, secret)[0].get_json()["request_uri"]
    stolen = client.get("/authorize", query_string={"client_id": other,
                                                    "request_uri": request_uri})
    assert stolen.status_code == 400 and b"invalid_request_uri" in stolen.data
    assert client.get("/authorize", query_string={"client_id": cid, "request_uri": request_uri}
                      ).status_code == 302
    again = client.get("/authorize", query_string={"client_id": cid, "request_uri": request_uri})
    assert again.status_code == 400 and "Location" not in again.headers


def test_request_uri_expires(app, client):
    from idp.extensions import db
    from idp.models.oauth import PushedRequest

    make_user(app)
    cid, secret = make_client(app)
    request_uri = _push(client, cid, secret)[0].get_json()["request_uri"]
    with app.app_context():
        row = db.session.query(PushedRequest).one()
        row.expires_at = row.created_at - timedelta(seconds=1)
        db.session.commit()
    late = client.get("/authorize", query_string={"client_id": cid, "request_uri": request_uri})
    assert late.status_code == 400


def test_par_requires_client_authentication(app, client):
    cid, _ = make_client(app)
    pushed, _ = _push(client, cid, "wrong-secret")
    assert pushed.status_code == 401 and pushed.get_json()["error"] == "invalid_client"
    anonymous = client.post("/par", data={"response_type": "code", "client_id": cid,
                                          "redirect_uri": REDIRECT_URI})
    assert anonymous.status_code in (400, 401)
    assert anonymous.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("extra, error", [
    ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
    ({"request_uri": URN + "x"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"request": "a.b.c"}, "invalid_request_object"),
])
def test_par_validates_the_request_like_authorize_and_answers_json(app, client, extra, error):
    cid, secret = make_client(app)
    pushed, _ = _push(client, cid, secret, **extra)
    assert pushed.status_code == 400, pushed.data
    assert pushed.get_json()["error"] == error
    assert "Location" not in pushed.headers


def test_par_refuses_another_clients_id(app, client):
    cid, secret = make_client(app)
    other, _ = make_client(app)
    pushed = client.post("/par", data={"response_type": "code", "client_id": other,
                                       "redirect_uri": REDIRECT_URI, "scope": "openid"},
                         headers=basic(cid, secret))
    assert pushed.status_code in (400, 401)


def test_a_client_that_requires_par_cannot_skip_it(app, client):
    make_user(app)
    cid, secret = make_client(app, require_par=True)
    _, challenge = pkce_pair()
    direct = client.get("/authorize", query_string={
        "response_type": "code", "client_id": cid, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s", "code_challenge": challenge,
        "code_challenge_method": "S256", "_pushed": "1"})
    assert direct.status_code == 302
    assert "error=invalid_request" in direct.headers["Location"]
    request_uri = _push(client, cid, secret)[0].get_json()["request_uri"]
    via_par = client.get("/authorize", query_string={"client_id": cid,
                                                     "request_uri": request_uri})
    assert via_par.status_code == 302 and via_par.headers["Location"].startswith("/login")


def test_discovery_advertises_par(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["pushed_authorization_request_endpoint"] == "http://localhost/par"
    assert meta["require_pushed_authorization_requests"] is False


@pytest.mark.parametrize("config_overrides", [{"par_ttl": 5}], indirect=True)
def test_par_ttl_is_configurable(app, client):
    cid, secret = make_client(app)
    assert _push(client, cid, secret)[0].get_json()["expires_in"] == 5


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides
