"""Two `idp serve` processes on one PostgreSQL and Redis behave as one provider."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.factories import REDIRECT_URI, pkce_pair
from tests.production.servers import exchange, login_for_code, run_cli, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def pair(pg_deployment, servers):
    # Each check logs in afresh; the per-person session cap must not end earlier sessions.
    a = pg_deployment.server(IDP_MAX_SESSIONS_PER_USER=100).start()
    servers.append(a)
    b = pg_deployment.server(IDP_MAX_SESSIONS_PER_USER=100).start()
    servers.append(b)
    return pg_deployment, a, b


def _kid(jwt: str) -> str:
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _tokens(dep, at, finish_at=None):
    browser, code, verifier = login_for_code(at.url, dep.client_id,
                                             finish_at=finish_at.url if finish_at else None)
    response = exchange(at.url, dep.client_id, dep.secret, code, verifier)
    assert response.status_code == 200, response.text
    return browser, response.json()


def _introspect(server, dep, token: str) -> dict:
    response = requests.post(server.url + "/introspect", data={"token": token},
                             auth=(dep.client_id, dep.secret), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _userinfo(server, token: str) -> int:
    return requests.get(server.url + "/userinfo", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).status_code


def test_same_jwks_and_tokens_verify_across_instances(pair):
    dep, a, b = pair
    assert requests.get(a.url + "/jwks.json", timeout=30).json() == \
        requests.get(b.url + "/jwks.json", timeout=30).json()
    _, tokens = _tokens(dep, a)
    assert _userinfo(b, tokens["access_token"]) == 200
    assert _introspect(b, dep, tokens["access_token"])["active"] is True
    refreshed = requests.post(b.url + "/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(dep.client_id, dep.secret), timeout=30)
    assert refreshed.status_code == 200, refreshed.text


def test_login_started_at_one_finishes_at_the_other(pair):
    dep, a, b = pair
    _, tokens = _tokens(dep, a, finish_at=b)
    assert _userinfo(a, tokens["access_token"]) == 200


def test_token_revoked_at_one_is_refused_by_the_other(pair):
    dep, a, b = pair
    _, tokens = _tokens(dep, a)
    revoked = requests.post(a.url + "/revoke", data={"token": tokens["refresh_token"]},
                            auth=(dep.client_id, dep.secret), timeout=30)
    assert revoked.status_code == 200
    assert _introspect(b, dep, tokens["refresh_token"])["active"] is False
    reuse = requests.post(b.url + "/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(dep.client_id, dep.secret), timeout=30)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"


def test_session_ended_at_one_is_refused_by_the_other(pair):
    dep, a, b = pair
    browser, tokens = _tokens(dep, a)
    page = browser.get(a.url + "/logout", timeout=30)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    done = browser.post(a.url + "/logout", data={"confirm": "yes", "csrf_token": csrf},
                        allow_redirects=False, timeout=30)
    assert done.status_code in (200, 302, 303)
    assert _userinfo(b, tokens["access_token"]) == 401
    assert _introspect(b, dep, tokens["access_token"])["active"] is False
    _, challenge = pkce_pair()
    silent = browser.get(b.url + "/authorize", params={
        "response_type": "code", "client_id": dep.client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s", "prompt": "none", "code_challenge": challenge,
        "code_challenge_method": "S256"}, allow_redirects=False, timeout=30)
    assert silent.status_code == 302
    query = parse_qs(urlsplit(silent.headers["Location"]).query)
    assert query["error"] == ["login_required"]


def test_key_rotation_reaches_both_without_restart(pair):
    dep, a, b = pair
    _, before = _tokens(dep, a)
    old_kid = _kid(before["access_token"])
    # Right after start-up the next key is not yet old enough to promote (the JWKS
    # max-age rule); what this test is about is the propagation, so force it.
    done = run_cli(dep.env, dep.workdir, "keys", "rotate", "--force")
    assert done.returncode == 0, done.stderr
    new_kids = set(re.findall(r"[A-Za-z0-9_-]{40,}", done.stdout))

    def rotated(server):
        _, tokens = _tokens(dep, server)
        return _kid(tokens["access_token"]) in new_kids and tokens

    for server in (a, b):
        tokens = wait_for(lambda s=server: rotated(s), 20, "the rotated key", interval=1)
        assert _kid(tokens["access_token"]) != old_kid

    def same_jwks():
        # Each worker re-reads keys every 5 s, so every worker agrees within that time.
        docs = [requests.get(s.url + "/jwks.json", headers={"Connection": "close"},
                             timeout=30).json() for s in (a, b, a, b)]
        return all(d == docs[0] for d in docs) and docs[0]

    jwks_a = wait_for(same_jwks, 15, "both instances to publish the same JWKS", interval=0.5)
    assert old_kid in {k["kid"] for k in jwks_a["keys"]}  # retired, still published
    assert _userinfo(b, before["access_token"]) == 200
