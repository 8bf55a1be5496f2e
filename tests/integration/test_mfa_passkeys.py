"""Passkeys: registration with names, second factor, passwordless sign-in, sign counter,
origin and RP ID checks, CSRF header on the JSON ceremonies, removal."""

from __future__ import annotations

import json
from datetime import timedelta

from joserfc.jws import extract_compact
from sqlalchemy import select

from idp.extensions import db
from idp.mfa.acr import ACR_MFA
from idp.models.audit import AuditEvent
from idp.models.mfa import WebAuthnCredential
from idp.models.sessions import UserSession
from tests.factories import PASSWORD, csrf_from, make_client, make_user, pkce_pair
from tests.mfa_flow import backup_codes_in, password_step, session_cookie_set
from tests.oauth_flow import authorize_url, exchange, follow_to_client, login
from tests.soft_authenticator import SoftAuthenticator

ORIGIN, RP_ID = "http://localhost", "localhost"


def _options(client, url, token):
    response = client.post(url, json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _register(client, authenticator, name="Laptop"):
    page = client.get("/account/mfa").get_data(as_text=True)
    token = csrf_from(page)
    options = _options(client, "/account/mfa/passkeys/options", token)
    assert options["rp"] == {"id": RP_ID, "name": RP_ID}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    credential = authenticator.register(options)
    return client.post("/account/mfa/passkeys", data={"name": name, "credential": credential,
                                                     "csrf_token": token})


def _signed_in_with_passkey(app, client, name="Laptop"):
    user_id = make_user(app)
    password_step(client)
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)
    done = _register(client, authenticator, name)
    assert done.status_code == 200 and len(backup_codes_in(done.get_data(as_text=True))) == 10
    client.delete_cookie("idp_session")
    return user_id, authenticator


def _claims(client, client_id, secret, query, verifier):
    tokens = exchange(client, client_id, secret, query["code"], verifier).get_json()
    return json.loads(extract_compact(tokens["id_token"].encode()).payload)


def test_options_need_the_csrf_header(app, client):
    make_user(app)
    password_step(client)
    assert client.post("/account/mfa/passkeys/options", json={}).status_code == 400
    assert client.post("/login/passkey/options", json={}).status_code == 400


def test_register_several_named_passkeys(app, client):
    _user_id, _ = _signed_in_with_passkey(app, client, "Laptop")
    password_step(client)
    from tests.mfa_flow import submit_code  # noqa: F401 - a passkey user is asked for MFA

    assert client.get("/login/mfa").status_code == 200
    page = client.get("/login/mfa").get_data(as_text=True)
    assert "Use a passkey" in page
    with app.app_context():
        rows = db.session.execute(select(WebAuthnCredential)).scalars().all()
        assert [r.name for r in rows] == ["Laptop"] and rows[0].transports == ["internal"]
        types = [e.type for e in db.session.execute(select(AuditEvent)).scalars()]
    assert "mfa.passkey.registered" in types


def _second_factor(client, authenticator, **kw):
    page = client.get("/login/mfa").get_data(as_text=True)
    token = csrf_from(page)
    options = _options(client, "/login/mfa/passkey/options", token)
    assert options["allowCredentials"][0]["id"]
    return client.post("/login/mfa/passkey", data={"credential": authenticator.assert_(options, **kw),
                                                  "csrf_token": token})


