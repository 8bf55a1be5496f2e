"""Driving the hosted login and authorization endpoint through the Flask test client."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.factories import PASSWORD, REDIRECT_URI, csrf_from, hidden, pkce_pair


def authorize_url(client_id, *, scope="openid profile email", state="st-1", nonce="n-1",
                  challenge=None, redirect_uri=REDIRECT_URI, **extra):
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": state, "nonce": nonce}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update({k: v for k, v in extra.items() if v is not None})
    return "/authorize?" + urlencode(params)


def login(client, response, username="alice", password=PASSWORD):
    """Given a redirect to /login, fill in the form; returns the POST response."""
    assert response.status_code == 302, response.data
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_from(html), "rid": hidden(html, "rid")})


def follow_to_client(client, response, limit=6):
    """Follow our own redirects until one leaves for the client; returns its query dict."""
    for _ in range(limit):
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        location = response.headers["Location"]
        if location.startswith(("https://", "http://rp")):
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        response = client.get(location)
    raise AssertionError("too many redirects")


def get_code(client, client_id, username="alice", password=PASSWORD, **kw):
    """Full browser leg: authorize, log in, back to the client. Returns (query, verifier)."""
    verifier, challenge = pkce_pair()
    first = client.get(authorize_url(client_id, challenge=challenge, **kw))
    if first.headers.get("Location", "").startswith("/login"):
        first = login(client, first, username, password)
    return follow_to_client(client, first), verifier


def basic(client_id, secret):
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def exchange(client, client_id, secret, code, verifier, redirect_uri=REDIRECT_URI):
    return client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": redirect_uri, "code_verifier": verifier},
                       headers=basic(client_id, secret))
