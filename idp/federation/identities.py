"""Who an upstream sign-in is: the linked person, a new one (JIT), or one who must prove
the local account first. A federated identity never takes over an account just because an
email matches, unless the provider allows it and the upstream says the address is verified.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.lockout import is_locked
from idp.accounts.normalization import normalize_identifier
from idp.accounts.profile import update_profile
from idp.accounts.users import create_user
from idp.audit import EventType, Outcome, record
from idp.errors import Conflict, NotFound, ValidationFailed
from idp.federation.providers import managed_groups
from idp.models.accounts import User
from idp.models.federation import FederatedIdentity, IdentityProvider
from idp.models.tenancy import Tenant
from idp.rbac.groups import add_member, remove_member
from idp.rbac.roles import assign_role
from idp.request_context import RequestContext

MAPPED_CLAIMS = ("name", "given_name", "family_name")  # updated on every sign-in


class Resolution(StrEnum):
    SIGNED_IN = "signed_in"  # linked (now or before), or provisioned
    NEEDS_PROOF = "needs_proof"  # a local account has the address: prove it once to link
    NO_ACCOUNT = "no_account"  # existing accounts only, and none matches
    DISABLED = "disabled"
    LOCKED = "locked"


@dataclass(frozen=True)
class SignInResult:
    status: Resolution
    user: User | None = None


def _find_identity(db: Session, provider: IdentityProvider, sub: str) -> FederatedIdentity | None:
    return db.execute(select(FederatedIdentity).where(
        FederatedIdentity.provider_id == provider.id, FederatedIdentity.subject == sub)
    ).scalar_one_or_none()


def _email(claims: dict) -> str | None:
    email = claims.get("email")
    return email.strip()[:320] if isinstance(email, str) and "@" in email else None


def _audit_refusal(db, ctx, provider, claims, outcome, user=None) -> None:
    record(db, ctx, EventType.LOGIN, outcome=outcome, tenant_id=provider.tenant_id,
           subject_id=user.id if user else None, username=(_email(claims) or "")[:320],
           details={"provider": provider.slug})


def link_identity(db: Session, ctx: RequestContext, provider: IdentityProvider, user: User,
                  claims: dict) -> FederatedIdentity:
    """Link the upstream subject to `user`, audited; Conflict if it is linked already."""
    if user.tenant_id != provider.tenant_id:
        raise ValidationFailed("The provider belongs to another tenant.")
    if _find_identity(db, provider, str(claims["sub"])) is not None:
        raise Conflict("That identity is already linked.")
    identity = FederatedIdentity(provider_id=provider.id, user_id=user.id,
                                 subject=str(claims["sub"])[:255], email=_email(claims),
                                 created_at=ctx.now, last_login_at=ctx.now)
    db.add(identity)
    db.flush()
    record(db, ctx, EventType.IDENTITY_LINKED, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username, details={"provider": provider.slug})
    return identity


def _provision(db, ctx, provider: IdentityProvider, tenant: Tenant, claims: dict) -> User:
    """Just-in-time: a new person in the provider's tenant, with its default roles."""
    email = _email(claims)
    if email is None:
        raise ValidationFailed("Your provider did not share an email address.")
    local = re.sub(r"[^\w.-]", "", email.split("@", 1)[0])[:40] or "user"
    # The address's local part, else (taken, or a look-alike of a taken one) with a suffix.
    for username in (local, f"{local}-{secrets.token_hex(3)}"):
        try:
            user = create_user(db, ctx, tenant, email=email, username=username,
                               email_verified=claims.get("email_verified") is True)
            break
        except Conflict:
            continue
    else:
        raise Conflict("An account could not be created for this address.")
    for role in provider.roles or []:
        assign_role(db, ctx, user, role, tenant)
    return user


def _sync_profile(db, ctx, provider: IdentityProvider, user: User, claims: dict) -> None:
    values = {k: claims[k] for k in MAPPED_CLAIMS if isinstance(claims.get(k), str)}
    try:
        update_profile(db, ctx, user, values)
    except ValidationFailed:
        pass  # an upstream value our profile rules refuse is left out, not fatal
    _sync_groups(db, ctx, provider, user, claims.get("groups"))


