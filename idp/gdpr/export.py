"""GDPR export: everything the provider holds about one person, as one JSON document."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idp.audit.query import serialise_event
from idp.models.accounts import User
from idp.models.audit import AuditEvent
from idp.models.base import Base
from idp.models.groups import Group, GroupMember
from idp.models.oauth import Consent
from idp.models.sessions import UserSession
from idp.rbac.access import user_roles

FORMAT_VERSION = 1
SECRET_WORDS = ("secret", "hash", "digest", "public_key", "private", "token", "key", "code",
                "challenge", "credential_id", "sign_count", "aaguid_raw")
MFA_HINTS = ("mfa", "totp", "webauthn", "passkey", "backup")
PROFILE_SKIP = {"username_normalized", "email_normalized"}


def jsonable(value):
    """Datetimes as RFC 3339, UUIDs and dates as text."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | uuid.UUID):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _row(obj, skip=()) -> dict:
    return {c.key: jsonable(getattr(obj, c.key)) for c in obj.__table__.columns
            if c.key not in skip}


# Tables with a person's rows that have their own section of the document.
SECTIONED = {"users", "role_assignments", "group_members", "user_sessions", "consents",
             "password_credentials", "password_history"}


def _rows(db: Session, table, user_id: uuid.UUID) -> list[dict]:
    keep = [c for c in table.c if not any(w in c.name for w in SECRET_WORDS)]
    rows = db.execute(select(*keep).where(table.c.user_id == user_id)).mappings().all()
    return [{k: jsonable(v) for k, v in r.items()} for r in rows]


def _person_tables():
    """Every table that holds rows about a person (a user_id column)."""
    return [t for t in Base.metadata.sorted_tables if "user_id" in t.c]


def _mfa_factors(db: Session, user_id: uuid.UUID) -> dict:
    """Metadata of every MFA table (any table with user_id whose name says MFA); no secrets."""
    return {t.name: _rows(db, t, user_id) for t in _person_tables()
            if any(h in t.name for h in MFA_HINTS)}


def _other_records(db: Session, user_id: uuid.UUID) -> dict:
    """Every other table with rows about the person (authorizations, emailed tokens...),
    so the document stays complete when modules add tables; secrets left out."""
    out = {}
    for table in _person_tables():
        if table.name in SECTIONED or any(h in table.name for h in MFA_HINTS):
            continue
        rows = _rows(db, table, user_id)
        if rows:
            out[table.name] = rows
    return out


def export_user(db: Session, user: User) -> dict:
    """The whole document: profile, roles and history, groups, logins, sessions, consents,
    MFA factor metadata and the audit events about the person."""
    events = db.execute(select(AuditEvent).where(or_(
        AuditEvent.subject_id == user.id, AuditEvent.actor_id == str(user.id)))
        .order_by(AuditEvent.id)).scalars().all()
    groups = db.execute(select(Group).join(GroupMember, GroupMember.group_id == Group.id)
                        .where(GroupMember.user_id == user.id)).scalars().all()
    sessions = db.execute(select(UserSession).where(UserSession.user_id == user.id)
                          .order_by(UserSession.created_at)).scalars().all()
    consents = db.execute(select(Consent).where(Consent.user_id == user.id)).scalars().all()
    serialised = [serialise_event(e) for e in events]
    return {
        "format": "idp.user-export", "version": FORMAT_VERSION,
        "profile": _row(user, PROFILE_SKIP),
        "password": {"set": user.credential is not None,
                     "changed_at": jsonable(user.password_changed_at)},
        "roles": sorted(r.name for r in user_roles(db, user.id, user.tenant_id)),
        "role_history": [e for e in serialised if e["type"].startswith(("role.", "group."))],
        "groups": [{"id": str(g.id), "name": g.name} for g in groups],
        "login_history": [e for e in serialised if e["type"].startswith("auth.")],
        "sessions": [_row(s, {"token_hash"}) for s in sessions],
        "consents": [_row(c) for c in consents],
        "mfa_factors": _mfa_factors(db, user.id),
        "other_records": _other_records(db, user.id),
        "audit_events": serialised,
    }
