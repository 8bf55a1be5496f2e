"""Long-lived SCIM tokens: a static bearer token for /scim/v2 of one service client.

Entra ID ("Secret Token") and Okta ("HTTP Header") store a token and cannot run the
client-credentials grant. Such a token stands for its client exactly as the client's
access token would: it works only while the client is live and allowed `idp:scim`, it is
confined to the client's tenant, and the client's roles (through the rank rule) decide
what it may do. Only its SHA-256 is stored (the token has 256 bits of entropy); it is
shown once, expires, can be revoked on its own, and ends with its client.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import Conflict, NotFound, ValidationFailed
from idp.models.oauth import Client, ScimToken
from idp.oauth.constants import SCIM_SCOPE
from idp.request_context import RequestContext

PREFIX = "idp_scim_"  # tells the SCIM adapter (and secret scanners) what it holds
DEFAULT_DAYS, MAX_DAYS = 180, 730
USE_MARK_EVERY = timedelta(minutes=5)  # last_used_at is a hint, not a write per request


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def token_days(value) -> int:
    """`days` as sent by the CLI or the API: a whole number from 1 to MAX_DAYS."""
    if value is None:
        return DEFAULT_DAYS
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ValidationFailed(f"days must be a whole number from 1 to {MAX_DAYS}.",
                               field="days")
    return value


def issue_scim_token(db: Session, ctx: RequestContext, client: Client,
                     days=None) -> tuple[ScimToken, str]:
    """A new token for `client` (the value is returned once, never stored); audited."""
    lifetime = token_days(days)
    if client.revoked_at is not None or (client.expires_at and client.expires_at <= ctx.now):
        raise Conflict("The client is revoked or expired.")
    if client.is_public or SCIM_SCOPE not in (client.scopes or []):
        raise ValidationFailed(f"The client must be a confidential service client allowed "
                               f"the scope {SCIM_SCOPE}.", field="client_id")
    value = PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(client_id=client.id, digest=_digest(value), hint=value[-4:],
                    created_at=ctx.now, expires_at=ctx.now + timedelta(days=lifetime))
    db.add(row)
    db.flush()
    record(db, ctx, EventType.CLIENT_SCIM_TOKEN_ISSUED, client_id=client.id,
           tenant_id=client.tenant_id,
           details={"token_id": str(row.id), "expires_at": _iso(row.expires_at)})
    return row, value


def revoke_scim_token(db: Session, ctx: RequestContext, client: Client, token_id) -> ScimToken:
    """Revoke one of the client's tokens (at once); revoking twice changes nothing."""
    try:
        key = uuid.UUID(str(token_id))
    except ValueError:
        raise NotFound("No such SCIM token.") from None
    row = db.get(ScimToken, key)
    if row is None or row.client_id != client.id:
        raise NotFound("No such SCIM token.")
    if row.revoked_at is None:
        row.revoked_at = ctx.now
        db.flush()
        record(db, ctx, EventType.CLIENT_SCIM_TOKEN_REVOKED, client_id=client.id,
               tenant_id=client.tenant_id, details={"token_id": str(row.id)})
    return row


def list_scim_tokens(db: Session, client: Client) -> list[ScimToken]:
    return list(db.execute(select(ScimToken).where(ScimToken.client_id == client.id)
                           .order_by(ScimToken.created_at)).scalars())


def describe_scim_token(row: ScimToken) -> dict:
    """A token as operators see it (never its value)."""
    return {"id": str(row.id), "client_id": row.client_id, "hint": "…" + row.hint,
            "created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
            "revoked_at": _iso(row.revoked_at), "last_used_at": _iso(row.last_used_at)}


def is_scim_token(value: str) -> bool:
    return value.startswith(PREFIX)


def find_live_scim_token(db: Session, value: str, now: datetime) -> tuple[Client, bool] | None:
    """The client a presented token stands for, if the token and its client are live and
    the client is still allowed `idp:scim`; else None. Marks the token as used (at most
    every few minutes) and says whether it did, so the adapter commits only then."""
    row = db.execute(select(ScimToken).where(ScimToken.digest == _digest(value))).scalar()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    client = db.get(Client, row.client_id)
    if client is None or client.revoked_at is not None or SCIM_SCOPE not in (
            client.scopes or []) or (client.expires_at and client.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > USE_MARK_EVERY:
        row.last_used_at = now
        db.flush()
        return client, True
    return client, False


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
