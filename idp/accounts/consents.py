"""Remembered consent: which scopes a person granted to a third-party client."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.models.oauth import Consent
from idp.request_context import RequestContext


def consented_scopes(db: Session, user_id: uuid.UUID, client_id: str) -> set[str]:
    """Scopes this person has already granted to this client."""
    row = db.execute(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    ).scalar_one_or_none()
    return set(row.scopes) if row else set()


def grant_consent(db: Session, ctx: RequestContext, user_id: uuid.UUID, tenant_id,
                  client_id: str, scopes: list[str]) -> Consent:
    """Add `scopes` to the remembered consent, audited."""
    row = db.execute(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    ).scalar_one_or_none()
    if row is None:
        row = Consent(user_id=user_id, client_id=client_id, scopes=[])
        db.add(row)
    row.scopes = sorted(set(row.scopes) | set(scopes))
    db.flush()
    record(db, ctx, EventType.CONSENT_GRANTED, subject_id=user_id, tenant_id=tenant_id,
           client_id=client_id, details={"scopes": row.scopes})
    return row
