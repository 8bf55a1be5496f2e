"""Token issuance: access, refresh and ID tokens for people, and client-credentials tokens.

A service, not part of the Authlib server: grants and the WSGI fast path call it with
the database session and the request context they were given (STYLE: services take
`(db, ctx, ...)`), so issuing a token never reads `flask.g`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.config import Config
from idp.models.oauth import AccessToken, Client
from idp.oauth.clients.usage import UsageRecorder
from idp.oauth.dpop.edge import dpop_key, token_binding, token_type
from idp.oauth.tokens import claims
from idp.oauth.tokens.jwt import TokenSigner
from idp.oauth.tokens.service import TokenSubject, create_refresh_token
from idp.request_context import RequestContext


class TokenIssuer:
    """Signs and records every token the provider hands out."""

    def __init__(self, config: Config, signer: TokenSigner, usage: UsageRecorder):
        self.config = config
        self.signer = signer
        self.usage = usage

    def user_tokens(self, db: Session, ctx: RequestContext, client: Client,
                    subject: TokenSubject, scope: str, include_refresh_token: bool) -> dict:
        """Access token (JWT, stored by jti for revocation) and a rotated refresh token."""
        cfg, user, grant = self.config, subject.user, subject.grant
        issued = self.signer.access_token(
            client_id=client.id, subject=str(user.id), audience=client.id, scope=scope,
            ttl=lifetime(client, cfg, "access_token_ttl"), alg=client.access_token_alg,
            extra={**_user_claims(subject, scope), **token_binding()})
        db.add(AccessToken(jti=issued.jti, grant_id=grant.id,
                           expires_at=datetime.fromtimestamp(issued.expires_at, UTC)))
        token = {"access_token": issued.token, "token_type": token_type(),
                 "expires_in": issued.expires_in, "scope": scope}
        if include_refresh_token and client.check_grant_type("refresh_token"):
            # RFC 9449 5: a public client's refresh token is bound to its DPoP key.
            bound = dpop_key() if client.is_public else None
            token["refresh_token"] = create_refresh_token(
                db, grant, scope, lifetime(client, cfg, "refresh_token_ttl"), ctx.now,
                dpop_jkt=bound)
        # In the same transaction as the token row: no token without its audit event.
        record(db, ctx, EventType.TOKEN_ISSUED, subject_id=user.id,
               tenant_id=user.tenant_id, client_id=client.id,
               details={"jti": issued.jti, "grant_id": str(grant.id),
                        "refresh_token": "refresh_token" in token})
        db.flush()
        return token

    def id_token(self, client: Client, subject: TokenSubject, token: dict) -> str:
        """The ID token that goes with `token` (its `at_hash` binds the access token)."""
        grant = subject.grant
        return self.signer.id_token(
            client_id=client.id, subject=str(subject.user.id),
            ttl=lifetime(client, self.config, "id_token_ttl"),
            alg=client.id_token_signed_response_alg,
            auth_time=int(grant.auth_time.timestamp()), nonce=subject.nonce,
            amr=list(grant.amr or []), acr=grant.acr, access_token=token.get("access_token"),
            sid=str(grant.session_id) if grant.session_id else None,
            claims=claims.id_token_claims(subject.user, token.get("scope", "")),
        )

    def client_token(self, client: Client, scope: str | None, audience,
                     ip: str | None) -> dict:
        """Client credentials: a stateless JWT whose subject is the client itself."""
        scope = scope or " ".join(client.scopes)
        extra = {"tenant": str(client.tenant_id)}
        if client.roles:
            extra["roles"] = list(client.roles)
        extra.update(token_binding())
        issued = self.signer.access_token(
            client_id=client.id, subject=client.id, audience=audience, scope=scope,
            ttl=lifetime(client, self.config, "access_token_ttl"), alg=client.access_token_alg,
            extra=extra)
        self.usage.note_token(client.id, ip)
        return {"access_token": issued.token, "token_type": token_type(),
                "expires_in": issued.expires_in, "scope": scope}


def lifetime(client: Client, config: Config, key: str) -> int:
    """The client's own lifetime for `key`, never longer than the deployment's (which may
    have been lowered since the client was registered)."""
    own = getattr(client, key, None)
    return min(own, getattr(config, key)) if own else getattr(config, key)


def _user_claims(subject: TokenSubject, scope: str) -> dict:
    grant = subject.grant
    # No `sid`: resource servers follow revocation through the grant (jti row), and every
    # claim costs bytes in caches keyed by the token (issue 18).
    extra = {"auth_time": int(grant.auth_time.timestamp()),
             **claims.token_identity_claims(subject.user, scope)}
    if grant.acr:
        extra["acr"] = grant.acr
    if grant.amr:
        extra["amr"] = list(grant.amr)
    return extra
