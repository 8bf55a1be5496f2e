"""Self-service sign-up (open, invite-only or off per tenant) and email verification."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.accounts.account_tokens import (
    INVITE_TTL,
    VERIFY_EMAIL_TTL,
    Purpose,
    consume_token,
    issue_token,
    peek_token,
)
from idp.accounts.normalization import (
    normalize_identifier,
    validate_email_address,
    validate_username,
)
from idp.accounts.password_policy import check_new_password
from idp.accounts.passwords import burn_verification_time
from idp.accounts.users import create_user, username_taken
from idp.audit import EventType, record
from idp.config import Config
from idp.errors import Conflict, Forbidden, ValidationFailed
from idp.models.accounts import User
from idp.models.tenancy import Tenant
from idp.request_context import RequestContext

MODES = ("open", "invite", "off")


@dataclass(frozen=True)
class Registration:
    """What the adapter mails: a verification link, or a notice to an existing owner."""

    user: User | None
    verify_token: str | None = None
    existing: User | None = None  # the address already had an account
    username_taken: str | None = None  # the address to tell that the name is taken
    invited: bool = False  # what a new account's page would say (verified by the invitation)


def registration_mode(config: Config, tenant: Tenant) -> str:
    """'open', 'invite' or 'off': the tenant's setting, else IDP_REGISTRATION_MODE."""
    mode = (tenant.settings or {}).get("registration")
    return mode if mode in MODES else config.registration_mode


def register_user(db: Session, ctx: RequestContext, config: Config, tenant: Tenant, *,
                  email: str, username: str | None, password: str,
                  invite: str | None = None) -> Registration:
    """Create an unverified account; a taken address or username gets a mail, not an error."""
    mode = registration_mode(config, tenant)
    if mode == "off":
        raise Forbidden("Sign-up is closed. Ask an administrator for an account.")
    invitation = None
    if mode == "invite":
        invitation = peek_token(db, ctx, Purpose.INVITE, invite)
        if invitation is None or invitation.tenant_id != tenant.id:
            raise Forbidden("Sign-up needs a valid invitation link.")
    email = validate_email_address(email)
    if invitation and normalize_identifier(invitation.email or "") != normalize_identifier(email):
        raise ValidationFailed(_("Use the address the invitation was sent to."), field="email")
    username = validate_username(username or email.split("@", 1)[0])
    # create_user applies the policy too; checked first here so that a refused password
    # answers the same whether or not the address already has an account.
    check_new_password(config, tenant, password, username=username, email=email)
    refused = _refuse_quietly(db, ctx, tenant, email, username, password)
    if refused is not None:
        return replace(refused, invited=invitation is not None)
    if invitation is not None:
        consume_token(db, ctx, Purpose.INVITE, invite)
    user = create_user(db, ctx, tenant, email=email, username=username, password=password,
                       email_verified=invitation is not None, config=config)
    record(db, ctx, EventType.USER_REGISTERED, subject_id=user.id, tenant_id=tenant.id,
           username=username, details={"mode": mode})
    token = None
    if not user.email_verified:
        token = issue_token(db, ctx, Purpose.VERIFY_EMAIL, tenant_id=tenant.id, user_id=user.id,
                            email=user.email, ttl=VERIFY_EMAIL_TTL)
    return Registration(user, verify_token=token, invited=invitation is not None)


def _refuse_quietly(db: Session, ctx: RequestContext, tenant: Tenant, email: str,
                    username: str, password: str) -> Registration | None:
    """A taken address or username (or a look-alike of one) answers like a new account.

    No enumeration: the page is the same, and so is the time (one Argon2 computation, like
    the new account's hash); the mail to the address entered says what happened.
    """
    existing = _user_by_email(db, tenant, email)
    if existing is None and not username_taken(db, tenant.id, username):
        return None
    burn_verification_time(password)
    reason = "email_in_use" if existing is not None else "username_in_use"
    record(db, ctx, EventType.USER_REGISTERED, outcome="failure", tenant_id=tenant.id,
           subject_id=existing.id if existing else None, username=username,
           details={"reason": reason})
    if existing is not None:
        return Registration(None, existing=existing)
    return Registration(None, username_taken=email)


def _user_by_email(db: Session, tenant: Tenant, email: str) -> User | None:
    return db.execute(select(User).where(
        User.tenant_id == tenant.id, User.email_normalized == normalize_identifier(email))
    ).scalar_one_or_none()


def verify_email(db: Session, ctx: RequestContext, raw: str) -> User | None:
    """Mark the address verified (single use); None for a bad, used or expired link."""
    token = consume_token(db, ctx, Purpose.VERIFY_EMAIL, raw)
    user = db.get(User, token.user_id) if token and token.user_id else None
    if user is None:
        return None
    if normalize_identifier(user.email or "") != normalize_identifier(token.email or ""):
        return None  # the address changed since the mail was sent
    user.email_verified = True
    db.flush()
    record(db, ctx, EventType.EMAIL_VERIFIED, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username)
    return user


def resend_verification(db: Session, ctx: RequestContext, user: User) -> str | None:
    """A fresh verification token for an unverified address."""
    if user.email_verified or not user.email:
        return None
    return issue_token(db, ctx, Purpose.VERIFY_EMAIL, tenant_id=user.tenant_id, user_id=user.id,
                       email=user.email, ttl=VERIFY_EMAIL_TTL)


def resend_for_address(db: Session, ctx: RequestContext, tenant: Tenant,
                       email: str) -> tuple[User | None, str | None]:
    """A fresh verification token for the unverified account with this address, else
    (None, None); the page answers the same either way (no enumeration)."""
    try:
        email = validate_email_address(email)
    except ValidationFailed:
        return None, None
    user = _user_by_email(db, tenant, email)
    if user is None or not user.is_active:
        return None, None
    token = resend_verification(db, ctx, user)
    return (user, token) if token else (None, None)


def invite_user(db: Session, ctx: RequestContext, tenant: Tenant, email: str) -> str:
    """An invitation for `email` (invite-only sign-up); returns the token to mail."""
    email = validate_email_address(email)
    if _user_by_email(db, tenant, email) is not None:
        raise Conflict("That address already has an account.")
    token = issue_token(db, ctx, Purpose.INVITE, tenant_id=tenant.id, email=email, ttl=INVITE_TTL)
    record(db, ctx, EventType.USER_INVITED, tenant_id=tenant.id, details={"email": email})
    return token