def test_passkey_as_second_factor_gives_pwd_hwk(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    client_id, secret = make_client(app)
    verifier, challenge = pkce_pair()
    first = client.get(authorize_url(client_id, challenge=challenge))
    assert login(client, first).headers["Location"] == "/login/mfa"
    done = _second_factor(client, authenticator)
    assert done.status_code == 302 and session_cookie_set(done)
    claims = _claims(client, client_id, secret, follow_to_client(client, done), verifier)
    assert claims["amr"] == ["pwd", "hwk"] and claims["acr"] == ACR_MFA


def test_passwordless_sign_in_gives_hwk_user(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    client_id, secret = make_client(app)
    verifier, challenge = pkce_pair()
    first = client.get(authorize_url(client_id, challenge=challenge))
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Sign in with a passkey" in page
    rid = first.headers["Location"].split("rid=")[1]
    token = csrf_from(page)
    options = _options(client, "/login/passkey/options", token)
    assert "allowCredentials" not in options or options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    done = client.post("/login/passkey", data={"credential": authenticator.assert_(options),
                                               "rid": rid, "csrf_token": token})
    assert done.status_code == 302 and session_cookie_set(done)
    claims = _claims(client, client_id, secret, follow_to_client(client, done), verifier)
    assert claims["amr"] == ["hwk", "user"] and claims["acr"] == ACR_MFA


def test_passwordless_needs_user_verification(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    authenticator.uv = False
    token = csrf_from(client.get("/login").get_data(as_text=True))
    options = _options(client, "/login/passkey/options", token)
    response = client.post("/login/passkey", data={"credential": authenticator.assert_(options),
                                                   "csrf_token": token})
    assert response.status_code == 401 and not session_cookie_set(response)


def test_a_sign_counter_that_goes_backwards_is_refused(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    password_step(client)
    assert _second_factor(client, authenticator, counter=5).status_code == 302
    client.delete_cookie("idp_session")
    password_step(client)
    cloned = _second_factor(client, authenticator, counter=5)
    assert cloned.status_code == 401 and not session_cookie_set(cloned)
    with app.app_context():
        assert db.session.execute(select(WebAuthnCredential)).scalar_one().sign_count == 5


def test_wrong_origin_or_rp_id_is_refused(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    password_step(client)
    assert _second_factor(client, authenticator, origin="https://evil.example").status_code == 401
    assert _second_factor(client, authenticator, rp_id="evil.example").status_code == 401
    assert _second_factor(client, authenticator).status_code == 302


def test_a_challenge_is_used_once(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    password_step(client)
    page = client.get("/login/mfa").get_data(as_text=True)
    token = csrf_from(page)
    options = _options(client, "/login/mfa/passkey/options", token)
    first = authenticator.assert_(options)
    client.post("/login/mfa/passkey", data={"credential": "{}", "csrf_token": token})
    replay = client.post("/login/mfa/passkey", data={"credential": first, "csrf_token": token})
    assert replay.status_code == 400 and not session_cookie_set(replay)


def test_someone_elses_passkey_is_not_a_second_factor(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    make_user(app, email="bob@example.com", username="bob")
    password_step(client, username="bob")
    # bob has no factor, so he is signed in directly; a second person with MFA:
    client.delete_cookie("idp_session")
    from idp.models.accounts import User
    from tests.mfa_flow import enrol_totp

    with app.app_context():
        bob_id = str(db.session.execute(select(User.id).where(User.username == "bob")).scalar_one())
    enrol_totp(app, bob_id)
    password_step(client, username="bob")
    page = client.get("/login/mfa").get_data(as_text=True)
    assert "Use a passkey" not in page
    token = csrf_from(page)
    options = _options(client, "/login/mfa/passkey/options", token)
    options["challenge"] = options["challenge"]
    response = client.post("/login/mfa/passkey", data={"credential": authenticator.assert_(options),
                                                       "csrf_token": token})
    assert response.status_code == 401


def test_remove_a_passkey(app, client):
    _user_id, _authenticator = _signed_in_with_passkey(app, client)
    from tests.mfa_flow import submit_code  # noqa: F401

    # Sign in again with the passkey, then remove it.
    password_step(client)
    assert _second_factor(client, _authenticator).status_code == 302
    with app.app_context():
        row_id = str(db.session.execute(select(WebAuthnCredential)).scalar_one().id)
    token = csrf_from(client.get("/account/mfa").get_data(as_text=True))
    form = {"kind": "passkey", "factor_id": row_id, "csrf_token": token}
    # The passkey sign-in was fresh; it is the last factor, so a page asks first.
    assert client.post("/account/mfa/remove", data=form).status_code == 200
    removed = client.post("/account/mfa/remove", data={**form, "confirm": "yes"})
    assert removed.headers["Location"] == "/account/mfa"
    with app.app_context():
        assert db.session.execute(select(WebAuthnCredential)).first() is None


def test_a_passkey_confirms_it_is_you_before_a_change(app, client):
    """After FRESH seconds the reauth page asks for the password again, and a passkey
    serves as the second factor."""
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    password_step(client)
    assert _second_factor(client, authenticator).status_code == 302
    with app.app_context():
        for s in db.session.execute(select(UserSession)).scalars():
            s.auth_time = s.auth_time - timedelta(seconds=900)
        db.session.commit()
    token = csrf_from(client.get("/account/mfa").get_data(as_text=True))
    stale = client.post("/account/mfa/passkeys/options", json={}, headers={"X-CSRFToken": token})
    assert stale.status_code == 403 and stale.get_json()["error"] == "reauthentication_required"
    page = client.get("/account/mfa/reauth").get_data(as_text=True)
    assert "Use a passkey instead of a code" in page
    token = csrf_from(page)
    forged = client.post("/account/mfa/reauth", data={"password": PASSWORD, "csrf_token": token,
                                                       "credential": "{}"})
    assert forged.status_code == 401  # no ceremony was started: nothing to verify against
    options = _options(client, "/account/mfa/reauth/passkey/options", token)
    ok = client.post("/account/mfa/reauth", data={
        "password": PASSWORD, "csrf_token": token,
        "credential": authenticator.assert_(options)})
    assert ok.headers["Location"] == "/account/mfa"
    assert _options(client, "/account/mfa/passkeys/options", token)["challenge"]


def test_a_bad_attestation_is_refused_with_a_message(app, client):
    make_user(app)
    password_step(client)
    token = csrf_from(client.get("/account/mfa").get_data(as_text=True))
    options = _options(client, "/account/mfa/passkeys/options", token)
    bad = SoftAuthenticator("https://evil.example", RP_ID).register(options)
    response = client.post("/account/mfa/passkeys", data={"name": "x", "credential": bad,
                                                          "csrf_token": token})
    assert response.headers["Location"] == "/account/mfa"
    assert "could not be registered" in client.get("/account/mfa").get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(WebAuthnCredential)).first() is None


def test_policy_enrolment_at_login_can_use_a_passkey(app, client):
    from idp.models.accounts import User
    from idp.rbac.roles import assign_role
    from idp.request_context import system_context
    from idp.tenancy.tenants import ensure_default_tenant

    user_id = make_user(app)
    with app.app_context():
        user = db.session.get(User, __import__("uuid").UUID(user_id))
        assign_role(db.session, system_context(), user, "superadmin", ensure_default_tenant(db.session))
        db.session.commit()
    client_id, secret = make_client(app)
    verifier, challenge = pkce_pair()
    first = client.get(authorize_url(client_id, challenge=challenge))
    assert login(client, first).headers["Location"] == "/login/mfa/enrol"
    page = client.get("/login/mfa/enrol").get_data(as_text=True)
    assert "or use a passkey instead" in page
    token = csrf_from(page)
    options = _options(client, "/login/mfa/enrol/passkey/options", token)
    authenticator = SoftAuthenticator(ORIGIN, RP_ID)
    done = client.post("/login/mfa/enrol/passkey", data={"name": "Phone", "csrf_token": token,
                                                        "credential": authenticator.register(options)})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and len(backup_codes_in(html)) == 10
    assert not session_cookie_set(done)
    finished = client.post("/login/mfa/continue", data={"csrf_token": csrf_from(html)})
    claims = _claims(client, client_id, secret, follow_to_client(client, finished), verifier)
    assert claims["amr"] == ["pwd", "hwk"] and claims["acr"] == ACR_MFA


def test_enrolment_at_login_cannot_be_used_to_skip_an_existing_factor(app, client):
    """A person with a passkey who opens the enrolment pages is sent to the challenge."""
    _user_id, _authenticator = _signed_in_with_passkey(app, client)
    assert password_step(client).headers["Location"] == "/login/mfa"
    detour = client.get("/login/mfa/enrol")
    assert detour.status_code == 302 and detour.headers["Location"] == "/login/mfa"
    assert not session_cookie_set(detour)
    token = csrf_from(client.get("/login/mfa").get_data(as_text=True))
    refused = client.post("/login/mfa/enrol/passkey/options", json={}, headers={"X-CSRFToken": token})
    assert refused.status_code == 401
    attempt = client.post("/login/mfa/enrol", data={"code": "123456", "csrf_token": token})
    assert attempt.headers["Location"] == "/login/mfa" and not session_cookie_set(attempt)
    with app.app_context():
        from idp.models.mfa import TotpCredential

        assert db.session.execute(select(TotpCredential)).first() is None


def test_a_replayed_assertion_with_an_old_flow_cookie_is_refused(app, client):
    """An authenticator without a counter (always 0) cannot be replayed either: each
    answered challenge is remembered server-side."""
    _user_id, authenticator = _signed_in_with_passkey(app, client)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    options = _options(client, "/login/passkey/options", token)
    saved_cookie = client.get_cookie("idp_flow").value
    assertion = authenticator.assert_(options, counter=0)
    first = client.post("/login/passkey", data={"credential": assertion, "csrf_token": token})
    assert first.status_code == 302 and session_cookie_set(first)
    client.delete_cookie("idp_session")
    client.set_cookie("idp_flow", saved_cookie)
    replay = client.post("/login/passkey", data={"credential": assertion, "csrf_token": token})
    assert replay.status_code == 401 and not session_cookie_set(replay)


def test_removing_one_of_two_passkeys_asks_first_without_the_last_factor_warning(app, client):
    _user_id, authenticator = _signed_in_with_passkey(app, client, "Laptop")
    password_step(client)
    assert _second_factor(client, authenticator).status_code == 302
    assert _register(client, SoftAuthenticator(ORIGIN, RP_ID), "Phone").status_code == 302
    with app.app_context():
        laptop = db.session.execute(select(WebAuthnCredential).where(
            WebAuthnCredential.name == "Laptop")).scalar_one()
    token = csrf_from(client.get("/account/mfa").get_data(as_text=True))
    form = {"kind": "passkey", "factor_id": str(laptop.id), "csrf_token": token}
    ask = client.post("/account/mfa/remove", data=form)
    html = ask.get_data(as_text=True)
    assert ask.status_code == 200 and "Remove Passkey “Laptop”?" in html
    assert 'id="last-factor-warning"' not in html and "Your other methods keep working." in html
    with app.app_context():
        assert len(db.session.execute(select(WebAuthnCredential)).scalars().all()) == 2
    removed = client.post("/account/mfa/remove", data={**form, "confirm": "yes"})
    assert removed.headers["Location"] == "/account/mfa"
    with app.app_context():
        assert [r.name for r in db.session.execute(select(WebAuthnCredential)).scalars()] == [
            "Phone"]
