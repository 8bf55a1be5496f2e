"""Fixtures: an app per test on its own database (SQLite file, or PostgreSQL when
IDP_TEST_DATABASE_URL is set) and its own key folder; Redis when IDP_TEST_REDIS_URL is set."""

from __future__ import annotations

import os
import secrets
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from idp import create_app
from idp.extensions import db as _db
from tests.fast_path_support import without_fast_paths

PG_URL = os.environ.get("IDP_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def pg_database():
    """A uniquely named PostgreSQL database for this run, dropped at the end."""
    if not PG_URL:
        yield None
        return
    name = f"idp_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path, pg_database):
    return pg_database or f"sqlite:///{tmp_path}/idp.db"


@pytest.fixture
def config_overrides(tmp_path, database_url):
    """Per-test settings; tests extend this dict before `app` is built."""
    overrides = {
        "database_url": database_url,
        "keys_dir": str(tmp_path / "keys"),
        "issuer": "http://localhost",
        "testing": True,
        "bootstrap_admin_password": "Bootstrap-Operator-7!",
        "login_rate_limit": "1000 per minute",
    }
    if REDIS_URL:
        overrides["redis_url"] = REDIS_URL
        overrides["redis_prefix"] = f"idptest{secrets.token_hex(4)}"
    return overrides


@pytest.fixture
def app(config_overrides):
    from idp.bootstrap import bootstrap
    from idp.federation.metadata_cache import UPSTREAM

    application = create_app(dict(config_overrides))
    application.config["WTF_CSRF_ENABLED"] = True
    UPSTREAM.clear()  # upstream discovery/JWKS cached by an earlier test's upstream (its port)
    with application.app_context():
        if PG_URL:
            _db.drop_all()
        _db.create_all()
        svc = application.extensions["idp"]
        bootstrap(_db.session, svc.config, svc.keyring)
    yield application
    with application.app_context():
        _db.session.remove()
        if PG_URL:
            _db.drop_all()
        _db.engine.dispose()
    _clear_limiter(application)


def _clear_limiter(application):
    from idp.extensions import limiter

    try:
        with application.app_context():
            if REDIS_URL:
                _clear_own_redis_keys(application, limiter)
            else:
                limiter.reset()
    except Exception as exc:  # noqa: BLE001 - best effort between tests
        print(f"limiter reset failed: {exc}")


def _clear_own_redis_keys(application, limiter):
    """Only this run's keys: limiter.reset() would clear every run's on a shared Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    # Flask-Limiter keeps the first app's prefix for the whole process; ours use each app's.
    prefixes = {limiter._key_prefix, application.extensions["idp"].config.redis_prefix} - {""}
    for prefix in prefixes:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def client(app):
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(params=["fast", "flask"])
def answering_path(request, app) -> str:
    """Each test twice: fast paths on ("fast") and off ("flask"), with the same assertions."""
    if request.param == "flask":
        without_fast_paths(app)
    return request.param
