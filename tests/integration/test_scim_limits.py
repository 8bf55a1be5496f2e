"""/scim/v2 is rate-limited per service client (IDP_SCIM_RATE_LIMIT, idp/rate_limits.py):
over the limit a client gets a SCIM error 429 with Retry-After, audited once per window;
other clients are not affected."""

from __future__ import annotations

import pytest

from idp.audit import EventType, Outcome
from tests.account_support import events
from tests.integration.scim_support import scim_headers

USERS = "/scim/v2/Users"


@pytest.fixture
def config_overrides(config_overrides):
    config_overrides.update(scim_rate_limit="3 per minute")
    return config_overrides


def test_a_client_over_its_limit_gets_a_scim_429_with_retry_after(app, client):
    busy, calm = scim_headers(client, app), scim_headers(client, app)
    for _ in range(3):
        assert client.get(USERS, headers=busy).status_code == 200
    refused = [client.get(USERS, headers=busy) for _ in range(2)]
    for response in refused:
        assert response.status_code == 429
        assert response.content_type == "application/scim+json"
        body = response.get_json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == "429" and "Try again in" in body["detail"]
        assert 1 <= int(response.headers["Retry-After"]) <= 61
    # writes count too, and nothing is applied
    assert client.post(USERS, json={"userName": "x"}, headers=busy).status_code == 429
    assert client.get(USERS, headers=calm).status_code == 200
    [audited] = events(app, EventType.RATE_LIMITED)
    assert audited.outcome == Outcome.RATE_LIMITED and audited.actor_id.startswith("client:")
    assert audited.details == {"path": USERS, "limit": "3 per minute"}


def test_a_bad_limit_stops_start_up_naming_the_variable():
    from idp.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="IDP_SCIM_RATE_LIMIT"):
        load_config(environ={"IDP_SCIM_RATE_LIMIT": "lots"})
