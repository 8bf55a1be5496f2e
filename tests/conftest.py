"""Fixtures: an app per test on its own database (SQLite file, or PostgreSQL when
IDP_TEST_DATABASE_URL is set) and its own key folder; Redis when IDP_TEST_REDIS_URL is set.

The schema, the master key, the signing keys and the bootstrap admin are made once per run
(`bootstrapped_template`) and copied for each test: the SQLite file is copied, a PostgreSQL
database is created with `CREATE DATABASE ... TEMPLATE`, the key folder is copied. A test
whose settings change what the bootstrap makes is bootstrapped on its own, as before."""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from idp import create_app
from idp.bootstrap import bootstrap
from idp.extensions import db as _db
from idp.federation.metadata_cache import UPSTREAM
from idp.models.base import utcnow
from idp.models.keys import SigningKey
from tests.fast_path_support import without_fast_paths

PG_URL = os.environ.get("IDP_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL")
# The settings the bootstrap reads: a test that changes one is bootstrapped on its own.
BOOTSTRAP_SETTINGS = ("bootstrap_admin_email", "bootstrap_admin_password", "password_policy",
                      "password_min_length", "password_history", "password_max_age_admin_days",
                      "password_hashing")


def _base_settings() -> dict:
    settings = {
        "issuer": "http://localhost",
        "testing": True,
        "bootstrap_admin_password": "Bootstrap-Operator-7!",
        "login_rate_limit": "1000 per minute",
        # Argon2id at its smallest cost; tests of the real parameters set "owasp".
        "password_hashing": "test",
    }
    if REDIS_URL:
        settings["redis_url"] = REDIS_URL
        settings["redis_prefix"] = f"idptest{secrets.token_hex(4)}"
    return settings


@pytest.fixture(scope="session")
def pg_admin():
    """An AUTOCOMMIT engine on IDP_TEST_DATABASE_URL that creates and drops databases."""
    if not PG_URL:
        yield None
        return
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _pg_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def create_database(pg_admin, name: str, template: str | None = None) -> None:
    """CREATE DATABASE, as a copy of `template` when given (nobody may be connected to it)."""
    sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    try:
        with pg_admin.connect() as conn:
            conn.execute(text(sql))
    except OperationalError:
        if template is None:
            raise
        with pg_admin.connect() as conn:  # a connection left to the template: end it, retry
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": template})
            conn.execute(text(sql))


def drop_database(pg_admin, name: str) -> None:
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Template:
    settings: dict
    keys_dir: Path
    sqlite_file: Path | None  # SQLite: the file to copy
    pg_name: str | None  # PostgreSQL: the template database


@pytest.fixture(scope="session")
def bootstrapped_template(tmp_path_factory, pg_admin):
    """Schema, keys and bootstrap admin, made once per run and copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    pg_name = f"idp_tpl_{uuid.uuid4().hex[:10]}" if PG_URL else None
    if pg_name:
        create_database(pg_admin, pg_name)
    url = _pg_url(pg_name) if pg_name else f"sqlite:///{folder}/idp.db"
    settings = {**_base_settings(), "database_url": url, "keys_dir": str(folder / "keys")}
    application = create_app(dict(settings))
    with application.app_context():
        _db.create_all()
        svc = application.extensions["idp"]
        bootstrap(_db.session, svc.config, svc.keyring)
        if not pg_name:  # one self-contained file: no -wal beside it
            _db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        _db.session.remove()
        _db.engine.dispose()
    yield Template(settings, folder / "keys", None if pg_name else folder / "idp.db", pg_name)
    if pg_name:
        drop_database(pg_admin, pg_name)


@pytest.fixture
def database_url(tmp_path, pg_admin):
    """This test's database URL; the PostgreSQL database is created by `app` (or
    `empty_database_url`) and dropped at the end."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path}/idp.db"
        return
    name = f"idp_test_{uuid.uuid4().hex[:10]}"
    yield _pg_url(name)
    drop_database(pg_admin, name)


@pytest.fixture
def empty_database_url(database_url, pg_admin):
    """This test's database, existing and empty (for migrations)."""
    if PG_URL:
        create_database(pg_admin, make_url(database_url).database)
    return database_url


@pytest.fixture
def config_overrides(tmp_path, database_url):
    """Per-test settings; tests extend this dict before `app` is built."""
    return {**_base_settings(), "database_url": database_url, "keys_dir": str(tmp_path / "keys")}


@pytest.fixture
def owasp_hashing(config_overrides):
    """Argon2id with the service's parameters; list it before `app` (hashing cost tests)."""
    config_overrides["password_hashing"] = "owasp"


def _copy_template(template: Template, settings: dict, database_url: str, tmp_path: Path,
                   pg_admin) -> bool:
    """Give this test a copy of the bootstrapped template when its settings allow; else
    an empty database (False)."""
    keys_dir = tmp_path / "keys"
    ours = settings["database_url"] == database_url and settings["keys_dir"] == str(keys_dir)
    usable = ours and not keys_dir.exists() and not (tmp_path / "idp.db").exists() and all(
        settings.get(name) == template.settings.get(name) for name in BOOTSTRAP_SETTINGS)
    name = make_url(database_url).database if PG_URL else None
    if usable:
        shutil.copytree(template.keys_dir, keys_dir)
        if PG_URL:
            create_database(pg_admin, name, template=template.pg_name)
        else:
            shutil.copyfile(template.sqlite_file, tmp_path / "idp.db")
    elif PG_URL and ours:
        create_database(pg_admin, name)
    return usable


def _as_if_bootstrapped_now(session) -> None:
    """The template's keys were made when the run began; make them as new as a bootstrap
    now would (the rotation rules count the next key's age)."""
    now = utcnow()
    session.execute(update(SigningKey).values(created_at=now))
    session.execute(update(SigningKey).where(SigningKey.activated_at.is_not(None))
                    .values(activated_at=now))
    session.commit()


@pytest.fixture
def app(config_overrides, database_url, tmp_path, bootstrapped_template, pg_admin):
    settings = dict(config_overrides)
    copied = _copy_template(bootstrapped_template, settings, database_url, tmp_path, pg_admin)
    application = create_app(settings)
    application.config["WTF_CSRF_ENABLED"] = True
    UPSTREAM.clear()  # upstream discovery/JWKS cached by an earlier test's upstream (its port)
    with application.app_context():
        if copied:
            _as_if_bootstrapped_now(_db.session)
        else:
            _db.create_all()
            svc = application.extensions["idp"]
            bootstrap(_db.session, svc.config, svc.keyring)
    yield application
    with application.app_context():
        _db.session.remove()
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
