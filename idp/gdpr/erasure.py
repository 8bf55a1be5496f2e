"""GDPR: erasure (anonymise the person, keep a stub and the audit trail) and export.

Rows hanging off a person are found generically: every table with a foreign key to
`users.id` (passwords, MFA factors, passkeys, sessions, token families, consents, roles,
groups...), so factors added by other modules are covered without a list to maintain.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from idp.audit import EventType, record
from idp.errors import Conflict, ValidationFailed
from idp.models.accounts import User
from idp.models.audit import AuditEvent
from idp.models.base import Base
from idp.rbac.safeguards import ensure_not_last_admin, ensure_not_self
from idp.request_context import RequestContext

KEEP_ON_STUB = {"id", "tenant_id", "created_at", "updated_at", "erased_at", "is_active"}
SECRET_WORDS = ("secret", "hash", "digest", "public_key", "private", "code", "token", "key")


def _referencing(table: Table) -> list[tuple[Table, object]]:
    """(table, column) pairs with a foreign key to `table`'s primary key."""
    out = []
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table and other is not table:
                out.append((other, fk.parent))
    return out


def _purge(db: Session, table: Table, where) -> None:
    """Delete rows of `table` matching `where`, first clearing what references them."""
    pk = list(table.primary_key.columns)
    if len(pk) == 1:
        ids = select(pk[0]).where(where)
        for child, column in _referencing(table):
            if column.nullable:
                db.execute(update(child).where(column.in_(ids)).values({column.name: None}))
            else:
                _purge(db, child, column.in_(ids))
    db.execute(delete(table).where(where))


def delete_user_rows(db: Session, user_id: uuid.UUID) -> None:
    """Remove every row that belongs to the person (not the user row itself)."""
    db.flush()
    for table, column in _referencing(User.__table__):
        _purge(db, table, column == user_id)  # a row pointing at the person is theirs
    db.flush()


def delete_rows_by_email(db: Session, email: str | None) -> None:
    """Rows keyed by the address alone (invitations, pending tokens)."""
    if not email:
        return
    for table in Base.metadata.sorted_tables:
        if "email" in table.c and table.name != User.__tablename__:
            _purge(db, table, func.lower(table.c.email) == email.casefold())


def pseudonym(key: bytes, value: str) -> str:
    """A keyed hash that stands in for personal data (same input, same pseudonym)."""
    return "pseud:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


def _personal_values(user: User) -> set[str]:
    values = {user.username, user.email, user.name, user.given_name, user.family_name,
              user.phone_number, user.last_login_ip}
    return {v for v in values if v}


def _scrub(value, personal: set[str], key: bytes):
    if isinstance(value, str):
        return pseudonym(key, value) if value in personal or any(
            p.casefold() in value.casefold() for p in personal if len(p) >= 4) else value
    if isinstance(value, dict):
        return {k: _scrub(v, personal, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, personal, key) for v in value]
    return value


def pseudonymise_audit(db: Session, user: User, key: bytes) -> int:
    """Replace the person's data inside earlier events; the chain stays verifiable."""
    personal = _personal_values(user)
    names = {v.casefold() for v in personal}
    events = db.execute(select(AuditEvent).where(or_(
        AuditEvent.subject_id == user.id, AuditEvent.actor_id == str(user.id),
        AuditEvent.username.in_(list(personal | names)),
        # as typed at a login form: any letter case (a rare, whole-table operation)
        func.lower(AuditEvent.username).in_(list(names))))).scalars().all()
    ips = {e.ip for e in events if e.ip} | ({user.last_login_ip} if user.last_login_ip else set())
    personal |= ips
    for event in events:
        event.username = pseudonym(key, event.username.casefold()) if event.username else None
        event.ip = pseudonym(key, event.ip) if event.ip else None
        event.user_agent = None
        event.details = _scrub(dict(event.details or {}), personal, key)
        # The salt is dropped: the digest in the chain no longer matches, by design.
        event.pii_salt = None
    db.flush()
    return len(events)


def erase_user(db: Session, ctx: RequestContext, user: User, confirm, key: bytes) -> None:
    """Irreversibly anonymise a person; `confirm` must repeat their id."""
    if str(confirm or "") != str(user.id):
        raise ValidationFailed("Confirm the erasure by sending {\"confirm\": \"<user id>\"}.",
                               field="confirm")
    if user.erased_at is not None:
        raise Conflict("This account is already erased.")

    ensure_not_self(ctx.actor_id, user, "erase")
    ensure_not_last_admin(db, user)
    count = pseudonymise_audit(db, user, key)
    delete_user_rows(db, user.id)
    delete_rows_by_email(db, user.email)
    db.expire(user)  # related rows were deleted in SQL; reload before rewriting the stub
    _anonymise(user, ctx)
    db.flush()
    record(db, ctx, EventType.USER_ERASED, subject_id=user.id, tenant_id=user.tenant_id,
           details={"pseudonymised_events": count})


def _anonymise(user: User, ctx: RequestContext) -> None:
    for column in User.__table__.columns:
        if column.name in KEEP_ON_STUB:
            continue
        if column.nullable:
            setattr(user, column.key, None)
        elif column.default is not None and not callable(column.default.arg):
            setattr(user, column.key, column.default.arg)
    stub = f"deleted_user_{user.id}"
    user.username = user.username_normalized = stub
    user.is_active, user.erased_at, user.updated_at = False, ctx.now, ctx.now
