"""Checking the audit chain: every event's hash, and each link to the one before."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.audit.record import GENESIS, event_hash, pii_digest
from idp.models.audit import AuditChainHead, AuditEvent


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str | None = None
    pseudonymised: int = 0


def verify_chain(db: Session, batch: int = 5000) -> ChainReport:
    """Walk the log in id order; report the first event that does not fit."""
    prev, checked, pseudonymised, last_id = GENESIS, 0, 0, 0
    while True:
        rows = db.execute(select(AuditEvent).where(AuditEvent.id > last_id)
                          .order_by(AuditEvent.id).limit(batch)).scalars().all()
        for event in rows:
            problem = _check(event, prev)
            if problem:
                return ChainReport(False, checked, event.id, problem, pseudonymised)
            pseudonymised += event.pii_salt is None
            prev, checked, last_id = event.hash, checked + 1, event.id
        db.expunge_all()
        if len(rows) < batch:
            break
    head = db.get(AuditChainHead, 1)
    if head is not None and head.last_hash != prev:
        return ChainReport(False, checked, None, "the chain head does not match the last event "
                           "(events were deleted from the end)", pseudonymised)
    return ChainReport(True, checked, pseudonymised=pseudonymised)


def _check(event: AuditEvent, prev: str) -> str | None:
    if event.prev_hash != prev:
        return "prev_hash does not match the previous event (an event was removed or inserted)"
    if event_hash(event) != event.hash:
        return "hash does not match the event's content (the event was altered)"
    if event.pii_salt is not None and pii_digest(event) != event.pii_digest:
        return "personal fields do not match their digest (username, ip, user agent or details altered)"
    return None
