"""OpenID Connect Back-Channel Logout 1.0: a relying party on loopback, started here, receives
the logout token over real HTTP and verifies it against our JWKS as an RP library would."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.factories import make_client, make_user
from tests.oauth_flow import exchange, get_code

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides["outbound_allow"] = "127.0.0.1/32"
    return config_overrides


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        rp = self.server.rp
        rp["requests"] += 1
        if rp["delay"]:
            time.sleep(rp["delay"])
        status = rp["statuses"].pop(0) if rp["statuses"] else 200
        if status == 200:
            rp["tokens"].append((self.headers.get("Content-Type"), form["logout_token"][0]))
        self.send_response(status)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def rp():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.rp = {"requests": 0, "tokens": [], "statuses": [], "delay": 0}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.rp["uri"] = f"http://127.0.0.1:{server.server_address[1]}/backchannel"
    yield server.rp
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _stop_deliverer(app):
    yield
    deliverer = app.extensions["idp"].extra.get("backchannel_deliverer")
    if deliverer is not None:
        deliverer.stop()


def _wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _signed_in(app, client, rp_uri):
    make_user(app)
    cid, secret = make_client(app, backchannel_logout_uri=rp_uri)
    query, verifier = get_code(client, cid)
    tokens = exchange(client, cid, secret, query["code"], verifier).get_json()
    return cid, tokens


def _verify(client, cid, token: str) -> tuple[dict, dict]:
    """What an RP does (section 2.6): signature by the OP's JWKS, iss, aud, iat, events."""
    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    decoded = jwt.decode(token, jwks, algorithms=["RS256", "ES256"])
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": "http://localhost"},
                          aud={"essential": True, "value": cid},
                          iat={"essential": True}, jti={"essential": True}
                          ).validate(decoded.claims)
    return decoded.header, decoded.claims


def test_logout_sends_a_verifiable_logout_token(app, client, rp):
    cid, tokens = _signed_in(app, client, rp["uri"])
    id_claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(
        client.get("/jwks.json").get_json()), algorithms=["RS256"]).claims
    assert id_claims["sid"]
    response = client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert response.status_code == 200
    assert _wait_for(lambda: rp["tokens"])
    content_type, token = rp["tokens"][0]
    assert content_type == "application/x-www-form-urlencoded"
    header, claims = _verify(client, cid, token)
    assert header["typ"] == "logout+jwt"
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert claims["exp"] - claims["iat"] <= 120


def test_a_slow_relying_party_never_blocks_the_logout(app, client, rp):
    _, tokens = _signed_in(app, client, rp["uri"])
    rp["delay"] = 8
    started = time.monotonic()
    response = client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert response.status_code == 200 and time.monotonic() - started < 4  # not the RP's 8 s
    assert client.get("/account").status_code == 302
    assert _wait_for(lambda: rp["tokens"], seconds=30)


def test_failed_delivery_is_retried_and_audited(app, client, rp):
    from idp.extensions import db
    from idp.models.audit import AuditEvent
    from idp.models.oauth import BackchannelLogout

    _, tokens = _signed_in(app, client, rp["uri"])
    rp["statuses"] = [500, 503]
    client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert _wait_for(lambda: rp["tokens"], seconds=15)
    assert rp["requests"] == 3  # two failures, then delivered (backoff 1 s, 2 s)

    def delivered():
        with app.app_context():
            row = db.session.query(BackchannelLogout).one()
            db.session.rollback()
            return row.delivered_at is not None and row.attempts == 3
    assert _wait_for(delivered)
    with app.app_context():
        types = [e.type for e in db.session.query(AuditEvent)]
    assert "oauth.backchannel_logout.delivered" in types


def test_admin_api_session_revocation_notifies(app, client, rp):
    from tests.integration.admin_support import bearer

    _signed_in(app, client, rp["uri"])
    with app.test_client() as admin:
        headers = bearer(admin, app)
        people = admin.get("/api/v1/users?q=alice", headers=headers).get_json()["items"]
        user_id = [p for p in people if p["username"] == "alice"][0]["id"]
        assert admin.delete(f"/api/v1/users/{user_id}/sessions",
                            headers=headers).status_code in (200, 204)
    assert _wait_for(lambda: rp["tokens"])


def test_disable_outside_a_request_is_delivered_by_a_later_sweep(app, client, rp):
    from idp.accounts.administration import disable_user
    from idp.extensions import db
    from idp.models.accounts import User
    from idp.request_context import system_context

    _signed_in(app, client, rp["uri"])
    with app.app_context():
        user = db.session.query(User).filter_by(username="alice").one()
        disable_user(db.session, system_context(), user)  # as `idp users disable` does
        db.session.commit()
    app.extensions["idp"].extra["backchannel_swept_at"] = -1e9  # the sweep interval has passed
    client.get("/userinfo")
    assert _wait_for(lambda: rp["tokens"])


def test_clients_without_a_uri_or_session_get_nothing(app, client, rp):
    from idp.extensions import db
    from idp.models.oauth import BackchannelLogout

    make_user(app)
    cid, secret = make_client(app)  # no back-channel logout URI
    query, verifier = get_code(client, cid)
    tokens = exchange(client, cid, secret, query["code"], verifier).get_json()
    client.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    with app.app_context():
        assert db.session.query(BackchannelLogout).count() == 0


def test_discovery_advertises_back_channel_logout(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True


@pytest.mark.parametrize("uri", ["ftp://rp.example/bc", "https://rp.example/bc#frag",
                                 "http://10.0.0.5/bc"])
def test_bad_back_channel_logout_uris_are_refused(app, uri):
    from idp.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        make_client(app, backchannel_logout_uri=uri)
    assert refused.value.field == "backchannel_logout_uri"


def test_cli_and_admin_api_register_the_uri(app, client, config_overrides):
    import json
    import os
    import subprocess
    import sys

    from tests.integration.admin_support import bearer

    env = {**os.environ, "IDP_DATABASE_URL": config_overrides["database_url"],
           "IDP_KEYS_DIR": config_overrides["keys_dir"], "IDP_ISSUER": "http://localhost"}
    result = subprocess.run(
        [sys.executable, "-m", "idp.cli", "clients", "create", "--name", "BC",
         "--redirect-uri", "https://rp.example.com/cb",
         "--backchannel-logout-uri", "https://rp.example.com/bc",
         "--backchannel-logout-session-required", "--json"],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    cid = json.loads(result.stdout)["client_id"]
    headers = bearer(client, app)
    shown = client.get(f"/api/v1/clients/{cid}", headers=headers).get_json()
    assert shown["backchannel_logout_uri"] == "https://rp.example.com/bc"
    assert shown["backchannel_logout_session_required"] is True
    created = client.post("/api/v1/clients", headers=headers, json={
        "name": "API RP", "redirect_uris": ["https://rp.example.com/cb"],
        "backchannel_logout_uri": "https://rp.example.com/logout"})
    assert created.status_code == 201, created.get_json()
    refused = client.post("/api/v1/clients", headers=headers, json={
        "name": "Bad RP", "redirect_uris": ["https://rp.example.com/cb"],
        "backchannel_logout_uri": "http://169.254.169.254/"})
    assert refused.status_code == 422
