"""Pushed authorization requests (RFC 9126): stored parameters behind a one-time request_uri.

The client pushes its authorization request to /par (authenticated, validated there as
/authorize would); the browser then carries only `client_id` and the `request_uri`. A
request_uri is used once (one atomic UPDATE) and lives IDP_PAR_TTL seconds (section 2.2).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.models.oauth import PushedRequest
from idp.oauth.tokens.jwt import hash_token, new_opaque_token
from idp.request_context import RequestContext

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
# Sent at /par to authenticate the client; never part of the stored authorization request.
CLIENT_AUTH_PARAMS = ("client_secret", "client_assertion", "client_assertion_type")


def push_request(db: Session, ctx: RequestContext, client_id: str, params: dict,
                 ttl: int) -> str:
    """Store validated parameters; returns the request_uri (section 2.2)."""
    value = new_opaque_token()
    db.add(PushedRequest(uri_hash=hash_token(value), client_id=client_id, params=params,
                         created_at=ctx.now, expires_at=ctx.now + timedelta(seconds=ttl)))
    db.flush()
    return URN_PREFIX + value


def redeem_request(db: Session, ctx: RequestContext, client_id: str | None,
                   request_uri: str) -> dict | None:
    """The pushed parameters, once, for the client that pushed them; None otherwise."""
    if not client_id or not request_uri.startswith(URN_PREFIX):
        return None
    uri_hash = hash_token(request_uri[len(URN_PREFIX):])
    claimed = db.execute(
        update(PushedRequest)
        .where(PushedRequest.uri_hash == uri_hash, PushedRequest.client_id == client_id,
               PushedRequest.used_at.is_(None), PushedRequest.expires_at > ctx.now)
        .values(used_at=ctx.now).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    return dict(db.get(PushedRequest, uri_hash).params)
