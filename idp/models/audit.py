"""The audit log: append-only rows, each chained to the previous by a SHA-256 hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_at", "subject_id", "at"),
        Index("ix_audit_events_actor_at", "actor_id", "at"),
        # varchar_pattern_ops on PostgreSQL: serves `type = X` and the prefix filter
        # (`type LIKE 'scim.%'`) alike, whatever the database collation (issue 20).
        Index("ix_audit_events_type_at", "type", "at",
              postgresql_ops={"type": "varchar_pattern_ops"}),
        Index("ix_audit_events_tenant_at", "tenant_id", "at"),
        Index("ix_audit_events_ip_at", "ip", "at"),
        Index("ix_audit_events_outcome_at", "outcome", "at"),
        Index("ix_audit_events_username", "username"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32), default="success")
    actor_id: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_id: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # Personal fields (username, ip, user_agent, details) enter the chain through a salted
    # digest, so GDPR pseudonymisation can rewrite them (and drop the salt) without
    # breaking the chain; while the salt exists the digest proves them untouched.
    pii_salt: Mapped[str | None] = mapped_column(String(32))
    pii_digest: Mapped[str] = mapped_column(String(64), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row; locking it serialises appends so the hash chain never forks."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
