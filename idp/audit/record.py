"""Append an audit event to the caller's transaction, chained to the previous event.

The chain head row is locked (SELECT ... FOR UPDATE) so that concurrent appends are
serialised and the chain cannot fork; the event commits or rolls back with the change
it describes. Personal fields are covered through a salted digest (`pii_digest`), so a
GDPR erasure can pseudonymise them later without breaking the chain.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from idp.errors import AuditUnavailable
from idp.events.outbox import outbox_columns
from idp.models.audit import AuditChainHead, AuditEvent
from idp.models.outbox import OutboxEvent
from idp.request_context import RequestContext

GENESIS = "0" * 64


def _dumps(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def personal_fields(event: AuditEvent) -> dict:
    """The fields that may hold personal data (pseudonymised on erasure)."""
    return {"username": event.username, "ip": event.ip, "user_agent": event.user_agent,
            "details": event.details}


def pii_digest(event: AuditEvent) -> str:
    """SHA-256 over the salt and the personal fields."""
    return hashlib.sha256((event.pii_salt or "").encode() + _dumps(personal_fields(event))
                          ).hexdigest()


def canonical_event(event: AuditEvent) -> bytes:
    """The bytes an event's hash covers: every field but the hash (personal ones by digest)."""
    body = {
        "id": event.id,
        "at": event.at.isoformat(timespec="microseconds"),
        "type": event.type,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "subject_id": str(event.subject_id) if event.subject_id else None,
        "tenant_id": str(event.tenant_id) if event.tenant_id else None,
        "client_id": event.client_id,
        "request_id": event.request_id,
        "pii_digest": event.pii_digest,
        "prev_hash": event.prev_hash,
    }
    return _dumps(body)


def event_hash(event: AuditEvent) -> str:
    """The chain hash of an event."""
    return hashlib.sha256(canonical_event(event)).hexdigest()


def _lock_head(db: Session) -> AuditChainHead:
    head = db.execute(
        select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        head = AuditChainHead(id=1, last_hash=GENESIS)
        db.add(head)
        db.flush()
    return head


def record(
    db: Session,
    ctx: RequestContext,
    type: str,
    *,
    outcome: str = "success",
    subject_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    client_id: str | None = None,
    username: str | None = None,
    actor_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """Add one event to the current transaction (flushed, not committed).

    None when the context's repeat gate folded this failure into a count
    (idp.audit.repeats): the next row from that address carries the number.
    Raises AuditUnavailable when the audit tables refuse the write (revoked privilege,
    constraint, full tablespace...): an action that cannot be audited is not done.
    """
    if ctx.repeat_gate is not None:
        write, repeats = ctx.repeat_gate(str(type), str(outcome), ctx.ip)
        if not write:
            return None
        if repeats:
            details = {**(details or {}), "repeats_in_previous_window": repeats}
    db.flush()  # the caller's own changes first: their errors stay theirs
    try:
        return _append(db, ctx, type, outcome=outcome, subject_id=subject_id,
                       tenant_id=tenant_id, client_id=client_id, username=username,
                       actor_id=actor_id, details=details)
    except OperationalError:
        raise  # an outage or a lock timeout: already a 503 of its own
    except DBAPIError as exc:
        raise AuditUnavailable("The audit log cannot be written; nothing was changed.") from exc


def _append(db: Session, ctx: RequestContext, type: str, *, outcome, subject_id, tenant_id,
            client_id, username, actor_id, details) -> AuditEvent:
    head = _lock_head(db)
    event = AuditEvent(**_event_fields(ctx, type, outcome=outcome, subject_id=subject_id,
                                       tenant_id=tenant_id, client_id=client_id,
                                       username=username, actor_id=actor_id, details=details),
                       prev_hash=head.last_hash, hash="")
    db.add(event)
    db.flush()  # assigns the id, which the hash covers
    event.hash = event_hash(event)
    head.last_hash = event.hash
    _write_outbox(db, event)
    db.flush()
    return event


def record_many(db: Session, ctx: RequestContext, events: list[dict]) -> int:
    """Append several events (each `record`'s keyword arguments plus `type`) with their
    outbox rows, under one lock of the chain head and in two bulk inserts (bulk import).
    The ids are drawn first, so each hash is computed as `record` computes it."""
    if not events:
        return 0
    db.flush()
    try:
        head = _lock_head(db)
        rows = []
        for event_id, event in zip(_allocate_ids(db, len(events)), events, strict=True):
            row = SimpleNamespace(id=event_id, **_event_fields(ctx, **event))
            row.prev_hash = head.last_hash
            row.hash = head.last_hash = event_hash(row)
            rows.append(row)
        db.execute(insert(AuditEvent.__table__), [vars(row) for row in rows])
        db.execute(insert(OutboxEvent.__table__), [outbox_columns(row) for row in rows])
        db.flush()
    except OperationalError:
        raise
    except DBAPIError as exc:
        raise AuditUnavailable("The audit log cannot be written; nothing was changed.") from exc
    return len(rows)


def _allocate_ids(db: Session, count: int) -> list[int]:
    """`count` new event ids in order. PostgreSQL draws them from the column's sequence;
    SQLite takes max + 1 as its rowid would (the writer holds the database lock)."""
    if db.get_bind().dialect.name == "postgresql":
        return sorted(db.execute(text(
            "SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) "
            "FROM generate_series(1, :n)"), {"n": count}).scalars())
    last = db.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()
    return list(range(last + 1, last + 1 + count))


def _event_fields(ctx: RequestContext, type: str, *, outcome: str = "success",
                  subject_id=None, tenant_id=None, client_id=None, username=None,
                  actor_id=None, details=None) -> dict:
    """An event's columns but its id and the chain hashes, for `record` and `record_many`."""
    fields = dict(
        at=ctx.now, type=str(type), outcome=str(outcome), actor_id=actor_id or ctx.actor_id,
        subject_id=subject_id, tenant_id=tenant_id, client_id=client_id, username=username,
        ip=ctx.ip, user_agent=(ctx.user_agent or "")[:512] or None,
        request_id=ctx.request_id, details=details or {}, pii_salt=secrets.token_hex(16))
    fields["pii_digest"] = pii_digest(SimpleNamespace(**fields))
    return fields


def _write_outbox(db: Session, event: AuditEvent) -> None:
    # The outbox row joins the same transaction: it exists exactly when the change does.
    db.add(OutboxEvent(**outbox_columns(event)))
