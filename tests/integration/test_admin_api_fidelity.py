"""The admin API says what it enforces: 405 with Allow, empty date filters refused, the
OpenAPI document carrying the client and grace limits the code applies."""

from __future__ import annotations

import pytest

from idp.admin.operations import MAX_EXPIRY, MAX_GRACE
from tests.integration.admin_support import bearer


@pytest.mark.parametrize("method, path, allowed", [
    ("put", "/api/v1/clients", {"GET", "POST"}),
    ("post", "/api/v1/audit", {"GET"}),
])
def test_405_names_the_allowed_methods(app, client, method, path, allowed):
    response = getattr(client, method)(path, headers=bearer(client, app))
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.get_json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("path, field", [
    ("/api/v1/audit?since=", "since"), ("/api/v1/audit?until=%20", "until"),
    ("/api/v1/users?last_login_before=", "last_login_before"),
    ("/api/v1/users?last_login_after=", "last_login_after"),
])
def test_empty_date_filters_are_422(app, client, path, field):
    response = client.get(path, headers=bearer(client, app))
    assert response.status_code == 422 and response.get_json()["field"] == field


def test_openapi_states_the_client_constraints(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    write = schemas["ClientWrite"]["properties"]
    assert write["auth_method"]["enum"] == ["client_secret_basic", "client_secret_post",
                                            "private_key_jwt", "none"]
    assert set(write["grant_types"]["items"]["enum"]) == {
        "authorization_code", "refresh_token", "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange"}
    assert write["redirect_uris"]["items"]["maxLength"] == 2000
    assert write["expires_in"]["maximum"] == MAX_EXPIRY
    assert schemas["Grace"]["properties"]["grace"]["maximum"] == MAX_GRACE
    assert "patch" in document["paths"]["/api/v1/clients/{client_id}"]
