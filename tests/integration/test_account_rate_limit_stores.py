"""Rate-limit keys behind trusted proxies, and the bounded fallback when Redis is down."""

from __future__ import annotations

import pytest

from idp.audit import EventType
from tests.account_support import events, sign_in
from tests.factories import make_user


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(login_rate_limit="2 per minute")
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@pytest.mark.parametrize("config_overrides", [{"trusted_proxies": 1}], indirect=True)
def test_forwarded_for_is_honoured_for_one_trusted_hop(app, client):
    make_user(app)
    for _ in range(2):
        sign_in(client, password="wrong", **{"X-Forwarded-For": "203.0.113.5"})
    assert sign_in(client, password="wrong",
                   **{"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    # Another client behind the same proxy has its own allowance...
    assert sign_in(client, password="wrong",
                   **{"X-Forwarded-For": "198.51.100.9"}).status_code == 401
    # ...and a client cannot dodge by prepending a forged address: only the last hop counts.
    assert sign_in(client, password="wrong",
                   **{"X-Forwarded-For": "1.2.3.4, 203.0.113.5"}).status_code == 429
    ips = [e.ip for e in events(app, EventType.LOGIN)]
    assert ips[:2] == ["203.0.113.5", "203.0.113.5"] and "198.51.100.9" in ips


@pytest.mark.parametrize("config_overrides", [{"trusted_proxies": 2}], indirect=True)
def test_two_trusted_hops(app, client):
    make_user(app)
    sign_in(client, password="wrong", **{"X-Forwarded-For": "9.9.9.9, 203.0.113.7, 10.0.0.2"})
    assert events(app, EventType.LOGIN)[-1].ip == "203.0.113.7"


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:1/0"}],
                         indirect=True)
def test_unreachable_redis_falls_back_to_in_process_limits(app, client, caplog):
    from idp.extensions import limiter

    make_user(app)
    try:
        assert sign_in(client, password="wrong").status_code == 401
        assert sign_in(client, password="wrong").status_code == 401
        assert sign_in(client, password="wrong").status_code == 429
        assert "rate-limit store failed; counting in process" in caplog.text
    finally:
        # The limiter object is shared by every app in this process: do not leave it in
        # fallback mode for the next test's app.
        limiter._storage_dead = False
