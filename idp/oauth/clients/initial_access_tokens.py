"""Initial access tokens (RFC 7591 1.2, 3): an admin lets clients register themselves in one
tenant, once or a few times, until a deadline, under a policy (grant types, redirect URI
prefixes, scopes). Stored as SHA-256 (256 random bits), shown once, revocable, audited.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.database import database_deadline
from idp.errors import NotFound, ValidationFailed
from idp.models.base import utcnow
from idp.models.registration import InitialAccessToken
from idp.models.tenancy import Tenant
from idp.oauth.clients.redirect_uris import validate_redirect_uri
from idp.oauth.constants import GRANT_TYPES, TOKEN_EXCHANGE_GRANT
from idp.oauth.tokens.claims import SUPPORTED_SCOPES
from idp.rbac.authorization import Caller
from idp.request_context import RequestContext

PREFIX = "idp_iat_"
DEFAULT_TTL = 86400  # a day
MAX_TTL = 365 * 86400
MAX_USES = 100_000
DEFAULT_GRANT_TYPES = ["authorization_code", "refresh_token"]
# Grants a self-registered client may be allowed: token exchange needs registered audiences,
# which only an admin hands out.
POLICY_GRANT_TYPES = GRANT_TYPES - {TOKEN_EXCHANGE_GRANT}


@dataclass(frozen=True)
class RegistrationPolicy:
    """What a client registered with a token may ask for; empty prefixes: any valid URI."""

    grant_types: tuple[str, ...]
    redirect_uri_prefixes: tuple[str, ...]
    scopes: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"grant_types": list(self.grant_types),
                "redirect_uri_prefixes": list(self.redirect_uri_prefixes),
                "scopes": list(self.scopes)}

    @classmethod
    def from_dict(cls, data: dict) -> RegistrationPolicy:
        return cls(tuple(data.get("grant_types") or ()),
                   tuple(data.get("redirect_uri_prefixes") or ()), tuple(data.get("scopes") or ()))

    def allows_redirect_uri(self, uri: str) -> bool:
        """Same scheme and authority as a prefix, and the path under the prefix's path."""
        if not self.redirect_uri_prefixes:
            return True
        return any(_under(uri, prefix) for prefix in self.redirect_uri_prefixes)


def _under(uri: str, prefix: str) -> bool:
    # Comparing parsed parts, not strings: "https://app.example" must not admit
    # "https://app.example.evil.test/cb" or "https://app.example@evil.test/".
    got, rule = urlsplit(uri), urlsplit(prefix)
    if (got.scheme.lower(), got.netloc.lower()) != (rule.scheme.lower(), rule.netloc.lower()):
        return False
    base = rule.path.rstrip("/")
    return not base or got.path == rule.path or got.path.startswith(base + "/")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _whole_number(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"{field} must be a whole number from {low} to {high}.",
                               field=field)
    return value


