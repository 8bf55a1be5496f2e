"""Token exchange (RFC 8693): a service trades a person's token for one to another audience.

Allowed per client (the grant type) and per target (`audience` / `resource` among the
client's registered audiences). The subject token is our live access token (same tenant)
or an ID token we issued to this client. The new token names the acting party in `act`
(section 4.1: the actor token's subject, else the requesting client), belongs to the
subject token's family (a revocation there ends it too), and every exchange is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.models.accounts import User
from idp.models.oauth import AccessToken, TokenGrant
from idp.models.sessions import UserSession
from idp.oauth.tokens.service import InvalidTargetError, TokenSubject
from idp.oauth.tokens.validation import check_access_token
from idp.request_context import RequestContext

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"


@dataclass(frozen=True)
class Exchange:
    """A validated exchange request."""

    subject: TokenSubject
    audience: str
    scope: str
    act: dict


def _target(client, data: dict) -> str:
    targets = [v for v in (data.get("audience"), data.get("resource")) if v]
    if len(targets) != 1:
        raise InvalidRequestError("Name exactly one target: 'audience' or 'resource'.")
    if targets[0] not in client.audiences:
        raise InvalidTargetError(f"The target {targets[0]!r} is not allowed for this client.")
    return targets[0]


def _from_access_token(db: Session, server, client, value: str) -> tuple[TokenSubject, str]:
    valid = check_access_token(db, server.keys, server.config.issuer, value, server.clients)
    if valid is None or valid.user is None or valid.user.tenant_id != client.tenant_id:
        raise InvalidGrantError("The subject token is not an active token of a person here.")
    grant = db.execute(select(TokenGrant).join(AccessToken, AccessToken.grant_id == TokenGrant.id)
                       .where(AccessToken.jti == valid.claims["jti"])).scalar_one()
    return TokenSubject(user=valid.user, grant=grant), str(valid.claims.get("scope", ""))


def _from_id_token(db: Session, ctx: RequestContext, server, client,
                   value: str) -> tuple[TokenSubject, str]:
    try:
        token = jwt.decode(value, lambda obj: server.keys.verification_key(
            obj.headers().get("kid", "")), algorithms=list(server.keys.snapshot().signing))
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": server.config.issuer},
                              aud={"essential": True, "value": client.id},
                              exp={"essential": True}).validate(token.claims)
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidGrantError("The subject token is not a valid ID token issued to this "
                                "client.") from None
    user = db.get(User, _uuid(token.claims.get("sub")))
    session_id = _uuid(token.claims.get("sid"))
    session = db.get(UserSession, session_id) if session_id else None
    # The sign-in the ID token attests must still be live: an ended session exchanges nothing.
    if user is None or not user.is_active or session is None or session.revoked_at is not None \
            or session.user_id != user.id:
        raise InvalidGrantError("The subject token's person or session is no longer active.")
    grant = TokenGrant(client_id=client.id, user_id=user.id, session_id=session.id,
                       scope="openid", auth_time=session.auth_time, amr=session.amr,
                       acr=session.acr, created_at=ctx.now)
    db.add(grant)
    db.flush()
    return TokenSubject(user=user, grant=grant), ""


def _uuid(value):

    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _actor(db: Session, server, client, data: dict) -> dict:
    value = data.get("actor_token")
    if not value:
        return {"sub": client.id}
    if data.get("actor_token_type") != ACCESS_TOKEN_TYPE:
        raise InvalidRequestError("'actor_token_type' must be the access token type.")
    valid = check_access_token(db, server.keys, server.config.issuer, value, server.clients)
    if valid is None:
        raise InvalidGrantError("The actor token is not active.")
    return {"sub": str(valid.claims["sub"])}


def validate_exchange(db: Session, ctx: RequestContext, server, client, data: dict) -> Exchange:
    """Section 2.1-2.2 checks; raises the OAuth error to answer."""
    value, kind = data.get("subject_token"), data.get("subject_token_type")
    if not value or not kind:
        raise InvalidRequestError("'subject_token' and 'subject_token_type' are required.")
    audience = _target(client, data)
    if kind == ACCESS_TOKEN_TYPE:
        subject, held = _from_access_token(db, server, client, value)
    elif kind == ID_TOKEN_TYPE:
        subject, held = _from_id_token(db, ctx, server, client, value)
    else:
        raise InvalidRequestError("Unsupported 'subject_token_type'.")
    requested = (data.get("scope") or "").split()
    ceiling = set(held.split()) if kind == ACCESS_TOKEN_TYPE else set(client.scopes)
    if not set(requested) <= ceiling:
        raise InvalidScopeError("The scope exceeds what the subject token allows.")
    scope = " ".join(requested) if requested else held
    return Exchange(subject, audience, scope, _actor(db, server, client, data))


def issue_exchanged_token(db: Session, ctx: RequestContext, signer, ttl: int, client,
                          exchange: Exchange, binding: dict) -> dict:
    """Section 2.2.1: the new access token, in the subject's token family, audited."""


    user = exchange.subject.user
    issued = signer.access_token(
        client_id=client.id, subject=str(user.id), audience=exchange.audience,
        scope=exchange.scope, ttl=ttl, alg=client.access_token_alg,
        extra={"act": exchange.act, "tenant": str(user.tenant_id), **binding})
    db.add(AccessToken(jti=issued.jti, grant_id=exchange.subject.grant.id,
                       expires_at=datetime.fromtimestamp(issued.expires_at, UTC)))
    record(db, ctx, EventType.TOKEN_EXCHANGED, subject_id=user.id, tenant_id=user.tenant_id,
           client_id=client.id, details={"jti": issued.jti, "grant_id": str(
               exchange.subject.grant.id), "scopes": exchange.scope.split()})
    db.flush()
    return {"access_token": issued.token, "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "DPoP" if binding else "Bearer", "expires_in": issued.expires_in,
            "scope": exchange.scope}
