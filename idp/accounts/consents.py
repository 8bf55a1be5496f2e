"""Remembered consent: which scopes a person granted to a third-party client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.models.oauth import Client, Consent, TokenGrant
from idp.oauth.tokens.service import revoke_grant
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


@dataclass(frozen=True)
class ConnectedApp:
    client_id: str
    name: str
    scopes: list[str]
    granted_at: datetime


def connected_apps(db: Session, user_id: uuid.UUID) -> list[ConnectedApp]:
    """The applications this person consented to, with the scopes granted, by name."""
    rows = db.execute(
        select(Consent, Client.name).join(Client, Client.id == Consent.client_id)
        .where(Consent.user_id == user_id).order_by(Client.name)
    ).all()
    return [ConnectedApp(consent.client_id, name, list(consent.scopes), consent.created_at)
            for consent, name in rows]


def withdraw_consent(db: Session, ctx: RequestContext, user_id: uuid.UUID, tenant_id,
                     client_id: str) -> bool:
    """"Remove access": forget the consent and revoke every token family the app holds for
    this person (refresh tokens refused, access tokens inactive at introspection), audited.
    False when there was no consent to remove."""
    row = db.execute(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    ).scalar_one_or_none()
    if row is None:
        return False
    scopes = list(row.scopes)
    db.delete(row)
    grant_ids = db.execute(
        select(TokenGrant.id).where(TokenGrant.user_id == user_id,
                                    TokenGrant.client_id == client_id,
                                    TokenGrant.revoked_at.is_(None))
    ).scalars().all()
    for grant_id in grant_ids:
        revoke_grant(db, grant_id, ctx, reason="consent_withdrawn")
    db.flush()
    record(db, ctx, EventType.CONSENT_REVOKED, subject_id=user_id, tenant_id=tenant_id,
           client_id=client_id, details={"scopes": scopes, "grants_revoked": len(grant_ids)})
    return True