def _strings(value, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationFailed(f"{field} must be a list of strings.", field=field)
    return list(dict.fromkeys(value))


def check_policy(grant_types, redirect_uri_prefixes, scopes) -> RegistrationPolicy:
    """The policy an admin asked for, or ValidationFailed naming the field."""
    grants = _strings(grant_types, "grant_types") or DEFAULT_GRANT_TYPES
    if set(grants) - POLICY_GRANT_TYPES:
        raise ValidationFailed(f"grant_types must be among {sorted(POLICY_GRANT_TYPES)}.",
                               field="grant_types")
    prefixes = _strings(redirect_uri_prefixes, "redirect_uri_prefixes")
    for prefix in prefixes:
        validate_redirect_uri(prefix, "redirect_uri_prefixes")
    wanted = _strings(scopes, "scopes") or SUPPORTED_SCOPES
    if set(wanted) - set(SUPPORTED_SCOPES):
        raise ValidationFailed(f"scopes must be among {SUPPORTED_SCOPES}.", field="scopes")
    return RegistrationPolicy(tuple(grants), tuple(prefixes), tuple(wanted))


def policy_of(row: InitialAccessToken) -> RegistrationPolicy:
    return RegistrationPolicy(tuple(row.grant_types), tuple(row.redirect_uri_prefixes),
                              tuple(row.scopes))


def issue_token(db: Session, ctx: RequestContext, tenant: Tenant, *, uses=1,
                expires_in=DEFAULT_TTL, grant_types=None, redirect_uri_prefixes=None,
                scopes=None) -> tuple[InitialAccessToken, str]:
    """A new initial access token for `tenant`; returns the row and the token (shown once).
    `uses` 0 means any number of registrations until it expires."""
    uses = _whole_number(uses, "uses", 0, MAX_USES)
    expires_in = _whole_number(expires_in, "expires_in", 60, MAX_TTL)
    policy = check_policy(grant_types, redirect_uri_prefixes, scopes)
    token = PREFIX + secrets.token_urlsafe(32)
    row = InitialAccessToken(id=uuid.uuid4(), tenant_id=tenant.id, digest=digest(token),
                             hint=token[-4:], max_uses=uses or None, uses=0,
                             grant_types=list(policy.grant_types),
                             redirect_uri_prefixes=list(policy.redirect_uri_prefixes),
                             scopes=list(policy.scopes), created_by=ctx.actor_id,
                             created_at=ctx.now,
                             expires_at=ctx.now + timedelta(seconds=expires_in))
    db.add(row)
    db.flush()
    record(db, ctx, EventType.INITIAL_ACCESS_TOKEN_CREATED, tenant_id=tenant.id,
           details={"grant_types": row.grant_types, "scopes": row.scopes,
                    "count": uses})
    return row, token


def list_tokens(db: Session, caller: Caller) -> list[InitialAccessToken]:
    """The tokens of the caller's tenant scope, newest first."""
    stmt = caller.scoped(select(InitialAccessToken), InitialAccessToken.tenant_id)
    return list(db.execute(stmt.order_by(InitialAccessToken.created_at.desc())).scalars())


def load_token(db: Session, caller: Caller, token_id) -> InitialAccessToken:
    """One token in the caller's scope; another tenant's does not exist (404)."""
    try:
        row = db.get(InitialAccessToken, uuid.UUID(str(token_id)))
    except ValueError:
        row = None
    if row is None or not caller.sees_tenant(row.tenant_id):
        raise NotFound("No such initial access token.")
    return row


def revoke_token(db: Session, ctx: RequestContext, row: InitialAccessToken) -> None:
    """No more registrations with it; clients registered before keep working."""
    if row.revoked_at is None:
        row.revoked_at = ctx.now
        db.flush()
        record(db, ctx, EventType.INITIAL_ACCESS_TOKEN_REVOKED, tenant_id=row.tenant_id,
               details={"count": row.uses})


def _live(now):
    return (InitialAccessToken.revoked_at.is_(None), InitialAccessToken.expires_at > now,
            or_(InitialAccessToken.max_uses.is_(None),
                InitialAccessToken.uses < InitialAccessToken.max_uses))


def query_live_token(db: Session, token: str, now) -> InitialAccessToken | None:
    """The token's row while it is unrevoked, unexpired and has uses left; else None."""
    if not token.startswith(PREFIX):
        return None
    return db.execute(select(InitialAccessToken).where(
        InitialAccessToken.digest == digest(token), *_live(now))).scalar_one_or_none()


def spend_use(db: Session, row: InitialAccessToken, now) -> bool:
    """Count one registration, atomically: False when a concurrent one took the last use
    (or the token was revoked or expired meanwhile)."""
    spent = db.execute(update(InitialAccessToken).where(
        InitialAccessToken.id == row.id, *_live(now))
        .values(uses=InitialAccessToken.uses + 1).returning(InitialAccessToken.id)).first()
    db.flush()
    return spent is not None


def any_live_token(db: Session, now) -> bool:
    """True when some tenant lets clients register (discovery then names the endpoint)."""
    return bool(db.execute(select(exists().where(*_live(now)))).scalar())


def describe_token(row: InitialAccessToken) -> dict:
    """The JSON form an admin sees (never the token)."""
    return {"id": str(row.id), "tenant": str(row.tenant_id), "hint": "…" + row.hint,
            "uses": row.uses, "max_uses": row.max_uses,
            "grant_types": row.grant_types, "redirect_uri_prefixes": row.redirect_uri_prefixes,
            "scopes": row.scopes, "created_by": row.created_by,
            "created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
            "revoked_at": _iso(row.revoked_at)}


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class RegistrationSwitch:
    """Per process: is any initial access token live? Read from the database at most every
    `ttl` seconds, so discovery (served from memory) names the registration endpoint only
    while registering is possible. A database error keeps the last answer."""

    def __init__(self, session_factory, ttl: float = 5.0, clock=None):
        self._session_factory = session_factory
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._checked_at = -1e9

    def invalidate(self) -> None:
        """Look again on next use (a token was issued or revoked in this process)."""
        self._checked_at = -1e9

    def is_open(self) -> bool:
        if time.monotonic() - self._checked_at < self._ttl or not self._lock.acquire(
                blocking=False):
            return self._open
        try:
            with database_deadline(1.0), self._session_factory() as db:
                self._open = any_live_token(db, (self._clock or utcnow)())
        except SQLAlchemyError:
            pass
        finally:
            self._checked_at = time.monotonic()
            self._lock.release()
        return self._open
