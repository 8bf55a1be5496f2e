"""SAML replay protection: an assertion ID is accepted once per provider, remembered until
the assertion itself expires (SAML 2.0 Profiles 4.1.4.5: "the service provider MUST ensure
that bearer assertions are not replayed")."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.models.federation import IdentityProvider, SamlAssertion

KEEP_WITHOUT_EXPIRY = timedelta(days=1)  # an assertion that names no NotOnOrAfter
MARGIN = timedelta(minutes=5)  # more than the clock skew accepted after NotOnOrAfter


def spend_assertion(db: Session, provider: IdentityProvider, assertion_id: str,
                    expires: datetime | None, now: datetime) -> bool:
    """True the first time this assertion is seen; False for a replay. A concurrent second
    use waits on the primary key and then fails, so exactly one wins."""
    db.execute(delete(SamlAssertion).where(SamlAssertion.expires_at < now))
    keep_until = expires + MARGIN if expires else now + KEEP_WITHOUT_EXPIRY
    try:
        with db.begin_nested():
            db.add(SamlAssertion(provider_id=provider.id, assertion_id=assertion_id[:255],
                                 expires_at=max(keep_until, now)))
    except IntegrityError:
        return False
    return True
