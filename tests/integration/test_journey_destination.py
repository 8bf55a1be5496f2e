"""Never lost on the way: the app that sent the person stays the destination through
registration, email verification (also in another browser), password reset, and a deep
link keeps its path and query across sign-in — but only a relative one."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.account_support import MailLog
from tests.factories import PASSWORD, csrf_from, hidden, make_client, make_user
from tests.oauth_flow import authorize_url, follow_to_client

GOOD = "Blue-Harbour-Lamp-51"


def _start(client, client_id):
    """/authorize without a session: returns the pending authorization id."""
    response = client.get(authorize_url(client_id, state="from-app"))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    rid = parse_qs(urlsplit(response.headers["Location"]).query)["rid"][0]
    return rid


def _login_link(html: str) -> str:
    match = re.search(r'href="(/login\?rid=[^"]+)"', html)
    assert match, html
    return match.group(1).replace("&amp;", "&")


def _sign_in_from(client, login_path, username, password):
    html = client.get(login_path).get_data(as_text=True)
    assert "Test RP" in html  # "to continue to Test RP"
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_from(html), "rid": hidden(html, "rid")})


def _register_from_app(app, client):
    client_id, _ = make_client(app)
    mail = MailLog(app)
    rid = _start(client, client_id)
    login_page = client.get(f"/login?rid={rid}").get_data(as_text=True)
    assert f"/register?rid={rid}" in login_page
    page = client.get(f"/register?rid={rid}").get_data(as_text=True)
    assert hidden(page, "rid") == rid
    done = client.post("/register", data={"email": "new@example.com", "username": "newbie",
                                          "password": GOOD, "confirm": GOOD, "rid": rid,
                                          "csrf_token": csrf_from(page)})
    assert "Check your email" in done.get_data(as_text=True)
    assert f"/login?rid={rid}" in done.get_data(as_text=True)
    link = mail.link("/verify-email/")
    assert "?c=" in link
    return link


@pytest.mark.parametrize("other_browser", [False, True])
def test_registration_from_an_app_goes_back_to_the_app(app, other_browser):
    # Plain test clients: the `client` fixture's `with` block would keep its request
    # context (and its g, CSRF token included) under the second browser's requests.
    first = app.test_client()
    link = _register_from_app(app, first)
    browser = app.test_client() if other_browser else first
    verified = browser.get(link)
    html = verified.get_data(as_text=True)
    assert verified.status_code == 200 and "Email confirmed" in html
    assert "Sign in to continue to <strong>Test RP</strong>" in html
    answer = _sign_in_from(browser, _login_link(html), "newbie", GOOD)
    query = follow_to_client(browser, answer)
    assert query["state"] == "from-app" and query["code"]


def test_a_tampered_continue_seal_is_ignored(app):
    link = _register_from_app(app, app.test_client())
    html = app.test_client().get(link[:-3] + "xyz").get_data(as_text=True)
    assert "Email confirmed" in html and "Test RP" not in html
    assert 'href="/login"' in html


def test_password_reset_from_an_app_goes_back_to_the_app(app, client):
    make_user(app)
    client_id, _ = make_client(app)
    mail = MailLog(app)
    rid = _start(client, client_id)
    assert f"/password/forgot?rid={rid}" in client.get(f"/login?rid={rid}").get_data(as_text=True)
    page = client.get(f"/password/forgot?rid={rid}").get_data(as_text=True)
    sent = client.post("/password/forgot", data={"email": "alice@example.com", "rid": rid,
                                                 "csrf_token": csrf_from(page)})
    assert sent.status_code == 200
    link = mail.link("/password/reset/")
    form = client.get(link).get_data(as_text=True)
    action = re.search(r'<form method="post" action="([^"]+)"', form).group(1).replace("&amp;", "&")
    assert "c=" in action
    done = client.post(action, data={"password": GOOD, "confirm": GOOD,
                                     "csrf_token": csrf_from(form)})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Sign in to continue to <strong>Test RP</strong>" in html
    query = follow_to_client(client, _sign_in_from(client, _login_link(html), "alice", GOOD))
    assert query["state"] == "from-app" and query["code"]


@pytest.mark.parametrize("path", ["/account/sessions", "/admin/audit?user=alice&outcome=failure"])
def test_a_deep_link_keeps_path_and_query_after_sign_in(app, client, path):
    make_user(app)
    first = client.get(path)
    assert first.status_code == 302
    login_path = first.headers["Location"]
    assert parse_qs(urlsplit(login_path).query)["next"] == [path]
    html = client.get(login_path).get_data(as_text=True)  # keeps `next` in the flow cookie
    answer = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                         "csrf_token": csrf_from(html)})
    assert answer.status_code == 302 and answer.headers["Location"] == path


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/",
                                    "/\\evil.example", "javascript:alert(1)",
                                    "/ok\r\nSet-Cookie: a=b"])
def test_next_never_leaves_the_site(app, client, target):
    make_user(app)
    html = client.get("/login?next=" + quote(target, safe="")).get_data(as_text=True)
    answer = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                         "csrf_token": csrf_from(html)})
    location = answer.headers["Location"]
    assert location == "/account", location
    assert not urlsplit(location).netloc


# --- no dead ends -------------------------------------------------------------------------

def test_check_your_email_offers_to_resend_without_telling_who_exists(app, client):
    mail = MailLog(app)
    page = client.get("/register").get_data(as_text=True)
    done = client.post("/register", data={"email": "new@example.com", "username": "newbie",
                                          "password": GOOD, "confirm": GOOD,
                                          "csrf_token": csrf_from(page)})
    html = done.get_data(as_text=True)
    assert "new@example.com" in html and "Send the link again" in html
    mail.wait(1)
    again = client.post("/verify-email/resend", data={"email": "new@example.com",
                                                      "csrf_token": csrf_from(html)})
    sent_words = "we sent it a new link"
    assert again.status_code == 200 and sent_words in again.get_data(as_text=True)
    mail.wait(2)
    assert len(mail.sent) == 2 and mail.sent[1][0] == "new@example.com"
    new_link = mail.link("/verify-email/")
    for other in ("nobody@example.com", "not an address"):
        answer = client.post("/verify-email/resend", data={"email": other,
                                                           "csrf_token": csrf_from(html)})
        assert answer.status_code == 200 and sent_words in answer.get_data(as_text=True)
    assert client.get(new_link).status_code == 200
    client.post("/verify-email/resend", data={"email": "new@example.com",
                                              "csrf_token": csrf_from(html)})
    import time
    time.sleep(0.3)
    assert len(mail.sent) == 2  # nothing for unknown or already confirmed addresses


def test_resend_is_rate_limited(app, client):
    page = client.get("/verify-email/resend").get_data(as_text=True)
    statuses = [client.post("/verify-email/resend", data={"email": "x@example.com",
                                                          "csrf_token": csrf_from(page)}
                            ).status_code for _ in range(12)]
    assert statuses[0] == 200 and statuses[-1] == 429  # IDP_SELF_SERVICE_RATE_LIMIT: 10/hour


def test_a_used_verification_link_offers_a_new_one(app, client):
    mail = MailLog(app)
    page = client.get("/register").get_data(as_text=True)
    client.post("/register", data={"email": "new@example.com", "username": "newbie",
                                   "password": GOOD, "confirm": GOOD,
                                   "csrf_token": csrf_from(page)})
    link = mail.link("/verify-email/")
    client.get(link)
    used = client.get(link)
    html = used.get_data(as_text=True)
    assert used.status_code == 400 and 'href="/verify-email/resend"' in html
    assert "Get a new confirmation link" in html


def test_a_used_reset_link_offers_a_new_one(client):
    answer = client.get("/password/reset/not-a-real-token")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'href="/password/forgot"' in html
    assert "Ask for a new link" in html


def test_the_signed_out_page_offers_to_sign_in_again(app, client):
    html = client.get("/logout").get_data(as_text=True)
    if "You are signed out" not in html:  # a confirmation step first
        html = client.post("/logout", data={"csrf_token": csrf_from(html)},
                           follow_redirects=True).get_data(as_text=True)
    assert "You are signed out" in html and 'href="/login"' in html and "Sign in again" in html


@pytest.mark.parametrize("step", ["/login/password", "/login/verify-email"])
def test_an_expired_sign_in_step_restarts_sign_in(client, step):
    answer = client.get(step)
    assert answer.status_code == 302 and answer.headers["Location"] == "/login?expired=1"
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Please sign in again." in html and 'name="password"' in html


def test_an_expired_sign_in_keeps_the_app(app, client, monkeypatch):
    from idp.web import login_steps

    make_user(app)
    with app.app_context():
        from sqlalchemy import select

        from idp.extensions import db
        from idp.models.accounts import User
        db.session.execute(select(User).where(User.username == "alice")
                           ).scalar_one().must_change_password = True
        db.session.commit()
    client_id, _ = make_client(app)
    rid = _start(client, client_id)
    assert _sign_in_from(client, f"/login?rid={rid}", "alice", PASSWORD
                         ).headers["Location"] == "/login/password"
    monkeypatch.setattr(login_steps, "MAX_AGE", -1)  # the partial login is now too old
    answer = client.get("/login/password")
    assert answer.headers["Location"] == f"/login?expired=1&rid={rid}"
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Please sign in again." in html and "Test RP" in html


# --- signing in before the address is confirmed (tenant setting) --------------------------

def _set_email_verification(app, value):
    from idp.extensions import db
    from idp.tenancy.settings import clean_settings
    from idp.tenancy.tenants import ensure_default_tenant

    with app.app_context():
        tenant = ensure_default_tenant(db.session)
        tenant.settings = clean_settings({**(tenant.settings or {}), "email_verification": value})
        db.session.commit()


def _register_unconfirmed(app, client):
    mail = MailLog(app)
    page = client.get("/register").get_data(as_text=True)
    client.post("/register", data={"email": "new@example.com", "username": "newbie",
                                   "password": GOOD, "confirm": GOOD,
                                   "csrf_token": csrf_from(page)})
    return mail.link("/verify-email/")


def test_unconfirmed_sign_in_is_allowed_by_default(app, client):
    _register_unconfirmed(app, client)
    answer = sign_in_as(client, "newbie")
    assert answer.status_code == 302 and answer.headers["Location"] == "/account"


def test_a_tenant_requiring_a_confirmed_address_says_what_is_missing(app, client):
    _set_email_verification(app, "require")
    link = _register_unconfirmed(app, client)
    answer = sign_in_as(client, "newbie")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login/verify-email"
    page = client.get("/login/verify-email")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Confirm your email first" in html
    assert "new@example.com" in html and "Send the link again" in html
    assert client.get("/account").status_code == 302  # no session was opened
    assert client.get(link).status_code == 200
    again = sign_in_as(client, "newbie")
    assert again.status_code == 302 and again.headers["Location"] == "/account"


def test_the_email_verification_setting_is_checked(app):
    from idp.errors import ValidationFailed
    from idp.tenancy.settings import clean_settings

    assert clean_settings({"email_verification": "allow"}) == {"email_verification": "allow"}
    with pytest.raises(ValidationFailed, match="settings.email_verification"):
        clean_settings({"email_verification": "sometimes"})


def sign_in_as(client, login):
    html = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": login, "password": GOOD,
                                       "csrf_token": csrf_from(html)})


def test_a_forced_password_change_still_ends_at_the_app(app, client):
    from sqlalchemy import select

    from idp.extensions import db
    from idp.models.accounts import User

    make_user(app)
    with app.app_context():
        db.session.execute(select(User).where(User.username == "alice")
                           ).scalar_one().must_change_password = True
        db.session.commit()
    client_id, _ = make_client(app)
    rid = _start(client, client_id)
    answer = _sign_in_from(client, f"/login?rid={rid}", "alice", PASSWORD)
    assert answer.headers["Location"] == "/login/password"
    form = client.get("/login/password").get_data(as_text=True)
    changed = client.post("/login/password", data={"password": GOOD, "confirm": GOOD,
                                                   "csrf_token": csrf_from(form)})
    query = follow_to_client(client, changed)
    assert query["state"] == "from-app" and query["code"]
