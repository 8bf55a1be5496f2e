"""Filtering and paging the audit log (newest first, keyset on id)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from idp.models.audit import AuditEvent

LOGIN_TYPES = ("auth.login", "auth.mfa")


@dataclass(frozen=True)
class AuditFilter:
    user: uuid.UUID | None = None  # subject
    actor: str | None = None
    type: str | None = None  # exact, or a prefix ending in "." or "*"
    outcome: str | None = None
    ip: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tenant: uuid.UUID | None = None


def filtered(f: AuditFilter):
    """A SELECT of matching events, newest first."""
    stmt = select(AuditEvent)
    if f.user is not None:
        stmt = stmt.where(AuditEvent.subject_id == f.user)
    if f.actor:
        stmt = stmt.where(AuditEvent.actor_id == f.actor)
    if f.type:
        if f.type.endswith(("*", ".")):
            stmt = stmt.where(AuditEvent.type.startswith(f.type.rstrip("*"), autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.type == f.type)
    if f.outcome:
        stmt = stmt.where(AuditEvent.outcome == f.outcome)
    if f.ip:
        stmt = stmt.where(AuditEvent.ip == f.ip)
    if f.since is not None:
        stmt = stmt.where(AuditEvent.at >= f.since)
    if f.until is not None:
        stmt = stmt.where(AuditEvent.at < f.until)
    if f.tenant is not None:
        stmt = stmt.where(AuditEvent.tenant_id == f.tenant)
    # Newest first by (at, id): every filter index ends in `at`, so a page is an index
    # range read in order, not a sort of every match.
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def query_events(db: Session, f: AuditFilter, *, before: tuple[datetime, int] | None = None,
                 limit: int = 50) -> tuple[list[AuditEvent], tuple[datetime, int] | None]:
    """One page and the keyset (at, id) of its last event when there is more, else None."""
    stmt = filtered(f)
    if before is not None:
        at, event_id = before
        stmt = stmt.where(or_(AuditEvent.at < at, and_(AuditEvent.at == at,
                                                       AuditEvent.id < event_id)))
    rows = db.execute(stmt.limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].at, rows[-1].id) if more and rows else None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def serialise_event(event: AuditEvent) -> dict:
    """The API shape of an event (SPEC: id, at, type, outcome, actor, subject, tenant, ...)."""
    body = {
        "id": event.id,
        "at": _iso(event.at),
        "type": event.type,
        "outcome": event.outcome,
        "actor": event.actor_id,
        "subject": str(event.subject_id) if event.subject_id else None,
        "tenant": str(event.tenant_id) if event.tenant_id else None,
        "client_id": event.client_id,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details or {},
        "username": event.username,
        "hash": event.hash,
        "prev_hash": event.prev_hash,
    }
    return body