def _sync_groups(db, ctx, provider: IdentityProvider, user: User, claimed) -> None:
    """Membership of the groups the provider manages follows its `groups` claim; other
    groups are never touched. No claim at all changes nothing (not "in no group")."""
    if not provider.groups or not isinstance(claimed, list):
        return
    wanted = {g for g in claimed if isinstance(g, str)}
    for group in managed_groups(db, user.tenant_id, provider.groups):
        if group.name in wanted:
            add_member(db, ctx, group, user)
        else:
            remove_member(db, ctx, group, user)


def _may_sign_in(db, ctx, provider, claims, user: User) -> SignInResult | None:
    if not user.is_active:
        _audit_refusal(db, ctx, provider, claims, Outcome.ACCOUNT_DISABLED, user)
        return SignInResult(Resolution.DISABLED, user)
    if is_locked(user, ctx.now):
        _audit_refusal(db, ctx, provider, claims, Outcome.ACCOUNT_LOCKED, user)
        return SignInResult(Resolution.LOCKED, user)
    return None


def resolve_sign_in(db: Session, ctx: RequestContext, provider: IdentityProvider,
                    tenant: Tenant, claims: dict) -> SignInResult:
    """Decide who the upstream person is here; refusals are audited as auth.login."""
    identity = _find_identity(db, provider, str(claims["sub"]))
    if identity is not None:
        user = db.get(User, identity.user_id)
        refused = _may_sign_in(db, ctx, provider, claims, user)
        if refused:
            return refused
        identity.last_login_at = ctx.now
        _sync_profile(db, ctx, provider, user, claims)
        return SignInResult(Resolution.SIGNED_IN, user)
    email = _email(claims)
    existing = db.execute(select(User).where(
        User.tenant_id == tenant.id,
        User.email_normalized == normalize_identifier(email))).scalar_one_or_none() \
        if email else None
    if existing is not None:
        refused = _may_sign_in(db, ctx, provider, claims, existing)
        if refused:
            return refused
        if provider.link_by_verified_email and claims.get("email_verified") is True:
            link_identity(db, ctx, provider, existing, claims)
            _sync_profile(db, ctx, provider, existing, claims)
            return SignInResult(Resolution.SIGNED_IN, existing)
        return SignInResult(Resolution.NEEDS_PROOF, existing)
    if provider.existing_accounts_only:
        _audit_refusal(db, ctx, provider, claims, Outcome.UNKNOWN_USER)
        return SignInResult(Resolution.NO_ACCOUNT)
    user = _provision(db, ctx, provider, tenant, claims)
    link_identity(db, ctx, provider, user, claims)
    _sync_profile(db, ctx, provider, user, claims)
    return SignInResult(Resolution.SIGNED_IN, user)


def list_identities(db: Session, user: User) -> list[tuple[FederatedIdentity, IdentityProvider]]:
    """The person's linked identities with their providers."""
    return list(db.execute(
        select(FederatedIdentity, IdentityProvider)
        .join(IdentityProvider, IdentityProvider.id == FederatedIdentity.provider_id)
        .where(FederatedIdentity.user_id == user.id)
        .order_by(FederatedIdentity.created_at)).all())


def describe_identity(identity: FederatedIdentity, provider: IdentityProvider) -> dict:
    """The JSON shape of a linked identity."""
    return {"id": str(identity.id), "provider": provider.slug, "provider_name": provider.name,
            "subject": identity.subject, "email": identity.email,
            "created_at": identity.created_at.isoformat(),
            "last_login_at": identity.last_login_at.isoformat() if identity.last_login_at
            else None}


def unlink_identity(db: Session, ctx: RequestContext, user: User, identity_id: str) -> None:
    """Remove one of the person's linked identities, audited; NotFound for anyone else's."""
    try:
        identity = db.get(FederatedIdentity, uuid.UUID(str(identity_id)))
    except ValueError:
        identity = None
    if identity is None or identity.user_id != user.id:
        raise NotFound("No such linked identity.")
    if user.credential is None and len(list_identities(db, user)) == 1:
        # Without a password this is the only way in: removing it would lock them out.
        raise ValidationFailed("This is your only way to sign in. Set a password first.")
    provider = db.get(IdentityProvider, identity.provider_id)
    db.delete(identity)
    db.flush()
    record(db, ctx, EventType.IDENTITY_UNLINKED, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username, details={"provider": provider.slug if provider else None})
