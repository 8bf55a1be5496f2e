"""openid-client 6 against `idp serve` over real HTTP: DPoP server nonces (RFC 9449 8, the
library answers `use_dpop_nonce` itself) and a FAPI 2.0 client (PAR, PKCE S256,
private_key_jwt, DPoP-bound tokens, ES256, `iss` in the response)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from joserfc.jwk import ECKey

from tests.interop.conftest import PASSWORD, REDIRECT_URI
from tests.interop.test_openid_client import _browser_login

pytestmark = pytest.mark.slow


def test_dpop_with_server_nonces(provider, run_rp):
    rp = provider.cli_json("clients", "create", "--name", "nonce-rp", "--redirect-uri",
                           REDIRECT_URI, "--first-party", "--require-dpop-nonce")
    creds = {"client_id": rp["client_id"], "client_secret": rp["client_secret"],
             "redirect_uri": REDIRECT_URI}
    built = run_rp(mode="code-build", **creds)
    callback = _browser_login(built["url"], "alice", PASSWORD)
    result = run_rp(mode="code-callback", callback_url=callback, dpop=True,
                    code_verifier=built["code_verifier"], state=built["state"],
                    nonce=built["nonce"], **creds)
    assert result["token_type"].lower() == "dpop"
    assert result["refresh"]["token_type"].lower() == "dpop"
    assert result["userinfo"]["sub"] == result["id_token_claims"]["sub"]
    token_calls = [e for e in result["exchanges"] if e["path"] == "/token"]
    # The first proof had no nonce: the server asked for one, the library retried with it.
    assert token_calls[0]["status"] == 400 and token_calls[0]["error"] == "use_dpop_nonce"
    assert token_calls[0]["dpop_nonce"]
    assert token_calls[1]["status"] == 200 and token_calls[1]["dpop_nonce"]
    assert all(e["status"] == 200 for e in result["exchanges"] if e["path"] == "/userinfo")


@pytest.fixture
def fapi_client(provider, tmp_path):
    key = ECKey.generate_key("P-256", private=True, parameters={"kid": "fapi-rp-1"})
    jwks = tmp_path / "rp-jwks.json"
    jwks.write_text(json.dumps({"keys": [{**key.as_dict(private=False), "alg": "ES256"}]}))
    made = provider.cli_json("clients", "create", "--name", "fapi-rp", "--redirect-uri",
                             REDIRECT_URI, "--first-party", "--auth-method", "private_key_jwt",
                             "--jwks-file", str(jwks), "--token-alg", "ES256",
                             "--security-profile", "fapi2")
    assert made["client_secret"] is None
    return {"client_id": made["client_id"], "redirect_uri": REDIRECT_URI, "token_alg": "ES256",
            "private_jwk": {**key.as_dict(private=True), "kid": "fapi-rp-1"}}


def test_fapi2_client_end_to_end(provider, run_rp, fapi_client):
    built = run_rp(mode="par-build", **fapi_client)
    assert set(dict(parse_qsl(urlsplit(built["url"]).query))) == {"client_id", "request_uri"}
    callback = _browser_login(built["url"], "alice", PASSWORD)
    assert dict(parse_qsl(urlsplit(callback).query))["iss"] == provider.issuer  # RFC 9207
    result = run_rp(mode="code-callback", callback_url=callback, dpop=True,
                    code_verifier=built["code_verifier"], state=built["state"],
                    nonce=built["nonce"], **fapi_client)
    assert result["token_type"].lower() == "dpop"
    assert result["refresh"]["token_type"].lower() == "dpop"
    assert result["userinfo"]["sub"] == result["id_token_claims"]["sub"]
    assert result["id_token_claims"]["aud"] in (fapi_client["client_id"],
                                                [fapi_client["client_id"]])


def test_fapi2_client_cannot_skip_par(provider, run_rp, fapi_client):
    built = run_rp(mode="code-build", **fapi_client)
    with requests.Session() as browser:
        answer = browser.get(built["url"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    back = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    assert back["error"] == "invalid_request" and back["iss"] == provider.issuer
