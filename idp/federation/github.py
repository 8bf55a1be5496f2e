"""GitHub sign-in: OAuth 2 (GitHub has no OpenID Connect for people) with Authlib's client,
then the REST API for the person (`/user`) and their addresses (`/user/emails`, so the
email and whether GitHub verified it come from GitHub, not from a public profile field).
Every request goes through idp/outbound.py like the OpenID Connect client."""

from __future__ import annotations

import json

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.errors import OAuth2Error

from idp.federation.oidc import MAX_DOCUMENT, FederationError, check_state, client_for
from idp.models.federation import IdentityProvider
from idp.outbound import OutboundPolicy, OutboundRefused, send

PUBLIC = "https://github.com"


def _endpoints(provider: IdentityProvider) -> tuple[str, str, str]:
    """(authorize, token, api): github.com, or GitHub Enterprise Server at its issuer."""
    base = provider.issuer or PUBLIC
    api = "https://api.github.com" if base == PUBLIC else f"{base}/api/v3"
    return f"{base}/login/oauth/authorize", f"{base}/login/oauth/access_token", api


def start(provider: IdentityProvider, secret: str | None, policy: OutboundPolicy,
          redirect_uri: str, login_hint: str | None = None) -> tuple[str, dict]:
    """The GitHub authorization URL (state and PKCE) and what the callback must find."""
    verifier = generate_token(64)
    extra = {"login": login_hint} if login_hint else {}
    url, state = client_for(provider, secret, policy, redirect_uri).create_authorization_url(
        _endpoints(provider)[0], code_verifier=verifier, **extra)
    return url, {"state": state, "verifier": verifier}


def _api(url: str, policy: OutboundPolicy, token: str):
    try:
        answer = send(url, policy, max_bytes=MAX_DOCUMENT,
                      headers={"Authorization": f"Bearer {token}",
                               "Accept": "application/vnd.github+json"})
        if answer.status != 200:
            raise FederationError(f"GitHub API {url} answered {answer.status}")
        return json.loads(answer.body)
    except OutboundRefused as exc:
        raise FederationError(f"GitHub API: {exc.reason}") from None
    except ValueError:
        raise FederationError("GitHub API answered something that is not JSON") from None


def _claims(user: dict, emails) -> dict:
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise FederationError("GitHub /user has no numeric id")
    listed = [e for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []
    primary = next((e for e in listed if e.get("primary")), None)
    claims = {"sub": str(user["id"]), "preferred_username": user.get("login")}
    if isinstance(user.get("name"), str):
        claims["name"] = user["name"]
    if primary and isinstance(primary.get("email"), str):
        claims["email"] = primary["email"]
        claims["email_verified"] = primary.get("verified") is True
    return claims


def finish(provider: IdentityProvider, secret: str | None, policy: OutboundPolicy,
           redirect_uri: str, saved: dict, args: dict) -> dict:
    """Check the callback, redeem the code, read the person; returns OIDC-style claims."""
    code = check_state(saved, args)
    _authorize, token_url, api = _endpoints(provider)
    try:
        token = client_for(provider, secret, policy, redirect_uri).fetch_token(
            token_url, grant_type="authorization_code", code=code,
            code_verifier=saved["verifier"])
    except OAuth2Error as exc:
        raise FederationError(f"token endpoint: {exc.error}") from None
    except ValueError as exc:
        raise FederationError(f"token endpoint: {exc}") from None
    access = token.get("access_token")
    if not isinstance(access, str):
        raise FederationError("no access_token in the token response")
    return _claims(_api(f"{api}/user", policy, access),
                   _api(f"{api}/user/emails", policy, access))
