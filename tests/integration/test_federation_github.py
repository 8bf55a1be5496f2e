"""Sign in with GitHub: a loopback stand-in for GitHub Enterprise Server's OAuth endpoints
and REST API (github.com cannot be reached from tests) checks what we send — client
authentication, the PKCE verifier, the redirect URI — and answers as GitHub documents."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from idp.extensions import db
from idp.federation.providers import ProviderSpec, create_provider
from idp.models.accounts import User
from idp.request_context import system_context
from idp.tenancy.tenants import ensure_default_tenant
from tests.factories import make_user

pytestmark = pytest.mark.parametrize("config_overrides", [{"outbound_allow": "127.0.0.1/32"}],
                                     indirect=True)
CLIENT_ID, CLIENT_SECRET = "Iv1.gh-client", "gh-secret"


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


class FakeGitHub(BaseHTTPRequestHandler):
    codes: dict = {}
    tokens: set = set()
    emails: list = []

    def _json(self, body, status=200):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server API
        url = urlsplit(self.path)
        if url.path == "/login/oauth/authorize":  # the person approves at once
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            code = secrets.token_urlsafe(8)
            self.codes[code] = q
            self.send_response(302)
            self.send_header("Location", q["redirect_uri"] + "?" + urlencode(
                {"code": code, "state": q["state"]}))
            self.end_headers()
            return
        if self.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return self._json({"message": "Bad credentials"}, 401)
        if url.path == "/api/v3/user":
            return self._json({"id": 4242, "login": "octo", "name": "Octo Cat",
                               "email": "public@profile.example"})
        if url.path == "/api/v3/user/emails":
            return self._json(self.emails)
        return self._json({"message": "Not Found"}, 404)

    def do_POST(self):  # noqa: N802
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(
            int(self.headers["Content-Length"])).decode()).items()}
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        asked = self.codes.pop(form.get("code"), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (self.headers.get("Authorization") != f"Basic {basic}" or asked is None
                or asked.get("code_challenge") != challenge
                or asked.get("redirect_uri") != form.get("redirect_uri")):
            return self._json({"error": "bad_verification_code"})  # GitHub answers 200
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return self._json({"access_token": token, "token_type": "bearer",
                           "scope": "read:user,user:email"})

    def log_message(self, *args):
        pass


@pytest.fixture
def github(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeGitHub.codes, FakeGitHub.tokens = {}, set()
    FakeGitHub.emails = [{"email": "octo@gh.example", "primary": True, "verified": True}]
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with app.app_context():
        svc = app.extensions["idp"]
        create_provider(db.session, system_context(), svc.keyring,
                        ensure_default_tenant(db.session),
                        ProviderSpec(name="GitHub", type="github", issuer=base,
                                     client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                     link_by_verified_email=True), svc.outbound_policy)
        db.session.commit()
    yield base
    server.shutdown()
    server.server_close()


def _sign_in(client, tamper_state=False):
    start = client.get("/login/external/github")
    assert start.status_code == 302, start.get_data(as_text=True)
    location = start.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == [CLIENT_ID] and query["code_challenge_method"] == ["S256"]
    back = requests.get(location, allow_redirects=False, timeout=5).headers["Location"]
    if tamper_state:
        back = back.replace("state=", "state=x")
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}")


def test_github_sign_in_provisions_from_the_verified_primary_address(app, client, github):
    response = _sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == "octo@gh.example")).scalar_one()
        assert user.email_verified is True and user.name == "Octo Cat"
    assert b"octo@gh.example" in client.get("/account").data


def test_github_unverified_address_never_links_an_existing_account(app, client, github):
    make_user(app, email="octo@gh.example", username="octo")
    FakeGitHub.emails = [{"email": "octo@gh.example", "primary": True, "verified": False}]
    response = _sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login/external/link"


def test_github_state_mismatch_is_refused(app, client, github):
    refused = _sign_in(client, tamper_state=True)
    assert refused.status_code == 400 and b"Sign-in failed" in refused.data
