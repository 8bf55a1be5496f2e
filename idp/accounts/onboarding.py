"""Bringing a person in, at the admin's choice: an invitation to set their own password
(a one-time link, the reset link's mechanism, valid a week), or a temporary password the
person must change at their first sign-in."""

from __future__ import annotations

import secrets
from enum import StrEnum

from sqlalchemy.orm import Session

from idp.accounts.account_tokens import Purpose, issue_token
from idp.accounts.password_changes import require_password_change
from idp.accounts.users import create_user
from idp.audit import EventType, record
from idp.config import Config
from idp.errors import ValidationFailed
from idp.models.accounts import User
from idp.models.tenancy import Tenant
from idp.request_context import RequestContext

INVITATION_TTL = 7 * 24 * 3600


class Onboarding(StrEnum):
    INVITE = "invite"        # mail a set-your-password link
    TEMPORARY = "temporary"  # show the admin a password the person changes at first sign-in


def issue_invitation(db: Session, ctx: RequestContext, user: User,
                     ttl: int = INVITATION_TTL) -> str:
    """A one-time link token to set a password; following it also verifies the address."""
    token = issue_token(db, ctx, Purpose.PASSWORD_RESET, tenant_id=user.tenant_id,
                        user_id=user.id, email=user.email, ttl=ttl)
    record(db, ctx, EventType.USER_INVITED, subject_id=user.id, tenant_id=user.tenant_id,
           username=user.username, details={"ttl_seconds": ttl})
    return token


def add_person(db: Session, ctx: RequestContext, config: Config, tenant: Tenant, *,
               email: str, username: str | None, profile: dict | None,
               onboarding: str) -> tuple[User, str]:
    """Create the person; returns them and the invitation token or the temporary password."""
    if onboarding not in set(Onboarding):
        raise ValidationFailed("Choose an invitation or a temporary password.",
                               field="onboarding")
    if onboarding == Onboarding.INVITE:
        user = create_user(db, ctx, tenant, email=email, username=username, profile=profile)
        return user, issue_invitation(db, ctx, user)
    # 120 random bits, in no breach list; the fixed frame guarantees an upper- and a
    # lower-case letter, a digit and a special character whatever the random part holds.
    password = f"Tmp-{secrets.token_urlsafe(15)}-{secrets.randbelow(10)}"
    user = create_user(db, ctx, tenant, email=email, username=username, profile=profile,
                       password=password, config=config)
    require_password_change(db, ctx, user)
    return user, password
