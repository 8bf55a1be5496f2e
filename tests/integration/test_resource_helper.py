"""`idp.resource` protecting a second Flask app, against a live provider, across rotation."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from idp.resource import ResourceProtector
from tests.live_server import LiveIdp, free_port

pytestmark = pytest.mark.slow
API = "https://api.example.com"


@pytest.fixture
def provider(tmp_path):
    idp = LiveIdp(tmp_path).start()
    yield idp
    idp.stop()


@pytest.fixture
def resource_app(provider):
    protect = ResourceProtector(issuer=provider.url, audience=API, min_refetch_interval=0)
    app = Flask("resource")

    @app.get("/invoices")
    @protect.require("invoices:read")
    def invoices():
        return {"client": protect.claims()["client_id"]}

    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


def _token(provider, client, scope="invoices:read"):
    response = requests.post(f"{provider.url}/token", timeout=5, auth=(client["client_id"],
                             client["client_secret"]),
                             data={"grant_type": "client_credentials", "scope": scope,
                                   "resource": API})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _kid(token):
    from joserfc import jws

    return jws.extract_compact(token.encode()).headers()["kid"]


def test_resource_server_validates_scopes_and_survives_key_rotation(provider, resource_app):
    client = provider.cli_json("clients", "create", "--name", "svc", "--grant-type",
                               "client_credentials", "--scope", "invoices:read",
                               "--scope", "other", "--audience", API)
    url = f"{resource_app}/invoices"
    good = requests.get(url, headers={"Authorization": f"Bearer {_token(provider, client)}"},
                        timeout=5)
    assert good.status_code == 200 and good.json()["client"] == client["client_id"]

    narrow = _token(provider, client, scope="other")
    refused = requests.get(url, headers={"Authorization": f"Bearer {narrow}"}, timeout=5)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]

    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    forged = requests.get(url, headers={"Authorization": "Bearer a.b.c"}, timeout=5)
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]

    # Two forced rotations (an emergency): the new signer was created after the app cached
    # the JWKS, so the app must refetch on the unknown kid.
    before = _kid(_token(provider, client))
    provider.cli("keys", "rotate", "--force")
    provider.cli("keys", "rotate", "--force")
    deadline = time.monotonic() + 15
    token = _token(provider, client)
    while _kid(token) == before and time.monotonic() < deadline:
        time.sleep(0.5)
        token = _token(provider, client)
    assert _kid(token) != before
    after = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert after.status_code == 200


def test_wrong_audience_and_issuer_are_refused(provider):
    client = provider.cli_json("clients", "create", "--name", "svc", "--grant-type",
                               "client_credentials", "--scope", "invoices:read",
                               "--audience", API)
    token = _token(provider, client)
    other_audience = ResourceProtector(issuer=provider.url, audience="https://other.example")
    with pytest.raises(Exception, match="another audience"):
        other_audience.validate(token)
    # Any WSGI app, not only Flask.
    from werkzeug.test import Client

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["idp.token_claims"]["client_id"].encode()]

    wrapped = Client(ResourceProtector(provider.url, API).wsgi(hello, ["invoices:read"]))
    assert wrapped.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert wrapped.get("/").status_code == 401

    other_issuer = ResourceProtector(issuer="https://id.other.example", audience=API,
                                     key_source=ResourceProtector(provider.url, API)._key_source)
    with pytest.raises(Exception, match="someone else"):
        other_issuer.validate(token)


def test_resource_server_checks_dpop_bound_tokens(provider, resource_app):
    """RFC 9449 7 at a resource server using idp.resource: the DPoP scheme with a proof by
    the token's key; Bearer, another key, or a replayed proof are refused."""
    from joserfc.jwk import ECKey

    from tests.dpop_support import proof

    svc = provider.cli_json("clients", "create", "--name", "dpop-svc", "--grant-type",
                            "client_credentials", "--scope", "invoices:read", "--audience", API)
    key = ECKey.generate_key("P-256", private=True)
    issued = requests.post(f"{provider.url}/token", timeout=5,
                           auth=(svc["client_id"], svc["client_secret"]),
                           headers={"DPoP": proof(key, "POST", f"{provider.url}/token")},
                           data={"grant_type": "client_credentials", "scope": "invoices:read",
                                 "resource": API}).json()
    assert issued["token_type"] == "DPoP"
    at, url = issued["access_token"], f"{resource_app}/invoices"

    def call(scheme, signer):
        headers = {"Authorization": f"{scheme} {at}"}
        if signer is not None:
            headers["DPoP"] = proof(signer, "GET", url, access_token=at)
        return requests.get(url, headers=headers, timeout=5)

    assert call("DPoP", key).status_code == 200
    assert call("Bearer", None).status_code == 401
    wrong = call("DPoP", ECKey.generate_key("P-256", private=True))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("DPoP ")
    once = proof(key, "GET", url, access_token=at)
    first = requests.get(url, timeout=5, headers={"Authorization": f"DPoP {at}", "DPoP": once})
    replay = requests.get(url, timeout=5, headers={"Authorization": f"DPoP {at}", "DPoP": once})
    assert first.status_code == 200 and replay.status_code == 401
    assert replay.json()["error"] == "invalid_dpop_proof"
