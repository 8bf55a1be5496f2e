"""Step-up via acr_values (request and client default) and max_age; MFA required by policy."""

from __future__ import annotations

import json
import uuid

from joserfc.jws import extract_compact

from idp.extensions import db
from idp.mfa.acr import ACR_MFA, ACR_PWD
from idp.models.accounts import User
from idp.models.oauth import Client
from idp.models.tenancy import Tenant
from tests.factories import csrf_from, make_client, make_user, pkce_pair
from tests.mfa_flow import (
    backup_codes_in,
    code,
    enrol_totp,
    password_step,
    secret_in,
    session_cookie_set,
    submit_code,
)
from tests.oauth_flow import authorize_url, exchange, follow_to_client, login


def _id_token(client, client_id, secret, query, verifier) -> dict:
    tokens = exchange(client, client_id, secret, query["code"], verifier).get_json()
    return json.loads(extract_compact(tokens["id_token"].encode()).payload)


def _authorize(client, client_id, **extra):
    verifier, challenge = pkce_pair()
    return client.get(authorize_url(client_id, challenge=challenge, **extra)), verifier


def test_discovery_advertises_acr_values(client):
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["acr_values_supported"] == [ACR_PWD, ACR_MFA]


def test_acr_values_step_up_a_password_session(app, client):
    user_id = make_user(app)
    client_id, client_secret = make_client(app)
    first, verifier = _authorize(client, client_id)
    query = follow_to_client(client, login(client, first))
    assert _id_token(client, client_id, client_secret, query, verifier)["acr"] == ACR_PWD
    secret = enrol_totp(app, user_id)  # enrolled later; the session is still password-only
    # The session satisfies a plain request...
    plain, _ = _authorize(client, client_id)
    assert "code=" in plain.headers["Location"]
    # ...but not one asking for MFA, which must go through the login again.
    step_up, verifier = _authorize(client, client_id, acr_values=ACR_MFA)
    assert step_up.headers["Location"].startswith("/login?rid=")
    assert login(client, step_up).headers["Location"] == "/login/mfa"
    query = follow_to_client(client, submit_code(client, code(secret)))
    claims = _id_token(client, client_id, client_secret, query, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp"]
    # The stronger session now satisfies the request without asking again.
    again, _ = _authorize(client, client_id, acr_values=ACR_MFA)
    assert "code=" in again.headers["Location"]


def test_prompt_none_with_unmet_acr_is_login_required(app, client):
    make_user(app)
    client_id, _ = make_client(app)
    first, _ = _authorize(client, client_id)
    follow_to_client(client, login(client, first))
    response, _ = _authorize(client, client_id, acr_values=ACR_MFA, prompt="none")
    assert "error=login_required" in response.headers["Location"]


def test_client_default_acr_forces_enrolment_for_a_person_without_a_factor(app, client):
    make_user(app)
    client_id, client_secret = make_client(app)
    with app.app_context():
        db.session.get(Client, client_id).default_acr_values = [ACR_MFA]
        db.session.commit()
    first, verifier = _authorize(client, client_id)
    to_enrol = login(client, first)
    assert to_enrol.headers["Location"] == "/login/mfa/enrol"
    assert not session_cookie_set(to_enrol)
    query = follow_to_client(client, _enrol_at_login(client))
    claims = _id_token(client, client_id, client_secret, query, verifier)
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp"]


def _enrol_at_login(client):
    page = client.get("/login/mfa/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'src="data:image/svg+xml' in html
    secret = secret_in(html)
    wrong = client.post("/login/mfa/enrol", data={"code": "000000", "csrf_token": csrf_from(html)})
    assert wrong.status_code == 401 and not session_cookie_set(wrong)
    done = client.post("/login/mfa/enrol", data={"code": code(secret), "csrf_token": csrf_from(html)})
    codes_html = done.get_data(as_text=True)
    assert len(backup_codes_in(codes_html)) == 10 and not session_cookie_set(done)
    return client.post("/login/mfa/continue", data={"csrf_token": csrf_from(codes_html)})


def test_max_age_forces_a_fresh_login_with_the_second_factor(app, client):
    user_id = make_user(app)
    secret = enrol_totp(app, user_id)
    client_id, client_secret = make_client(app)
    first, _ = _authorize(client, client_id)
    login(client, first)
    follow_to_client(client, submit_code(client, code(secret)))
    with app.app_context():
        from datetime import timedelta

        from sqlalchemy import update

        from idp.models.base import utcnow
        from idp.models.sessions import UserSession

        db.session.execute(update(UserSession).values(auth_time=utcnow() - timedelta(seconds=120)))
        db.session.commit()
    aged, verifier = _authorize(client, client_id, max_age="60")
    assert aged.headers["Location"].startswith("/login?rid=")
    assert login(client, aged).headers["Location"] == "/login/mfa"
    query = follow_to_client(client, submit_code(client, code(secret, 1)))
    claims = _id_token(client, client_id, client_secret, query, verifier)
    import time

    assert time.time() - claims["auth_time"] < 30 and claims["amr"] == ["pwd", "otp"]


def test_admin_role_is_walked_through_enrolment_before_any_token(app, client):
    from idp.rbac.roles import assign_role
    from idp.request_context import system_context
    from idp.tenancy.tenants import ensure_default_tenant

    user_id = make_user(app)
    with app.app_context():
        user = db.session.get(User, uuid.UUID(user_id))
        assign_role(db.session, system_context(), user, "tenant_admin", ensure_default_tenant(db.session))
        db.session.commit()
    client_id, client_secret = make_client(app)
    first, verifier = _authorize(client, client_id)
    to_enrol = login(client, first)
    assert to_enrol.headers["Location"] == "/login/mfa/enrol"
    # No way around it: /authorize sends the person back to /login.
    skip, _ = _authorize(client, client_id)
    assert skip.headers["Location"].startswith("/login?rid=")
    first, verifier = _authorize(client, client_id)
    assert login(client, first).headers["Location"] == "/login/mfa/enrol"
    query = follow_to_client(client, _enrol_at_login(client))
    assert _id_token(client, client_id, client_secret, query, verifier)["acr"] == ACR_MFA


def test_tenant_wide_requirement_and_members_by_default(app, client):
    make_user(app)
    # A member needs no MFA by default...
    assert password_step(client).headers["Location"] != "/login/mfa/enrol"
    client.delete_cookie("idp_session")
    with app.app_context():
        tenant = db.session.query(Tenant).one()
        tenant.settings = {**(tenant.settings or {}), "mfa_required": True}
        db.session.commit()
    # ...until the tenant requires it for everyone.
    assert password_step(client).headers["Location"] == "/login/mfa/enrol"


def test_a_role_can_be_exempted_per_tenant(app, client):
    from idp.rbac.roles import assign_role
    from idp.request_context import system_context
    from idp.tenancy.tenants import ensure_default_tenant

    user_id = make_user(app)
    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        assign_role(db.session, system_context(), db.session.get(User, uuid.UUID(user_id)),
                    "helpdesk", tenant)
        tenant.settings = {**(tenant.settings or {}), "mfa_required_roles": ["superadmin"]}
        db.session.commit()
    assert password_step(client).headers["Location"] != "/login/mfa/enrol"


def test_mfa_challenge_code_after_enrolment_is_required_next_time(app, client):
    user_id = make_user(app)
    secret = enrol_totp(app, user_id)
    assert password_step(client).headers["Location"] == "/login/mfa"
    assert submit_code(client, code(secret)).status_code == 302
