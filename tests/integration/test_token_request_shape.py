"""/token refuses what RFC 6749 forbids (issue 11): parameters in the query string (3.2),
a parameter sent twice (3.2), and two client authentication methods at once (2.3)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.factories import make_client, make_user
from tests.oauth_flow import basic, get_code


def _refused(response, text):
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid_request" and text in body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"


def test_code_sent_twice_is_refused_and_the_code_stays_usable(app, client):
    make_user(app)
    cid, secret = make_client(app)
    query, verifier = get_code(client, cid)
    form = [("grant_type", "authorization_code"), ("code", query["code"]), ("code", "other"),
            ("redirect_uri", "https://rp.example.com/cb"), ("code_verifier", verifier)]
    _refused(client.post("/token", data=urlencode(form), headers=_form_headers(cid, secret)),
             "'code' is repeated")
    ok = client.post("/token", data=urlencode(form[:2] + form[3:]),
                     headers=_form_headers(cid, secret))
    assert ok.status_code == 200


def _form_headers(cid, secret):
    return {**basic(cid, secret), "Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("query", ["grant_type=client_credentials", "scope=api%3Aread"])
def test_parameters_in_the_query_string_are_refused(app, client, query):
    """Also for a request shaped for the client-credentials fast path."""
    cid, secret = make_client(app, grant_types=["client_credentials"], scopes=["api:read"])
    response = client.post(f"/token?{query}", data={"grant_type": "client_credentials"},
                           headers=basic(cid, secret))
    _refused(response, "query string")


def test_basic_and_client_secret_post_together_are_refused(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"])
    response = client.post("/token", data={"grant_type": "client_credentials", "client_id": cid,
                                           "client_secret": secret},
                           headers=basic(cid, secret))
    _refused(response, "one client authentication method")


def test_secret_and_assertion_together_are_refused(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"],
                              auth_method="client_secret_post")
    response = client.post("/token", data={
        "grant_type": "client_credentials", "client_id": cid, "client_secret": secret,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "e30.e30.sig"})
    _refused(response, "one client authentication method")


def test_one_method_still_works(app, client):
    cid, secret = make_client(app, grant_types=["client_credentials"],
                              auth_method="client_secret_post")
    response = client.post("/token", data={"grant_type": "client_credentials",
                                           "client_id": cid, "client_secret": secret})
    assert response.status_code == 200
