"""Dynamic client registration end to end, over real HTTP: an initial access token from the
CLI, openid-client 6 registering itself (RFC 7591) and signing a person in with the code
flow and PKCE as the client it just became; then RFC 7592 read and delete with the
registration access token it was given."""

from __future__ import annotations

import json
import os
import subprocess
import time
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.interop.conftest import HERE, PASSWORD, RP_TIMEOUT
from tests.interop.test_openid_client import MAX_REDIRECTS, _hidden_inputs

pytestmark = pytest.mark.slow

SCRIPT = HERE / "dcr_rp.mjs"
CALLBACK = "http://127.0.0.1:9/dcr-cb"


def _wait_for_registration_endpoint(issuer: str) -> str:
    """Each worker re-reads whether registration is open every few seconds."""
    deadline = time.monotonic() + 15
    while True:
        doc = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
        if "registration_endpoint" in doc or time.monotonic() > deadline:
            return doc.get("registration_endpoint")
        time.sleep(0.5)


def _browser(authorize_url: str) -> str:
    """Log in as alice, approve the consent screen (a registered client is third-party);
    returns the callback URL."""
    with requests.Session() as browser:
        response = browser.get(authorize_url, timeout=10)
        assert urlsplit(response.url).path == "/login", response.text[:300]
        fields = _hidden_inputs(response.text)
        response = browser.post(urljoin(response.url, "/login"), allow_redirects=False,
                                timeout=10, data={"username": "alice", "password": PASSWORD,
                                                  **fields})
        for _ in range(MAX_REDIRECTS):
            if response.status_code == 200 and urlsplit(response.url).path == "/consent":
                response = browser.post(response.url, allow_redirects=False, timeout=10,
                                        data={**_hidden_inputs(response.text),
                                              "approve": "Allow"})
                continue
            assert response.status_code in (302, 303), (response.status_code, response.text[:300])
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(CALLBACK):
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)
        raise AssertionError("too many redirects before reaching the client")


def _run_rp(provider, token: str, metadata: dict) -> tuple[dict, dict]:
    payload = {"issuer": provider.issuer, "initial_access_token": token, "metadata": metadata}
    proc = subprocess.Popen(["node", str(SCRIPT)], cwd=HERE, text=True,
                            env={**os.environ, "RP_INPUT": json.dumps(payload)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        first = proc.stdout.readline()
        if not first:
            raise AssertionError(f"openid-client could not register:\n{proc.stderr.read()}\n"
                                 f"--- server log ---\n{provider.log()}")
        started = json.loads(first)
        callback = _browser(started["url"])
        out, err = proc.communicate(callback + "\n", timeout=RP_TIMEOUT)
        if proc.returncode != 0:
            raise AssertionError(f"openid-client refused the login:\n{err}\n"
                                 f"--- server log ---\n{provider.log()}")
        return started, json.loads(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("auth_method", ["client_secret_post", "none"])
def test_openid_client_registers_then_signs_in_with_code_and_pkce(provider, auth_method):
    issued = provider.cli_json("clients", "initial-access-token", "--uses", "1",
                               "--redirect-uri-prefix", "http://127.0.0.1:9/")
    token = issued["initial_access_token"]
    assert token.startswith("idp_iat_")
    assert _wait_for_registration_endpoint(provider.issuer) == \
        f"{provider.issuer}/connect/register"

    metadata = {"client_name": f"Self-registered {auth_method}", "redirect_uris": [CALLBACK],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"], "token_endpoint_auth_method": auth_method}
    started, result = _run_rp(provider, token, metadata)
    registered = started["registered"]
    assert registered["token_endpoint_auth_method"] == auth_method
    assert ("client_secret" in registered) == (auth_method != "none")
    assert result["id_token_claims"]["aud"] == registered["client_id"]
    assert result["userinfo"]["sub"] == result["id_token_claims"]["sub"]
    assert result["userinfo"]["email"] == "alice@example.com"

    # The one-time token is spent.
    again = requests.post(f"{provider.issuer}/connect/register", json=metadata, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"

    # RFC 7592 with the registration access token openid-client was handed.
    uri = registered["registration_client_uri"]
    auth = {"Authorization": f"Bearer {registered['registration_access_token']}"}
    read = requests.get(uri, headers=auth, timeout=10)
    assert read.status_code == 200 and read.json()["client_id"] == registered["client_id"]
    assert requests.get(uri, headers={"Authorization": "Bearer idp_rat_x"},
                        timeout=10).status_code == 401
    assert requests.delete(uri, headers=auth, timeout=10).status_code == 204
    assert requests.get(uri, headers=auth, timeout=10).status_code == 401
