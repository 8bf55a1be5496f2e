"""Lockout and rate limits against real `idp serve` processes: the lock survives a restart,
concurrent failures are all counted, and two instances on one PostgreSQL and Redis count one
lockout and one rate limit between them."""

from __future__ import annotations

import os
import re
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from idp.models.accounts import User
from idp.models.audit import AuditEvent
from tests.live_server import LiveIdp

pytestmark = pytest.mark.slow

PASSWORD = "Live-Server-Pass-7!"
PG_URL = os.environ.get("IDP_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL")


def attempt(base_url: str, password: str, username: str = "lena") -> int:
    """One login over HTTP with its own cookies and CSRF token; returns the status."""
    with requests.Session() as http:
        page = http.get(f"{base_url}/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = http.post(f"{base_url}/login", timeout=30, allow_redirects=False,
                             data={"username": username, "password": password,
                                   "csrf_token": token})
        return response.status_code


def lockout_state(database_url: str, username: str = "lena"):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(User.failed_login_count, User.locked_at)
                                .where(User.username == username)).one()
    finally:
        engine.dispose()


def audit_outcomes(database_url: str) -> list[tuple[str, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(AuditEvent.type, AuditEvent.outcome).order_by(AuditEvent.id))]
    finally:
        engine.dispose()


def create_person(server: LiveIdp) -> None:
    server.cli("users", "create", "--email", "lena@example.com", "--username", "lena",
               "--password-stdin", stdin=PASSWORD + "\n")


@pytest.fixture
def live(tmp_path):
    servers: list[LiveIdp] = []

    def start(**env) -> LiveIdp:
        server = LiveIdp(tmp_path, **env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def test_lockout_survives_a_restart_of_idp_serve(live, tmp_path):
    env = {"IDP_LOCKOUT_THRESHOLD": "3", "IDP_LOGIN_RATE_LIMIT": "100 per minute"}
    server = live(**env)
    create_person(server)
    assert [attempt(server.url, "wrong") for _ in range(3)] == [401, 401, 401]
    server.stop()
    server.start()
    assert attempt(server.url, PASSWORD) == 401  # still locked after the restart
    count, locked_at = lockout_state(server.env["IDP_DATABASE_URL"])
    assert locked_at is not None
    server.cli("users", "unlock", "lena")
    assert attempt(server.url, PASSWORD) == 302


def test_concurrent_failed_logins_are_all_counted(live):
    server = live(IDP_LOCKOUT_THRESHOLD="100", IDP_LOGIN_RATE_LIMIT="100 per minute",
                  IDP_WORKERS="2")
    create_person(server)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: attempt(server.url, "wrong"), range(16)))
    assert statuses == [401] * 16
    count, locked_at = lockout_state(server.env["IDP_DATABASE_URL"])
    assert count == 16 and locked_at is None


@pytest.fixture
def shared_postgres():
    if not (PG_URL and REDIS_URL):
        pytest.skip("needs IDP_TEST_DATABASE_URL and IDP_TEST_REDIS_URL (PostgreSQL and Redis)")
    name = f"idp_live_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_two_instances_share_one_lockout_and_one_rate_limit(live, shared_postgres):
    env = {"IDP_DATABASE_URL": shared_postgres, "IDP_REDIS_URL": REDIS_URL,
           "IDP_REDIS_PREFIX": f"idplive{secrets.token_hex(4)}", "IDP_WORKERS": "2",
           "IDP_LOCKOUT_THRESHOLD": "3", "IDP_LOGIN_RATE_LIMIT": "5 per minute"}
    a = live(**env)
    b = live(**env)
    create_person(a)
    # Three failures spread over both instances lock the account once.
    assert [attempt(a.url, "wrong"), attempt(b.url, "wrong"), attempt(a.url, "wrong")] == [401] * 3
    assert attempt(b.url, PASSWORD) == 401
    count, locked_at = lockout_state(shared_postgres)
    assert locked_at is not None and count == 3
    outcomes = audit_outcomes(shared_postgres)
    assert outcomes.count(("user.locked", "success")) == 1
    assert ("auth.login", "account_locked") in outcomes
    # Five failures in all (4 above + 1) use up the per-IP allowance on both instances.
    assert attempt(a.url, "wrong") == 401
    assert attempt(b.url, "wrong") == 429
    assert attempt(a.url, "wrong") == 429
    assert ("auth.login", "rate_limited") in audit_outcomes(shared_postgres)


def test_two_instances_count_concurrent_failures_on_postgres(live, shared_postgres):
    env = {"IDP_DATABASE_URL": shared_postgres, "IDP_REDIS_URL": REDIS_URL,
           "IDP_REDIS_PREFIX": f"idplive{secrets.token_hex(4)}", "IDP_WORKERS": "2",
           "IDP_LOCKOUT_THRESHOLD": "10", "IDP_LOGIN_RATE_LIMIT": "100 per minute"}
    a = live(**env)
    b = live(**env)
    create_person(a)
    urls = [a.url, b.url] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda url: attempt(url, "wrong"), urls))
    assert statuses == [401] * 16
    count, locked_at = lockout_state(shared_postgres)
    # Every failure that reached the hash check was counted (no lost updates), and the lock
    # was claimed by exactly one of them.
    counted = audit_outcomes(shared_postgres).count(("auth.login", "invalid_password"))
    assert count == counted and counted >= 10
    assert locked_at is not None
    assert audit_outcomes(shared_postgres).count(("user.locked", "success")) == 1
