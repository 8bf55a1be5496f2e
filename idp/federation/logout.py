"""Ending the upstream session at our logout (OpenID Connect RP-Initiated Logout 1.0,
section 2, as the upstream's relying party): a provider with `end_session` keeps the
upstream ID token with our session (encrypted, bound to the session id) and our logout
sends the browser to the upstream's `end_session_endpoint`, which returns it to
/login/external/<slug>/logged-out and from there to our own post-logout target."""

from __future__ import annotations

import uuid

from authlib.common.security import generate_token
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.federation import oidc
from idp.keyring import Keyring
from idp.models.federation import IdentityProvider
from idp.models.sessions import UserSession
from idp.outbound import OutboundPolicy


def _context(session_id: uuid.UUID) -> str:
    return f"upstream-id-token:{session_id}"


def post_logout_uri(issuer: str, provider: IdentityProvider) -> str:
    """Where the upstream returns the browser after its logout (register it upstream)."""
    return f"{issuer.rstrip('/')}/login/external/{provider.slug}/logged-out"


def remember_upstream(db: Session, keyring: Keyring, session: UserSession, slug: str,
                      id_token: str | None) -> None:
    """Keep what our logout needs to end the upstream session, if the provider asks for it."""
    provider = db.execute(select(IdentityProvider).where(IdentityProvider.slug == slug)
                          ).scalar_one_or_none() if id_token else None
    if provider is not None and provider.end_session and provider.type == "oidc":
        session.provider_id = provider.id
        session.upstream_id_token_enc = keyring.encrypt(id_token.encode(),
                                                        _context(session.id))


def upstream_logout(db: Session, keyring: Keyring, policy: OutboundPolicy,
                    session: UserSession, issuer: str) -> tuple[str, str, str] | None:
    """(upstream logout URL, state, provider slug) for a session opened through a provider
    with `end_session` whose upstream advertises an end_session_endpoint; None otherwise."""
    if session.provider_id is None or session.upstream_id_token_enc is None:
        return None
    provider = db.get(IdentityProvider, session.provider_id)
    if provider is None or not provider.end_session:
        return None
    try:
        meta = oidc.discover(provider, policy)
    except oidc.FederationError:
        return None  # the upstream is down: our own logout still completes
    endpoint = meta.get("end_session_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    id_token = keyring.decrypt(session.upstream_id_token_enc, _context(session.id)).decode()
    state = generate_token(24)
    url = oidc.add_query(endpoint, {
        "id_token_hint": id_token, "client_id": provider.client_id, "state": state,
        "post_logout_redirect_uri": post_logout_uri(issuer, provider)})
    return url, state, provider.slug
