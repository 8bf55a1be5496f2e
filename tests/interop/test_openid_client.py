"""The real server, over real HTTP, driven by the independent, OpenID-certified node library
openid-client (tests/interop/rp.mjs) with all of its checks on (plain http on loopback is the
only relaxation). The "browser" leg of the code flow is a requests.Session."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from tests.interop.conftest import PASSWORD, REDIRECT_URI

pytestmark = pytest.mark.slow

MAX_REDIRECTS = 10


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        if tag != "input":
            return
        attr = dict(attrs)
        if attr.get("type") == "hidden" and attr.get("name"):
            self.values.setdefault(attr["name"], attr.get("value") or "")


def _hidden_inputs(html: str) -> dict[str, str]:
    parser = _HiddenInputs()
    parser.feed(html)
    parser.close()
    return parser.values


def _browser_login(authorize_url: str, username: str, password: str,
                   browser: requests.Session | None = None) -> str:
    """Play the user agent: authorize, log in, follow redirects until the one to the client.

    Returns the callback URL (never fetched: nothing listens on the redirect URI). Pass
    `browser` to keep its session cookie for later (logout)."""
    with contextlib.nullcontext(browser) if browser else requests.Session() as browser:
        response = browser.get(authorize_url, timeout=10)
        assert response.status_code == 200, response.text[:500]
        assert urlsplit(response.url).path == "/login", response.url
        fields = _hidden_inputs(response.text)
        assert fields.get("csrf_token"), "login page has no csrf_token"
        assert fields.get("rid"), "login page has no rid (pending authorization request)"
        response = browser.post(urljoin(response.url, "/login"), allow_redirects=False, timeout=10,
                                data={"username": username, "password": password,
                                      "csrf_token": fields["csrf_token"], "rid": fields["rid"]})
        for _ in range(MAX_REDIRECTS):
            assert response.status_code in (302, 303), (response.status_code, response.text[:500])
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                return location
            response.close()
            response = browser.get(location, allow_redirects=False, timeout=10)
        raise AssertionError("too many redirects before reaching the client")


def _jose_header(jwt: str) -> dict:
    segment = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_authorization_code_flow_with_pkce_userinfo_and_refresh(provider, run_rp):
    creds = {"client_id": provider.rp_client_id, "client_secret": provider.rp_client_secret,
             "redirect_uri": REDIRECT_URI}
    built = run_rp(mode="code-build", **creds)
    assert built["url"].startswith(f"{provider.issuer}/authorize?")

    callback = _browser_login(built["url"], "alice", PASSWORD)
    query = urlsplit(callback).query
    assert "code=" in query and "error=" not in query, callback

    result = run_rp(mode="code-callback", callback_url=callback,
                    code_verifier=built["code_verifier"], state=built["state"],
                    nonce=built["nonce"], **creds)

    claims = result["id_token_claims"]
    assert claims["iss"] == provider.issuer
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert provider.rp_client_id in aud
    assert claims["sub"]
    assert claims["nonce"] == built["nonce"]
    assert result["token_type"].lower() == "bearer"

    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["userinfo"]["email"] == "alice@example.com"

    refresh = result["refresh"]
    assert refresh["token_type"].lower() == "bearer"
    assert refresh["access_token_changed"]
    assert refresh["userinfo_sub"] == claims["sub"]
    if refresh["id_token_claims"] is not None:
        assert refresh["id_token_claims"]["sub"] == claims["sub"]
        assert refresh["id_token_claims"]["iss"] == provider.issuer


def test_client_credentials_grant(provider, run_rp):
    tokens = run_rp(mode="client-credentials", client_id=provider.svc_client_id,
                    client_secret=provider.svc_client_secret, redirect_uri=REDIRECT_URI,
                    scope="api:read")
    assert tokens["token_type"].lower() == "bearer"
    access_token = tokens["access_token"]
    assert access_token.count(".") == 2, "access token is not a compact JWS"
    assert _jose_header(access_token)["typ"].lower() == "at+jwt"
    assert "refresh_token" not in tokens
    assert "id_token" not in tokens


def test_pushed_authorization_request(provider, run_rp):
    creds = {"client_id": provider.rp_client_id, "client_secret": provider.rp_client_secret,
             "redirect_uri": REDIRECT_URI}
    built = run_rp(mode="par-build", **creds)
    query = dict(parse_qsl(urlsplit(built["url"]).query))
    assert set(query) == {"client_id", "request_uri"}
    assert query["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")

    callback = _browser_login(built["url"], "alice", PASSWORD)
    result = run_rp(mode="code-callback", callback_url=callback,
                    code_verifier=built["code_verifier"], state=built["state"],
                    nonce=built["nonce"], **creds)
    assert result["id_token_claims"]["nonce"] == built["nonce"]
    # The request_uri was used once: the same URL again is refused, not redirected.
    again = requests.get(built["url"], allow_redirects=False, timeout=10)
    assert again.status_code == 400 and "Location" not in again.headers


def test_back_channel_logout_token_verified_by_a_receiver(provider, run_rp):
    """OpenID Back-Channel Logout 1.0 between processes: `idp serve` posts the logout token
    to a receiver on loopback, which verifies it with the provider's published JWKS."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    from joserfc import jwt
    from joserfc.jwk import KeySet

    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            keys = KeySet.import_key_set(requests.get(f"{provider.issuer}/jwks.json",
                                                      timeout=5).json())
            token = jwt.decode(form["logout_token"][0], keys, algorithms=["RS256", "ES256"])
            received.append({"typ": token.header.get("typ"), **token.claims})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rp = provider.cli_json("clients", "create", "--name", "bc-rp", "--redirect-uri",
                               REDIRECT_URI, "--first-party", "--backchannel-logout-uri",
                               f"http://127.0.0.1:{server.server_address[1]}/bc")
        creds = {"client_id": rp["client_id"], "client_secret": rp["client_secret"],
                 "redirect_uri": REDIRECT_URI}
        built = run_rp(mode="code-build", **creds)
        with requests.Session() as browser:
            callback = _browser_login(built["url"], "alice", PASSWORD, browser)
            result = run_rp(mode="code-callback", callback_url=callback,
                            code_verifier=built["code_verifier"], state=built["state"],
                            nonce=built["nonce"], **creds)
            page = browser.get(f"{provider.issuer}/logout", timeout=10)
            fields = _hidden_inputs(page.text)
            done = browser.post(f"{provider.issuer}/logout", data=fields, timeout=10)
            assert done.status_code == 200 and "signed out" in done.text
        deadline = time.monotonic() + 15
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()
    assert received, f"no logout token arrived\n{provider.log()}"
    claims, id_claims = received[0], result["id_token_claims"]
    assert claims["typ"] == "logout+jwt"
    assert claims["iss"] == provider.issuer and claims["aud"] == rp["client_id"]
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims


