"""Device authorization grant (RFC 8628): codes, the person's decision, and polling.

The device gets a high-entropy device code (kept as SHA-256) and a short user code from
an unambiguous alphabet (section 6.1: no vowels, no look-alike digits), which a person
types at /device. Polling answers authorization_pending, slow_down, access_denied or
expired_token (section 3.5); an approved request is redeemed once, atomically.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc8628 import DeviceCredentialMixin
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.models.accounts import User
from idp.models.oauth import DeviceAuthorization, TokenGrant
from idp.models.sessions import UserSession
from idp.oauth.constants import DEVICE_CODE_GRANT  # noqa: F401 - re-exported for callers
from idp.oauth.tokens.jwt import hash_token, new_opaque_token
from idp.oauth.tokens.service import TokenSubject
from idp.request_context import RequestContext

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 6.1: 20^8 ~ 2^34.6 codes
INTERVAL = 5  # seconds between polls (section 3.2)


class DeviceCredential(DeviceCredentialMixin):
    """Authlib's view of a stored request."""

    def __init__(self, row: DeviceAuthorization, now):
        self.row, self.now = row, now

    def get_client_id(self):
        return self.row.client_id

    def get_scope(self):
        return self.row.scope

    def get_user_code(self):
        return self.row.user_code

    def is_expired(self):
        return self.row.expires_at <= self.now


def normalise_user_code(value: str) -> str:
    """What a person typed, as stored: upper case, without dashes or spaces."""
    return "".join(c for c in (value or "").upper() if c.isalnum())[:16]


def display_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def start_device_authorization(db: Session, ctx: RequestContext, client_id: str, scope: str,
                               ttl: int) -> tuple[str, str]:
    """Store a new request; returns (device_code, user_code as shown)."""
    device_code = new_opaque_token()
    user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    db.add(DeviceAuthorization(device_code_hash=hash_token(device_code), user_code=user_code,
                               client_id=client_id, scope=scope, created_at=ctx.now,
                               expires_at=ctx.now + timedelta(seconds=ttl), interval=INTERVAL))
    db.flush()
    return device_code, display_user_code(user_code)


def query_by_device_code(db: Session, device_code: str) -> DeviceAuthorization | None:
    return db.execute(select(DeviceAuthorization).where(
        DeviceAuthorization.device_code_hash == hash_token(device_code))).scalar_one_or_none()


def query_pending_by_user_code(db: Session, ctx: RequestContext,
                               typed: str) -> DeviceAuthorization | None:
    """The live, undecided request for a typed user code, or None."""
    row = db.execute(select(DeviceAuthorization).where(
        DeviceAuthorization.user_code == normalise_user_code(typed))).scalar_one_or_none()
    if row is None or row.status != "pending" or row.expires_at <= ctx.now:
        return None
    return row


def decide(db: Session, ctx: RequestContext, row: DeviceAuthorization, session: UserSession,
           approved: bool) -> None:
    """The signed-in person approves or denies (audited); first decision wins."""
    db.execute(update(DeviceAuthorization)
               .where(DeviceAuthorization.id == row.id, DeviceAuthorization.status == "pending")
               .values(status="approved" if approved else "denied", user_id=session.user_id,
                       session_id=session.id).execution_options(synchronize_session=False))
    record(db, ctx, EventType.CONSENT_GRANTED if approved else EventType.DEVICE_DENIED,
           outcome="success" if approved else "failure", subject_id=session.user_id,
           tenant_id=session.tenant_id, client_id=row.client_id,
           details={"scopes": row.scope.split(), "method": "device"})


def poll_too_fast(db: Session, ctx: RequestContext, row: DeviceAuthorization) -> bool:
    """Record this poll; True when it came sooner than the interval (slow_down)."""
    early = (row.last_polled_at is not None
             and (ctx.now - row.last_polled_at).total_seconds() < row.interval)
    db.execute(update(DeviceAuthorization).where(DeviceAuthorization.id == row.id)
               .values(last_polled_at=ctx.now).execution_options(synchronize_session=False))
    return early


def redeem(db: Session, ctx: RequestContext, row: DeviceAuthorization) -> TokenSubject:
    """An approved request, used once: opens its token family."""
    claimed = db.execute(
        update(DeviceAuthorization)
        .where(DeviceAuthorization.id == row.id, DeviceAuthorization.status == "approved")
        .values(status="used").execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise InvalidGrantError("The device code was already used.")
    user = db.get(User, row.user_id)
    session = db.get(UserSession, row.session_id)
    if user is None or not user.is_active or session is None:
        raise InvalidGrantError("The account is no longer active.")
    grant = TokenGrant(client_id=row.client_id, user_id=user.id, session_id=session.id,
                       scope=row.scope, auth_time=session.auth_time, amr=session.amr,
                       acr=session.acr, created_at=ctx.now)
    db.add(grant)
    db.flush()
    return TokenSubject(user=user, grant=grant)
