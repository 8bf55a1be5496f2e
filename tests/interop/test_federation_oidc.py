"""Signing in with an upstream OpenID provider: node oidc-provider (OpenID-certified) is the
upstream, started by each test on loopback; our side is the Flask test client. Every
upstream call of ours goes through idp/outbound.py, allowed to 127.0.0.1 here."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import select

from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.federation import FederatedIdentity
from tests.factories import PASSWORD, csrf_from, make_client, make_user, pkce_pair
from tests.interop.federation_support import (  # noqa: F401 - upstreams_fixture
    add_provider,
    local_path,
    upstream_login,
    upstream_logout,
    upstreams_fixture,
)
from tests.oauth_flow import authorize_url, exchange, follow_to_client

pytestmark = [pytest.mark.slow, pytest.mark.parametrize(
    "config_overrides", [{"outbound_allow": "127.0.0.1/32"}], indirect=True)]

CAROL = {"carol": {"email": "carol@corp.example", "email_verified": True,
                   "name": "Carol Upstream", "given_name": "Carol", "family_name": "Upstream"}}


@pytest.fixture
def config_overrides(request, config_overrides):  # noqa: F811 - extends tests/conftest.py
    config_overrides.update(getattr(request, "param", {}))
    return config_overrides


def _to_upstream(client, rid_url="/login"):
    """Our login page, then its "Sign in with Corp" button; returns the upstream URL."""
    page = client.get(rid_url)
    html = page.get_data(as_text=True)
    match = re.search(r'href="(/login/external/[^"]+)"[^>]*>\s*Sign in with Corp', html) or \
        re.search(r'data-provider="[^"]+"\s+href="([^"]+)">Sign in with Corp', html)
    assert match, html
    start = client.get(match.group(1).replace("&amp;", "&"))
    assert start.status_code == 302, start.get_data(as_text=True)
    return start.headers["Location"]


def _sign_in(client, login, rid_url="/login", tamper=None):
    """The whole leg: our button, the upstream, the callback; returns our callback response."""
    callback = upstream_login(_to_upstream(client, rid_url), login, tamper)
    return client.get(local_path(callback))


def _events(app, kind):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.type == kind)
                                  .order_by(AuditEvent.at)).scalars().all()


def _created(app, username):
    return [e for e in _events(app, "user.created") if e.details.get("username") == username]


def _claims(id_token):
    import base64
    part = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_round_trip_to_the_rp_provisions_once_and_maps_claims(app, upstreams):
    client = app.test_client()
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer)
    rp_id, rp_secret = make_client(app)
    verifier, challenge = pkce_pair()
    first = client.get(authorize_url(rp_id, challenge=challenge))
    assert first.status_code == 302 and first.headers["Location"].startswith("/login?rid=")
    back = _sign_in(client, "carol", first.headers["Location"])
    query = follow_to_client(client, back)
    assert "code" in query and query["state"] == "st-1"
    token = exchange(client, rp_id, rp_secret, query["code"], verifier)
    assert token.status_code == 200, token.get_data(as_text=True)
    sub = _claims(token.get_json()["id_token"])["sub"]
    info = client.get("/userinfo", headers={
        "Authorization": f"Bearer {token.get_json()['access_token']}"}).get_json()
    assert info["email"] == "carol@corp.example" and info["name"] == "Carol Upstream"
    assert info["email_verified"] is True

    logins = [e for e in _events(app, "auth.login") if e.outcome == "success"]
    assert logins[-1].details["provider"] == "corp" and logins[-1].details["amr"] == ["fed"]
    assert len(_events(app, "user.identity.linked")) == 1

    # A second sign-in (a new browser) is the same person, no second account.
    second = app.test_client()
    verifier2, challenge2 = pkce_pair()
    again = second.get(authorize_url(rp_id, challenge=challenge2))
    query2 = follow_to_client(second, _sign_in(second, "carol", again.headers["Location"]))
    token2 = exchange(second, rp_id, rp_secret, query2["code"], verifier2)
    assert _claims(token2.get_json()["id_token"])["sub"] == sub
    assert len(_created(app, "carol")) == 1


def test_existing_account_is_not_taken_over_without_proof(app, upstreams):
    client = app.test_client()
    make_user(app)  # alice@example.com, a local password
    upstream = upstreams("corp", {"mallory": {"email": "alice@example.com",
                                              "email_verified": True}})
    add_provider(app, upstream.issuer)
    back = _sign_in(client, "mallory")
    assert back.status_code == 302 and back.headers["Location"] == "/login/external/link"
    assert "idp_session=" not in " ".join(back.headers.getlist("Set-Cookie"))
    page = client.get("/login/external/link")
    assert page.status_code == 200 and b"alice@example.com" in page.data
    token = csrf_from(page.get_data(as_text=True))
    wrong = client.post("/login/external/link", data={"password": "guess", "csrf_token": token})
    assert wrong.status_code == 401 and b"Incorrect password." in wrong.data
    assert client.get("/account").status_code == 302  # still nobody signed in
    with app.app_context():
        assert db.session.execute(select(FederatedIdentity)).first() is None

    proven = client.post("/login/external/link", data={"password": PASSWORD,
                                                       "csrf_token": token})
    assert proven.status_code == 302 and proven.headers["Location"] == "/account"
    assert len(_events(app, "user.identity.linked")) == 1
    # From now on the upstream alone signs alice in.
    other = app.test_client()
    direct = _sign_in(other, "mallory")
    assert direct.status_code == 302 and direct.headers["Location"] == "/account"
    assert b"alice" in other.get("/account").data


def test_link_by_verified_email_links_only_a_verified_address(app, upstreams):
    client = app.test_client()
    make_user(app)
    upstream = upstreams("corp", {"a1": {"email": "alice@example.com", "email_verified": True},
                                  "a2": {"email": "alice@example.com",
                                         "email_verified": False}})
    add_provider(app, upstream.issuer, link_by_verified_email=True)
    unverified = _sign_in(client, "a2")
    assert unverified.headers["Location"] == "/login/external/link"
    verified = _sign_in(app.test_client(), "a1")
    assert verified.status_code == 302 and verified.headers["Location"] == "/account"


def test_existing_accounts_only_refuses_strangers(app, client, upstreams):
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer, existing_accounts_only=True)
    refused = _sign_in(client, "carol")
    assert refused.status_code == 403 and b"no account for you" in refused.data
    assert _created(app, "carol") == []


def _replace_query(url, **changes):
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda url: _replace_query(url, state="forged"), id="state-mismatch"),
    pytest.param(lambda url: _replace_query(url, iss="http://127.0.0.1:1"), id="wrong-iss"),
])
def test_tampered_callback_is_refused(app, client, upstreams, tamper):
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer)
    refused = _sign_in(client, "carol", tamper=tamper)
    assert refused.status_code == 400 and b"Sign-in failed" in refused.data
    assert "idp_session=" not in " ".join(refused.headers.getlist("Set-Cookie"))
    failures = [e for e in _events(app, "auth.login") if e.outcome == "failure"]
    assert failures and failures[-1].details["provider"] == "corp"


def test_bad_id_token_signature_is_refused(app, client, upstreams):
    upstream = upstreams("corp", CAROL, bad_jwks=True)
    add_provider(app, upstream.issuer)
    refused = _sign_in(client, "carol")
    assert refused.status_code == 400 and b"Sign-in failed" in refused.data
    reason = [e for e in _events(app, "auth.login") if e.outcome == "failure"][-1]
    assert "id_token refused" in reason.details["reason"]
    assert _created(app, "carol") == []


def test_wrong_issuer_in_discovery_is_refused(app, client, upstreams):
    upstream = upstreams("corp", CAROL, issuer_host="localhost")
    # Registered as 127.0.0.1, the upstream calls itself localhost: not the same issuer.
    add_provider(app, upstream.issuer.replace("localhost", "127.0.0.1"))
    page = client.get("/login")
    slug_href = re.search(r'href="(/login/external/corp[^"]*)"', page.get_data(as_text=True))
    refused = client.get(slug_href.group(1).replace("&amp;", "&"))
    assert refused.status_code == 400 and b"Sign-in failed" in refused.data


def test_home_realm_discovery_sends_the_address_to_its_provider(app, client, upstreams):
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer, domains=["corp.example"])
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    sent = client.post("/login", data={"username": "carol@corp.example", "password": "",
                                       "csrf_token": token})
    assert sent.status_code == 302
    assert sent.headers["Location"].startswith("/login/external/corp?")
    assert parse_qs(urlsplit(sent.headers["Location"]).query)["login_hint"] == [
        "carol@corp.example"]
    upstream_url = client.get(sent.headers["Location"]).headers["Location"]
    assert upstream_url.startswith(upstream.issuer + "/auth?")
    assert "code_challenge_method=S256" in upstream_url and "nonce=" in upstream_url
    other = client.post("/login", data={"username": "bob@elsewhere.example", "password": "",
                                        "csrf_token": token})
    assert other.status_code == 400  # no provider claims it: the password form asks again


def test_second_factor_still_applies_to_a_federated_sign_in(app, upstreams):
    from tests.mfa_flow import code, enrol_totp, session_cookie_set, submit_code

    client = app.test_client()
    secret = enrol_totp(app, make_user(app))
    upstream = upstreams("corp", {"a1": {"email": "alice@example.com", "email_verified": True}})
    add_provider(app, upstream.issuer, link_by_verified_email=True)
    back = _sign_in(client, "a1")
    assert back.status_code == 302 and back.headers["Location"] == "/login/mfa"
    assert not session_cookie_set(back)
    assert client.get("/account").status_code == 302
    done = submit_code(client, code(secret))
    assert done.status_code == 302 and session_cookie_set(done)
    login = [e for e in _events(app, "auth.login") if e.outcome == "success"][-1]
    assert login.details["provider"] == "corp" and set(login.details["amr"]) == {"fed", "otp"}


def test_linked_sign_ins_are_listed_and_removable_on_the_account_page(app, upstreams):
    client = app.test_client()
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer)
    assert _sign_in(client, "carol").headers["Location"] == "/account"
    page = client.get("/account/identities")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Corp" in html and "carol@corp.example" in html
    action = re.search(r'action="(/account/identities/[^"]+/remove)"', html).group(1)
    # Carol has no password here: the only way in cannot be removed.
    refused = client.post(action, data={"csrf_token": csrf_from(html)})
    assert refused.status_code == 422 and b"only way to sign in" in refused.data
    assert _events(app, "user.identity.unlinked") == []


def test_unlinking_means_the_next_sign_in_must_prove_the_account_again(app, upstreams):
    client = app.test_client()
    make_user(app)
    upstream = upstreams("corp", {"a1": {"email": "alice@example.com", "email_verified": True}})
    add_provider(app, upstream.issuer, link_by_verified_email=True)
    assert _sign_in(client, "a1").headers["Location"] == "/account"
    html = client.get("/account/identities").get_data(as_text=True)
    action = re.search(r'action="(/account/identities/[^"]+/remove)"', html).group(1)
    removed = client.post(action, data={"csrf_token": csrf_from(html)})
    assert removed.status_code == 302 and removed.headers["Location"].endswith("removed=1")
    assert "No sign-in from another provider" in client.get("/account/identities").get_data(
        as_text=True)
    assert len(_events(app, "user.identity.unlinked")) == 1


def test_groups_the_provider_manages_follow_its_groups_claim(app, upstreams):
    from idp.models.accounts import User
    from idp.models.groups import Group, GroupMember
    from idp.rbac import groups as group_ops
    from idp.request_context import system_context
    from idp.tenancy.tenants import ensure_default_tenant

    make_user(app)
    with app.app_context():
        tenant, ctx = ensure_default_tenant(db.session), system_context()
        made = {name: group_ops.create_group(db.session, ctx, tenant, {"name": name})
                for name in ("engineering", "sales", "book-club")}
        alice = db.session.execute(select(User)).scalars().all()[-1]
        group_ops.add_member(db.session, ctx, made["sales"], alice)
        group_ops.add_member(db.session, ctx, made["book-club"], alice)
        db.session.commit()
    upstream = upstreams("corp", {"a1": {"email": "alice@example.com", "email_verified": True,
                                         "groups": ["engineering", "book-club"]}})
    add_provider(app, upstream.issuer, link_by_verified_email=True,
                 groups=["engineering", "sales"])  # book-club is not the upstream's business
    assert _sign_in(app.test_client(), "a1").headers["Location"] == "/account"
    with app.app_context():
        member_of = set(db.session.execute(
            select(Group.name).join(GroupMember, GroupMember.group_id == Group.id)
            .join(User, User.id == GroupMember.user_id)
            .where(User.email == "alice@example.com")).scalars())
    assert member_of == {"engineering", "book-club"}
    assert {e.details["group"] for e in _events(app, "group.member.removed")} == {"sales"}


def test_a_callback_nobody_started_is_refused_by_the_state_check(app, client, upstreams):
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer)
    refused = client.get(f"/login/external/corp/callback?code=x&iss={upstream.issuer}")
    assert refused.status_code == 400 and b"Sign-in failed" in refused.data
    reason = [e for e in _events(app, "auth.login") if e.outcome == "failure"][-1]
    assert reason.details["reason"] == "state mismatch"


def test_the_upstreams_refusal_is_a_friendly_page(app, client, upstreams):
    import requests

    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer)
    with requests.Session() as browser:
        page = browser.get(_to_upstream(client), timeout=10)
        cancel = re.search(r'href="([^"]*/abort)"', page.text).group(1)
        response = browser.get(upstream.issuer + cancel if cancel.startswith("/") else cancel,
                               allow_redirects=False, timeout=10)
        while not response.headers["Location"].startswith("http://localhost/"):
            response = browser.get(response.headers["Location"], allow_redirects=False,
                                   timeout=10)
    refused = client.get(local_path(response.headers["Location"]))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Your provider refused the sign-in" in html
    assert "access_denied" in [e for e in _events(app, "auth.login")][-1].details["reason"]


def test_logout_also_ends_the_upstream_session_when_the_provider_asks(app, upstreams):
    client = app.test_client()
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer, end_session=True)
    assert _sign_in(client, "carol").headers["Location"] == "/account"
    confirm = client.get("/logout")
    assert confirm.status_code == 200
    out = client.post("/logout", data={"confirm": "yes",
                                       "csrf_token": csrf_from(confirm.get_data(as_text=True))})
    assert out.status_code == 302 and "idp_session=;" in " ".join(out.headers.getlist("Set-Cookie"))
    location = out.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{upstream.issuer}/session/end")
    assert query["post_logout_redirect_uri"] == ["http://localhost/login/external/corp/logged-out"]
    assert _claims(query["id_token_hint"][0])["sub"] == "carol"
    back = upstream_logout(location)  # the upstream's own "sign out?" form, then back to us
    assert parse_qs(urlsplit(back).query)["state"] == query["state"]
    page = client.get(local_path(back))
    assert page.status_code == 200 and "signed out" in page.get_data(as_text=True).lower()
    assert client.get("/account").status_code == 302  # our session is gone too
    assert _events(app, "auth.logout")[-1].details["upstream"] == "corp"
    # A forged return (no logout of ours pending) only shows the page, never redirects.
    assert client.get("/login/external/corp/logged-out?state=x").status_code == 200


def test_logout_stays_here_without_end_session(app, upstreams):
    client = app.test_client()
    upstream = upstreams("corp", CAROL)
    add_provider(app, upstream.issuer)
    _sign_in(client, "carol")
    confirm = client.get("/logout")
    out = client.post("/logout", data={"confirm": "yes",
                                       "csrf_token": csrf_from(confirm.get_data(as_text=True))})
    assert out.status_code == 200 and upstream.issuer not in out.get_data(as_text=True)
