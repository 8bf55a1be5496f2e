"""Remembered signature checks never outlive the token's lifetime or its key."""

from __future__ import annotations

import time

from idp.oauth.tokens import validation as access_tokens
from tests.factories import make_client
from tests.oauth_flow import basic


def _token(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic(cid, secret))
    return response.get_json()["access_token"]


def _decode(app, value):
    svc = app.extensions["idp"]
    return access_tokens.decode_access_token(svc.keys, svc.config.issuer, value)


def test_second_check_is_served_from_memory_with_the_same_claims(app, client, monkeypatch):
    value = _token(app, client)
    first = _decode(app, value)
    calls = []
    real_verify = access_tokens._verify
    monkeypatch.setattr(access_tokens, "_verify",
                        lambda *a: calls.append(1) or real_verify(*a))
    second = _decode(app, value)
    assert calls == [] and second == first
    second["scope"] = "changed"  # a caller's copy: the remembered claims stay intact
    assert _decode(app, value)["scope"] == "a"


def test_remembered_token_is_refused_once_expired(app, client, monkeypatch):
    value = _token(app, client)
    assert _decode(app, value) is not None
    later = time.time() + 3600
    monkeypatch.setattr(access_tokens.time, "time", lambda: later)
    assert _decode(app, value) is None


def test_remembered_token_is_refused_once_its_key_is_gone(app, client, monkeypatch):
    value = _token(app, client)
    assert _decode(app, value) is not None
    monkeypatch.setattr(type(app.extensions["idp"].keys), "verification_key",
                        lambda self, kid: None)
    assert _decode(app, value) is None


def test_other_issuer_does_not_share_the_memory(app, client):
    value = _token(app, client)
    svc = app.extensions["idp"]
    assert access_tokens.decode_access_token(svc.keys, svc.config.issuer, value) is not None
    assert access_tokens.decode_access_token(svc.keys, "https://other.example", value) is None
