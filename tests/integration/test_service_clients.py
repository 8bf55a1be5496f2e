"""Service clients as API keys: usage, expiry, lifecycle through the CLI."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.factories import make_client
from tests.oauth_flow import basic


def test_usage_is_counted_in_memory_and_flushed_in_batches(app, client):
    from idp.extensions import db
    from idp.models.oauth import Client, ClientUsageDay
    from idp.oauth.clients.usage_store import flush_usage

    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    for _ in range(3):
        response = client.post("/token", data={"grant_type": "client_credentials"},
                               headers={**basic(cid, secret), "X-Forwarded-For": "203.0.113.9"})
        assert response.status_code == 200
    with app.app_context():
        # Nothing was written per request...
        assert db.session.execute(select(ClientUsageDay)).first() is None
        flush_usage(db.session, app.extensions["idp"].server.usage)
        day = db.session.execute(select(ClientUsageDay)).scalar_one()
        row = db.session.get(Client, cid)
        assert day.token_count == 3 and row.last_used_at is not None
        assert row.last_used_ip == "127.0.0.1"  # X-Forwarded-For is not trusted by default
        assert row.secrets[0].last_used_at is not None


def test_expired_client_gets_invalid_client(app, client):
    from datetime import timedelta

    from idp.extensions import db
    from idp.models.base import utcnow
    from idp.models.oauth import Client

    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    ok = client.post("/token", data={"grant_type": "client_credentials"}, headers=basic(cid, secret))
    assert ok.status_code == 200
    token = ok.get_json()["access_token"]
    with app.app_context():
        db.session.get(Client, cid).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    refused = client.post("/token", data={"grant_type": "client_credentials"},
                          headers=basic(cid, secret))
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    other, other_secret = make_client(app, grant_types=["client_credentials"], scopes=["a"])
    inactive = client.post("/introspect", data={"token": token}, headers=basic(other, other_secret))
    assert inactive.get_json() == {"active": False}


def test_admin_scope_token_is_audienced_to_the_provider(app, client):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["idp:admin"],
                              roles=["helpdesk"])
    body = client.post("/token", data={"grant_type": "client_credentials", "scope": "idp:admin"},
                       headers=basic(cid, secret)).get_json()
    claims = jwt.decode(body["access_token"],
                        KeySet.import_key_set(client.get("/jwks.json").get_json())).claims
    assert claims["aud"] == "http://localhost" and claims["roles"] == ["helpdesk"]
    assert claims["tenant"]


def test_cli_lists_shows_expires_and_deletes_clients(tmp_path):
    from tests.live_server import LiveIdp

    idp = LiveIdp(tmp_path)
    idp.cli("db", "upgrade")
    created = idp.cli_json("clients", "create", "--name", "reports", "--grant-type",
                           "client_credentials", "--scope", "reports:read", "--expires-in", "3600")
    shown = json.loads(idp.cli("clients", "show", created["client_id"]))
    assert shown["expires_at"] and shown["secrets"][0]["hint"].startswith("…")
    assert created["client_secret"] not in json.dumps(shown)
    idp.cli("clients", "secret", "rotate", created["client_id"], "--grace", "30")
    shown = json.loads(idp.cli("clients", "show", created["client_id"]))
    assert len(shown["secrets"]) == 2 and shown["secrets"][0]["expires_at"]
    listed = json.loads(idp.cli("clients", "list", "--json"))
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    idp.cli("clients", "delete", created["client_id"], "--yes")
    assert json.loads(idp.cli("clients", "list", "--json")) == []


def test_admin_api_registers_a_service_client_with_expiry_audience_and_algorithm(app, client):
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import KeySet

    from tests.integration.admin_support import bearer

    auth = bearer(client, app)
    made = client.post("/api/v1/clients", headers=auth, json={
        "name": "billing", "scopes": ["invoices:read"], "audiences": ["https://api.example.com"],
        "expires_in": 3600, "token_alg": "ES256"})
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert body["expires_at"] and body["audiences"] == ["https://api.example.com"]
    token = client.post("/token", data={"grant_type": "client_credentials"},
                        headers=basic(body["client_id"], body["client_secret"])).get_json()
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    decoded = jose_jwt.decode(token["access_token"], keys)
    assert decoded.header["alg"] == "ES256" and decoded.claims["aud"] == "https://api.example.com"
    for bad in ({"expires_in": 0}, {"expires_in": True}, {"expires_in": "3600"},
                {"token_alg": "HS256"}):
        refused = client.post("/api/v1/clients", headers=auth, json={"name": "x", **bad})
        assert refused.status_code == 422, (bad, refused.get_data(as_text=True))
        assert refused.get_json()["error"]
