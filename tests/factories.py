"""Factories for people and clients, going through the real services."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from idp.accounts.users import create_user
from idp.extensions import db
from idp.oauth.clients.service import ClientSpec, create_client
from idp.request_context import system_context
from idp.tenancy.tenants import ensure_default_tenant

PASSWORD = "Correct-Horse-9!"
REDIRECT_URI = "https://rp.example.com/cb"


def make_user(app, email="alice@example.com", username="alice", password=PASSWORD, **profile):
    with app.app_context():
        user = create_user(db.session, system_context(), ensure_default_tenant(db.session), email=email,
                           username=username, password=password, profile=profile or None,
                           config=app.extensions["idp"].config)
        db.session.commit()
        return str(user.id)


def make_client(app, *, first_party=True, public=False, grant_types=None, redirect_uris=None,
                scopes=None, auth_method=None, jwks=None, post_logout=None, audiences=None,
                roles=None, token_alg="RS256", jwks_uri=None, backchannel_logout_uri=None,
                require_par=False, require_dpop_nonce=False, security_profile=None):
    """Returns (client_id, client_secret)."""
    grants = grant_types or (["authorization_code", "refresh_token"])
    spec = ClientSpec(
        name="Test RP", grant_types=grants,
        redirect_uris=redirect_uris if redirect_uris is not None else
        ([REDIRECT_URI] if "authorization_code" in grants else []),
        post_logout_redirect_uris=post_logout or [], scopes=scopes or [], public=public,
        first_party=first_party, auth_method=auth_method, jwks=jwks, audiences=audiences,
        roles=roles, token_alg=token_alg, jwks_uri=jwks_uri,
        backchannel_logout_uri=backchannel_logout_uri,
        require_pushed_authorization_requests=require_par,
        require_dpop_nonce=require_dpop_nonce, security_profile=security_profile)
    with app.app_context():
        svc = app.extensions["idp"]
        client, secret = create_client(db.session, system_context(), svc.keyring,
                                       ensure_default_tenant(db.session), spec,
                                       svc.outbound_policy)
        db.session.commit()
        return client.id, secret


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token in page"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html) or re.search(
        rf'name="{name}" value="([^"]*)"', html)
    return match.group(1) if match else ""
