"""Bad input is a clear 4xx, never a 500 (issue 11, ASVS 16.5): NUL bytes, deeply nested
JSON, forged list cursors and an unusable redirect_uri, over real HTTP (run on PostgreSQL
too, where a NUL cannot be stored)."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from tests.account_support import post_form
from tests.factories import csrf_from, make_client, make_user
from tests.integration.admin_support import bearer
from tests.oauth_flow import authorize_url, basic

DEEP = "[" * 20_000 + "]" * 20_000


@pytest.fixture(autouse=True)
def _no_crash_logged(caplog):
    """Whatever a test sends, nothing is logged as a crash."""
    with caplog.at_level(logging.ERROR):
        yield
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not crashes, [r.getMessage() for r in crashes]


# --- NUL bytes --------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["username", "password", "rid"])
def test_nul_in_a_login_field_is_400(app, client, field):
    make_user(app)
    data = {"username": "alice", "password": "x", "rid": ""}
    data[field] = "al\x00ice"
    response = post_form(client, "/login", data)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_nul_in_password_forgot_is_400(app, client):
    assert post_form(client, "/password/forgot", {"email": "a\x00@example.com"}).status_code == 400


def test_nul_in_token_form_is_invalid_request(app, client):
    client_id, secret = make_client(app)
    response = client.post("/token", data={"grant_type": "authorization_code",
                                           "code": "ab\x00cd", "redirect_uri": "x"},
                           headers=basic(client_id, secret))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("who", ["id", "secret"])
def test_nul_in_basic_credentials_is_invalid_request(app, client, who):
    """Also for a request shaped for the client-credentials fast path."""
    client_id, secret = make_client(app, grant_types=["client_credentials"])
    creds = (client_id + "\x00", secret) if who == "id" else (client_id, secret + "\x00")
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic(*creds))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_nul_in_authorize_query_is_400(app, client):
    client_id, _ = make_client(app)
    response = client.get(authorize_url(client_id, state="s\x00t"))
    assert response.status_code == 400
    response = client.get(authorize_url(client_id + "\x00"))
    assert response.status_code == 400


def test_nul_in_admin_json_is_400(app, client):
    response = client.post("/api/v1/users", json={"email": "n\x00l@example.com"},
                           headers=bearer(client, app))
    assert response.status_code == 400


# --- deeply nested JSON ----------------------------------------------------------------

def test_deep_json_on_the_admin_api_is_400(app, client):
    auth = bearer(client, app)
    for nested in (DEEP, json.dumps({"settings": json.loads("[" * 40 + "]" * 40)})):
        response = client.post("/api/v1/users", data=nested,
                               headers={**auth, "Content-Type": "application/json"})
        assert response.status_code == 400, response.get_data(as_text=True)[:200]
        assert response.get_json()["error"] == "bad_request"


def test_deep_json_on_passkey_login_is_4xx(app, client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login/passkey/options", json={},
                       headers={"X-CSRFToken": token}).status_code == 200
    response = client.post("/login/passkey", data=DEEP,
                           headers={"X-CSRFToken": token, "Content-Type": "application/json"})
    assert response.status_code == 400
    # Inside the form field (within its length limit), too deep for the JSON parser.
    client.post("/login/passkey/options", json={}, headers={"X-CSRFToken": token})
    response = client.post("/login/passkey", data={"credential": "[" * 8000 + "]" * 8000,
                                                   "csrf_token": token})
    assert response.status_code == 401


# --- list cursors ----------------------------------------------------------------------

def test_list_cursors_are_signed(app, client):
    auth = bearer(client, app)
    for n in range(3):
        make_user(app, email=f"u{n}@example.com", username=f"u{n}")
    first = client.get("/api/v1/users?limit=2", headers=auth).get_json()
    cursor = first["next_cursor"]
    second = client.get(f"/api/v1/users?limit=2&cursor={cursor}", headers=auth)
    assert second.status_code == 200 and second.get_json()["items"]
    for bad in (_forged(["not-a-date", "x"]),
                _forged(["0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000000"]),
                cursor[:-2] + "AA", "%FF%FE", "W1s", cursor + "x"):
        response = client.get(f"/api/v1/users?cursor={bad}", headers=auth)
        assert response.status_code == 400, (bad, response.status_code)
        assert response.get_json()["error"] == "bad_request"
    # A cursor is read back only by the list that made it.
    assert client.get(f"/api/v1/audit?cursor={cursor}", headers=auth).status_code == 400
    forged = _forged(["2026-01-01T00:00:00+00:00", 2**70])
    assert client.get(f"/api/v1/audit?cursor={forged}", headers=auth).status_code == 400


def _forged(values) -> str:
    """A cursor as the unsigned format made them: base64 of JSON."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# --- /authorize with an unusable redirect_uri ------------------------------------------

@pytest.mark.parametrize("bad", ["https://rp.example.com/cb%0D%0ASet-Cookie:%20x=1",
                                 "https://rp.example.com/cb%22onmouseover",
                                 "https://evil.example/cb"])
def test_authorize_with_an_unregistered_redirect_uri_shows_a_400_page(app, client, bad):
    client_id, _ = make_client(app)
    url = authorize_url(client_id).replace("redirect_uri=https%3A%2F%2Frp.example.com%2Fcb",
                                           f"redirect_uri={bad}")
    response = client.get(url)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "redirect_uri" in response.get_data(as_text=True)
