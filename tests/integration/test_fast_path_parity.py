"""The fast paths and Flask answer with the same status, body and header values."""

from __future__ import annotations

import pytest

from tests.factories import make_client
from tests.fast_path_support import without_fast_paths
from tests.oauth_flow import basic

# Values that differ between any two requests, whichever path answers.
VOLATILE = {"Content-Length", "Date"}
TOKEN_FIELDS = {"access_token"}


def _answers(app, send) -> tuple:
    """(status, body, headers) from the fast path, then from Flask alone."""
    answers = []
    for fast in (True, False):
        if not fast:
            without_fast_paths(app)
        with app.test_client() as client:
            response = send(client)
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in TOKEN_FIELDS}
        headers = {k: v for k, v in response.headers.items() if k not in VOLATILE}
        answers.append((response.status_code, body if body is not None else response.data,
                        headers))
    return answers


@pytest.fixture(params=["http://localhost", "https://idp.example.com"])
def config_overrides(request, config_overrides):
    config_overrides["issuer"] = request.param  # HSTS only on an https issuer
    return config_overrides


@pytest.mark.parametrize("path", ["/jwks.json", "/.well-known/openid-configuration"])
def test_discovery_and_jwks_answers_are_the_same(app, path):
    fast, flask = _answers(app, lambda c: c.get(path, headers={"X-Request-ID": "trace-1"}))
    assert fast == flask
    assert fast[2]["X-Frame-Options"] == "DENY" and fast[2]["X-Request-ID"] == "trace-1"


def test_client_credentials_answers_are_the_same(app):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])

    def send(client):
        return client.post("/token", data={"grant_type": "client_credentials", "scope": "a"},
                           headers={**basic(cid, secret), "X-Request-ID": "trace-2"})

    fast, flask = _answers(app, send)
    assert fast == flask and fast[0] == 200
    assert fast[2]["Cache-Control"] == "no-store"


def test_introspection_answers_are_the_same(app):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    with app.test_client() as client:
        token = client.post("/token", data={"grant_type": "client_credentials"},
                            headers=basic(cid, secret)).get_json()["access_token"]

    def send(client):
        return client.post("/introspect", data={"token": token},
                           headers={**basic(cid, secret), "X-Request-ID": "trace-3"})

    fast, flask = _answers(app, send)
    assert fast == flask and fast[1]["active"] is True
