"""The /token failure limiter on a shared Redis (issue 11): its keys carry
IDP_REDIS_PREFIX, so two deployments never block each other's clients, and the limit
holds across processes (each app here stands for one worker with its own memory)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from idp import create_app
from idp.extensions import db
from tests.conftest import REDIS_URL
from tests.factories import make_client
from tests.oauth_flow import basic

needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs IDP_TEST_REDIS_URL")
LIMIT = 30


@pytest.fixture
def config_overrides(config_overrides, request):
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


@contextmanager
def worker(config_overrides, **changes):
    """Another app on the same database and Redis: another process, as far as state goes."""
    other = create_app({**config_overrides, **changes})
    other.config["WTF_CSRF_ENABLED"] = True
    try:
        yield other.test_client()
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def _fail(client, client_id):
    return client.post("/token", data={"grant_type": "client_credentials"},
                       headers=basic(client_id, "wrong-secret"))


@needs_redis
def test_the_limit_holds_across_processes(app, config_overrides):
    client_id, _ = make_client(app, grant_types=["client_credentials"])
    client = app.test_client()
    with worker(config_overrides) as second:
        for n in range(LIMIT):
            assert _fail(client if n % 2 else second, client_id).status_code == 401
        # Both processes refuse the next guess without evaluating it, whichever used up
        # the allowance.
        assert _fail(client, client_id).status_code == 429
        assert _fail(second, client_id).status_code == 429


@needs_redis
def test_a_deployment_with_another_prefix_is_not_blocked(app, config_overrides):
    client_id, secret = make_client(app, grant_types=["client_credentials"])
    client = app.test_client()
    for _ in range(LIMIT):
        _fail(client, client_id)
    assert _fail(client, client_id).status_code == 429
    prefix = config_overrides["redis_prefix"] + "other"
    with worker(config_overrides, redis_prefix=prefix) as neighbour:
        assert _fail(neighbour, client_id).status_code == 401
        ok = neighbour.post("/token", data={"grant_type": "client_credentials", "scope": ""},
                            headers=basic(client_id, secret))
        assert ok.status_code == 200


@needs_redis
def test_token_limiter_keys_start_with_the_prefix(app, config_overrides):
    import redis

    client_id, _ = make_client(app, grant_types=["client_credentials"])
    _fail(app.test_client(), client_id)
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).keys("*token-failures*")]
    mine = [k for k in keys if config_overrides["redis_prefix"] in k]
    assert mine and all(f"/{config_overrides['redis_prefix']}/token-failures/" in k
                        for k in mine)


@pytest.mark.parametrize("config_overrides", [{"redis_url": "redis://127.0.0.1:1/0"}],
                         indirect=True)
def test_unreachable_redis_still_limits_in_process(app):
    from idp.extensions import limiter

    client_id, _ = make_client(app, grant_types=["client_credentials"])
    client = app.test_client()
    try:
        assert {_fail(client, client_id).status_code for _ in range(LIMIT)} == {401}
        assert _fail(client, client_id).status_code == 429
    finally:
        limiter._storage_dead = False  # the limiter object is shared by every test app
