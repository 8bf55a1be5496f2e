"""INSERT on the audit table revoked (private cluster): the action is refused with 503 and
nothing of it is applied (but a wrong password's lockout count); granted back, it works."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import PASSWORD
from tests.production.servers import finish_login, start_login

pytestmark = pytest.mark.slow

ROLE = "idp_app"


def _as_app_role(dep) -> str:
    """A non-superuser login role with the usual rights (superusers ignore REVOKE)."""
    admin = dep.engine()
    with admin.begin() as conn:
        conn.execute(text(f"CREATE ROLE {ROLE} LOGIN"))
        conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE}"))
        conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {ROLE}"))
    admin.dispose()
    return make_url(dep.database_url).set(username=ROLE).render_as_string(hide_password=False)


def _set_audit_insert(dep, allowed: bool) -> None:
    admin = dep.engine()
    with admin.begin() as conn:
        verb = "GRANT INSERT ON audit_events TO" if allowed else \
            "REVOKE INSERT ON audit_events FROM"
        conn.execute(text(f"{verb} {ROLE}"))
    admin.dispose()


def _state(dep) -> tuple:
    engine = create_engine(dep.database_url)
    with engine.connect() as conn:
        state = (conn.execute(text("SELECT count(*) FROM user_sessions")).scalar(),
                 conn.execute(text("SELECT count(*) FROM audit_events")).scalar(),
                 *conn.execute(text("SELECT failed_login_count, last_login_at FROM users "
                                    "WHERE username = 'alice'")).one())
    engine.dispose()
    return state


def _login(server, dep, password):
    browser = requests.Session()
    login_path, _ = start_login(browser, server.url, dep.client_id)
    return finish_login(browser, server.url, login_path, "alice", password)


def test_unwritable_audit_table_refuses_the_action_with_503_and_applies_nothing(
        private_pg_deployment, servers):
    dep = private_pg_deployment
    server = dep.server(workers=1, IDP_DATABASE_URL=_as_app_role(dep)).start()
    servers.append(server)
    assert _login(server, dep, PASSWORD).status_code in (302, 303)  # works as that role

    _set_audit_insert(dep, allowed=False)
    before = _state(dep)
    for password in (PASSWORD, "wrong-password"):
        response = _login(server, dep, password)
        assert response.status_code == 503, (password, response.status_code,
                                              response.text[:300])
        assert response.headers["Retry-After"]
        assert "temporarily unavailable" in response.text.lower()
        if password == PASSWORD:
            # No session, no audit row, no last-login stamp, no failure left counted.
            assert _state(dep) == before
    # The wrong password: still nothing but its place in the lockout count, which
    # check_password reserves and commits before the hash by design (a guess must count
    # whatever the answer; accounts/lockout.py).
    sessions, audits, failures, last_login = _state(dep)
    assert (sessions, audits, last_login) == (before[0], before[1], before[3])
    assert failures == before[2] + 1

    _set_audit_insert(dep, allowed=True)
    assert _login(server, dep, PASSWORD).status_code in (302, 303)
    sessions, audits, _, _ = _state(dep)
    assert sessions == before[0] + 1 and audits > before[1]
    errors = [line for line in server.log_lines() if '"level":"error"' in line
              and "idp.events.publisher" not in line]
    assert errors == [], errors[:3]
