"""The second step of a login: TOTP, replay, backup codes, lockout, no way around it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.mfa.acr import ACR_MFA, ACR_PWD
from idp.models.accounts import User
from idp.models.audit import AuditEvent
from tests.factories import make_client, make_user
from tests.mfa_flow import (
    code,
    enrol_totp,
    make_backup_codes,
    password_step,
    session_cookie_set,
    submit_code,
)
from tests.oauth_flow import authorize_url, exchange, follow_to_client, login


def _claims(token: str) -> dict:
    import json

    from joserfc.jws import extract_compact
    return json.loads(extract_compact(token.encode()).payload)


def _events(app, type_=None, outcome=None):
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if type_:
            stmt = stmt.where(AuditEvent.type == type_)
        if outcome:
            stmt = stmt.where(AuditEvent.outcome == outcome)
        return [(e.type, e.outcome, e.details, e.ip, e.user_agent)
                for e in db.session.execute(stmt).scalars()]


def _user(app, user_id):
    with app.app_context():
        user = db.session.get(User, uuid.UUID(user_id))
        db.session.expunge(user)
        return user


@pytest.fixture
def alice(app):
    user_id = make_user(app)
    return user_id, enrol_totp(app, user_id)


def test_password_alone_gives_no_session_and_asks_for_the_code(app, client, alice):
    response = password_step(client)
    assert response.status_code == 302 and response.headers["Location"] == "/login/mfa"
    assert not session_cookie_set(response)
    page = client.get("/login/mfa")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="code"' in html and 'name="csrf_token"' in html
    assert "Use a passkey" not in html  # no passkey enrolled
    assert client.get("/account").status_code == 302
    assert ("auth.login", "mfa_required") in [(t, o) for t, o, *_ in _events(app)]


def test_login_with_totp_issues_amr_and_acr(app, client, alice):
    _user_id, secret = alice
    client_id, client_secret = make_client(app)
    from tests.factories import pkce_pair

    verifier, challenge = pkce_pair()
    first = client.get(authorize_url(client_id, challenge=challenge))
    to_mfa = login(client, first)
    assert to_mfa.headers["Location"] == "/login/mfa"
    done = submit_code(client, code(secret))
    assert done.status_code == 302 and session_cookie_set(done)
    assert done.headers["Location"].startswith("/authorize/resume")
    query = follow_to_client(client, done)
    tokens = exchange(client, client_id, client_secret, query["code"], verifier).get_json()
    id_token = _claims(tokens["id_token"])
    assert id_token["amr"] == ["pwd", "otp"] and id_token["acr"] == ACR_MFA
    access = _claims(tokens["access_token"])
    assert access["amr"] == ["pwd", "otp"] and access["acr"] == ACR_MFA
    events = _events(app, "auth.mfa", "success")
    assert events and events[-1][2]["method"] == "totp" and events[-1][3]  # IP recorded


def test_password_only_login_carries_acr_pwd(app, client):
    make_user(app)
    client_id, client_secret = make_client(app)
    from tests.oauth_flow import get_code

    query, verifier = get_code(client, client_id)
    tokens = exchange(client, client_id, client_secret, query["code"], verifier).get_json()
    claims = _claims(tokens["id_token"])
    assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_PWD


def test_a_totp_code_cannot_be_replayed(app, client, alice):
    user_id, secret = alice
    value = code(secret)
    password_step(client)
    assert submit_code(client, value).status_code == 302
    client.get("/logout")  # a fresh browser state is not needed: the partial login is new
    client.delete_cookie("idp_session")
    password_step(client)
    again = submit_code(client, value)
    assert again.status_code == 401 and not session_cookie_set(again)
    assert "That code is not valid" in again.get_data(as_text=True)
    assert _user(app, user_id).failed_login_count == 1
    failed = _events(app, "auth.login", "mfa_failed")
    assert failed and failed[-1][2] == {"method": "totp"}


def test_a_backup_code_works_once(app, client, alice):
    user_id, _secret = alice
    codes = make_backup_codes(app, user_id)
    password_step(client)
    ok = submit_code(client, codes[3].upper().replace("-", " "))
    assert ok.status_code == 302 and session_cookie_set(ok)
    used = _events(app, "mfa.backup_code.used")
    assert used and used[-1][2] == {"remaining": 9}
    client.delete_cookie("idp_session")
    password_step(client)
    reuse = submit_code(client, codes[3])
    assert reuse.status_code == 401 and not session_cookie_set(reuse)
    assert submit_code(client, codes[4]).status_code == 302


def test_wrong_codes_count_toward_the_lockout(app, client, alice):
    app.extensions["idp"].config = _with(app.extensions["idp"].config, lockout_threshold=3)
    user_id, secret = alice
    password_step(client)
    assert submit_code(client, "000000").status_code == 401
    assert submit_code(client, "aaaaa-bbbbb").status_code == 401
    locked = submit_code(client, "111111")
    assert locked.status_code == 403 and "locked" in locked.get_data(as_text=True)
    assert _user(app, user_id).locked_at is not None
    # The partial login is gone, and even the right code no longer helps.
    assert client.get("/login/mfa").headers["Location"] == "/login"
    assert ("user.locked", "success") in [(t, o) for t, o, *_ in _events(app)]


def _with(config, **changes):
    from dataclasses import replace

    return replace(config, **changes)


def test_going_straight_to_authorize_after_the_password_yields_no_code(app, client, alice):
    client_id, _ = make_client(app)
    first = client.get(authorize_url(client_id, challenge="x" * 43))
    to_mfa = login(client, first)
    assert to_mfa.headers["Location"] == "/login/mfa"
    rid = first.headers["Location"].split("rid=")[1]
    for url in (authorize_url(client_id, challenge="x" * 43), f"/authorize/resume?rid={rid}"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?rid="), response.headers["Location"]
        assert "code=" not in response.headers["Location"]
    assert client.get("/account/mfa").headers["Location"].startswith("/login")


def test_mfa_page_without_a_partial_login_goes_back_to_login(client):
    assert client.get("/login/mfa").headers["Location"] == "/login"


def test_mfa_code_without_csrf_is_refused(app, client, alice):
    password_step(client)
    response = client.post("/login/mfa", data={"code": "123456"})
    assert response.status_code == 400 and not session_cookie_set(response)


def test_entering_the_password_again_does_not_reset_the_code_failures(app, client, alice):
    user_id, secret = alice
    password_step(client)
    assert submit_code(client, "000000").status_code == 401
    password_step(client)
    assert submit_code(client, "999999").status_code == 401
    assert _user(app, user_id).failed_login_count == 2
    assert submit_code(client, code(secret)).status_code == 302
    assert _user(app, user_id).failed_login_count == 0


@pytest.fixture
def strict_ip_limit(config_overrides):
    config_overrides["login_rate_limit"] = "2 per minute"


def test_wrong_codes_count_toward_the_per_ip_limit(strict_ip_limit, app, client, alice):
    _user_id, secret = alice
    password_step(client)
    assert submit_code(client, "000000").status_code == 401
    assert submit_code(client, "111111").status_code == 401
    limited = submit_code(client, code(secret))
    assert limited.status_code == 429 and not session_cookie_set(limited)
