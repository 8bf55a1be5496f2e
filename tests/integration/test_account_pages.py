"""/account, /account/password, /account/sessions: profile, last login, password change
(current password, policy reasons, history, audit), sessions with device/IP, revocation."""

from __future__ import annotations

from sqlalchemy import select

from idp.audit import EventType
from idp.extensions import db
from idp.models.accounts import User
from idp.models.oauth import RefreshToken
from idp.models.sessions import UserSession
from tests.account_support import events, post_form, sign_in
from tests.factories import PASSWORD, csrf_from, make_client, make_user
from tests.oauth_flow import basic, exchange, get_code

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def test_account_requires_a_session(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_profile_shows_last_login_and_saves_claims(app, client):
    make_user(app, department="Finance")
    assert sign_in(client).status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "from 127.0.0.1" in page and "Finance" in page
    response = post_form(client, "/account", {"name": "Alice Liddell", "given_name": "Alice",
                                              "locale": "en-GB", "zoneinfo": "Europe/London",
                                              "birthdate": "1990-05-04"})
    assert response.status_code == 200
    assert "Your profile was saved." in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.execute(select(User)).scalars().all()[-1]
        assert (user.name, user.locale, str(user.birthdate)) == ("Alice Liddell", "en-GB",
                                                                 "1990-05-04")
        assert user.last_login_ip == "127.0.0.1" and user.last_login_at is not None
    assert events(app, EventType.PROFILE_UPDATED)[-1].details["fields"] == [
        "name", "given_name", "birthdate", "zoneinfo", "locale"]


def test_profile_rejects_bad_values_with_a_message(app, client):
    make_user(app)
    sign_in(client)
    response = post_form(client, "/account", {"website": "javascript:alert(1)"})
    assert response.status_code == 422
    assert "website must be an http(s) URL." in response.get_data(as_text=True)


def _change(client, current, new, confirm=None):
    return post_form(client, "/account/password", {"current_password": current,
                                                   "password": new,
                                                   "confirm": confirm or new})


def test_password_change_needs_the_current_password(app, client):
    make_user(app)
    sign_in(client)
    response = _change(client, "wrong", "Brand-New-Pass-42")
    assert response.status_code == 401  # counted like a failed login
    assert "Your current password is not correct." in response.get_data(as_text=True)


def test_password_change_shows_policy_reasons(app, client):
    make_user(app)
    sign_in(client)
    response = _change(client, PASSWORD, "password")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Include an upper-case letter." in text and "too common" in text
    assert "password-strength.js" in text


def test_password_change_is_audited_and_the_new_password_works(app):
    # Plain clients: a `with` client keeps its app context (and `g`) alive between clients.
    client = app.test_client()
    make_user(app)
    sign_in(client)
    response = _change(client, PASSWORD, "Brand-New-Pass-42")
    assert response.status_code == 200
    assert "Your password was changed." in response.get_data(as_text=True)
    event = events(app, EventType.PASSWORD_CHANGED)[-1]
    assert event.details["changed_by"] == "self" and event.details["forced"] is False
    fresh = app.test_client()
    assert sign_in(fresh, password=PASSWORD).status_code == 401
    assert sign_in(fresh, password="Brand-New-Pass-42").status_code == 302


def test_the_last_five_passwords_cannot_be_reused(app, client):
    make_user(app)
    sign_in(client)
    passwords = [PASSWORD] + [f"Rotation-Pass-{i}x!" for i in range(5)]
    for old, new in zip(passwords, passwords[1:], strict=False):
        assert _change(client, old, new).status_code == 200
    current = passwords[-1]
    for recent in passwords[-5:]:  # the current one and the four before it
        response = _change(client, current, recent)
        assert response.status_code == 422, recent
        assert "not used for your last 5 passwords" in response.get_data(as_text=True)
    # The sixth most recent is old enough again.
    assert _change(client, current, passwords[0]).status_code == 200


def test_sessions_page_lists_device_ip_and_times(app):
    client, other = app.test_client(), app.test_client()
    make_user(app)
    sign_in(client, **{"User-Agent": FIREFOX})
    sign_in(other)
    page = client.get("/account/sessions").get_data(as_text=True)
    assert "Firefox on Linux" in page and "this device" in page
    assert page.count('class="session-row"') == 2
    assert "127.0.0.1" in page and "Sign out everywhere" in page


def _session_ids(app):
    with app.app_context():
        return {s.id: s for s in db.session.execute(select(UserSession)).scalars()}


def test_revoking_a_session_revokes_its_refresh_tokens(app):
    client, device = app.test_client(), app.test_client()
    make_user(app)
    client_id, secret = make_client(app, scopes=["openid", "offline_access"])
    query, verifier = get_code(device, client_id, scope="openid offline_access")
    tokens = exchange(device, client_id, secret, query["code"], verifier).get_json()
    assert "refresh_token" in tokens
    sign_in(client)
    page = client.get("/account/sessions").get_data(as_text=True)
    assert page.count('class="session-row"') == 2
    with app.app_context():
        grant_session = db.session.execute(select(RefreshToken)).scalars().first().grant.session_id
    response = client.post(f"/account/sessions/{grant_session}/revoke",
                           data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and "revoked=1" in response.headers["Location"]
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]},
                            headers=basic(client_id, secret))
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    assert client.get("/account").status_code == 200  # this device is still signed in


def test_sign_out_everywhere_ends_every_session(app):
    client, other = app.test_client(), app.test_client()
    make_user(app)
    sign_in(other)
    sign_in(client)
    page = client.get("/account/sessions").get_data(as_text=True)
    response = client.post("/account/sessions/revoke-all", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert other.get("/account").status_code == 302
    assert all(s.revoked_at is not None for s in _session_ids(app).values())
    assert client.get("/account").status_code == 302


def test_a_session_of_someone_else_cannot_be_revoked(app):
    client, bob = app.test_client(), app.test_client()
    make_user(app)
    make_user(app, email="bob@example.com", username="bob")
    sign_in(bob, username="bob")
    bob_session = next(iter(_session_ids(app)))
    sign_in(client)
    page = client.get("/account/sessions").get_data(as_text=True)
    response = client.post(f"/account/sessions/{bob_session}/revoke",
                           data={"csrf_token": csrf_from(page)})
    assert response.status_code == 400
    assert _session_ids(app)[bob_session].revoked_at is None
