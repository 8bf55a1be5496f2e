"""Codes, token families and refresh tokens: storage, atomic consumption, replay defence.

RFC 6749 4.1.2 and RFC 9700 4.14: a code is used once, and a replayed code revokes
what was issued from it; a refresh token rotates on every use, and reuse of a rotated
one revokes the whole family.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.models.accounts import User
from idp.models.oauth import AuthorizationCode, RefreshToken, TokenGrant
from idp.models.sessions import UserSession
from idp.oauth.tokens.jwt import REFRESH_TOKEN_PREFIX, hash_token, new_opaque_token
from idp.request_context import RequestContext


class InvalidTargetError(InvalidRequestError):
    """RFC 8707 2: the requested resource is not one this client may address."""

    error = "invalid_target"


@dataclass(frozen=True)
class AuthorizedUser:
    """Who approved an authorization request, and the session they did it in."""

    user: User
    session: UserSession


@dataclass(frozen=True)
class TokenSubject:
    """The person a token is for, with the token family it belongs to."""

    user: User
    grant: TokenGrant
    nonce: str | None = None

    def get_user_id(self) -> str:
        return str(self.user.id)


def save_authorization_code(
    db: Session, ctx: RequestContext, code: str, request, ttl: int
) -> AuthorizationCode:
    """Store a code bound to client, redirect URI, PKCE challenge, nonce and session."""
    approved: AuthorizedUser = request.user
    data = request.payload.data
    row = AuthorizationCode(
        code_hash=hash_token(code),
        client_id=request.client.id,
        user_id=approved.user.id,
        session_id=approved.session.id,
        redirect_uri=request.payload.redirect_uri or "",
        scope=request.scope or "",
        nonce=data.get("nonce"),
        code_challenge=data.get("code_challenge"),
        code_challenge_method=data.get("code_challenge_method"),
        auth_time=approved.session.auth_time,
        amr=list(approved.session.amr or []),
        acr=approved.session.acr,
        expires_at=ctx.now + timedelta(seconds=ttl),
        created_at=ctx.now,
    )
    db.add(row)
    db.flush()
    return row


def query_authorization_code(
    db: Session, ctx: RequestContext, code: str, client
) -> AuthorizationCode | None:
    """The unexpired, unused code for this client; a replay revokes its token family."""
    row = db.execute(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == hash_token(code))
    ).scalar_one_or_none()
    if row is None or row.client_id != client.id:
        return None
    if row.used_at is not None:
        _revoke_after_replay(db, ctx, row)
        return None
    if row.expires_at <= ctx.now:
        return None
    return row


def _revoke_after_replay(db: Session, ctx: RequestContext, row: AuthorizationCode) -> None:
    if row.grant_id is not None:
        revoke_grant(db, row.grant_id, ctx, reason="code_replay")
    record(db, ctx, EventType.CODE_REPLAY, outcome="failure", subject_id=row.user_id,
           client_id=row.client_id, details={"grant_id": str(row.grant_id)})


def spend_authorization_code(db: Session, ctx: RequestContext, row: AuthorizationCode) -> None:
    """Mark a code used after a failed redemption, so it can never be redeemed (audited)."""
    db.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=ctx.now)
        .execution_options(synchronize_session=False)
    )
    record(db, ctx, EventType.CODE_REDEMPTION_FAILED, outcome="failure",
           subject_id=row.user_id, client_id=row.client_id, details={"reason": "pkce"})


def consume_authorization_code(
    db: Session, ctx: RequestContext, row: AuthorizationCode
) -> TokenSubject:
    """Mark the code used (one atomic UPDATE) and open its token family."""
    claimed = db.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=ctx.now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise InvalidGrantError("The authorization code was already used.")
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise InvalidGrantError("The account is no longer active.")
    grant = TokenGrant(client_id=row.client_id, user_id=row.user_id, session_id=row.session_id,
                       scope=row.scope, auth_time=row.auth_time, amr=row.amr, acr=row.acr,
                       created_at=ctx.now)
    db.add(grant)
    db.flush()
    db.execute(
        update(AuthorizationCode).where(AuthorizationCode.id == row.id)
        .values(grant_id=grant.id).execution_options(synchronize_session=False)
    )
    return TokenSubject(user=user, grant=grant, nonce=row.nonce)


def create_refresh_token(
    db: Session, grant: TokenGrant, scope: str, ttl: int, now, parent: RefreshToken | None = None,
    dpop_jkt: str | None = None,
) -> str:
    """A new opaque refresh token in `grant`'s family (bound to a DPoP key when given)."""
    value = new_opaque_token(REFRESH_TOKEN_PREFIX)
    db.add(RefreshToken(token_hash=hash_token(value), grant_id=grant.id, scope=scope,
                        parent_id=parent.id if parent else None, created_at=now,
                        expires_at=now + timedelta(seconds=ttl), dpop_jkt=dpop_jkt))
    db.flush()
    return value


def query_refresh_token(db: Session, ctx: RequestContext, value: str) -> RefreshToken | None:
    """A live refresh token; presenting a rotated one revokes the family."""
    row = db.execute(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(value))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.grant.revoked_at is not None:
        return None
    if row.rotated_at is not None:
        _revoke_after_reuse(db, ctx, row)
        return None
    if row.expires_at <= ctx.now:
        return None
    return row


def _revoke_after_reuse(db: Session, ctx: RequestContext, row: RefreshToken) -> None:
    revoke_grant(db, row.grant_id, ctx, reason="refresh_token_reuse")
    record(db, ctx, EventType.TOKEN_REUSE, outcome="failure", subject_id=row.grant.user_id,
           client_id=row.grant.client_id, details={"grant_id": str(row.grant_id)})


def rotate_refresh_token(db: Session, ctx: RequestContext, row: RefreshToken) -> TokenSubject:
    """Mark the token rotated (atomically: a concurrent second use loses) and return its subject."""
    claimed = db.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=ctx.now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        _revoke_after_reuse(db, ctx, row)
        raise InvalidGrantError("The refresh token was already used.")
    user = db.get(User, row.grant.user_id)
    if user is None or not user.is_active:
        raise InvalidGrantError("The account is no longer active.")
    if row.grant.session_id is not None:
        session = db.get(UserSession, row.grant.session_id)
        if session is not None and session.revoked_at is not None:
            raise InvalidGrantError("The session this token belongs to has ended.")
    return TokenSubject(user=user, grant=row.grant)


def revoke_grant(db: Session, grant_id: uuid.UUID, ctx: RequestContext, *, reason: str) -> None:
    """Revoke a token family: its refresh tokens and (via introspection) its access tokens."""
    db.execute(
        update(TokenGrant).where(TokenGrant.id == grant_id, TokenGrant.revoked_at.is_(None))
        .values(revoked_at=ctx.now, revoke_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(RefreshToken).where(RefreshToken.grant_id == grant_id,
                                   RefreshToken.revoked_at.is_(None))
        .values(revoked_at=ctx.now).execution_options(synchronize_session=False)
    )