def test_dpop_bound_tokens(provider, run_rp):
    """RFC 9449 with openid-client's own DPoP: code exchange, UserInfo and refresh, each
    with a proof from one key; the access token names that key and is useless as Bearer."""
    creds = {"client_id": provider.rp_client_id, "client_secret": provider.rp_client_secret,
             "redirect_uri": REDIRECT_URI}
    built = run_rp(mode="code-build", **creds)
    callback = _browser_login(built["url"], "alice", PASSWORD)
    result = run_rp(mode="code-callback", callback_url=callback, dpop=True,
                    code_verifier=built["code_verifier"], state=built["state"],
                    nonce=built["nonce"], **creds)
    assert result["token_type"].lower() == "dpop"
    assert result["refresh"]["token_type"].lower() == "dpop"
    assert result["userinfo"]["sub"] == result["id_token_claims"]["sub"]
    segment = result["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert claims["cnf"]["jkt"]
    as_bearer = requests.get(f"{provider.issuer}/userinfo", timeout=10,
                             headers={"Authorization": f"Bearer {result['access_token']}"})
    assert as_bearer.status_code == 401


def test_device_authorization_grant(provider):
    """RFC 8628 with openid-client: the device starts and polls; meanwhile the person signs
    in, types the user code at /device and approves."""
    import os
    import subprocess

    from tests.interop.conftest import HERE, RP_SCRIPT

    tv = provider.cli_json("clients", "create", "--name", "tv", "--public", "--grant-type",
                           "urn:ietf:params:oauth:grant-type:device_code", "--grant-type",
                           "refresh_token", "--first-party")
    payload = {"issuer": provider.issuer, "client_id": tv["client_id"], "mode": "device"}
    proc = subprocess.Popen(["node", str(RP_SCRIPT)], cwd=HERE, text=True,
                            env={**os.environ, "RP_INPUT": json.dumps(payload)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        started = json.loads(proc.stdout.readline() or "{}")
        assert started.get("user_code"), proc.stderr.read() if proc.poll() is not None else ""
        with requests.Session() as browser:
            page = browser.get(f"{provider.issuer}/login", timeout=10)
            browser.post(f"{provider.issuer}/login", timeout=10, data={
                "username": "alice", "password": PASSWORD,
                "csrf_token": _hidden_inputs(page.text)["csrf_token"]})
            page = browser.get(started["verification_uri_complete"], timeout=10)
            fields = _hidden_inputs(page.text)
            confirm = browser.post(started["verification_uri"], timeout=10, data={
                "user_code": started["user_code"], "csrf_token": fields["csrf_token"]})
            assert confirm.status_code == 200 and "Allow tv?" in confirm.text
            done = browser.post(started["verification_uri"], timeout=10, data={
                **_hidden_inputs(confirm.text), "decision": "approve"})
            assert "Device connected" in done.text
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["token_type"].lower() == "bearer" and result["has_refresh_token"]
    assert result["id_token_claims"]["iss"] == provider.issuer


def test_token_exchange(provider, run_rp):
    """RFC 8693 with openid-client's generic grant: a service trades the person's access
    token for one to its downstream API, naming itself in `act`."""
    creds = {"client_id": provider.rp_client_id, "client_secret": provider.rp_client_secret,
             "redirect_uri": REDIRECT_URI}
    built = run_rp(mode="code-build", **creds)
    callback = _browser_login(built["url"], "alice", PASSWORD)
    tokens = run_rp(mode="code-callback", callback_url=callback,
                    code_verifier=built["code_verifier"], state=built["state"],
                    nonce=built["nonce"], **creds)
    api = "https://orders.example.com"
    svc = provider.cli_json("clients", "create", "--name", "orders-gw", "--grant-type",
                            "urn:ietf:params:oauth:grant-type:token-exchange", "--audience", api)
    result = run_rp(mode="token-exchange", client_id=svc["client_id"],
                    client_secret=svc["client_secret"], subject_token=tokens["access_token"],
                    audience=api)
    assert result["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    segment = result["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert claims["aud"] == api and claims["act"] == {"sub": svc["client_id"]}
    assert claims["sub"] == tokens["id_token_claims"]["sub"]
