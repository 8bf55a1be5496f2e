"""A migrated database with a person and a client, shared by real `idp serve` processes."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import make_client, make_user
from tests.production.pg_cluster import pg_cluster  # noqa: F401 - fixture for every test here
from tests.production.servers import IdpServer, RedisServer, base_env, run_cli

PG_URL = os.environ.get("IDP_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL")


@dataclass
class Deployment:
    workdir: Path
    env: dict
    database_url: str
    client_id: str
    secret: str
    user_id: str

    def server(self, workers: int = 2, **env) -> IdpServer:
        return IdpServer(self.workdir, {**self.env, **{k: str(v) for k, v in env.items()}},
                         workers=workers)

    def engine(self):
        return create_engine(self.database_url)


def _prepare(workdir: Path, database_url: str, **env) -> Deployment:
    from idp import create_app

    environment = base_env(workdir, database_url, **env)
    done = run_cli(environment, workdir, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    app = create_app({"database_url": database_url, "keys_dir": str(workdir / "keys"),
                      "issuer": environment["IDP_ISSUER"], "testing": True})
    user_id = make_user(app)
    client_id, secret = make_client(app)
    with app.app_context():
        from idp.extensions import db

        db.engine.dispose()
    return Deployment(workdir, environment, database_url, client_id, secret, user_id)


@pytest.fixture
def sqlite_deployment(tmp_path) -> Deployment:
    """A fresh SQLite deployment under tmp_path."""
    return _prepare(tmp_path, f"sqlite:///{tmp_path}/idp.db")


@pytest.fixture
def pg_deployment(tmp_path):
    """A fresh PostgreSQL database (dropped afterwards) plus the shared Redis."""
    if not (PG_URL and REDIS_URL):
        pytest.skip("needs IDP_TEST_DATABASE_URL and IDP_TEST_REDIS_URL (set by .ci/run)")
    name = f"idp_multi_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield _prepare(tmp_path, url, IDP_REDIS_URL=REDIS_URL,
                       IDP_REDIS_PREFIX=f"idpmulti{uuid.uuid4().hex[:6]}")
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def servers():
    """Collects started servers and stops them at the end, whatever happened."""
    started: list = []
    yield started
    for server in started:
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001 - cleanup must reach every process
            print(f"stop failed: {exc}")


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def private_pg_deployment(tmp_path, pg_cluster) -> Deployment:  # noqa: F811
    """A deployment on a private cluster of this test's own (free to SIGSTOP)."""
    return _prepare(tmp_path, pg_cluster.create_database("idp"))
